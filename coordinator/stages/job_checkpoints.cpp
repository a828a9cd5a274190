#include "coordinator/stages/job_checkpoints.h"

#include <torch/torch.h>

#include <algorithm>
#include <array>
#include <sstream>

#include "cluster/communicator.h"
#include "coordinator/control/job_status.h"
#include "core/errors.h"
#include "core/fault_injection.h"
#include "core/files.h"
#include "core/log.h"
#include "core/stop_signals.h"
#include "trainers/train_state.h"

namespace condenser {
namespace {

const std::vector<std::string> kStages = {"teacher", "control", "distill", "prune"};

// Training stages in job order: teacher < control < distill < prune attempts, which
// are "prune" (a one-stage schedule), "prune.K" and retries "prune.K.R".
using StageOrder = std::array<int, 3>;

std::optional<StageOrder> stage_order(const std::string& stage) {
  std::vector<std::string> parts;
  std::istringstream in(stage);
  for (std::string part; std::getline(in, part, '.');) parts.push_back(part);
  if (parts.empty() || parts.size() > 3) return std::nullopt;
  const auto base = std::find(kStages.begin(), kStages.end(), parts[0]);
  if (base == kStages.end()) return std::nullopt;
  StageOrder order{int(base - kStages.begin()), 0, 0};
  for (size_t i = 1; i < parts.size(); ++i) {
    if (parts[i].empty() || parts[i].size() > 6 ||
        parts[i].find_first_not_of("0123456789") != std::string::npos) {
      return std::nullopt;
    }
    order[i] = std::stoi(parts[i]);
  }
  return order;
}

StageOrder stage_index(const std::string& stage) {
  const auto order = stage_order(stage);
  if (!order) throw RuntimeFailure("checkpoint names an unknown stage '" + stage + "'");
  return *order;
}

}  // namespace

void check_resume_compatible(const Checkpoint& from, const Config& config, int world) {
  const std::vector<std::string> diff = config_differences(from.config, config_map(config));
  if (!diff.empty()) {
    std::string keys;
    for (const auto& k : diff) keys += (keys.empty() ? "" : ", ") + k;
    throw UsageError("checkpoint '" + from.path + "' was made with another config; these keys "
                     "differ: " + keys + "; run with the same config, or --resume none to start over");
  }
  // Pipelined labelling: the stages after the teacher's train on the ranks
  // that do not label (coordinator/stages/label_stage.h).
  if (from.stage != "teacher") world -= config.roles.teacher_ranks;
  if (!from.stage_done && from.resume.rng_states.size(0) != world) {
    throw UsageError("checkpoint '" + from.path + "' was made by " +
                     std::to_string(from.resume.rng_states.size(0)) + " rank(s), this job has " +
                     std::to_string(world) + "; resume with the same number of ranks");
  }
}

JobCheckpoints::JobCheckpoints(JobContext& job, std::optional<Checkpoint> from)
    : job_(job), from_(std::move(from)) {
  if (!from_) return;
  check_resume_compatible(*from_, job.config, job.options.comm ? job.options.comm->size() : 1);
  log_info("resume: from ", from_->path, " (stage ", from_->stage,
           from_->stage_done ? ", done" : ", epoch " + std::to_string(from_->resume.cursor.epoch + 1) +
                                              ", batch " + std::to_string(from_->resume.cursor.batch),
           ", job step ", from_->job_step, ")");
}

bool JobCheckpoints::finished(const std::string& stage) const {
  if (!from_) return false;
  const StageOrder at = stage_index(from_->stage), s = stage_index(stage);
  return at > s || (at == s && from_->stage_done);
}

const StageResume* JobCheckpoints::inside(const std::string& stage) const {
  if (!from_ || from_->stage != stage || from_->stage_done) return nullptr;
  return &from_->resume;
}

// A resumed job writes the steps after its checkpoint again: drop the lines
// the killed run wrote past it, so metrics.jsonl reads as one run.
void trim_metrics_after(const std::string& path, const Checkpoint& from) {
  if (!path_exists(path)) return;
  // Lines of other records (no training stage) are kept.
  const StageOrder at = stage_index(from.stage);
  std::istringstream in(read_file(path));
  std::string kept, line;
  while (std::getline(in, line)) {
    bool keep = true;
    try {
      const auto rec = nlohmann::json::parse(line);
      if (const auto stage = stage_order(rec.value("stage", std::string()))) {
        keep = *stage < at || (*stage == at && (from.stage_done ||
                                                rec.value("step", int64_t(0)) <= from.resume.cursor.steps));
      }
    } catch (const nlohmann::json::exception&) {
      keep = false;  // a line torn by the kill
    }
    if (keep) kept += line + "\n";
  }
  atomic_write_file(path, kept);
}

int64_t JobCheckpoints::steps_before(const std::string& stage) const {
  int64_t steps = 0;
  for (const StageRecord& r : job_.report.stages) {
    if (r.name != stage && stage_order(r.name)) {
      steps += r.steps;
    }
  }
  return steps;
}

bool JobCheckpoints::agree_to_stop() const {
  Communicator* comm = job_.options.comm;
  if (comm == nullptr || comm->size() <= 1) return stop_requested();
  at::Tensor flag = torch::full({1}, int64_t(stop_requested()), torch::kLong);
  wait_all(comm->allreduce(flag, ReduceOp::kSum));
  return flag.item<int64_t>() > 0;
}

std::string JobCheckpoints::write(const std::string& stage, bool done, int64_t job_step,
                                  double val_accuracy, const StageResume& resume,
                                  torch::jit::Module& module, const PruneMasks* masks) {
  if (!job_.is_root()) return "";
  Checkpoint c;
  c.stage = stage;
  c.stage_done = done;
  c.job_step = job_step;
  c.val_accuracy = val_accuracy;
  c.resume = resume;
  c.report = to_json(job_.report);
  c.config = config_map(job_.config);
  c.weights = module_state(module);
  if (masks) c.masks = *masks;
  last_written_ = write_checkpoint(job_.paths.root + "/checkpoints", c,
                                   job_.config.checkpoint.keep_last);
  if (job_.status) job_.status->on_checkpoint(last_written_, stage, job_step);
  return last_written_;
}

StepHook JobCheckpoints::hook(const std::string& stage, torch::jit::Module& module,
                              const PruneMasks* masks) {
  const int64_t base = steps_before(stage);
  return [this, stage, &module, masks, base](const StepState& s) {
    const int64_t job_step = base + s.cursor.steps;
    fault_point("after_step", std::to_string(job_step));
    const bool stop = agree_to_stop();
    const int every = job_.config.checkpoint.every_steps;
    if (!stop && !s.epoch_end && !(every > 0 && job_step % every == 0)) return false;
    const StageResume resume = s.capture();  // every rank: it is collective
    write(stage, false, job_step, s.epoch_end ? s.val_accuracy : -1.0, resume, module, masks);
    if (stop) log_info("stop requested: checkpoint written at job step ", job_step);
    return stop;
  };
}

void JobCheckpoints::stage_end(const std::string& stage, torch::jit::Module& module,
                               const PruneMasks* masks, int64_t stage_steps) {
  StageResume resume;
  resume.cursor.steps = stage_steps;
  resume.rng_states = cpu_rng_state().unsqueeze(0);  // a finished stage never restores it
  write(stage, true, steps_before(stage) + stage_steps, -1.0, resume, module, masks);
  job_.barrier();
  fault_point("after_stage", stage);
  if (agree_to_stop()) throw JobStopped(last_written_);
}

}  // namespace condenser
