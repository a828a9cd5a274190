// Shards uploaded over the worker connection, at the handler: chunks stored
// where the held bytes end, resumed after a dropped connection (the
// uploading worker's leases outlive it), refused for a lease that is not
// the sender's, and taken by another worker only when nothing else is
// pending. The store is a map with ShardCommitter::receive's contract.
#include <gtest/gtest.h>

#include <map>

#include "coordinator/control/control_handler.h"
#include "core/sha256.h"
#include "tests/coordinator/control/control_test_util.h"

namespace condenser {
namespace {

using std::chrono::seconds;

using testing_util::kToken;

struct StoringEffects : ControlEffects {
  std::map<std::string, std::string> files;  // attempt file -> bytes held
  std::vector<std::string> committed, discarded;
  std::string commit(const Lease& lease, const LabelTask& task,
                     const msg::TaskDone& done) override {
    const std::string& bytes = files[lease.attempt_file];
    if (sha256_hex(bytes.data(), bytes.size()) != done.sha256) return "sha256 does not match";
    committed.push_back(task.file);
    return "";
  }
  void discard(const std::string& f) override {
    discarded.push_back(f);
    files.erase(f);
  }
  void record(const TableEvent&) override {}
  ChunkStored receive(const std::string& f, const msg::ShardChunk& c) override {
    std::string& held = files[f];
    const auto before = static_cast<int64_t>(held.size());
    if (before > c.size) throw ProtocolError("more than size");
    if (c.offset == before) held += c.data;
    return {static_cast<int64_t>(held.size()), static_cast<int64_t>(held.size()) - before};
  }
};

template <class M>
Frame frame_of(const M& message) {
  return parse_frame(msg::encode(message)).frame;
}

Frame only(const Reply& r) {
  EXPECT_EQ(r.frames.size(), 1u);
  return parse_frame(r.frames.at(0)).frame;
}

const std::string kShard = "0123456789abcdefghij";  // the attempt file's 20 bytes

struct UploadTest : ::testing::Test {
  TaskTable table{{{0, 4, "shard-000000.h5"}, {4, 8, "shard-000001.h5"}}, seconds(10)};
  StoringEffects fx;
  ControlHandler handler{table, kToken, LabelSpec{}, fx, HandlerOptions{}};
  SteadyTime now{};

