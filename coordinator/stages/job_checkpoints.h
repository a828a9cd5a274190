#pragma once
// Checkpointing and resuming the job's training stages (teacher, distill,
// prune) through coordinator/checkpoints/checkpoint.h: which stages a resumed job skips,
// where it re-enters one, and the step hook that writes checkpoints every
// checkpoint.every_steps steps, at every epoch end, at every stage end, and
// when a stop signal arrives (then the job ends with JobStopped).
#include <optional>
#include <string>

#include "coordinator/checkpoints/checkpoint.h"
#include "coordinator/stages/job_context.h"

namespace condenser {

// Thrown after the checkpoint a stop signal asked for: not a failure (exit 0).
class JobStopped : public std::runtime_error {
 public:
  explicit JobStopped(const std::string& checkpoint)
      : std::runtime_error("stopped; checkpoint " + checkpoint), checkpoint_(checkpoint) {}
  const std::string& checkpoint() const { return checkpoint_; }

 private:
  std::string checkpoint_;
};

// The stage ended early because a stop signal arrived: its checkpoint is
// written; end the job.
inline void stop_if_interrupted(const StageResult& r) {
  if (r.interrupted) throw JobStopped("(written by the stage)");
}

// A resumed job writes the steps after its checkpoint again: drops the
// lines of metrics.jsonl past the checkpoint (and a line torn by the kill).
void trim_metrics_after(const std::string& path, const Checkpoint& from);

// UsageError when `from` was made with another config (naming the keys) or
// inside a stage with another number of ranks (`world`: this job's ranks).
// The job checks this before it writes anything into the run directory.
void check_resume_compatible(const Checkpoint& from, const Config& config, int world);

class JobCheckpoints {
 public:
  // `from` is the checkpoint a resumed job starts from (nullopt: fresh).
  // UsageError when it was made with another config (naming the keys) or
  // inside a stage with another number of ranks.
  JobCheckpoints(JobContext& job, std::optional<Checkpoint> from);

  const Checkpoint* from() const { return from_ ? &*from_ : nullptr; }
  // The stage ended before the checkpoint: skip it.
  bool finished(const std::string& stage) const;
  // The job re-enters this stage in the middle: its resume point, else null.
  const StageResume* inside(const std::string& stage) const;

  // For train_stage's on_step: checkpoints when due; stops on a signal.
  StepHook hook(const std::string& stage, torch::jit::Module& module, const PruneMasks* masks);
  // After a stage's training: a checkpoint marked done; then ends the job
  // (JobStopped) if a stop signal arrived meanwhile.
  void stage_end(const std::string& stage, torch::jit::Module& module, const PruneMasks* masks,
                 int64_t stage_steps);

 private:
  int64_t steps_before(const std::string& stage) const;
  bool agree_to_stop() const;  // every rank stops when any one was signalled
  std::string write(const std::string& stage, bool done, int64_t job_step, double val_accuracy,
                    const StageResume& resume, torch::jit::Module& module,
                    const PruneMasks* masks);

  JobContext& job_;
  std::optional<Checkpoint> from_;
  std::string last_written_;
};

}  // namespace condenser
