#include "protocol/label_spec.h"

#include "core/errors.h"

namespace condenser {

nlohmann::json to_json(const LabelSpec& s) {
  return {{"teacher_path", s.teacher_path},   {"teacher_sha256", s.teacher_sha256},
          {"dataset", s.dataset},             {"data_dir", s.data_dir},
          {"validation_size", s.validation_size}, {"train_subset", s.train_subset},
          {"split_seed", s.split_seed},       {"dataset_fingerprint", s.dataset_fingerprint},
          {"num_samples", s.num_samples},     {"soft_label_dir", s.soft_label_dir},
          {"temperature", s.temperature},     {"num_classes", s.num_classes},
          {"dtype", s.dtype},                 {"top_k", s.top_k},
          {"views", s.views},                 {"augment_seed", s.augment_seed},
          {"batch_size", s.batch_size},       {"precision", s.precision}};
}

LabelSpec label_spec_from_json(const nlohmann::json& j) {
  LabelSpec s;
  try {
    j.at("teacher_path").get_to(s.teacher_path);
    j.at("teacher_sha256").get_to(s.teacher_sha256);
    j.at("dataset").get_to(s.dataset);
    j.at("data_dir").get_to(s.data_dir);
    j.at("validation_size").get_to(s.validation_size);
    j.at("train_subset").get_to(s.train_subset);
    j.at("split_seed").get_to(s.split_seed);
    j.at("dataset_fingerprint").get_to(s.dataset_fingerprint);
    j.at("num_samples").get_to(s.num_samples);
    j.at("soft_label_dir").get_to(s.soft_label_dir);
    j.at("temperature").get_to(s.temperature);
    j.at("num_classes").get_to(s.num_classes);
    j.at("dtype").get_to(s.dtype);
    j.at("top_k").get_to(s.top_k);
    j.at("views").get_to(s.views);
    j.at("augment_seed").get_to(s.augment_seed);
    j.at("batch_size").get_to(s.batch_size);
    s.precision = j.value("precision", std::string("fp32"));  // absent from older coordinators
  } catch (const nlohmann::json::exception& e) {
    throw RuntimeFailure(std::string("the coordinator's label spec is incomplete: ") + e.what() +
                         " (coordinator and worker from different condenser versions?)");
  }
  if (s.views < 1 || s.batch_size < 1) throw RuntimeFailure("label spec: views and batch_size must be >= 1");
  return s;
}

}  // namespace condenser
