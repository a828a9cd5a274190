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

#include "bench/bench_lm.h"
#include "bench/bench_teacher_round.h"
#include "core/files.h"
#include "core/log.h"
#include "protocol/job_token.h"
#include "trainers/model_io.h"
#include "trainers/model_spec.h"

namespace condenser {
namespace {

using Clock = std::chrono::steady_clock;

// The labelling job a coordinator would serve for these windows.
TeacherRound lm_round(const std::string& teacher_path, const LmWindows& w,
                      const std::string& dir, int64_t task_rows, int timed_tasks) {
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
  for (int t = 0; t <= timed_tasks; ++t) {
    char name[32];
    std::snprintf(name, sizeof name, "shard-%06d.h5", t);
    r.tasks.push_back({t * task_rows, (t + 1) * task_rows, name});
  }
  r.token_file = dir + "/job.token";
  std::remove(r.token_file.c_str());  // a fresh token per run, as a job makes one
  ensure_job_token(r.token_file);
  r.token = read_job_token(r.token_file);
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
  const at::Tensor ids =
      torch::tensor(std::vector<int64_t>(w.samples.begin() + task_rows, w.samples.end()),
                    torch::kInt64);
  const at::Tensor windows = w.train.images.index_select(0, ids);
  for (int64_t b = 0; b < timed; b += kLmLabelBatch) {
    batches.push_back(windows.narrow(0, b, std::min(kLmLabelBatch, timed - b)).contiguous());
  }
  at::set_num_threads(threads);
  torch::jit::Module teacher = load_module(teacher_path, "teacher");  // the file the worker loads
  teacher.eval();
  bare_pass(teacher, batches);  // warm-up
  std::vector<double> ours, base;
  for (int r = 0; r <= options.repeats; ++r) {  // round 0 is a warm-up
    const bool ours_first = r % 2 == 0;
    double o = 0, b = 0;
    if (!ours_first) b = bare_pass(teacher, batches);
    o = coordinator_round(round.spec, round.tasks, round.token_file, round.token, threads, "cpu");
    if (ours_first) b = bare_pass(teacher, batches);
    log_info("bench lm_label: round ", r, ": coordinator+worker ", fixed(o, 3), " s, bare ",
             fixed(b, 3), " s");
    if (r == 0) continue;
    ours.push_back(o);
    base.push_back(b);
  }
  const Timing o = summarize(ours), b = summarize(base);
  const double tokens = double(timed * kLmSeqLen);
  report.cases.push_back(
      {"tokens/s, top-" + std::to_string(kLmTopK) + " float16, batch " +
           std::to_string(kLmLabelBatch),
       tokens / o.median, tokens / b.median, "tokens/s",
       {{"ours_min_max_s", {o.min, o.max}}, {"baseline_min_max_s", {b.min, b.max}},
        {"threads", threads}, {"timed_windows", timed}, {"task_windows", task_rows},
        {"seq_len", kLmSeqLen}, {"vocab", kLmVocab},
        {"teacher", options.quick ? "lm_tiny teacher" : "lm_kjv teacher"},
        {"teacher_parameters", parameter_count(lm_teacher_spec(options.quick))}}});
  report.ratios.push_back({"coordinator_vs_bare", b.median / o.median, 0.9, true});
  remove_tree(dir);
  return report;
}

}  // namespace condenser
