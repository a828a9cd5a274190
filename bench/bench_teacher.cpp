// `condenser bench teacher`: soft-label throughput (samples/s) through the
// coordinator and one `condenser worker` process (lease, TorchScript teacher
// inference, HDF5 shard, checksum, commit) against a bare LibTorch inference
// loop over the same model, samples, batch size and thread count, alternated
// in one run. Also a batch-size sweep of the bare loop (the default
// soft_labels.batch_size should sit near its best).
//
// Each round starts a fresh coordinator and worker; the worker's first task
// warms its kernels up and is not timed: ours is the time from the lease of
// the second task to the last commit, over the remaining tasks (steady state).
#include <sys/stat.h>
#include <torch/torch.h>

#include <atomic>
#include <cstdio>
#include <optional>
#include <thread>

#include "bench/bench_teacher_round.h"
#include "bench/benches.h"
#include "config/config.h"
#include "coordinator/control/control_server.h"
#include "coordinator/control/local_workers.h"
#include "core/errors.h"
#include "core/files.h"
#include "core/log.h"
#include "core/sha256.h"
#include "data/dataset.h"
#include "data/sampling.h"
#include "protocol/job_token.h"
#include "protocol/label_spec.h"
#include "trainers/model_io.h"
#include "trainers/model_spec.h"

namespace condenser {
namespace {

using Clock = std::chrono::steady_clock;

// Commits like the real coordinator (checksum, rename) and notes when.
struct TimedCommits : ControlEffects {
  std::string dir;
  std::vector<Clock::time_point> commits;
  std::string commit(const Lease& lease, const LabelTask& task, const msg::TaskDone& done) override {
    const std::string attempt = dir + "/" + lease.attempt_file;
    if (sha256_file(attempt) != done.sha256) return "sha256 mismatch";
    if (std::rename(attempt.c_str(), (dir + "/" + task.file).c_str()) != 0) return "rename failed";
    fsync_dir(dir);
    commits.push_back(Clock::now());
    return "";
  }
  void discard(const std::string& f) override { std::remove((dir + "/" + f).c_str()); }
  // The worker leases task 1 right after its first (warm-up) inference:
  // steady state starts there. (With double buffering, commits trail the
  // next task's inference, so first-to-last commit would miss a task.)
  std::optional<Clock::time_point> steady_start;
  void record(const TableEvent& e) override {
    if (!steady_start && e.kind == TableEvent::Kind::kLease && e.task == 1) {
      steady_start = Clock::now();
    }
  }
};

}  // namespace

double coordinator_round(const LabelSpec& spec, const std::vector<LabelTask>& tasks,
                         const std::string& token_file, const std::string& token, int threads,
                         const std::string& device) {
  TaskTable table(tasks, std::chrono::milliseconds(60000));
  TimedCommits effects;
  effects.dir = spec.soft_label_dir;
  ControlHandler handler(table, token, spec, effects, HandlerOptions{});
  ControlServer server(handler, ServerOptions{}, HttpRoutes{});
  LocalWorkers worker(1, server.control_address(), token_file, device, threads);
  for (bool done = false; !done;) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
    server.run_on_io([&] { done = table.all_done(); });
    if (!done && worker.poll() == 0) throw RuntimeFailure("bench teacher: the worker exited early");
  }
  worker.wait(30.0);
  double seconds = 0;
  server.run_on_io([&] {
    seconds = std::chrono::duration<double>(effects.commits.back() - *effects.steady_start).count();
  });
  server.stop();
  for (const LabelTask& t : tasks) std::remove((spec.soft_label_dir + "/" + t.file).c_str());
  return seconds;
}

TeacherRound make_teacher_round(const std::string& teacher_path, const ImageDataset& data,
                                const std::string& data_dir, const std::string& dir,
                                int64_t task_rows, int timed_tasks, int64_t batch_size) {
  TeacherRound r;
  LabelSpec& spec = r.spec;
  spec.teacher_path = teacher_path;
  spec.teacher_sha256 = module_identity(load_module(teacher_path, "teacher"));
  spec.data_dir = data_dir;
  spec.train_subset = task_rows * (timed_tasks + 1);
  spec.split_seed = 7;
  spec.dataset_fingerprint = data.fingerprint;
  r.samples = make_train_val_split(data.size(), 0, spec.train_subset, spec.split_seed).train;
  spec.num_samples = static_cast<int64_t>(r.samples.size());
  spec.soft_label_dir = dir;
  spec.temperature = 4.0;
  spec.num_classes = data.num_classes;
  spec.batch_size = batch_size;
  add_round_tasks(r, dir, task_rows, timed_tasks);
  return r;
}

void add_round_tasks(TeacherRound& r, const std::string& dir, int64_t task_rows,
                     int timed_tasks) {
  for (int t = 0; t <= timed_tasks; ++t) {
    char name[32];
    std::snprintf(name, sizeof name, "shard-%06d.h5", t);
    r.tasks.push_back({t * task_rows, (t + 1) * task_rows, name});
  }
  r.token_file = dir + "/job.token";
  std::remove(r.token_file.c_str());  // a fresh token per round, as a job makes one
  ensure_job_token(r.token_file);
  r.token = read_job_token(r.token_file);
}

