// The budget's back-off on a synthetic model whose validation accuracy falls
// with sparsity: which sparsities are tried, which are kept, and why the
// schedule stops.
#include "coordinator/stages/budget_schedule.h"

#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <string>
#include <vector>

namespace condenser {
namespace {

struct Tried {
  std::string name;
  double sparsity;
  bool kept;
};

// Runs the schedule against accuracy(s); returns every attempt in order.
std::vector<Tried> walk(BudgetSchedule& schedule, const std::function<double(double)>& accuracy) {
  std::vector<Tried> tried;
  while (const auto a = schedule.next()) {
    const bool kept = schedule.report(accuracy(a->sparsity));
    tried.push_back({a->name, a->sparsity, kept});
    if (tried.size() > 100) break;  // a runaway schedule fails below
  }
  return tried;
}

BudgetConfig budget(double max_drop, int retries) {
  BudgetConfig b;
  b.max_drop = max_drop;
  b.max_retries = retries;
  return b;
}

// 90 % dense; falls as 20 s^4 points: 50 % -> -1.25, 70 % -> -4.8, 80 % -> -8.2.
double falls(double s) { return 0.90 - 0.20 * std::pow(s, 4); }

TEST(BudgetSchedule, MissedStageIsRetriedWithHalfTheStepThenStops) {
  BudgetSchedule schedule({{0.3, 1, 1e-3}, {0.5, 1, 1e-3}, {0.8, 1, 1e-3}}, budget(1.0, 2), 0.90);
  const std::vector<Tried> tried = walk(schedule, falls);
  // 0.3 kept (-0.16); 0.5 misses (-1.25); retry at 0.4 kept (-0.51); 0.8
  // misses; 0.6 misses (-2.59); 0.5 misses: retries spent, the schedule stops.
  const std::vector<std::string> names = {"prune.1", "prune.2", "prune.2.1", "prune.3",
                                          "prune.3.1", "prune.3.2"};
  const std::vector<double> sparsity = {0.3, 0.5, 0.4, 0.8, 0.6, 0.5};
  const std::vector<bool> kept = {true, false, true, false, false, false};
  ASSERT_EQ(tried.size(), names.size());
  for (size_t i = 0; i < tried.size(); ++i) {
    EXPECT_EQ(tried[i].name, names[i]);
    EXPECT_NEAR(tried[i].sparsity, sparsity[i], 1e-12) << names[i];
    EXPECT_EQ(tried[i].kept, kept[i]) << names[i];
  }
  EXPECT_NEAR(schedule.kept_sparsity(), 0.4, 1e-12);
  EXPECT_FALSE(schedule.nothing_met());
  EXPECT_NE(schedule.outcome().find("reached 40.0% sparsity at stage 2 of 3"), std::string::npos)
      << schedule.outcome();
  EXPECT_NE(schedule.outcome().find("stage 3 (80.0%) missed the budget"), std::string::npos)
      << schedule.outcome();
}

TEST(BudgetSchedule, EveryStageWithinTheBudgetReachesTheLastTarget) {
  BudgetSchedule schedule({{0.2, 1, 1e-3}, {0.4, 1, 1e-3}}, budget(5.0, 2), 0.90);
  const std::vector<Tried> tried = walk(schedule, falls);
  ASSERT_EQ(tried.size(), 2u);
  EXPECT_TRUE(tried[0].kept && tried[1].kept);
  EXPECT_NEAR(schedule.kept_sparsity(), 0.4, 1e-12);
  EXPECT_NE(schedule.outcome().find("every stage within the budget"), std::string::npos);
}

TEST(BudgetSchedule, FirstStageNeverWithinTheBudgetKeepsTheDenseModel) {
  BudgetSchedule schedule({{0.9, 1, 1e-3}}, budget(0.5, 1), 0.90);
  const std::vector<Tried> tried = walk(schedule, falls);
  ASSERT_EQ(tried.size(), 2u);
  EXPECT_EQ(tried[0].name, "prune");  // a one-stage schedule keeps the plain name
  EXPECT_EQ(tried[1].name, "prune.1.1");
  EXPECT_NEAR(tried[1].sparsity, 0.45, 1e-12);
  EXPECT_TRUE(schedule.nothing_met());
  EXPECT_EQ(schedule.kept_sparsity(), 0.0);
  EXPECT_NE(schedule.outcome().find("kept the dense student"), std::string::npos);
}

TEST(BudgetSchedule, DisabledBudgetKeepsEveryCut) {
  BudgetConfig off = budget(0.0, 3);
  off.enabled = false;
  BudgetSchedule schedule({{0.5, 1, 1e-3}, {0.9, 1, 1e-3}}, off, 0.90);
  const std::vector<Tried> tried = walk(schedule, [](double) { return 0.1; });
  ASSERT_EQ(tried.size(), 2u);
  EXPECT_NEAR(schedule.kept_sparsity(), 0.9, 1e-12);
  EXPECT_NE(schedule.outcome().find("(no budget)"), std::string::npos);
}

TEST(BudgetSchedule, DropIsInPointsAgainstTheReference) {
  BudgetSchedule schedule({{0.5, 1, 1e-3}}, budget(1.0, 0), 0.9);
  EXPECT_NEAR(schedule.drop_points(0.885), 1.5, 1e-9);
  EXPECT_NEAR(schedule.drop_points(0.91), -1.0, 1e-9);
  EXPECT_TRUE(schedule.report(0.89));  // exactly 1 point: within the budget
}

TEST(BudgetSchedule, PerplexityBudgetIsAPercentRiseAndRollsBackAMiss) {
  BudgetConfig b = budget(10.0, 1);
  b.metric = "perplexity";
  BudgetSchedule schedule({{0.3, 1, 1e-3}, {0.5, 1, 1e-3}}, b, 100.0);
  EXPECT_NEAR(schedule.drop_points(105.0), 5.0, 1e-9);
  EXPECT_NEAR(schedule.drop_points(95.0), -5.0, 1e-9);
  // Perplexity 100 (1 + s^2): 30 % -> +9 % (kept), 50 % -> +25 % (missed),
  // its retry at 40 % -> +16 % (missed): the schedule ends at 30 %.
  const auto tried = walk(schedule, [](double s) { return 100.0 * (1.0 + s * s); });
  ASSERT_EQ(tried.size(), 3u);
  EXPECT_TRUE(tried[0].kept);
  EXPECT_FALSE(tried[1].kept);
  EXPECT_NEAR(tried[2].sparsity, 0.4, 1e-9);
  EXPECT_FALSE(tried[2].kept);
  EXPECT_NEAR(schedule.kept_sparsity(), 0.3, 1e-9);
  EXPECT_NE(schedule.outcome().find("% perplexity"), std::string::npos) << schedule.outcome();
}

}  // namespace
}  // namespace condenser
