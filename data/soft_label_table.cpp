#include "data/soft_label_table.h"

#include <torch/torch.h>

#include "core/errors.h"
#include "data/shard_reader.h"

namespace condenser {
namespace {

void check_provenance(const std::string& what, const std::string& teacher,
                      const std::string& fingerprint, const SoftLabelSource& source) {
  if (teacher != source.teacher_sha256) {
    throw UsageError(what + " was made by teacher " + teacher + ", but this job's teacher is " +
                     source.teacher_sha256 + "; run with --relabel to label again");
  }
  if (fingerprint != source.dataset_fingerprint) {
    throw UsageError(what + " was made from dataset " + fingerprint +
                     ", but this job's dataset is " + source.dataset_fingerprint +
                     "; run with --relabel to label again");
  }
}

}  // namespace

at::Tensor load_soft_labels(const SoftLabelSource& source, const Manifest& manifest,
                            int64_t num_samples, const std::vector<int64_t>& required) {
  check_provenance("manifest.json", manifest.teacher_sha256, manifest.dataset_fingerprint,
                   source);
  const int64_t classes = manifest.num_classes;
  at::Tensor table = torch::full({num_samples, classes}, NAN, torch::kFloat32);
  std::vector<char> covered(static_cast<size_t>(num_samples), 0);
  float* out = table.data_ptr<float>();
  for (const ManifestEntry& entry : manifest.shards) {
    verify_shard(source.soft_label_dir, entry);
    const std::string path = source.soft_label_dir + "/" + entry.file;
    const ShardData shard = read_shard(path);
    check_provenance("shard '" + path + "'", shard.meta.teacher_sha256,
                     shard.meta.dataset_fingerprint, source);
    if (shard.meta.num_classes != classes) {
      throw UsageError("shard '" + path + "' has " + std::to_string(shard.meta.num_classes) +
                       " classes, the manifest says " + std::to_string(classes) +
                       "; run with --relabel");
    }
    for (int64_t r = 0; r < shard.rows; ++r) {
      const int64_t s = shard.sample_index[static_cast<size_t>(r)];
      if (s < 0 || s >= num_samples) {
        throw UsageError("shard '" + path + "' names sample " + std::to_string(s) +
                         " outside the dataset of " + std::to_string(num_samples) +
                         "; run with --relabel");
      }
      std::copy_n(shard.logits.data() + r * classes, classes, out + s * classes);
      covered[static_cast<size_t>(s)] = 1;
    }
  }
  for (int64_t s : required) {
    if (s < 0 || s >= num_samples || !covered[static_cast<size_t>(s)]) {
      throw UsageError("sample " + std::to_string(s) + " has no soft label in '" +
                       source.soft_label_dir + "'; run with --relabel to label again");
    }
  }
  return table;
}

}  // namespace condenser
