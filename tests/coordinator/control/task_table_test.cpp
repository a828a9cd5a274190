// The lease table with an explicit clock: expiry and reassignment,
// disconnects, late completions, exactly-once (restarts: task_journal_test).
#include "coordinator/control/task_table.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

namespace condenser {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

std::vector<LabelTask> three_tasks() {
  return {{0, 10, "shard-000000.h5"}, {10, 20, "shard-000001.h5"}, {20, 25, "shard-000002.h5"}};
}

const SteadyTime t0{};

TEST(TaskTable, LeasesInOrderThenRunsOut) {
  TaskTable table(three_tasks(), seconds(10));
  const auto a = table.lease(1, t0), b = table.lease(2, t0), c = table.lease(1, t0);
  ASSERT_TRUE(a && b && c);
  EXPECT_EQ(a->task, 0);
  EXPECT_EQ(b->task, 1);
  EXPECT_EQ(c->task, 2);
  EXPECT_NE(a->attempt_file, b->attempt_file);
  EXPECT_EQ(a->attempt_file.rfind(attempt_prefix(a->id), 0), 0u);
  EXPECT_FALSE(table.lease(3, t0));
  EXPECT_EQ(table.count(TaskState::kLeased), 3);
}

TEST(TaskTable, ExpiredLeaseIsReassignedAndItsLateCompletionIsStale) {
  TaskTable table(three_tasks(), seconds(10));
  const auto first = table.lease(1, t0);
  // Renewed at 8 s: still alive at 15 s; not renewed after: gone at 19 s.
  EXPECT_TRUE(table.renew(first->id, 1, t0 + seconds(8)));
  EXPECT_TRUE(table.expire(t0 + seconds(15)).empty());
  const auto expired = table.expire(t0 + seconds(19));
  ASSERT_EQ(expired.size(), 1u);
  EXPECT_EQ(expired[0].id, first->id);
  EXPECT_EQ(table.state(0), TaskState::kPending);
  EXPECT_FALSE(table.renew(first->id, 1, t0 + seconds(19)));

  const auto second = table.lease(2, t0 + seconds(19));
  ASSERT_TRUE(second);
  EXPECT_EQ(second->task, 0);
  EXPECT_EQ(table.complete(first->id, t0 + seconds(20)), Completion::kStale);
  EXPECT_EQ(table.complete(second->id, t0 + seconds(20)), Completion::kCommitted);
  EXPECT_EQ(table.state(0), TaskState::kDone);
  // Exactly once: the same completion again is stale.
  EXPECT_EQ(table.complete(second->id, t0 + seconds(21)), Completion::kStale);
  EXPECT_EQ(table.reassignments(), 1);
}

TEST(TaskTable, OverdueLeaseCannotCompleteEvenBeforeASweep) {
  TaskTable table(three_tasks(), seconds(10));
  const auto l = table.lease(1, t0);
  EXPECT_EQ(table.complete(l->id, t0 + seconds(11)), Completion::kStale);
  EXPECT_EQ(table.state(0), TaskState::kPending);
}

TEST(TaskTable, DisconnectReleasesOnlyThatWorkersLeases) {
  TaskTable table(three_tasks(), seconds(10));
  const auto a = table.lease(1, t0), b = table.lease(2, t0), c = table.lease(1, t0);
  const auto released = table.release_worker(1);
  EXPECT_EQ(released.size(), 2u);
  EXPECT_EQ(table.state(0), TaskState::kPending);
  EXPECT_EQ(table.state(1), TaskState::kLeased);
  EXPECT_EQ(table.state(2), TaskState::kPending);
  EXPECT_EQ(table.complete(a->id, t0), Completion::kStale);
  EXPECT_EQ(table.complete(b->id, t0), Completion::kCommitted);
  (void)c;
}

TEST(TaskTable, AllDoneAfterEveryTaskCommitted) {
  TaskTable table(three_tasks(), milliseconds(100));
  table.mark_done(1);
  while (auto l = table.lease(1, t0)) EXPECT_EQ(table.complete(l->id, t0), Completion::kCommitted);
  EXPECT_TRUE(table.all_done());
  table.reopen(2);
  EXPECT_FALSE(table.all_done());
  EXPECT_EQ(table.lease(1, t0)->task, 2);
}

// Tasks that go back to pending are leased before later ones, lowest first,
// and the counts per state stay exact through every transition.
TEST(TaskTable, ReturnedTasksComeFirstAndCountsStayExact) {
  std::vector<LabelTask> tasks;
  for (int i = 0; i < 100; ++i) tasks.push_back({i, i + 1, "s" + std::to_string(i)});
  TaskTable table(tasks, seconds(10));
  std::vector<Lease> held;
  for (int i = 0; i < 50; ++i) held.push_back(*table.lease(i % 7, t0));
  EXPECT_TRUE(table.release(held[30].id));
  EXPECT_EQ(table.release_worker(3).size(), 7u);  // tasks 3, 10, ..., 45
  EXPECT_EQ(table.complete(held[1].id, t0), Completion::kCommitted);
  EXPECT_EQ(table.count(TaskState::kLeased), 50 - 1 - 7 - 1);
  EXPECT_EQ(table.count(TaskState::kDone), 1);
  EXPECT_EQ(table.count(TaskState::kPending), 100 - 41 - 1);
  EXPECT_EQ(table.leases_of(3), 0);
  EXPECT_EQ(table.leases_of(4), 7);
  EXPECT_EQ(table.lease(9, t0)->task, 3);
  EXPECT_EQ(table.lease(9, t0)->task, 10);
  EXPECT_EQ(table.lease(9, t0)->task, 17);
  EXPECT_EQ(table.lease(9, t0)->task, 24);
  EXPECT_EQ(table.lease(9, t0)->task, 30);
  EXPECT_EQ(table.lease(9, t0)->task, 31);
  EXPECT_EQ(table.lease(9, t0)->task, 38);
  EXPECT_EQ(table.lease(9, t0)->task, 45);
  EXPECT_EQ(table.lease(9, t0)->task, 50);
  // All expire at once: 50 leases back to pending, each counted.
  EXPECT_EQ(table.expire(t0 + seconds(11)).size(), 50u);
  EXPECT_EQ(table.count(TaskState::kPending), 99);
  EXPECT_EQ(table.lease(9, t0 + seconds(11))->task, 0);
}

}  // namespace
}  // namespace condenser
