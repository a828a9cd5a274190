#include "coordinator/stages/job_context.h"

#include <algorithm>

#include "cluster/communicator.h"
#include "coordinator/control/job_status.h"
#include "coordinator/stages/progress.h"
#include "core/files.h"
#include "core/log.h"
#include "data/sampling.h"
#include "trainers/prune_masks.h"
#include "trainers/token_metrics.h"

namespace condenser {

uint64_t augment_seed(const Config& config) { return mix_seed(config.seed, 3); }

bool JobContext::is_root() const { return options.comm == nullptr || options.comm->rank() == 0; }

void JobContext::barrier() const {
  if (options.comm != nullptr && options.comm->size() > 1) wait_all(options.comm->barrier());
}

void JobContext::save_report() {
  if (!is_root()) return;
  atomic_write_file(paths.summary, to_json(report).dump(2) + "\n");
  if (status == nullptr) return;
  std::vector<JobPruneAttemptStatus> attempts;  // the budget's verdicts so far
  for (const PruneAttempt& a : report.prune_attempts) {
    attempts.push_back({a.name, a.stage, a.target, a.model.sparsity, a.passed, a.model.val_accuracy,
                        a.model.test_accuracy});
  }
  status->set_prune_attempts(std::move(attempts));
}

ModelStats JobContext::measure(torch::jit::Module& module) {
  const SparsityReport sparsity = measure_sparsity(module);
  ModelStats s;
  s.parameters = sparsity.parameters;
  s.nonzeros = sparsity.nonzeros;
  s.sparsity = sparsity.prunable_sparsity;
  if (is_sequence_set(test)) {  // one pass gives next-token accuracy and perplexity
    const TokenScore val = score_tokens(module, validation, kSequenceEvalRows, options.comm);
    const TokenScore tst = score_tokens(module, test, kSequenceEvalRows, options.comm);
    s.val_accuracy = val.accuracy();
    s.test_accuracy = tst.accuracy();
    s.val_perplexity = val.perplexity();
    s.test_perplexity = tst.perplexity();
    return s;
  }
  s.val_accuracy = accuracy(module, validation, 1000, options.comm);
  s.test_accuracy = accuracy(module, test, 1000, options.comm);
  return s;
}

void JobContext::record(const std::string& stage, double seconds, int64_t steps,
                        torch::jit::Module* model) {
  StageRecord rec{stage, seconds, steps, model != nullptr, {}};
  if (model) rec.model = measure(*model);
  // A resumed job may run a stage's tail again (labelling, say): replace its record.
  auto same = std::find_if(report.stages.begin(), report.stages.end(),
                           [&](const StageRecord& r) { return r.name == stage; });
  if (same != report.stages.end()) {
    *same = rec;
  } else {
    report.stages.push_back(rec);
  }
  if (status) {
    status->on_stage_done(stage, seconds, steps, model ? rec.model.val_accuracy : -1.0,
                          model && rec.model.val_perplexity > 0 ? rec.model.val_perplexity : -1.0);
  }
  save_report();
  if (progress) progress->on_stage_done(stage, seconds);
  if (model) {
    log_info(stage, ": done in ", fixed(seconds, 1), " s, val ", percent(rec.model.val_accuracy),
             ", test ", percent(rec.model.test_accuracy), ", ", rec.model.nonzeros, " nonzeros");
  } else {
    log_info(stage, ": done in ", fixed(seconds, 1), " s");
  }
}

MetricSink JobContext::sink() {
  return [this](const nlohmann::json& rec) {
    metrics.write(rec);
    if (progress) progress->on_record(rec);
    if (status) status->on_record(rec);
    if (rec.contains("val_accuracy")) {
      log_info(rec["stage"].get<std::string>(), " epoch ", rec["epoch"].get<int64_t>(), ": loss ",
               fixed(rec["train_loss"].get<double>(), 4), ", train ",
               percent(rec["train_accuracy"].get<double>()), ", val ",
               percent(rec["val_accuracy"].get<double>()), " (",
               fixed(rec["seconds"].get<double>(), 1), " s)");
    }
  };
}

StageOptions JobContext::stage_options(const std::string& stage, const OptimConfig& optim) const {
  StageOptions o;
  o.stage = stage;
  o.optim = optim;
  o.seed = static_cast<uint64_t>(config.seed);
  o.log_every = config.logging.every_steps;
  o.parallel.comm = options.comm;
  o.parallel.bucket_cap_bytes = static_cast<size_t>(config.runtime.bucket_cap_mb * 1024 * 1024);
  return o;
}

}  // namespace condenser
