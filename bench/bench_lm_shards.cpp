// `condenser bench lm_shards`: token-window top-k shards (k 32, float16
// values, uint16 indices, float32 logsumexp, the default filters: shuffle +
// deflate 1) written and read against raw sequential file I/O of the same
// arrays (written, fsynced and renamed; read back and decoded to what
// read_shard returns), in alternated rounds, the file dropped from the page
// cache before each read. One full-size shard: lm_kjv's 512 windows of 128
// tokens. Teacher logits: synthetic Zipf-like over V = 4096, as `bench
// topk_kl` makes them (a random init teacher's are near uniform and would
// compress unlike a trained one's).
#include <fcntl.h>
#include <sys/stat.h>
#include <torch/torch.h>
#include <unistd.h>

#include "bench/bench_lm.h"
#include "bench/raw_io.h"
#include "core/errors.h"
#include "core/files.h"
#include "data/shards/shard_reader.h"
#include "data/shards/shard_writer.h"

namespace condenser {
namespace {

struct TokenPayload {
  std::vector<int64_t> sample_index;
  std::vector<int32_t> view;
  std::vector<float> values;     // tokens * k, each group descending
  std::vector<int32_t> indices;  // tokens * k
  std::vector<float> logsumexp;  // tokens
  int64_t windows = 0, tokens = 0;
  // What the arrays take as stored, without filters.
  double bytes() const {
    return double(windows) * (8 + 4) + double(values.size()) * (2 + 2) + double(tokens) * 4;
  }
};

template <typename T>
void append(std::vector<T>& out, const at::Tensor& t) {
  const at::Tensor c = t.contiguous();
  out.insert(out.end(), c.data_ptr<T>(), c.data_ptr<T>() + c.numel());
}

// Zipf prior over a random token order plus context noise at a per-token
// sharpness (bench/topk_kl.cpp), the top-k taken chunk by chunk.
TokenPayload make_payload(int64_t windows) {
  TokenPayload p;
  p.windows = windows;
  p.tokens = windows * kLmSeqLen;
  for (int64_t w = 0; w < windows; ++w) p.sample_index.push_back(w);
  p.view.assign(static_cast<size_t>(windows), 0);
  torch::manual_seed(20261130);
  const at::Tensor prior = -1.2 * torch::log(torch::randperm(kLmVocab).to(torch::kFloat32) + 1);
  for (int64_t t = 0; t < p.tokens; t += 4096) {
    const int64_t n = std::min<int64_t>(4096, p.tokens - t);
    const at::Tensor sharp = torch::empty({n, 1}).uniform_(0.7, 1.5);
    const at::Tensor x = sharp * (prior + torch::randn({n, kLmVocab}) * 2.0);
    const auto [v, i] = x.topk(kLmTopK, 1);
    append<float>(p.values, v);
    append<int32_t>(p.indices, i.to(torch::kInt32));
    append<float>(p.logsumexp, x.to(torch::kFloat64).logsumexp(1).to(torch::kFloat32));
  }
  return p;
}

// The baseline: the arrays as stored (half values, uint16 ids), one after
// another, through a temporary name, fsynced and renamed like a shard.
void raw_write(const std::string& path, const TokenPayload& p) {
  std::vector<uint16_t> half(p.values.size()), ids(p.indices.size());
  for (size_t i = 0; i < half.size(); ++i) half[i] = float_to_half(p.values[i]);
  for (size_t i = 0; i < ids.size(); ++i) ids[i] = static_cast<uint16_t>(p.indices[i]);
  const std::string tmp = path + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) fail_io("cannot create", tmp);
  write_all(fd, p.sample_index.data(), p.sample_index.size() * 8, tmp);
  write_all(fd, p.view.data(), p.view.size() * 4, tmp);
  write_all(fd, half.data(), half.size() * 2, tmp);
  write_all(fd, ids.data(), ids.size() * 2, tmp);
  write_all(fd, p.logsumexp.data(), p.logsumexp.size() * 4, tmp);
  ::fsync(fd);
  ::close(fd);
  if (std::rename(tmp.c_str(), path.c_str()) != 0) fail_io("cannot rename", tmp);
  fsync_dir(parent_dir(path));
}

// Reads them back and decodes to float32 values and int32 ids, as read_shard returns.
TokenPayload raw_read(const std::string& path, int64_t windows) {
  TokenPayload p;
  p.windows = windows;
  p.tokens = windows * kLmSeqLen;
  const auto cells = static_cast<size_t>(p.tokens * kLmTopK);
  std::vector<uint16_t> half(cells), ids(cells);
  p.sample_index.resize(static_cast<size_t>(windows));
  p.view.resize(static_cast<size_t>(windows));
  p.logsumexp.resize(static_cast<size_t>(p.tokens));
  const int fd = ::open(path.c_str(), O_RDONLY);
  if (fd < 0) fail_io("cannot open", path);
  read_all(fd, p.sample_index.data(), p.sample_index.size() * 8, path);
  read_all(fd, p.view.data(), p.view.size() * 4, path);
  read_all(fd, half.data(), cells * 2, path);
  read_all(fd, ids.data(), cells * 2, path);
  read_all(fd, p.logsumexp.data(), p.logsumexp.size() * 4, path);
  ::close(fd);
  p.values.resize(cells);
  p.indices.resize(cells);
  for (size_t i = 0; i < cells; ++i) p.values[i] = half_to_float(half[i]);
  for (size_t i = 0; i < cells; ++i) p.indices[i] = ids[i];
  return p;
}

ShardMeta lm_meta() {
  ShardMeta meta;
  meta.teacher_sha256 = std::string(64, '0');
  meta.dataset_fingerprint = "bench";
  meta.temperature = 1.0;
  meta.num_classes = static_cast<int>(kLmVocab);
  meta.top_k = kLmTopK;
  meta.positions = static_cast<int>(kLmSeqLen);
  meta.value_format = TopKValueFormat::kFloat16;
  meta.producer = "condenser bench lm_shards";
  return meta;
}

double file_bytes(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) fail_io("cannot stat", path);
  return double(st.st_size);
}

