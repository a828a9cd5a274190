#include "coordinator/stages/lm_prune_report.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include <nlohmann/json.hpp>

#include "core/bounded_read.h"
#include "core/files.h"
#include "core/log.h"
#include "export/timing.h"
#include "trainers/model_io.h"
#include "trainers/pruning/lm_prune.h"
#include "trainers/token_metrics.h"

namespace condenser {
namespace {

constexpr int kTimedRounds = 5;

std::string importance_file(const JobContext& job, const std::string& attempt) {
  return job.paths.root + "/prune_importance/" + attempt + ".json";
}

nlohmann::json read_importance(const std::string& path) {
  if (!path_exists(path)) return nlohmann::json::object();
  return nlohmann::json::parse(read_file_at_most(path, kMaxRecordBytes, "prune importance"),
                               nullptr, false);
}

// Tokens per second of `pruned` and `dense` on the same `batch` random
// windows, in alternating rounds.
TokenSpeed time_pair(torch::jit::Module& pruned, torch::jit::Module& dense, int64_t batch,
                     int64_t seq_len, int64_t vocab) {
  at::Generator gen = at::detail::createCPUGenerator(7);
  const at::Tensor ids = torch::randint(vocab, {batch, seq_len}, gen, torch::kInt64);
  torch::NoGradGuard no_grad;
  const auto [ours, base] = time_alternating([&] { pruned.forward({ids}); },
                                             [&] { dense.forward({ids}); }, kTimedRounds);
  const double tokens = double(batch * seq_len);
  return {batch, tokens / ours.median, tokens / base.median};
}

}  // namespace

void note_before_recovery(JobContext& job, torch::jit::Module& student, const std::string& attempt) {
  const double perplexity =
      score_tokens(student, job.validation, kSequenceEvalRows, job.options.comm).perplexity();
  log_info(attempt, ": validation perplexity ", fixed(perplexity, 2),
           " after the cut, before recovery");
  if (!job.is_root()) return;
  const std::string path = importance_file(job, attempt);
  nlohmann::json j = read_importance(path);
  if (!j.is_object()) j = nlohmann::json::object();
  j["before_recovery"] = {{"val_perplexity", perplexity}};
  ensure_dir(job.paths.root + "/prune_importance");
  atomic_write_file(path, j.dump(1) + "\n");
}

void add_lm_attempt_report(const JobContext& job, const torch::jit::Module& student,
                           const ModelSpec& spec, const PruneMasks& masks, PruneAttempt& attempt) {
  if (!job.is_root()) return;
  const nlohmann::json j = read_importance(importance_file(job, attempt.name));
  if (j.is_object() && j.contains("before_recovery")) {
    attempt.val_perplexity_before = j["before_recovery"].value("val_perplexity", 0.0);
  }
  const std::string dense_path = job.paths.models + "/student_distilled.pt";
  if (!path_exists(dense_path)) return;
  torch::jit::Module dense = load_module(dense_path, "dense student");
  torch::jit::Module pruned = compact_lm(student, spec, lm_plan_from_masks(spec, masks)).module;
  dense.to(torch::kCPU);
  pruned.to(torch::kCPU);
  dense.eval();
  pruned.eval();
  const int64_t seq_len = spec.input_shape.at(0);
  for (const int64_t batch : {int64_t{1}, int64_t{64}}) {
    attempt.tokens_per_s.push_back(time_pair(pruned, dense, batch, seq_len, spec.vocab));
  }
  log_info(attempt.name, ": compacted, ", fixed(attempt.tokens_per_s[0].speedup(), 2), "x the dense "
           "student's tokens/s at batch 1, ", fixed(attempt.tokens_per_s[1].speedup(), 2),
           "x at batch 64");
}

}  // namespace condenser
