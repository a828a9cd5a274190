// The task journal on real files: records checked by CRC-32, a torn or
// corrupt tail dropped and cut off (never trusted), restarts that restore
// commits and leases exactly as the table had them, a journal of another
// job ignored, and compaction into a snapshot (a crash between snapshot and
// journal included).
#include "coordinator/control/task_journal.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <string>
#include <vector>

#include "core/files.h"
#include "tests/common/temp_dir.h"

namespace condenser {
namespace {

using std::chrono::seconds;
using testing_util::TempDir;

const SteadyTime t0{};
const std::string kSha(64, 'a');

std::vector<LabelTask> tasks(int n) {
  std::vector<LabelTask> out;
  for (int i = 0; i < n; ++i) out.push_back({i * 10, i * 10 + 10, "shard-" + std::to_string(i)});
  return out;
}

TableEvent event(TableEvent::Kind kind, int64_t lease, int64_t task, int64_t worker = 0,
                 const std::string& sha = "") {
  return TableEvent{kind, lease, task, worker, sha};
}

// Leases a task to `worker` and journals it, as the control handler does.
Lease lease(TaskTable& table, TaskJournal& journal, int64_t worker) {
  const Lease l = *table.lease(worker, t0);
  journal.record(event(TableEvent::Kind::kLease, l.id, l.task, worker));
  return l;
}

void commit(TaskTable& table, TaskJournal& journal, const Lease& l) {
  ASSERT_EQ(table.complete(l.id, t0), Completion::kCommitted);
  journal.record(event(TableEvent::Kind::kCommit, l.id, l.task, l.worker, kSha));
  journal.sync();
}

void append_bytes(const std::string& path, const std::string& bytes) {
  FILE* f = std::fopen(path.c_str(), "ab");
  ASSERT_NE(f, nullptr);
  std::fwrite(bytes.data(), 1, bytes.size(), f);
  std::fclose(f);
}

TEST(RecordLog, Crc32IsZlibs) {
  EXPECT_EQ(crc32("123456789", 9), 0xCBF43926u);
  EXPECT_EQ(encode_record("L 1 2 3"), "28a38f07 L 1 2 3\n");  // python3: zlib.crc32(b"L 1 2 3")
}

TEST(RecordLog, ScanStopsAtATornOrCorruptRecord) {
  const std::string good = encode_record("W 1") + encode_record("W 2");
  RecordScan s = scan_records(good + encode_record("W 3").substr(0, 8));
  EXPECT_EQ(s.payloads, (std::vector<std::string>{"W 1", "W 2"}));
  EXPECT_EQ(s.good_bytes, good.size());
  EXPECT_EQ(s.why_dropped, "torn record");
  std::string bad = encode_record("W 3");
  bad[10] = '9';  // "W 9" under W 3's checksum
  s = scan_records(good + bad + encode_record("W 4"));
  EXPECT_EQ(s.payloads.size(), 2u);  // W 4 is intact but follows damage: dropped too
  EXPECT_EQ(s.why_dropped, "checksum mismatch");
  EXPECT_EQ(scan_records("zzzzzzzz W 1\n").payloads.size(), 0u);
}

TEST(RecordLog, TornTailIsCutOffTheFileAndAppendsGoOnAfterIt) {
  TempDir tmp("journal");
  const std::string path = tmp.path + "/log";
  {
    RecordLog log(path, nullptr);
    log.append("W 1");
    log.append_all({"W 2", "W 3"});
    log.sync();
  }
  append_bytes(path, encode_record("W 4").substr(0, 5));  // a writer killed mid-append
  std::vector<std::string> got;
  {
    RecordLog log(path, &got);
    EXPECT_EQ(got, (std::vector<std::string>{"W 1", "W 2", "W 3"}));
    log.append("W 5");
    log.sync();
  }
  RecordLog again(path, &got);
  EXPECT_EQ(got, (std::vector<std::string>{"W 1", "W 2", "W 3", "W 5"}));
  EXPECT_EQ(read_file(path).size(), again.bytes());
}

TEST(TaskJournal, RestartRestoresCommitsAndLeasesAndNeverReusesIds) {
  TempDir tmp("journal");
  const JournalOptions o{tmp.path + "/tasks.journal", "job-1"};
  Lease held, done;
  {
    TaskTable table(tasks(3), seconds(30));
    TaskJournal journal(o, table, t0);
    EXPECT_FALSE(journal.recovery().resumed);
    journal.record(event(TableEvent::Kind::kWorker, 0, 0, table.new_worker_id()));
    journal.record(event(TableEvent::Kind::kWorker, 0, 0, table.new_worker_id()));
    held = lease(table, journal, 1);
    done = lease(table, journal, 2);
    commit(table, journal, done);
  }
  TaskTable after(tasks(3), seconds(30));
  TaskJournal journal(o, after, t0 + seconds(100));
  ASSERT_TRUE(journal.recovery().resumed);
  ASSERT_EQ(journal.recovery().commits.size(), 1u);
  EXPECT_EQ(journal.recovery().commits[0].task, done.task);
  EXPECT_EQ(journal.recovery().commits[0].sha256, kSha);
  EXPECT_EQ(after.state(held.task), TaskState::kLeased);
  EXPECT_EQ(after.state(done.task), TaskState::kDone);
  EXPECT_EQ(after.state(2), TaskState::kPending);
  EXPECT_GT(after.new_worker_id(), 2);
  // The restored lease has a third of a lease (10 s) for its worker.
  const auto restored = after.find(held.id);
  ASSERT_TRUE(restored);
  EXPECT_TRUE(restored->restored);
  EXPECT_EQ(restored->attempt_file, held.attempt_file);
  EXPECT_TRUE(after.expire(t0 + seconds(109)).empty());
  const auto next = after.lease(7, t0 + seconds(109));
  EXPECT_EQ(next->task, 2);
  EXPECT_GT(next->id, done.id);
  // Nothing pending: a worker asking takes the unrenewed restored lease's task.
  const auto taken = after.lease(8, t0 + seconds(109));
  ASSERT_TRUE(taken);
  EXPECT_EQ(taken->task, held.task);
  EXPECT_EQ(after.take_superseded().size(), 1u);
  EXPECT_EQ(after.complete(held.id, t0 + seconds(109)), Completion::kStale);
}

TEST(TaskJournal, ReleasedLeasesAndReopenedTasksReplayAsPending) {
  TempDir tmp("journal");
  const JournalOptions o{tmp.path + "/tasks.journal", "job-1"};
  {
    TaskTable table(tasks(3), seconds(30));
    TaskJournal journal(o, table, t0);
    const Lease a = lease(table, journal, 1), b = lease(table, journal, 1);
    table.release(a.id);
    journal.record(event(TableEvent::Kind::kDrop, a.id, a.task));
    ASSERT_EQ(table.complete(b.id, t0), Completion::kCommitted);
    table.reopen(b.task);  // a rejected commit
    journal.record(event(TableEvent::Kind::kReopen, b.id, b.task));
  }
  TaskTable after(tasks(3), seconds(30));
  TaskJournal journal(o, after, t0);
  EXPECT_TRUE(journal.recovery().commits.empty());
  EXPECT_EQ(after.count(TaskState::kPending), 3);
  EXPECT_EQ(after.lease_count(), 0);
}

// Shards already in the manifest stay done; their journal commit is not a
// second entry.
TEST(TaskJournal, ACommitTheManifestHasIsNotRecoveredTwice) {
  TempDir tmp("journal");
  const JournalOptions o{tmp.path + "/tasks.journal", "job-1"};
  {
    TaskTable table(tasks(2), seconds(30));
    TaskJournal journal(o, table, t0);
    commit(table, journal, lease(table, journal, 1));
    commit(table, journal, lease(table, journal, 1));
  }
  TaskTable after(tasks(2), seconds(30));
  after.mark_done(0);
  TaskJournal journal(o, after, t0);
  ASSERT_EQ(journal.recovery().commits.size(), 1u);
  EXPECT_EQ(journal.recovery().commits[0].task, 1);
  EXPECT_TRUE(after.all_done());
}

TEST(TaskJournal, AnotherJobOrPlanIsNotResumed) {
  TempDir tmp("journal");
  const std::string path = tmp.path + "/tasks.journal";
  {
    TaskTable table(tasks(3), seconds(30));
    TaskJournal journal({path, "job-1"}, table, t0);
    commit(table, journal, lease(table, journal, 1));
  }
  TaskTable other_job(tasks(3), seconds(30));
  TaskJournal a({path, "job-2"}, other_job, t0);
  EXPECT_FALSE(a.recovery().resumed);
  EXPECT_EQ(other_job.count(TaskState::kPending), 3);
  // ...and the file now belongs to job-2: job-1 finds nothing either.
  TaskTable back(tasks(3), seconds(30));
  TaskJournal b({path, "job-1"}, back, t0);
  EXPECT_FALSE(b.recovery().resumed);
  TaskTable other_plan(tasks(4), seconds(30));
  TaskJournal c({path, "job-1"}, other_plan, t0);
  EXPECT_EQ(other_plan.count(TaskState::kPending), 4);
}

// A record whose checksum holds but whose content cannot be (a task out of
// range, a short hash) ends the replay: it and all after it are dropped.
TEST(TaskJournal, ARecordThatMakesNoSenseEndsTheReplay) {
  TempDir tmp("journal");
  const std::string path = tmp.path + "/tasks.journal";
  {
    TaskTable table(tasks(3), seconds(30));
    TaskJournal journal({path, "job-1"}, table, t0);
    commit(table, journal, lease(table, journal, 1));
  }
  append_bytes(
      path, encode_record("C 9 7 " + kSha) + encode_record("C 2 1 abc") + encode_record("L 3 1 1"));
  const uint64_t before = read_file(path).size();
  TaskTable after(tasks(3), seconds(30));
  TaskJournal journal({path, "job-1"}, after, t0);
  EXPECT_EQ(journal.recovery().commits.size(), 1u);
  EXPECT_EQ(after.count(TaskState::kLeased), 0);  // the L after the bad records was not trusted
  EXPECT_LT(read_file(path).size(), before);
}

TEST(TaskJournal, CorruptRecordDropsTheRestOfTheJournal) {
  TempDir tmp("journal");
  const std::string path = tmp.path + "/tasks.journal";
  {
    TaskTable table(tasks(4), seconds(30));
    TaskJournal journal({path, "job-1"}, table, t0);
    for (int i = 0; i < 4; ++i) commit(table, journal, lease(table, journal, 1));
  }
  std::string bytes = read_file(path);
  const size_t third_commit = bytes.find(" C 3 2 ");
  ASSERT_NE(third_commit, std::string::npos);
  bytes[third_commit + 10] ^= 1;  // one bit of its hash
  atomic_write_file(path, bytes);
  TaskTable after(tasks(4), seconds(30));
  TaskJournal journal({path, "job-1"}, after, t0);
  EXPECT_EQ(journal.recovery().commits.size(), 2u);
  EXPECT_EQ(after.count(TaskState::kDone), 2);
  EXPECT_EQ(after.state(2), TaskState::kLeased);  // its lease record was intact
}

TEST(TaskJournal, CompactionKeepsTheStateAndAnOlderJournalIsSkipped) {
  TempDir tmp("journal");
  JournalOptions o{tmp.path + "/tasks.journal", "job-1"};
  o.compact_bytes = 1;  // compact whenever asked
  std::string old_journal;
  Lease open;
  {
    TaskTable table(tasks(6), seconds(30));
    TaskJournal journal(o, table, t0);
    std::vector<JournalCommit> commits;
    for (int i = 0; i < 3; ++i) {
      const Lease l = lease(table, journal, 1);
      commit(table, journal, l);
      commits.push_back({l.task, kSha});
    }
    open = lease(table, journal, 2);
    journal.sync();
    old_journal = read_file(o.path);
    ASSERT_TRUE(journal.wants_compaction());
    journal.compact(table, commits);
    EXPECT_EQ(journal.generation(), 1);
    EXPECT_LT(read_file(o.path).size(), old_journal.size());
    commit(table, journal, lease(table, journal, 3));  // task 4, after the snapshot
  }
  {
    TaskTable after(tasks(6), seconds(30));
    TaskJournal journal(o, after, t0);
    EXPECT_EQ(journal.recovery().commits.size(), 4u);
    EXPECT_EQ(after.state(open.task), TaskState::kLeased);
    EXPECT_EQ(after.state(5), TaskState::kPending);
    EXPECT_GT(after.lease(1, t0)->id, open.id + 1);
  }
  // A crash after the snapshot but before the journal restarted: the old
  // journal (generation 0) is skipped, its records are in the snapshot.
  atomic_write_file(o.path, old_journal);
  TaskTable after(tasks(6), seconds(30));
  TaskJournal journal(o, after, t0);
  EXPECT_EQ(journal.recovery().commits.size(), 3u);
  EXPECT_EQ(after.state(open.task), TaskState::kLeased);
  journal.remove();
  EXPECT_FALSE(path_exists(o.path));
  EXPECT_FALSE(path_exists(o.path + ".snapshot"));
}

TEST(TaskJournal, ADamagedSnapshotIsNotUsed) {
  TempDir tmp("journal");
  JournalOptions o{tmp.path + "/tasks.journal", "job-1"};
  {
    TaskTable table(tasks(2), seconds(30));
    TaskJournal journal(o, table, t0);
    const Lease l = lease(table, journal, 1);
    commit(table, journal, l);
    journal.compact(table, {{l.task, kSha}});
  }
  std::string snap = read_file(o.path + ".snapshot");
  snap.resize(snap.size() - 3);
  atomic_write_file(o.path + ".snapshot", snap);
  TaskTable after(tasks(2), seconds(30));
  TaskJournal journal(o, after, t0);
  EXPECT_TRUE(journal.recovery().commits.empty());
  EXPECT_EQ(after.count(TaskState::kPending), 2);
}

}  // namespace
}  // namespace condenser
