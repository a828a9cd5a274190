#include "worker/teacher_labeller.h"

#include <torch/torch.h>

#include "core/errors.h"
#include "core/sha256.h"
#include "data/shard_writer.h"
#include "trainers/training.h"

namespace condenser {

ManifestEntry label_task(torch::jit::Module& teacher, const LabellerSetup& setup,
                         const LabelTask& task) {
  if (task.begin < 0 || task.end > static_cast<int64_t>(setup.samples.size()) ||
      task.begin >= task.end) {
    throw RuntimeFailure("label task [" + std::to_string(task.begin) + ", " +
                         std::to_string(task.end) + ") is outside the sample list of " +
                         std::to_string(setup.samples.size()));
  }
  const int64_t rows = task.end - task.begin;
  const int64_t classes = setup.meta.num_classes;
  std::vector<int64_t> sample_index(setup.samples.begin() + task.begin,
                                    setup.samples.begin() + task.end);
  std::vector<int32_t> view(static_cast<size_t>(rows), 0);
  std::vector<float> logits(static_cast<size_t>(rows * classes));

  const bool was_training = teacher.is_training();
  teacher.eval();
  const c10::Device device = module_device(teacher);
  {
    c10::InferenceMode inference;
    for (int64_t b = 0; b < rows; b += setup.batch_size) {
      const int64_t e = std::min(rows, b + setup.batch_size);
      const at::Tensor idx =
          torch::from_blob(sample_index.data() + b, {e - b}, torch::kInt64).clone();
      const at::Tensor out = teacher.forward({setup.images.index_select(0, idx).to(device)})
                                 .toTensor()
                                 .to(torch::kCPU, torch::kFloat32)
                                 .contiguous();
      if (out.dim() != 2 || out.size(1) != classes) {
        throw UsageError("teacher output has shape " + std::to_string(out.dim()) +
                         "-D with last dimension " + std::to_string(out.size(-1)) +
                         "; expected [batch, " + std::to_string(classes) + "] logits");
      }
      std::memcpy(logits.data() + b * classes, out.data_ptr<float>(),
                  sizeof(float) * static_cast<size_t>(out.numel()));
    }
  }
  teacher.train(was_training);
  const std::string path = setup.soft_label_dir + "/" + task.file;
  write_shard(path, setup.meta, sample_index, view, logits, setup.dtype);

  ManifestEntry entry;
  entry.file = task.file;
  entry.task_begin = task.begin;
  entry.task_end = task.end;
  entry.views = 1;
  entry.rows = rows;
  entry.sha256 = sha256_file(path);
  return entry;
}

}  // namespace condenser
