#include "bench/topk_kl.h"

#include <sys/stat.h>
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <numeric>

#include "core/bounded_read.h"
#include "core/errors.h"
#include "core/files.h"
#include "data/shards/shard_reader.h"
#include "data/shards/shard_writer.h"
#include "data/shards/topk_kl.h"

namespace condenser {
namespace {

constexpr int kPositions = 128;

struct Logits {
  std::vector<float> values;  // tokens * vocab
  int64_t tokens = 0;
  int vocab = 0;
  std::string source;
};

// Zipf prior over a random token order + context noise, per-token sharpness.
Logits synthetic(int64_t tokens, int vocab) {
  torch::manual_seed(20261130);
  const at::Tensor rank = torch::randperm(vocab).to(torch::kFloat32);
  const at::Tensor prior = -1.2 * torch::log(rank + 1);
  const at::Tensor sharp = torch::empty({tokens, 1}).uniform_(0.7, 1.5);
  const at::Tensor x = (sharp * (prior + torch::randn({tokens, vocab}) * 2.0)).contiguous();
  return {std::vector<float>(x.data_ptr<float>(), x.data_ptr<float>() + x.numel()), tokens, vocab,
          "synthetic Zipf-like"};
}

Logits from_file(const std::string& path) {
  const std::string bytes = read_file_at_most(path, size_t{8} << 30, "teacher logits");
  c10::IValue value;
  try {
    value = torch::pickle_load(std::vector<char>(bytes.begin(), bytes.end()));
  } catch (const c10::Error& e) {
    throw UsageError("CONDENSER_TOPK_KL_LOGITS '" + path +
                     "' is not a tensor saved with torch.save: " + e.what_without_backtrace());
  }
  at::Tensor x = value.isTensor() ? value.toTensor() : at::Tensor();
  if (!x.defined() || x.dim() != 2 || x.size(0) < 1 || x.size(1) < 2) {
    throw UsageError("CONDENSER_TOPK_KL_LOGITS '" + path + "' must hold a tensor [tokens, V]");
  }
  x = x.to(torch::kFloat32).contiguous();
  return {std::vector<float>(x.data_ptr<float>(), x.data_ptr<float>() + x.numel()), x.size(0),
          static_cast<int>(x.size(1)), path};
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

double file_size(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) throw RuntimeFailure("cannot stat " + path);
  return double(st.st_size);
}

struct Variant {
  std::string name;
  TopKValueFormat format;
  Int8Scheme scheme = Int8Scheme::kRange;
};

struct Measured {
  double bytes_per_token = 0, kl_mean = 0, kl_max = 0, write_s = 0, read_s = 0;
};

// Writes the logits' top-k as token-window shards (whole windows only), reads
// them back and measures against the full teacher.
Measured measure(const Logits& l, const TopK& top, int k, double t, const Variant& v,
                 const TopKWriteOptions& options, const std::string& path, bool with_kl = true) {
  const int64_t rows = l.tokens / kPositions, tokens = rows * kPositions;
  ShardMeta meta;
  meta.teacher_sha256 = std::string(64, '0');
  meta.dataset_fingerprint = l.source;
  meta.temperature = t;
  meta.num_classes = l.vocab;
  meta.top_k = k;
  meta.positions = kPositions;
  meta.value_format = v.format;
  meta.producer = "condenser bench topk_kl";
  std::vector<int64_t> samples(static_cast<size_t>(rows));
  std::iota(samples.begin(), samples.end(), 0);
  const size_t cells = static_cast<size_t>(tokens) * k;
  TopKWriteOptions o = options;
  o.int8_scheme = v.scheme;
  Measured m;
  auto t0 = std::chrono::steady_clock::now();
  write_topk_shard(path, meta, samples, std::vector<int32_t>(samples.size(), 0),
                   std::vector<float>(top.values.begin(), top.values.begin() + cells),
                   std::vector<int32_t>(top.indices.begin(), top.indices.begin() + cells),
                   std::vector<float>(top.logsumexp.begin(), top.logsumexp.begin() + tokens), o);
  m.write_s = seconds_since(t0);
  t0 = std::chrono::steady_clock::now();
  const ShardData d = read_shard(path);
  m.read_s = seconds_since(t0);
  m.bytes_per_token = file_size(path) / double(tokens);
  if (!with_kl) return m;
  const std::vector<double> kl = topk_reconstruction_kl(l.values, tokens, l.vocab, k, d.topk_values,
                                                        d.topk_indices, d.logsumexp, t);
  m.kl_mean = std::accumulate(kl.begin(), kl.end(), 0.0) / double(kl.size());
  m.kl_max = *std::max_element(kl.begin(), kl.end());
  return m;
}

const std::vector<Variant>& variants() {
  static const std::vector<Variant> v = {
      {"float32", TopKValueFormat::kFloat32},
      {"float16", TopKValueFormat::kFloat16},
      {"bfloat16", TopKValueFormat::kBFloat16},
      {"int8 range", TopKValueFormat::kInt8, Int8Scheme::kRange},
      {"int8 grid", TopKValueFormat::kInt8, Int8Scheme::kGrid}};
  return v;
}

void kl_table(BenchReport& report, const Logits& l, double t, const std::string& dir) {
  nlohmann::json table = nlohmann::json::array();
  std::printf("teacher logits: %s, %lld tokens, V = %d, T = %g, P = %d\n", l.source.c_str(),
              static_cast<long long>(l.tokens), l.vocab, t, kPositions);
  // "vs float32": the mean KL a value format adds to float32 values at the same k
  // (the rest of the KL is the top-k truncation itself).
  // bytes/token: "raw" without filters, "default" as write_topk_shard writes
  // token windows (shuffle + deflate 1).
  std::printf("%4s  %-10s  %9s  %9s  %10s  %10s  %11s\n", "k", "values", "B/tok raw",
              "B/tok def", "KL mean", "KL max", "vs float32");
  for (int k : {8, 16, 32, 64}) {
    if (k > l.vocab) continue;
    const TopK top = topk_from_logits(l.values, l.tokens, l.vocab, k, t);
    double exact = 0;  // float32 values come first
    for (const Variant& v : variants()) {
      TopKWriteOptions raw;
      raw.compression = {0, false};
      const Measured m = measure(l, top, k, t, v, raw, dir + "/topk_kl.h5");
      const double packed =
          measure(l, top, k, t, v, {}, dir + "/topk_kl.h5", /*with_kl=*/false).bytes_per_token;
      if (v.format == TopKValueFormat::kFloat32) exact = m.kl_mean;
      std::printf("%4d  %-10s  %9.1f  %9.1f  %10.4f  %10.4f  %11.2e\n", k, v.name.c_str(),
                  m.bytes_per_token, packed, m.kl_mean, m.kl_max, m.kl_mean - exact);
      table.push_back({{"k", k}, {"values", v.name}, {"bytes_per_token_raw", m.bytes_per_token},
                       {"bytes_per_token", packed},
                       {"kl_mean", m.kl_mean}, {"kl_max", m.kl_max},
                       {"kl_added_vs_float32", m.kl_mean - exact}});
      if (k == 32 && v.name == "float16") {
        report.cases.push_back({"k=32 float16 bytes/token (baseline: float32 full logits)",
                                packed, 4.0 * l.vocab, "B/token",
                                {{"kl_mean", m.kl_mean}, {"kl_max", m.kl_max},
                                 {"bytes_per_token_raw", m.bytes_per_token}}});
        report.ratios.push_back({"default_bytes_per_token", packed, 150.0, false});
      }
    }
  }
  report.tables["topk_kl"] = table;
}

// Filters on k = 32: the bytes they save against the time they cost (median of repeats).
void filter_table(BenchReport& report, const Logits& l, double t, const std::string& dir,
                  int repeats) {
  const int k = std::min(32, l.vocab);
  const TopK top = topk_from_logits(l.values, l.tokens, l.vocab, k, t);
  const std::vector<std::pair<std::string, ShardCompression>> filters = {
      {"none", {0, false}}, {"shuffle", {0, true}}, {"deflate 1", {1, false}},
      {"shuffle+deflate 1", {1, true}}, {"shuffle+deflate 6", {6, true}}};
  nlohmann::json table = nlohmann::json::array();
  std::printf("\nfilters, k = %d: %-20s %-10s %11s %9s %9s\n", k, "filter", "values",
              "bytes/token", "write ms", "read ms");
  for (const Variant& v : {variants()[1], variants()[3]}) {
    for (const auto& [name, c] : filters) {
      TopKWriteOptions o;
      o.compression = c;
      std::vector<double> w, r;
      Measured m;
      for (int i = 0; i < std::max(1, repeats); ++i) {
        m = measure(l, top, k, t, v, o, dir + "/filters.h5", /*with_kl=*/false);
        w.push_back(m.write_s);
        r.push_back(m.read_s);
      }
      std::sort(w.begin(), w.end());
      std::sort(r.begin(), r.end());
      const double wm = w[w.size() / 2] * 1e3, rm = r[r.size() / 2] * 1e3;
      std::printf("%18s %-20s %-10s %11.1f %9.1f %9.1f\n", "", name.c_str(), v.name.c_str(),
                  m.bytes_per_token, wm, rm);
      table.push_back({{"filter", name}, {"values", v.name}, {"bytes_per_token", m.bytes_per_token},
                       {"write_ms", wm}, {"read_ms", rm}, {"tokens", l.tokens / kPositions * kPositions}});
    }
  }
  report.tables["filters"] = table;
}

}  // namespace

BenchReport bench_topk_kl(const BenchOptions& options) {
  BenchReport report;
  report.bench = "topk_kl";
  const std::string dir = options.scratch_dir + "/topk_kl";
  ensure_dir(dir);
  const char* file = std::getenv("CONDENSER_TOPK_KL_LOGITS");
  const char* temp = std::getenv("CONDENSER_TOPK_KL_T");
  const double t = temp ? std::atof(temp) : 1.0;
  if (!(t > 0)) throw UsageError("CONDENSER_TOPK_KL_T must be a number > 0");
  Logits l = file && *file ? from_file(file) : synthetic(options.quick ? 4096 : 16384, 4096);
  if (l.tokens < kPositions) {
    throw UsageError("teacher logits hold " + std::to_string(l.tokens) + " tokens; need at least " +
                     std::to_string(kPositions) + " (one window)");
  }
  l.tokens -= l.tokens % kPositions;  // whole windows only
  l.values.resize(static_cast<size_t>(l.tokens) * l.vocab);
  kl_table(report, l, t, dir);
  filter_table(report, l, t, dir, options.quick ? 1 : options.repeats);
  return report;
}

}  // namespace condenser
