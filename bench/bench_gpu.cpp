// `condenser bench gpu`: the CUDA path against bare LibTorch loops on the
// same GPU, alternated in one run.
//   teacher: soft-label samples/s through the coordinator and one
//     `condenser worker --device cuda` (lease, inference, HDF5 shard,
//     checksum, commit) against a bare loop over the same model file,
//     samples and batch size (per batch: gather the rows from the dataset
//     tensor, copy to the GPU, forward, logits back to the host: what
//     labelling needs at least). Goal >= 0.9x. Twice: the zoo's cnn teacher
//     (8.5 MFLOP a sample, so on a GPU the shard bookkeeping weighs more)
//     and a wide cnn of ~0.5 GFLOP a sample, a teacher worth a GPU.
//   student: train_stage's distillation step on CUDA against a bare loop
//     (same model and seed, batch, Adam, kd_loss; the host gathers each batch
//     and copies it over, as any loop must). Goal >= 0.9x the speed. A third
//     timing, the bare loop reading loss and accuracy back every step as
//     train_stage does, shows how much of a gap those two syncs explain.
// Both report samples/s and achieved TFLOP/s (forward FLOPs counted from the
// ModelSpec; a training step as 3x forward). Without a CUDA build and a
// visible GPU it refuses with exit 2. Data: CONDENSER_BENCH_DATA, else the
// default data.path.
#include <torch/cuda.h>
#include <torch/torch.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <functional>

#include "bench/bench_teacher_round.h"
#include "bench/benches.h"
#include "config/config.h"
#include "core/errors.h"
#include "core/files.h"
#include "core/log.h"
#include "core/sha256.h"
#include "data/dataset.h"
#include "data/sampling.h"
#include "trainers/device.h"
#include "trainers/losses.h"
#include "trainers/model_flops.h"
#include "trainers/model_io.h"
#include "trainers/model_spec.h"
#include "trainers/training.h"

