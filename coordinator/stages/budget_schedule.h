#pragma once
// The walk through a prune schedule under an accuracy budget, as pure logic
// (no LibTorch): which sparsity to try next, and what a validation accuracy
// means for it. A stage that misses the budget is rolled back (by the
// caller) and retried with half the remaining sparsity step, up to
// max_retries times; a stage that still misses ends the schedule at the
// last compliant state.
#include <optional>
#include <string>
#include <vector>

#include "config/config.h"
#include "config/prune_plan.h"

namespace condenser {

struct ScheduledAttempt {
  std::string name;  // "prune" (a one-stage plan), "prune.K", retries "prune.K.R"
  int stage = 1;     // 1-based
  int retry = 0;
  double sparsity = 0;
  int epochs = 0;
  double lr = 0;
};

class BudgetSchedule {
 public:
  // reference: the dense student's or the teacher's (budget.reference)
  // validation accuracy in [0, 1], or its validation perplexity when
  // budget.metric is perplexity; report() then takes the same metric.
  BudgetSchedule(std::vector<PruneStep> steps, BudgetConfig budget, double reference);

  // The next attempt, or nullopt when the schedule is over.
  std::optional<ScheduledAttempt> next() const;
  // How much worse a validation value is than the reference: accuracy
  // points below it, or the percent a perplexity is above it.
  double drop_points(double value) const;
  // Records the result of next(); returns true when it met the budget (the
  // caller keeps it) and false when it missed (the caller rolls back).
  bool report(double value);

  // The sparsity of the last kept state (0: the dense student).
  double kept_sparsity() const { return kept_; }
  // The schedule ended with no stage within the budget (exit code 3).
  bool nothing_met() const { return done_ && kept_stage_ == 0; }
  // One sentence: how far the schedule got and why it stopped.
  std::string outcome() const;

 private:
  std::vector<PruneStep> steps_;
  BudgetConfig budget_;
  double reference_;
  size_t stage_ = 0;    // index of the stage being tried
  int retry_ = 0;
  double kept_ = 0;     // sparsity of the last kept state
  int kept_stage_ = 0;  // 1-based stage of the last kept state; 0 = none
  int backoffs_ = 0;    // retries started, over all stages
  bool done_ = false;
  std::string stopped_;  // why it ended early ("" when every stage was met)
};

}  // namespace condenser