namespace {

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// Seconds of one bare inference pass of `module` over `batches`.
double bare_pass(torch::jit::Module& module, const std::vector<at::Tensor>& batches) {
  c10::InferenceMode guard;
  const auto start = Clock::now();
  for (const at::Tensor& x : batches) module.forward({x}).toTensor();
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// Batch-size sweep of the bare loop over the first `rows` of `images`. A
// fresh module per size: TorchScript specialises on the first shapes it
// profiles, so a shared module would favour whichever size came first.
nlohmann::json bare_batch_sweep(const std::string& teacher_path, const at::Tensor& images,
                                int64_t rows, int repeats) {
  nlohmann::json sweep = nlohmann::json::array();
  for (int64_t bs : {32, 64, 128, 256, 500, 1000}) {
    torch::jit::Module module = load_module(teacher_path, "teacher");
    module.eval();
    std::vector<at::Tensor> xs;
    for (int64_t b = 0; b < rows; b += bs) {
      xs.push_back(images.narrow(0, b, std::min(bs, rows - b)).contiguous());
    }
    bare_pass(module, xs);
    std::vector<double> t;
    for (int i = 0; i < std::max(1, repeats / 2); ++i) t.push_back(bare_pass(module, xs));
    sweep.push_back({{"batch", bs}, {"samples_per_s", static_cast<double>(rows) / median(t)}});
  }
  return sweep;
}

}  // namespace

BenchReport bench_teacher(const BenchOptions& options) {
  BenchReport report;
  report.bench = "teacher";
  const std::string data_dir = "/usr/share/datasets/fashion-mnist";
  const int threads = at::get_num_threads();
  const int64_t batch = SoftLabelConfig{}.batch_size;  // the default soft_labels.batch_size
  const int64_t task_rows = options.quick ? 500 : 5000;
  const int timed_tasks = options.quick ? 2 : 4;
  const std::string dir = options.scratch_dir + "/teacher";
  ensure_dir(dir);

  // Same model as the default job's teacher (built-in cnn), saved as TorchScript.
  torch::jit::Module teacher = build_model(zoo_spec("cnn"), 1);
  teacher.eval();
  const std::string teacher_path = dir + "/teacher.pt";
  save_module(teacher, teacher_path);
  const ImageDataset data = load_fashion_mnist(data_dir, /*train=*/true);
  TeacherRound round = make_teacher_round(teacher_path, data, data_dir, dir, task_rows,
                                          timed_tasks, batch);
  const LabelSpec& spec = round.spec;
  const std::vector<LabelTask>& tasks = round.tasks;
  const std::vector<int64_t>& samples = round.samples;
  const std::string& token = round.token;
  const std::string& token_file = round.token_file;

  // Baseline: the timed tasks' samples, pre-gathered into contiguous batches.
  std::vector<at::Tensor> batches;
  const int64_t timed_rows = task_rows * timed_tasks;
  const at::Tensor ids = torch::from_blob(const_cast<int64_t*>(samples.data()) + task_rows,
                                          {timed_rows}, torch::kInt64).clone();
  const at::Tensor timed_images = data.images.index_select(0, ids);
  for (int64_t b = 0; b < timed_rows; b += batch) {
    batches.push_back(timed_images.narrow(0, b, std::min(batch, timed_rows - b)).contiguous());
  }
  // The baseline runs the very file the worker loads, as the worker does.
  at::set_num_threads(threads);
  torch::jit::Module loaded = load_module(teacher_path, "teacher");
  loaded.eval();
  auto bare = [&loaded](const std::vector<at::Tensor>& xs) { return bare_pass(loaded, xs); };
  bare(batches);  // warm-up
  std::vector<double> ours, base;
  for (int r = 0; r < options.repeats + 1; ++r) {  // round 0 is a warm-up
    double o = 0, b = 0;
    if (r % 2 == 0) {
      o = coordinator_round(spec, tasks, token_file, token, threads, "cpu");
      b = bare(batches);
    } else {
      b = bare(batches);
      o = coordinator_round(spec, tasks, token_file, token, threads, "cpu");
    }
    log_info("bench teacher: round ", r, ": coordinator+worker ", fixed(o, 3), " s, bare ",
             fixed(b, 3), " s");
    if (r == 0) continue;
    ours.push_back(o);
    base.push_back(b);
  }
  const double n = static_cast<double>(timed_rows);
  const double o_med = median(ours), b_med = median(base);
  report.cases.push_back(
      {"samples/s, batch " + std::to_string(batch), n / o_med, n / b_med, "samples/s",
       {{"ours_min_max_s", {*std::min_element(ours.begin(), ours.end()),
                            *std::max_element(ours.begin(), ours.end())}},
        {"baseline_min_max_s", {*std::min_element(base.begin(), base.end()),
                                *std::max_element(base.begin(), base.end())}},
        {"threads", threads}, {"timed_samples", timed_rows}, {"task_rows", task_rows}}});
  report.ratios.push_back({"coordinator_vs_bare", b_med / o_med, 0.9, true});

  report.tables["bare_batch_sweep"] =
      bare_batch_sweep(teacher_path, timed_images, task_rows, options.repeats);
  remove_tree(dir);
  return report;
}

}  // namespace condenser
