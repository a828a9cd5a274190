#include "coordinator/stages/budget_schedule.h"

#include <cmath>
#include <cstdio>

namespace condenser {
namespace {

std::string pct(double fraction) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f%%", 100.0 * fraction);
  return buf;
}

}  // namespace

BudgetSchedule::BudgetSchedule(std::vector<PruneStep> steps, BudgetConfig budget,
                               double reference)
    : steps_(std::move(steps)), budget_(std::move(budget)), reference_(reference) {
  done_ = steps_.empty();
}

std::optional<ScheduledAttempt> BudgetSchedule::next() const {
  if (done_) return std::nullopt;
  const PruneStep& step = steps_[stage_];
  ScheduledAttempt a;
  a.stage = int(stage_) + 1;
  a.retry = retry_;
  // Each retry halves the step from the kept sparsity towards the target.
  a.sparsity = kept_ + (step.sparsity - kept_) / std::pow(2.0, retry_);
  a.epochs = step.epochs;
  a.lr = step.lr;
  if (steps_.size() == 1 && retry_ == 0) {
    a.name = "prune";
  } else {
    a.name = "prune." + std::to_string(a.stage) + (retry_ ? "." + std::to_string(retry_) : "");
  }
  return a;
}

double BudgetSchedule::drop_points(double value) const {
  if (budget_.metric == "perplexity") return 100.0 * (value / reference_ - 1.0);
  return 100.0 * (reference_ - value);
}

bool BudgetSchedule::report(double value) {
  const std::optional<ScheduledAttempt> a = next();
  if (!a) return false;
  const double drop = drop_points(value);
  const bool met = !budget_.enabled || drop <= budget_.max_drop + 1e-9;
  if (met) {
    kept_ = a->sparsity;
    kept_stage_ = a->stage;
    retry_ = 0;
    if (++stage_ == steps_.size()) done_ = true;
    return true;
  }
  if (retry_ < budget_.max_retries) {
    ++retry_;
    ++backoffs_;
    return false;
  }
  done_ = true;
  char buf[256];
  const char* unit = budget_.metric == "perplexity" ? "% perplexity" : " points";
  std::snprintf(buf, sizeof buf, "stage %d (%s) missed the budget of %.2f%s after %d %s: "
                "its last try at %s lost %.2f%s",
                a->stage, pct(steps_[stage_].sparsity).c_str(), budget_.max_drop, unit, retry_,
                retry_ == 1 ? "retry" : "retries", pct(a->sparsity).c_str(), drop, unit);
  stopped_ = buf;
  return false;
}

std::string BudgetSchedule::outcome() const {
  std::string reached = kept_stage_ == 0
                            ? "kept the dense student (no stage met the budget)"
                            : "reached " + pct(kept_) + " sparsity at stage " +
                                  std::to_string(kept_stage_) + " of " +
                                  std::to_string(steps_.size());
  if (!done_) return reached + " (schedule not finished)";
  if (stopped_.empty()) {
    if (!budget_.enabled) return reached + " (no budget)";
    if (backoffs_ == 0) return reached + ", every stage within the budget";
    return reached + " (planned " + pct(steps_.back().sparsity) + "; " + std::to_string(backoffs_) +
           (backoffs_ == 1 ? " back-off" : " back-offs") + " to stay within the budget)";
  }
  return reached + "; stopped: " + stopped_;
}

}  // namespace condenser