namespace condenser {
namespace {

using Clock = std::chrono::steady_clock;
const c10::Device kGpu(c10::kCUDA, 0);
constexpr int64_t kTeacherBatch = 1024;  // a GPU-sized inference batch for both sides
constexpr int64_t kStudentBatch = 128;   // the job's default training batch

void require_gpu() {
#if !defined(CONDENSER_WITH_CUDA)
  throw UsageError(
      "bench gpu needs a CUDA build and a GPU: this condenser was built without CUDA "
      "(CONDENSER_WITH_CUDA=OFF, a CPU LibTorch); build it against a CUDA LibTorch and run it "
      "on a GPU machine (scripts/gpu-check.sh does both)");
#else
  if (!torch::cuda::is_available()) {
    throw UsageError("bench gpu needs a CUDA build and a GPU: no CUDA device is visible to "
                     "this process (check nvidia-smi and CUDA_VISIBLE_DEVICES)");
  }
#endif
}

std::string bench_data_dir() {
  const char* dir = std::getenv("CONDENSER_BENCH_DATA");
  return dir != nullptr && *dir != '\0' ? dir : DataConfig().path;
}

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

nlohmann::json min_max(const std::vector<double>& v) {
  return {*std::min_element(v.begin(), v.end()), *std::max_element(v.begin(), v.end())};
}

// Multiply-adds x 2 of one sample's forward pass: convolutions (stride 1)
// and linear layers; pooling, BatchNorm and activations are not counted.
// Forward FLOPs per sample of a dense model of this spec.
double forward_flops(const ModelSpec& spec) {
  return double(model_flops(spec, build_model(spec, 0)).dense);
}

// Runs `rounds` + 1 rounds of every function, rotating which goes first;
// round 0 warms up. Returns each function's timed seconds.
std::vector<std::vector<double>> rotate(int rounds, const std::vector<std::function<double()>>& fns,
                                        const char* what) {
  std::vector<std::vector<double>> times(fns.size());
  for (int r = 0; r <= rounds; ++r) {
    std::string line;
    for (size_t k = 0; k < fns.size(); ++k) {
      const size_t f = (k + size_t(r)) % fns.size();
      const double t = fns[f]();
      line += " [" + std::to_string(f) + "] " + fixed(t, 4) + " s";
      if (r > 0) times[f].push_back(t);
    }
    log_info("bench gpu ", what, ": round ", r, ":", line);
  }
  return times;
}

// The zoo cnn with 8x wider convolutions and a 512-wide hidden layer
// (~0.5 GFLOP a sample, ~14M parameters).
ModelSpec wide_cnn() {
  ModelSpec spec = zoo_spec("cnn");
  spec.name = "wide_cnn";
  const LayerSpec pool{LayerKind::kMaxPool, 0, 2, 0, 0.0};
  spec.layers = {{LayerKind::kConv, 256},  {LayerKind::kBatchNorm}, {LayerKind::kReLU}, pool,
                 {LayerKind::kConv, 512},  {LayerKind::kBatchNorm}, {LayerKind::kReLU}, pool,
                 {LayerKind::kFlatten},    {LayerKind::kLinear, 512}, {LayerKind::kReLU},
                 {LayerKind::kLinear, 10}};
  return spec;
}

void teacher_case(const BenchOptions& options, const ImageDataset& data,
                  const std::string& data_dir, const ModelSpec& model, BenchReport* report) {
  const int threads = at::get_num_threads();
  const int64_t task_rows = options.quick ? 2000 : 10000;
  const int timed_tasks = options.quick ? 2 : 5;
  const std::string dir = options.scratch_dir + "/gpu_teacher_" + model.name;
  ensure_dir(dir);
  torch::jit::Module teacher = build_model(model, 1);
  teacher.eval();
  const std::string teacher_path = dir + "/teacher.pt";
  save_module(teacher, teacher_path);
  TeacherRound round = make_teacher_round(teacher_path, data, data_dir, dir, task_rows,
                                          timed_tasks, kTeacherBatch);
  const LabelSpec& spec = round.spec;
  const std::vector<LabelTask>& tasks = round.tasks;
  const std::vector<int64_t>& samples = round.samples;
  const std::string& token = round.token;
  const std::string& token_file = round.token_file;

  // Bare: the timed tasks' samples, gathered per batch from the dataset
  // tensor as any loop over a sample list must; the same file on the GPU.
  const int64_t timed_rows = task_rows * timed_tasks;
  std::vector<at::Tensor> batch_ids;
  for (int64_t b = 0; b < timed_rows; b += kTeacherBatch) {
    const int64_t rows = std::min(kTeacherBatch, timed_rows - b);
    batch_ids.push_back(torch::from_blob(const_cast<int64_t*>(samples.data()) + task_rows + b,
                                         {rows}, torch::kInt64)
                            .clone());
  }
  torch::jit::Module loaded = load_module(teacher_path, "teacher");
  loaded.to(kGpu);
  loaded.eval();
  auto bare = [&] {
    c10::InferenceMode guard;
    const auto start = Clock::now();
    for (const at::Tensor& ids : batch_ids) {
      const at::Tensor x = data.images.index_select(0, ids).to(kGpu);
      loaded.forward({x}).toTensor().to(torch::kCPU);
    }
    torch::cuda::synchronize();
    return seconds_since(start);
  };
  bare();  // cuDNN picks its kernels
  const auto times = rotate(
      options.repeats,
      {[&] { return coordinator_round(spec, tasks, token_file, token, threads, "cuda"); }, bare},
      ("teacher " + model.name + " ([0] coordinator+worker, [1] bare)").c_str());
  const std::vector<double>& ours = times[0];
  const std::vector<double>& base = times[1];
  const double n = double(timed_rows);
  const double o = median(ours), b = median(base);
  const double gflop = forward_flops(model) / 1e9;
  report->cases.push_back({"teacher samples/s (" + model.name + ", batch " +
                               std::to_string(kTeacherBatch) + ")",
                           n / o, n / b, "samples/s",
                           {{"ours_min_max_s", min_max(ours)},
                            {"baseline_min_max_s", min_max(base)},
                            {"ours_tflops", n / o * gflop / 1e3},
                            {"baseline_tflops", n / b * gflop / 1e3},
                            {"forward_gflop_per_sample", gflop},
                            {"timed_samples", timed_rows},
                            {"task_rows", task_rows},
                            {"threads", threads}}});
  report->ratios.push_back({"teacher_" + model.name + "_coordinator_vs_bare", b / o, 0.9, true});
  remove_tree(dir);
}

// train_stage's options for one distillation epoch of the student.
StageOptions student_options(const SoftTargets& soft, double temperature, double alpha) {
  StageOptions o;
  o.stage = "bench";
  o.optim.epochs = 1;
  o.optim.batch_size = kStudentBatch;
  o.log_every = 0;
  o.distill.soft = soft;
  o.distill.temperature = temperature;
  o.distill.alpha = alpha;
  return o;
}

void student_case(const BenchOptions& options, const ImageDataset& data, BenchReport* report) {
  const int64_t n = options.quick ? 2560 : 25600;
  const std::vector<int64_t> samples = make_train_val_split(data.size(), 0, n, 3).train;
  const ModelSpec model = zoo_spec("small_cnn");
  SoftTargets soft;  // random teacher logits: the cost does not depend on them
  soft.logits = torch::randn({data.size(), int64_t(data.num_classes)}) * 3;
  const double temperature = 4.0, alpha = 0.9;
  const int64_t steps = (n + kStudentBatch - 1) / kStudentBatch;

  const StageOptions stage = student_options(soft, temperature, alpha);
  auto ours = [&] {
    torch::jit::Module student = build_model(model, 1);
    student.to(kGpu);
    torch::cuda::synchronize();
    const auto start = Clock::now();
    train_stage(student, {data.images, data.labels, samples}, {data.images, data.labels, {}},
                stage, nullptr, [](const nlohmann::json&) {});
    torch::cuda::synchronize();
    return seconds_since(start);
  };
  const std::vector<int64_t> order = permutation(n, 1);
  // sync_metrics: also read the loss and the correct count back every step,
  // as train_stage does for its metrics (tells how much of a gap is that).
  auto bare = [&](bool sync_metrics) {
    torch::jit::Module student = build_model(model, 1);
    student.to(kGpu);
    student.train();
    std::vector<at::Tensor> params;
    for (const auto& p : student.parameters()) params.push_back(p);
    torch::optim::Adam adam(params, torch::optim::AdamOptions(1e-3));
    torch::cuda::synchronize();
    const auto start = Clock::now();
    for (int64_t b = 0; b < n; b += kStudentBatch) {
      std::vector<int64_t> rows;
      for (int64_t i = b; i < std::min(n, b + kStudentBatch); ++i) {
        rows.push_back(samples[size_t(order[size_t(i)])]);
      }
      const at::Tensor idx = torch::tensor(rows, torch::kInt64);
      const at::Tensor x = data.images.index_select(0, idx).to(kGpu);
      const at::Tensor y = data.labels.index_select(0, idx).to(kGpu);
      const at::Tensor t = soft.logits.index_select(0, idx).to(kGpu);
      adam.zero_grad();
      const at::Tensor logits = student.forward({x}).toTensor();
      const at::Tensor loss = kd_loss(logits, t, y, temperature, alpha);
      loss.backward();
      if (sync_metrics) {
        logits.argmax(1).eq(y).sum().item<int64_t>();
        loss.item<double>();
      }
      adam.step();
    }
    torch::cuda::synchronize();
    return seconds_since(start);
  };
  const auto times = rotate(options.repeats, {ours, [&] { return bare(false); }, [&] { return bare(true); }},
                           "student ([0] train_stage, [1] bare, [2] bare + per-step metric reads)");
  const std::vector<double>& o = times[0];
  const std::vector<double>& b = times[1];
  const double om = median(o), bm = median(b), sm = median(times[2]);
  const double gflop = 3 * forward_flops(model) / 1e9;
  report->cases.push_back({"student step ms (small_cnn, batch " + std::to_string(kStudentBatch) +
                               ", distillation)",
                           om / double(steps) * 1e3, bm / double(steps) * 1e3, "ms/step",
                           {{"ours_min_max_s", min_max(o)},
                            {"baseline_min_max_s", min_max(b)},
                            {"ours_samples_per_s", double(n) / om},
                            {"baseline_samples_per_s", double(n) / bm},
                            {"ours_tflops", double(n) / om * gflop / 1e3},
                            {"baseline_tflops", double(n) / bm * gflop / 1e3},
                            {"train_gflop_per_sample", gflop},
                            {"baseline_with_metric_reads_ms_per_step", sm / double(steps) * 1e3},
                            {"steps", steps}}});
  // Speed ratio: bare time / our time (>= 0.9 means at most ~11% slower).
  report->ratios.push_back({"student_step_speed_vs_bare", bm / om, 0.9, true});
}

}  // namespace

BenchReport bench_gpu(const BenchOptions& options) {
  require_gpu();
  BenchReport report;
  report.bench = "gpu";
  const std::string data_dir = bench_data_dir();
  const ImageDataset data = load_fashion_mnist(data_dir, /*train=*/true);
  teacher_case(options, data, data_dir, zoo_spec("cnn"), &report);
  teacher_case(options, data, data_dir, wide_cnn(), &report);
  student_case(options, data, &report);
  report.tables["device"] = {{"cuda_devices", int(torch::cuda::device_count())},
                             {"cudnn", torch::cuda::cudnn_is_available()},
                             {"threads", at::get_num_threads()}};
  return report;
}

}  // namespace condenser