// Write and read against the raw baseline, with `filters` (named `name`;
// ratio names end in `suffix`).
void write_read(BenchReport& report, const TokenPayload& p, const TopKWriteOptions& filters,
                const std::string& name, const std::string& suffix, const std::string& dir,
                int repeats) {
  const ShardMeta meta = lm_meta();
  const std::string shard = dir + "/lm.h5", raw = dir + "/lm.raw";
  const auto [w_ours, w_raw] = time_alternating(
      [&] {
        write_topk_shard(shard, meta, p.sample_index, p.view, p.values, p.indices, p.logsumexp,
                         filters);
      },
      [&] { raw_write(raw, p); }, repeats);
  const auto [r_ours, r_raw] = time_alternating(
      [&] {
        evict(shard);
        if (read_shard(shard).topk_values.size() != p.values.size()) {
          throw RuntimeFailure("bench lm_shards: the shard read back holds other values");
        }
      },
      [&] {
        evict(raw);
        if (raw_read(raw, p.windows).values.size() != p.values.size()) {
          throw RuntimeFailure("bench lm_shards: the raw file read back holds other values");
        }
      },
      repeats);
  const double tokens = double(p.tokens), mb = p.bytes() / 1e6;
  const nlohmann::json sizes = {{"tokens", p.tokens},
                                {"windows", p.windows},
                                {"payload_mb", mb},
                                {"k", kLmTopK},
                                {"vocab", kLmVocab},
                                {"shard_bytes_per_token", file_bytes(shard) / tokens},
                                {"raw_bytes_per_token", file_bytes(raw) / tokens}};
  auto add = [&](const std::string& what, const Timing& ours, const Timing& base) {
    nlohmann::json e = sizes;
    e["ours_payload_mb_per_s"] = mb / ours.median;
    e["baseline_payload_mb_per_s"] = mb / base.median;
    e["ours_min_max_s"] = {ours.min, ours.max};
    e["baseline_min_max_s"] = {base.min, base.max};
    report.cases.push_back({what, tokens / ours.median, tokens / base.median, "tokens/s", e});
  };
  add("write k=32 float16 token-window shard (" + name + ")", w_ours, w_raw);
  add("read k=32 float16 token-window shard (" + name + ")", r_ours, r_raw);
  report.ratios.push_back({"write_vs_raw" + suffix, w_raw.median / w_ours.median, 0.8, true});
  report.ratios.push_back({"read_vs_raw" + suffix, r_raw.median / r_ours.median, 0.8, true});
}

}  // namespace

BenchReport bench_lm_shards(const BenchOptions& options) {
  BenchReport report;
  report.bench = "lm_shards";
  const std::string dir = options.scratch_dir + "/lm_shards";
  ensure_dir(dir);
  const int64_t windows = options.quick ? 16 : 512;  // lm_kjv soft_labels.shard_rows
  const TokenPayload p = make_payload(windows);
  write_read(report, p, TopKWriteOptions{}, "shuffle+deflate 1", "", dir, options.repeats);
  // What the filters cost: the same shard stored without them.
  TopKWriteOptions plain;
  plain.compression = {0, false};
  write_read(report, p, plain, "no filters", "_no_filters", dir, options.repeats);
  remove_tree(dir);
  return report;
}

}  // namespace condenser
