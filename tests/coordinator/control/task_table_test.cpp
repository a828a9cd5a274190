// The lease table with an explicit clock: expiry and reassignment,
// disconnects, late completions, exactly-once, persistence across a restart.
#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "coordinator/control/task_table.h"

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

TEST(TaskTable, RestartKeepsLeasesAndNeverReusesIds) {
  TaskTable before(three_tasks(), seconds(10));
  const auto a = before.lease(before.new_worker_id(), t0);
  const auto b = before.lease(before.new_worker_id(), t0);
  ASSERT_EQ(before.complete(b->id, t0), Completion::kCommitted);
  const nlohmann::json saved = nlohmann::json::parse(before.to_json().dump());

  // The restarted coordinator learns "done" from the manifest (task 1 here).
  const SteadyTime later = t0 + std::chrono::hours(1);
  TaskTable after(three_tasks(), seconds(10));
  after.mark_done(1);
  ASSERT_TRUE(after.restore(saved, later));
  EXPECT_EQ(after.state(0), TaskState::kLeased);
  EXPECT_EQ(after.state(1), TaskState::kDone);
  EXPECT_EQ(after.state(2), TaskState::kPending);
  // The worker that held lease a reconnects (new id), renews and commits.
  const int64_t reconnected = after.new_worker_id();
  EXPECT_GT(reconnected, 2);
  EXPECT_TRUE(after.renew(a->id, reconnected, later + seconds(3)));
  const auto c = after.lease(reconnected, later);
  ASSERT_TRUE(c);
  EXPECT_GT(c->id, b->id);
  EXPECT_EQ(c->task, 2);
  EXPECT_EQ(after.complete(a->id, later + seconds(6)), Completion::kCommitted);
  EXPECT_EQ(after.complete(c->id, later + seconds(6)), Completion::kCommitted);
  EXPECT_TRUE(after.all_done());
}

TEST(TaskTable, RestoredLeaseExpiresIfItsWorkerNeverReturns) {
  TaskTable before(three_tasks(), seconds(10));
  before.lease(1, t0);
  TaskTable after(three_tasks(), seconds(10));
  ASSERT_TRUE(after.restore(before.to_json(), t0));
  EXPECT_TRUE(after.expire(t0 + seconds(3)).empty());  // a third of a lease to come back
  EXPECT_EQ(after.expire(t0 + seconds(4)).size(), 1u);
  EXPECT_EQ(after.state(0), TaskState::kPending);
}

TEST(TaskTable, RestoreRefusesAnotherPlan) {
  TaskTable before(three_tasks(), seconds(10));
  before.lease(1, t0);
  auto other = three_tasks();
  other[2].end = 30;
  TaskTable after(other, seconds(10));
  EXPECT_FALSE(after.restore(before.to_json(), t0));
  EXPECT_FALSE(after.restore(nlohmann::json::object(), t0));
  EXPECT_FALSE(after.restore(nlohmann::json::parse(R"({"tasks": 3})"), t0));
  EXPECT_EQ(after.count(TaskState::kPending), 3);
}

// Leases restored from a dead coordinator's tasks.json held their
// tasks for a third of a lease (10 s) while every live worker waited.
TEST(TaskTable, RestoredLeaseIsTakenAtOnceWhenNothingElseIsPending) {
  TaskTable before(three_tasks(), seconds(30));
  const auto dead = before.lease(1, t0);
  TaskTable after(three_tasks(), seconds(30));
  after.mark_done(1);
  after.mark_done(2);
  ASSERT_TRUE(after.restore(before.to_json(), t0));
  EXPECT_EQ(after.state(0), TaskState::kLeased);
  const auto fresh = after.lease(after.new_worker_id(), t0 + milliseconds(1));
  ASSERT_TRUE(fresh);
  EXPECT_EQ(fresh->task, 0);
  EXPECT_GT(fresh->id, dead->id);
  const auto superseded = after.take_superseded();
  ASSERT_EQ(superseded.size(), 1u);
  EXPECT_EQ(superseded[0].attempt_file, dead->attempt_file);
  EXPECT_TRUE(after.take_superseded().empty());
  EXPECT_EQ(after.complete(dead->id, t0 + seconds(1)), Completion::kStale);
  EXPECT_EQ(after.complete(fresh->id, t0 + seconds(1)), Completion::kCommitted);
  EXPECT_TRUE(after.all_done());
}

TEST(TaskTable, RestoredLeaseRenewedByItsWorkerIsKept) {
  TaskTable before(three_tasks(), seconds(30));
  const auto held = before.lease(1, t0);
  TaskTable after(three_tasks(), seconds(30));
  after.mark_done(1);
  after.mark_done(2);
  ASSERT_TRUE(after.restore(before.to_json(), t0));
  EXPECT_TRUE(after.renew(held->id, after.new_worker_id(), t0));
  EXPECT_FALSE(after.lease(after.new_worker_id(), t0));
  EXPECT_TRUE(after.take_superseded().empty());
  EXPECT_EQ(after.complete(held->id, t0 + seconds(1)), Completion::kCommitted);
}

// A tampered tasks.json must not name a file outside the soft-label folder
// (its attempt would be removed as stale).
TEST(TaskTable, RestoreRefusesAnAttemptFileItWouldNotHaveMade) {
  TaskTable before(three_tasks(), seconds(10));
  const auto l = before.lease(1, t0);
  const std::vector<std::string> bad_names = {
      "../../victim.txt", "/etc/passwd", "shard-000000.h5",
      attempt_prefix(l->id + 1) + "shard-000000.h5", attempt_prefix(l->id) + "shard-000001.h5",
      attempt_prefix(l->id) + "../shard-000000.h5"};
  for (const std::string& bad : bad_names) {
    nlohmann::json saved = before.to_json();
    saved["leases"][0]["attempt_file"] = bad;
    TaskTable after(three_tasks(), seconds(10));
    EXPECT_FALSE(after.restore(saved, t0)) << bad;
    EXPECT_TRUE(after.leases().empty());
  }
  // A lease id at or past next_lease never comes back as a new lease's id.
  nlohmann::json saved = before.to_json();
  saved["next_lease"] = 1;
  TaskTable after(three_tasks(), seconds(10));
  ASSERT_TRUE(after.restore(saved, t0));
  EXPECT_GT(after.lease(2, t0)->id, l->id);
}

}  // namespace
}  // namespace condenser
