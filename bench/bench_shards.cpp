// `condenser bench shards`: the HDF5 shard store against raw sequential file
// I/O of the same payload bytes on the same disk, in the same run; and the
// bytes each stored sample costs per format.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <random>

#include "bench/benches.h"
#include "bench/raw_io.h"
#include "core/errors.h"
#include "core/files.h"
#include "data/shards/shard_reader.h"
#include "data/shards/shard_writer.h"

namespace condenser {
namespace {

struct Payload {
  std::vector<int64_t> sample_index;
  std::vector<int32_t> view;
  std::vector<float> logits;
  std::vector<uint16_t> logits_half;  // scratch for the raw baseline's float16 reads
};

Payload make_payload(int64_t rows, int classes) {
  Payload p;
  std::mt19937 gen(1234);
  std::normal_distribution<float> normal(0.f, 3.f);
  for (int64_t r = 0; r < rows; ++r) {
    p.sample_index.push_back(r);
    p.view.push_back(0);
  }
  p.logits.resize(static_cast<size_t>(rows) * classes);
  for (float& v : p.logits) v = normal(gen);
  return p;
}

size_t payload_bytes(const Payload& p, LogitDType dtype) {
  return p.sample_index.size() * 8 + p.view.size() * 4 +
         p.logits.size() * logit_dtype_bytes(dtype);
}

// The baseline: the same arrays, one after another, written and fsynced
// through a temporary name and renamed (the same durability as a shard).
void raw_write(const std::string& path, const Payload& p, LogitDType dtype) {
  const std::string tmp = path + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) fail_io("cannot create", tmp);
  write_all(fd, p.sample_index.data(), p.sample_index.size() * 8, tmp);
  write_all(fd, p.view.data(), p.view.size() * 4, tmp);
  if (dtype == LogitDType::kFloat16) {
    // Both sides start from the teacher's float32 logits, so both convert.
    std::vector<uint16_t> half(p.logits.size());
    for (size_t i = 0; i < half.size(); ++i) half[i] = float_to_half(p.logits[i]);
    write_all(fd, half.data(), half.size() * 2, tmp);
  } else {
    write_all(fd, p.logits.data(), p.logits.size() * 4, tmp);
  }
  ::fsync(fd);
  ::close(fd);
  if (std::rename(tmp.c_str(), path.c_str()) != 0) fail_io("cannot rename", tmp);
  fsync_dir(parent_dir(path));
}

void raw_read(const std::string& path, Payload* out, LogitDType dtype, int64_t rows, int classes) {
  const int fd = ::open(path.c_str(), O_RDONLY);
  if (fd < 0) fail_io("cannot open", path);
  out->sample_index.resize(static_cast<size_t>(rows));
  out->view.resize(static_cast<size_t>(rows));
  read_all(fd, out->sample_index.data(), static_cast<size_t>(rows) * 8, path);
  read_all(fd, out->view.data(), static_cast<size_t>(rows) * 4, path);
  const size_t n = static_cast<size_t>(rows) * classes;
  if (dtype == LogitDType::kFloat16) {
    out->logits_half.resize(n);
    read_all(fd, out->logits_half.data(), n * 2, path);
    out->logits.resize(n);  // a reader needs floats, as ours returns
    for (size_t i = 0; i < n; ++i) out->logits[i] = half_to_float(out->logits_half[i]);
  } else {
    out->logits.resize(n);
    read_all(fd, out->logits.data(), n * 4, path);
  }
  ::close(fd);
}

ShardMeta bench_meta(int classes) {
  ShardMeta meta;
  meta.teacher_sha256 = std::string(64, '0');
  meta.dataset_fingerprint = "bench";
  meta.temperature = 4.0;
  meta.num_classes = classes;
  meta.producer = "condenser bench shards";
  return meta;
}

void throughput(BenchReport& report, const std::string& dir, LogitDType dtype,
                const BenchOptions& options) {
  const int classes = 2048;
  const int64_t rows = options.quick ? 1024 : 8192;  // 64 MiB of float32 logits by default
  const Payload payload = make_payload(rows, classes);
  const double mb = double(payload_bytes(payload, dtype)) / 1e6;
  const std::string name = logit_dtype_name(dtype);
  const std::string shard = dir + "/bench-" + name + ".h5", raw = dir + "/bench-" + name + ".raw";
  const ShardMeta meta = bench_meta(classes);

  auto [w_ours, w_raw] = time_alternating(
      [&] {
        write_shard(shard, meta, payload.sample_index, payload.view, payload.logits, dtype);
      },
      [&] { raw_write(raw, payload, dtype); }, options.repeats);
  auto [r_ours, r_raw] = time_alternating(
      [&] {
        evict(shard);
        const ShardData d = read_shard(shard);
        if (d.rows != rows) throw RuntimeFailure("bench: shard read back wrong row count");
      },
      [&] {
        evict(raw);
        Payload back;
        raw_read(raw, &back, dtype, rows, classes);
      },
      options.repeats);
  auto add = [&](const std::string& what, const Timing& ours, const Timing& base) {
    report.cases.push_back({what + " " + name, mb / ours.median, mb / base.median, "MB/s",
                            {{"ours_min_max_s", {ours.min, ours.max}},
                             {"baseline_min_max_s", {base.min, base.max}},
                             {"payload_mb", mb}}});
  };
  add("write", w_ours, w_raw);
  add("read", r_ours, r_raw);
  report.ratios.push_back({"write_vs_raw_" + name, w_raw.median / w_ours.median, 0.8, true});
  report.ratios.push_back({"read_vs_raw_" + name, r_raw.median / r_ours.median, 0.8, true});
}

double file_bytes(const std::string& path) {
  struct stat st{};
  if (::stat(path.c_str(), &st) != 0) fail_io("cannot stat", path);
  return double(st.st_size);
}

// Top-k shards (k = 1, 5, 64 where k <= C): float16 values, int32 indices,
// float32 logsumexp per row.
void add_topk_bytes_per_sample(nlohmann::json& table, const std::string& dir, int classes,
                               int64_t rows, const Payload& p, ShardMeta meta) {
  for (int k : {1, 5, 64}) {
    if (k > classes) continue;
    const TopK top = topk_from_logits(p.logits, rows, classes, k, meta.temperature);
    meta.top_k = k;
    const std::string path = dir + "/bps-topk.h5";
    write_topk_shard(path, meta, p.sample_index, p.view, top.values, top.indices, top.logsumexp);
    table.push_back({{"classes", classes},
                     {"format", "topk k=" + std::to_string(k)},
                     {"bytes_per_sample", file_bytes(path) / double(rows)}});
  }
}

void bytes_per_sample(BenchReport& report, const std::string& dir) {
  nlohmann::json table = nlohmann::json::array();
  for (int classes : {10, 32000}) {
    const int64_t rows = classes == 10 ? 4096 : 256;
    const Payload p = make_payload(rows, classes);
    const ShardMeta meta = bench_meta(classes);
    for (LogitDType dtype : {LogitDType::kFloat32, LogitDType::kFloat16}) {
      const std::string path = dir + "/bps.h5";
      write_shard(path, meta, p.sample_index, p.view, p.logits, dtype);
      table.push_back({{"classes", classes},
                       {"format", logit_dtype_name(dtype)},
                       {"bytes_per_sample", file_bytes(path) / double(rows)}});
    }
    add_topk_bytes_per_sample(table, dir, classes, rows, p, meta);
  }
  report.tables["bytes_per_sample"] = table;
}

}  // namespace

BenchReport bench_shards(const BenchOptions& options) {
  BenchReport report;
  report.bench = "shards";
  const std::string dir = options.scratch_dir + "/shards";
  ensure_dir(dir);
  throughput(report, dir, LogitDType::kFloat32, options);
  throughput(report, dir, LogitDType::kFloat16, options);
  bytes_per_sample(report, dir);
  return report;
}

}  // namespace condenser
