#include "worker/teacher_labeller.h"

#include <torch/torch.h>

#include "core/errors.h"
#include "core/sha256.h"
#include "data/augment.h"
#include "data/shards/shard_writer.h"
#include "trainers/device.h"
#include "trainers/training.h"

namespace condenser {
namespace {

// The dtype of the module's first floating-point parameter (float32 if none).
at::ScalarType module_float_dtype(const torch::jit::Module& module) {
  for (const auto& p : module.parameters(/*recurse=*/true)) {
    if (p.is_floating_point()) return p.scalar_type();
  }
  return at::kFloat;
}

// Refuses a batch of teacher outputs that a shard must not hold: NaN or
// infinite logits (or ones float16 storage would make infinite), naming the
// first such sample, so no shard of garbage is ever committed.
void check_logits(const at::Tensor& out, const LabellerSetup& setup,
                  const std::vector<int64_t>& sample_index, const std::vector<int32_t>& view,
                  int64_t first_row) {
  at::Tensor bad = ~torch::isfinite(out).all(1);
  const bool half = setup.top_k == 0 && setup.dtype == LogitDType::kFloat16;
  if (half) bad = bad | (out.abs() > 65504.0).any(1);
  if (!bad.any().item<bool>()) return;
  const int64_t row = first_row + bad.nonzero()[0][0].item<int64_t>();
  const auto r = static_cast<size_t>(row);
  const std::string where = "training sample " + std::to_string(sample_index[r]) +
                            (setup.views > 1 ? " (view " + std::to_string(view[r]) + ")" : "");
  if (half && torch::isfinite(out).all().item<bool>()) {
    throw UsageError("the teacher's logits for " + where + " exceed float16's range (65504); " +
                     "set soft_labels.dtype=float32");
  }
  throw UsageError("the teacher's output for " + where + " is not finite (NaN or inf): " +
                   "no soft labels are written from it; fix the teacher (or that sample) and " +
                   "run again");
}

// One batch of token windows: the teacher's [b, T, V] logits become the
// top-k raw logits per position (descending) and the log-partition at the
// shard's temperature over all V, appended to `top`.
void keep_sequence_topk(const at::Tensor& out, const LabellerSetup& setup,
                        const std::vector<int64_t>& sample_index, int64_t first_row, TopK& top) {
  const int64_t b = out.size(0), classes = setup.meta.num_classes;
  if (out.dim() != 3 || out.size(1) != setup.positions || out.size(2) != classes) {
    throw UsageError("teacher output has shape " + c10::str(out.sizes()) + "; expected [" +
                     std::to_string(b) + ", " + std::to_string(setup.positions) + ", " +
                     std::to_string(classes) + "] logits (a window of token ids in, one " +
                     "distribution over the vocabulary per position out)");
  }
  const auto kept = out.topk(setup.top_k, /*dim=*/2, /*largest=*/true, /*sorted=*/true);
  const at::Tensor values = std::get<0>(kept).contiguous();
  const at::Tensor indices = std::get<1>(kept).to(torch::kInt32).contiguous();
  // float32 over the vocabulary: the shard stores it as float32 anyway, and a
  // float64 pass over [B, T, V] cost a quarter of the labelling time.
  const at::Tensor lse = (out / setup.meta.temperature).logsumexp(2).contiguous();
  // NaN or +inf in any logit reaches the top-k values or the logsumexp, so
  // checking those (not all B x T x V logits) refuses every such window.
  const at::Tensor bad =
      ~(torch::isfinite(values).flatten(1).all(1) & torch::isfinite(lse).all(1));
  if (bad.any().item<bool>()) {
    const auto row = static_cast<size_t>(first_row + bad.nonzero()[0][0].item<int64_t>());
    throw UsageError("the teacher's output for training window " +
                     std::to_string(sample_index[row]) + " is not finite (NaN or inf): no " +
                     "soft labels are written from it; fix the teacher and run again");
  }
  top.k = setup.top_k;
  top.values.insert(top.values.end(), values.data_ptr<float>(),
                    values.data_ptr<float>() + values.numel());
  top.indices.insert(top.indices.end(), indices.data_ptr<int32_t>(),
                     indices.data_ptr<int32_t>() + indices.numel());
  top.logsumexp.insert(top.logsumexp.end(), lse.data_ptr<float>(),
                       lse.data_ptr<float>() + lse.numel());
}

}  // namespace

void set_teacher_precision(torch::jit::Module& teacher, const std::string& precision) {
  if (precision == "fp32") return;
  if (precision != "bf16") {
    throw UsageError("teacher.precision: '" + precision + "' is not a precision; use fp32 or bf16");
  }
  teacher.to(at::kBFloat16);
}

TaskLogits infer_task(torch::jit::Module& teacher, const LabellerSetup& setup,
                      const LabelTask& task) {
  if (task.begin < 0 || task.end > static_cast<int64_t>(setup.samples.size()) ||
      task.begin >= task.end) {
    throw RuntimeFailure("label task [" + std::to_string(task.begin) + ", " +
                         std::to_string(task.end) + ") is outside the sample list of " +
                         std::to_string(setup.samples.size()));
  }
  const int64_t views = setup.views;
  const int64_t rows = (task.end - task.begin) * views;
  const int64_t classes = setup.meta.num_classes;
  std::vector<int64_t> sample_index(static_cast<size_t>(rows));
  std::vector<int32_t> view(static_cast<size_t>(rows));
  for (int64_t r = 0; r < rows; ++r) {
    sample_index[static_cast<size_t>(r)] = setup.samples[static_cast<size_t>(task.begin + r / views)];
    view[static_cast<size_t>(r)] = static_cast<int32_t>(r % views);
  }
  TaskLogits result;
  // Token windows keep only their top-k per position (all logits of a task
  // would be rows x positions x vocabulary floats).
  std::vector<float> logits(setup.positions > 0 ? 0 : static_cast<size_t>(rows * classes));

  const bool was_training = teacher.is_training();
  teacher.eval();
  const c10::Device device = module_device(teacher);
  const at::ScalarType input_dtype = module_float_dtype(teacher);
  {
    c10::InferenceMode inference;
    for (int64_t b = 0; b < rows; b += setup.batch_size) {
      const int64_t e = std::min(rows, b + setup.batch_size);
      const std::vector<int64_t> ids(sample_index.begin() + b, sample_index.begin() + e);
      // On the teacher's device (to a GPU: via pinned memory, asynchronously).
      const at::Tensor x =
          views > 1 ? to_device(augment_batch(setup.images, ids,
                                              std::vector<int>(view.begin() + b, view.begin() + e),
                                              setup.augment_seed, setup.flip),
                                device)
                    : gather_to_device(setup.images,
                                       torch::from_blob(const_cast<int64_t*>(ids.data()), {e - b},
                                                        torch::kInt64)
                                           .clone(),
                                       device);
      // Token ids stay integers; images take the teacher's float dtype.
      const at::Tensor in = x.is_floating_point() ? x.to(input_dtype) : x;
      const at::Tensor out =
          teacher.forward({in}).toTensor().to(torch::kCPU, torch::kFloat32).contiguous();
      if (setup.positions > 0) {
        keep_sequence_topk(out, setup, sample_index, b, result.topk);
        continue;
      }
      if (out.dim() != 2 || out.size(1) != classes) {
        throw UsageError("teacher output has shape " + c10::str(out.sizes()) + "; expected [" +
                         std::to_string(e - b) + ", " + std::to_string(classes) + "] logits");
      }
      check_logits(out, setup, sample_index, view, b);
      std::memcpy(logits.data() + b * classes, out.data_ptr<float>(),
                  sizeof(float) * static_cast<size_t>(out.numel()));
    }
  }
  teacher.train(was_training);
  result.sample_index = std::move(sample_index);
  result.view = std::move(view);
  result.logits = std::move(logits);
  result.rows = rows;
  result.positions = setup.positions;
  return result;
}

ManifestEntry write_task_shard(const LabellerSetup& setup, const LabelTask& task,
                               const TaskLogits& out) {
  const int64_t rows = out.rows;
  const int64_t classes = setup.meta.num_classes;
  const std::string path = setup.soft_label_dir + "/" + task.file;
  const auto& sample_index = out.sample_index;
  const auto& view = out.view;
  const auto& logits = out.logits;
  if (out.positions > 0) {
    write_topk_shard(path, setup.meta, sample_index, view, out.topk.values, out.topk.indices,
                     out.topk.logsumexp);  // meta.positions and value_format say the layout
  } else if (setup.top_k > 0) {
    const TopK top = topk_from_logits(logits, rows, static_cast<int>(classes), setup.top_k,
                                      setup.meta.temperature);
    write_topk_shard(path, setup.meta, sample_index, view, top.values, top.indices,
                     top.logsumexp);
  } else {
    write_shard(path, setup.meta, sample_index, view, logits, setup.dtype);
  }

  ManifestEntry entry;
  entry.file = task.file;
  entry.task_begin = task.begin;
  entry.task_end = task.end;
  entry.views = setup.views;
  entry.rows = rows;
  entry.sha256 = sha256_file(path);
  return entry;
}

ManifestEntry label_task(torch::jit::Module& teacher, const LabellerSetup& setup,
                         const LabelTask& task) {
  return write_task_shard(setup, task, infer_task(teacher, setup, task));
}

}  // namespace condenser