  ControlSession join(const std::string& name, bool upload) {
    ControlSession s{name};
    handler.on_frame(s, frame_of(msg::Hello{kToken, name, 1, upload}), now);
    return s;
  }
  msg::Task task(ControlSession& s) {
    return msg::decode<msg::Task>(only(handler.on_frame(s, frame_of(msg::GetTask{}), now)));
  }
  Reply send(ControlSession& s, int64_t lease, int64_t offset, const std::string& data) {
    const msg::ShardChunk c{lease, offset, static_cast<int64_t>(kShard.size()), data,
                            sha256_hex(data.data(), data.size())};
    return handler.on_frame(s, frame_of(c), now);
  }
  msg::ChunkAck chunk(ControlSession& s, int64_t lease, int64_t offset, const std::string& data) {
    return msg::decode<msg::ChunkAck>(only(send(s, lease, offset, data)));
  }
  msg::DoneAck done(ControlSession& s, const msg::Task& t) {
    const msg::TaskDone m{t.lease, t.attempt_file, 4, sha256_hex(kShard.data(), kShard.size())};
    return msg::decode<msg::DoneAck>(only(handler.on_frame(s, frame_of(m), now)));
  }
};

TEST_F(UploadTest, ResumesWhereTheStoredBytesEndAfterADroppedConnection) {
  ControlSession a = join("a", true);
  const msg::Task t = task(a);
  EXPECT_EQ(chunk(a, t.lease, 0, "").received, 0);  // how much is held: nothing
  EXPECT_EQ(chunk(a, t.lease, 0, kShard.substr(0, 8)).received, 8);
  EXPECT_EQ(chunk(a, t.lease, 3, "xyz").received, 8);  // not where the bytes end: ignored

  handler.on_disconnect(a, now);  // its lease is kept, not released
  EXPECT_EQ(table.count(TaskState::kLeased), 1);
  EXPECT_TRUE(fx.discarded.empty());

  ControlSession again = join("a", true);
  handler.on_frame(again, frame_of(msg::Heartbeat{{t.lease}}), now);  // claims it back
  const msg::ChunkAck asked = chunk(again, t.lease, 0, "");
  EXPECT_TRUE(asked.accepted);
  EXPECT_EQ(asked.received, 8);
  // A chunk it held already, resent: acknowledged, not stored or counted twice.
  EXPECT_EQ(chunk(again, t.lease, 0, kShard.substr(0, 8)).received, 8);
  EXPECT_EQ(handler.counters().uploaded_bytes_total, 8);
  EXPECT_EQ(chunk(again, t.lease, 8, kShard.substr(8)).received, 20);
  EXPECT_TRUE(done(again, t).committed);
  EXPECT_EQ(fx.committed, std::vector<std::string>{"shard-000000.h5"});
  EXPECT_EQ(handler.counters().uploaded_bytes_total, 20);
}

TEST_F(UploadTest, AnOrphanedTaskGoesToAnotherWorkerOnlyWhenNothingElseIsPending) {
  ControlSession a = join("a", true), b = join("b", false);
  const msg::Task ta = task(a);
  chunk(a, ta.lease, 0, kShard.substr(0, 5));
  handler.on_disconnect(a, now);
  // b first gets the pending task, then a's, whose partial upload is dropped.
  EXPECT_EQ(task(b).task.file, "shard-000001.h5");
  const msg::Task taken = task(b);
  EXPECT_EQ(taken.task.file, ta.task.file);
  EXPECT_NE(taken.lease, ta.lease);
  EXPECT_EQ(fx.discarded, std::vector<std::string>{ta.attempt_file});
  // a comes back too late: its chunk and its completion are refused.
  ControlSession again = join("a", true);
  const msg::ChunkAck late = chunk(again, ta.lease, 5, kShard.substr(5));
  EXPECT_FALSE(late.accepted);
  EXPECT_EQ(late.reason, "lease expired or task reassigned");
  EXPECT_FALSE(done(again, ta).committed);
}

TEST_F(UploadTest, OnlyTheLeaseHolderUploadsAndOnlyIfItSaidSo) {
  ControlSession a = join("a", true), b = join("b", true), plain = join("p", false);
  const msg::Task ta = task(a);
  EXPECT_FALSE(chunk(b, ta.lease, 0, "abc").accepted);
  EXPECT_EQ(fx.files.count(ta.attempt_file), 0u);
  const Reply r = send(plain, ta.lease, 0, "abc");
  EXPECT_TRUE(r.close);
  EXPECT_NE(msg::decode<msg::Error>(only(r)).message.find("did not say upload"),
            std::string::npos);
  // A non-uploading worker's leases still go back at once when it drops.
  const msg::Task tp = task(plain);
  handler.on_disconnect(plain, now);
  EXPECT_EQ(table.state(tp.index), TaskState::kPending);
}

TEST_F(UploadTest, StoreRefusingBytesSendsTheTaskBackToPending) {
  struct FullDisk : StoringEffects {
    ChunkStored receive(const std::string&, const msg::ShardChunk&) override {
      throw RuntimeFailure("No space left on device");
    }
  } full;
  ControlHandler h{table, kToken, LabelSpec{}, full, HandlerOptions{}};
  ControlSession a{"a"};
  h.on_frame(a, frame_of(msg::Hello{kToken, "a", 1, true}), now);
  const msg::Task t =
      msg::decode<msg::Task>(only(h.on_frame(a, frame_of(msg::GetTask{}), now)));
  const msg::ShardChunk c{t.lease, 0, 3, "abc", sha256_hex("abc", 3)};
  const msg::ChunkAck ack = msg::decode<msg::ChunkAck>(only(h.on_frame(a, frame_of(c), now)));
  EXPECT_FALSE(ack.accepted);
  EXPECT_NE(ack.reason.find("No space left"), std::string::npos);
  EXPECT_EQ(table.state(t.index), TaskState::kPending);
}

}  // namespace
}  // namespace condenser
