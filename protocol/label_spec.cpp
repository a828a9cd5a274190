#include "protocol/label_spec.h"

#include "protocol/frame.h"
#include "protocol/json_fields.h"

namespace condenser {

nlohmann::json to_json(const LabelSpec& s) {
  return {{"teacher_path", s.teacher_path},   {"teacher_sha256", s.teacher_sha256},
          {"dataset", s.dataset},             {"data_dir", s.data_dir},
          {"validation_size", s.validation_size}, {"train_subset", s.train_subset},
          {"split_seed", s.split_seed},       {"dataset_fingerprint", s.dataset_fingerprint},
          {"num_samples", s.num_samples},     {"seq_len", s.seq_len},
          {"soft_label_dir", s.soft_label_dir},
          {"temperature", s.temperature},     {"num_classes", s.num_classes},
          {"dtype", s.dtype},                 {"top_k", s.top_k},
          {"views", s.views},                 {"augment_seed", s.augment_seed},
          {"flip", s.flip},
          {"batch_size", s.batch_size},       {"precision", s.precision},
          {"topk_dtype", s.topk_dtype}};
}

LabelSpec label_spec_from_json(const nlohmann::json& j, const std::string& where) {
  const JsonFields f(j, where);
  LabelSpec s;
  s.teacher_path = f.text("teacher_path");
  s.teacher_sha256 = f.text("teacher_sha256");
  s.dataset = f.text("dataset");
  s.data_dir = f.text("data_dir");
  s.validation_size = f.integer("validation_size");
  s.train_subset = f.integer("train_subset");
  s.split_seed = f.unsigned_integer("split_seed");
  s.dataset_fingerprint = f.text("dataset_fingerprint");
  s.num_samples = f.integer("num_samples");
  s.seq_len = f.integer("seq_len", 0);  // absent from older coordinators
  s.soft_label_dir = f.text("soft_label_dir");
  s.temperature = f.number("temperature");
  s.num_classes = f.int32("num_classes");
  s.dtype = f.text("dtype");
  s.top_k = f.int32("top_k");
  s.views = f.int32("views");
  s.augment_seed = f.unsigned_integer("augment_seed");
  s.flip = f.boolean("flip");
  s.batch_size = f.integer("batch_size");
  s.precision = f.text("precision", "fp32");  // absent from older coordinators
  s.topk_dtype = f.text("topk_dtype", "float16");
  if (s.views < 1 || s.batch_size < 1) {
    throw ProtocolError(where + ": views and batch_size must be >= 1");
  }
  return s;
}

}  // namespace condenser
