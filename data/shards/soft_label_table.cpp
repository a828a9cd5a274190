#include "data/shards/soft_label_table.h"

#include <torch/torch.h>

#include "core/errors.h"
#include "data/shards/shard_prefetcher.h"
#include "data/shards/shard_reader.h"

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

// Copies `width` values of row r of `from` into row `row` of `to`.
template <class T, class U>
void copy_row(const std::vector<T>& from, int64_t r, int64_t width, U* to, int64_t row) {
  for (int64_t c = 0; c < width; ++c) to[row * width + c] = static_cast<U>(from[r * width + c]);
}

}  // namespace

SoftTargets load_soft_labels(const SoftLabelSource& source, const Manifest& manifest,
                             int64_t num_samples, const std::vector<int64_t>& required,
                             int prefetch_depth) {
  check_provenance("manifest.json", manifest.teacher_sha256, manifest.dataset_fingerprint,
                   source);
  const bool topk = manifest.format == "topk";
  const int64_t views = manifest.views, k = topk ? manifest.top_k : manifest.num_classes;
  const int64_t p = manifest.positions, groups = std::max<int64_t>(p, 1);  // per row
  const int64_t width = k * groups;
  const int64_t rows_total = num_samples * views;
  SoftTargets t;
  t.views = static_cast<int>(views);
  t.positions = static_cast<int>(p);
  if (topk) {
    const std::vector<int64_t> shape =
        p > 0 ? std::vector<int64_t>{rows_total, p, k} : std::vector<int64_t>{rows_total, k};
    t.topk_values = torch::full(shape, NAN, torch::kFloat32);
    t.topk_indices = torch::zeros(shape, torch::kInt64);
    t.logsumexp = p > 0 ? torch::full({rows_total, p}, NAN, torch::kFloat32)
                        : torch::full({rows_total}, NAN, torch::kFloat32);
  } else {
    t.logits = torch::full({rows_total, width}, NAN, torch::kFloat32);
  }
  std::vector<char> covered(static_cast<size_t>(rows_total), 0);

  std::vector<std::string> paths;
  for (const ManifestEntry& entry : manifest.shards) {
    verify_shard(source.soft_label_dir, entry);
    paths.push_back(source.soft_label_dir + "/" + entry.file);
  }
  // One background thread reads the shards (HDF5) while this one fills the table.
  ShardPrefetcher prefetcher(paths, static_cast<size_t>(std::max(1, prefetch_depth)));
  for (const std::string& path : paths) {
    const std::optional<ShardData> next = prefetcher.next();
    if (!next) throw RuntimeFailure("prefetcher ended before '" + path + "'");
    const ShardData& shard = *next;
    check_provenance("shard '" + path + "'", shard.meta.teacher_sha256,
                     shard.meta.dataset_fingerprint, source);
    const int64_t shard_width = topk ? shard.meta.top_k : shard.meta.num_classes;
    if (shard.meta.num_classes != manifest.num_classes || shard_width != k ||
        (shard.meta.top_k > 0) != topk || shard.meta.positions != p) {
      throw UsageError("shard '" + path + "' has " + std::to_string(shard.meta.num_classes) +
                       " classes, top_k " + std::to_string(shard.meta.top_k) + " and positions " +
                       std::to_string(shard.meta.positions) + ", the manifest says " +
                       std::to_string(manifest.num_classes) + ", " +
                       std::to_string(manifest.top_k) + " and " + std::to_string(p) +
                       "; run with --relabel");
    }
    for (int64_t r = 0; r < shard.rows; ++r) {
      const int64_t s = shard.sample_index[static_cast<size_t>(r)];
      const int64_t v = shard.view[static_cast<size_t>(r)];
      if (s < 0 || s >= num_samples || v < 0 || v >= views) {
        throw UsageError("shard '" + path + "' names (sample " + std::to_string(s) + ", view " +
                         std::to_string(v) + ") outside this job's " +
                         std::to_string(num_samples) + " samples x " + std::to_string(views) +
                         " views; run with --relabel");
      }
      const int64_t row = s * views + v;
      if (topk) {
        copy_row(shard.topk_values, r, width, t.topk_values.data_ptr<float>(), row);
        copy_row(shard.topk_indices, r, width, t.topk_indices.data_ptr<int64_t>(), row);
        copy_row(shard.logsumexp, r, groups, t.logsumexp.data_ptr<float>(), row);
      } else {
        copy_row(shard.logits, r, width, t.logits.data_ptr<float>(), row);
      }
      covered[static_cast<size_t>(row)] = 1;
    }
  }
  for (int64_t s : required) {
    for (int64_t v = 0; v < views; ++v) {
      if (s < 0 || s >= num_samples || !covered[static_cast<size_t>(s * views + v)]) {
        throw UsageError("sample " + std::to_string(s) + " view " + std::to_string(v) +
                         " has no soft label in '" + source.soft_label_dir +
                         "'; run with --relabel to label again");
      }
    }
  }
  return t;
}

}  // namespace condenser
