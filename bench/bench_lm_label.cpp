// `condenser bench lm_label`: top-k soft labels for token windows, tokens/s,
// through the coordinator and one `condenser worker` process (lease, the
// lm_kjv teacher on windows of 128 KJV tokens, top-32 per position with the
// float64 logsumexp, float16 values, token-window shard with the default
// filters, checksum, commit) against a bare LibTorch loop over the same
// windows, batch size and thread count: forward, torch::topk, logsumexp, no
// I/O. Alternated in one run; each round a fresh coordinator and worker whose
// first task warms it up and is not timed (bench/bench_teacher_round.h).
#include <torch/torch.h>

#include <algorithm>
#include <cstdio>
#include <functional>

#include "bench/bench_lm.h"
#include "bench/bench_teacher_round.h"
#include "core/files.h"
#include "core/log.h"
#include "protocol/job_token.h"
#include "trainers/model_io.h"
#include "trainers/model_spec.h"
#include "worker/teacher_labeller.h"
#include "worker/worker_job.h"

namespace condenser {
namespace {

using Clock = std::chrono::steady_clock;

// The labelling job a coordinator would serve for these windows.
TeacherRound lm_round(const std::string& teacher_path, const LmWindows& w, const std::string& dir,
                      int64_t task_rows, int timed_tasks) {
  TeacherRound r;
  LabelSpec& s = r.spec;
  s.teacher_path = absolute_path(teacher_path);
  s.teacher_sha256 = module_identity(load_module(teacher_path, "teacher"));
  s.dataset = "tokens";
  s.data_dir = absolute_path(w.token_file);
  s.seq_len = kLmSeqLen;
  s.train_subset = static_cast<int64_t>(w.samples.size());
  s.split_seed = kLmSplitSeed;
  s.dataset_fingerprint = w.train.fingerprint;
  s.num_samples = s.train_subset;
  s.soft_label_dir = absolute_path(dir);
  s.temperature = 1.0;
  s.num_classes = static_cast<int>(kLmVocab);
  s.top_k = kLmTopK;
  s.topk_dtype = "float16";
  s.batch_size = kLmLabelBatch;
  r.samples = w.samples;
  add_round_tasks(r, dir, task_rows, timed_tasks);
  return r;
}

// Seconds of the bare loop: what the worker computes, nothing else.
double bare_pass(torch::jit::Module& teacher, const std::vector<at::Tensor>& batches) {
  c10::InferenceMode guard;
  const auto start = Clock::now();
  for (const at::Tensor& x : batches) {
    const at::Tensor logits = teacher.forward({x}).toTensor();
    const auto top = logits.topk(kLmTopK, 2);
    const at::Tensor lse = logits.logsumexp(2);
    (void)top;
    (void)lse;
  }
  return std::chrono::duration<double>(Clock::now() - start).count();
}

Timing summarize(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return {v[v.size() / 2], v.front(), v.back()};
}

// Seconds per round of each way, round 0 (a warm-up) dropped; the order
// rotates so that none always runs first.
struct Rounds {
  std::vector<double> ours, infer, bare;
};
Rounds run_rounds(const TeacherRound& round, torch::jit::Module& teacher,
                  const LabellerSetup& setup, const LabelTask& timed_task,
                  const std::vector<at::Tensor>& batches, int threads, int repeats) {
  Rounds out;
  auto timed = [](const std::function<void()>& f) {
    const auto start = Clock::now();
    f();
    return std::chrono::duration<double>(Clock::now() - start).count();
  };
  for (int r = 0; r <= repeats; ++r) {
    double t[3] = {0, 0, 0};
    for (int j = 0; j < 3; ++j) {
      const int i = (j + r) % 3;
      if (i == 0) {
        t[0] = coordinator_round(round.spec, round.tasks, round.token_file, round.token, threads,
                                 "cpu");
      } else if (i == 1) {
        t[1] = timed([&] { infer_task(teacher, setup, timed_task); });
      } else {
        t[2] = bare_pass(teacher, batches);
      }
    }
    log_info("bench lm_label: round ", r, ": coordinator+worker ", fixed(t[0], 3),
             " s, infer_task ", fixed(t[1], 3), " s, bare ", fixed(t[2], 3), " s");
    if (r == 0) continue;
    out.ours.push_back(t[0]);
    out.infer.push_back(t[1]);
    out.bare.push_back(t[2]);
  }
  return out;
}

}  // namespace

BenchReport bench_lm_label(const BenchOptions& options) {
  BenchReport report;
  report.bench = "lm_label";
  const int threads = at::get_num_threads();
  const int64_t task_rows = options.quick ? 8 : 64;  // windows per task (lm_kjv: 512)
  const int timed_tasks = options.quick ? 2 : 3;
  const std::string dir = options.scratch_dir + "/lm_label";
  ensure_dir(dir);
  const LmWindows w = lm_windows(options, task_rows * (timed_tasks + 1));

  torch::jit::Module built = build_model(lm_teacher_spec(options.quick), 1);  // speed, not quality
  built.eval();
  const std::string teacher_path = dir + "/teacher.pt";
  save_module(built, teacher_path);
  const TeacherRound round = lm_round(teacher_path, w, dir, task_rows, timed_tasks);

  // The timed tasks' windows, pre-gathered into contiguous batches.
  const int64_t timed = task_rows * timed_tasks;
  std::vector<at::Tensor> batches;
  const at::Tensor ids = torch::tensor(
      std::vector<int64_t>(w.samples.begin() + task_rows, w.samples.end()), torch::kInt64);
  const at::Tensor windows = w.train.images.index_select(0, ids);
  for (int64_t b = 0; b < timed; b += kLmLabelBatch) {
    batches.push_back(windows.narrow(0, b, std::min(kLmLabelBatch, timed - b)).contiguous());
  }
  at::set_num_threads(threads);
  torch::jit::Module teacher = load_module(teacher_path, "teacher");  // the file the worker loads
  teacher.eval();
  // The worker's inference half in this process: no protocol, no shard.
  LabellerSetup setup = labeller_setup(round.spec, "bench");
  setup.images = w.train.images;
  setup.samples = w.samples;
  const LabelTask timed_task{task_rows, task_rows * (timed_tasks + 1), "unused.h5"};
  bare_pass(teacher, batches);  // warm-up
  const Rounds rounds =
      run_rounds(round, teacher, setup, timed_task, batches, threads, options.repeats);
  const Timing o = summarize(rounds.ours), i = summarize(rounds.infer), b = summarize(rounds.bare);
  const double tokens = double(timed * kLmSeqLen);
  const nlohmann::json extra = {
      {"threads", threads},
      {"timed_windows", timed},
      {"task_windows", task_rows},
      {"seq_len", kLmSeqLen},
      {"vocab", kLmVocab},
      {"batch", kLmLabelBatch},
      {"teacher", options.quick ? "lm_tiny teacher" : "lm_kjv teacher"},
      {"teacher_parameters", parameter_count(lm_teacher_spec(options.quick))}};
  auto add = [&](const std::string& what, const Timing& ours) {
    nlohmann::json e = extra;
    e["ours_min_max_s"] = {ours.min, ours.max};
    e["baseline_min_max_s"] = {b.min, b.max};
    report.cases.push_back({what, tokens / ours.median, tokens / b.median, "tokens/s", e});
  };
  add("label top-32 float16: coordinator + worker vs bare loop", o);
  add("label top-32: in-process infer_task (no protocol, no I/O) vs bare loop", i);
  report.ratios.push_back({"coordinator_vs_bare", b.median / o.median, 0.9, true});
  report.ratios.push_back({"infer_task_vs_bare", b.median / i.median, 0.9, true});
  remove_tree(dir);
  return report;
}

}  // namespace condenser
