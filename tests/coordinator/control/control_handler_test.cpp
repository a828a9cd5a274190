// The coordinator's protocol handler without sockets: handshake (token),
// task hand-out, disconnects, late completions, rejected commits, bad frames.
#include <gtest/gtest.h>

#include <cstdint>
#include <map>

#include "coordinator/control/control_handler.h"

namespace condenser {
namespace {

using nlohmann::json;
using std::chrono::seconds;

struct FakeEffects : ControlEffects {
  std::map<std::string, int> commits;  // task file -> times committed
  std::vector<std::string> discarded;
  int persists = 0;
  std::string reject;  // non-empty: the next commit is rejected with this
  std::string commit(const Lease&, const TableTask& task, const json&) override {
    if (!reject.empty()) return std::exchange(reject, "");
    ++commits[task.file];
    return "";
  }
  void discard(const std::string& f) override { discarded.push_back(f); }
  void persist(const TaskTable&) override { ++persists; }
};

Frame frame(MessageType type, json body = json::object()) {
  Frame f;
  f.type = type;
  f.body = std::move(body);
  return f;
}

// The one frame of a reply, decoded.
Frame only(const Reply& r) {
  EXPECT_EQ(r.frames.size(), 1u);
  const ParseResult p = parse_frame(r.frames.at(0));
  EXPECT_EQ(p.status, ParseStatus::kFrame);
  return p.frame;
}

struct HandlerTest : ::testing::Test {
  TaskTable table{{{0, 4, "shard-000000.h5"}, {4, 8, "shard-000001.h5"}}, seconds(10)};
  FakeEffects fx;
  ControlHandler handler{table, "right-token", json{{"views", 1}}, fx, HandlerOptions{}};
  SteadyTime now{};

  ControlSession join(const std::string& peer) {
    ControlSession s;
    s.peer = peer;
    const Reply r = handler.on_frame(s, frame(MessageType::kHello, {{"token", "right-token"}}), now);
    EXPECT_FALSE(r.close);
    const Frame w = only(r);
    EXPECT_EQ(w.type, MessageType::kWelcome);
    EXPECT_EQ(w.body["spec"]["views"], 1);
    return s;
  }
  Frame get_task(ControlSession& s) { return only(handler.on_frame(s, frame(MessageType::kGetTask), now)); }
  Frame done(ControlSession& s, const Frame& task) {
    return only(handler.on_frame(
        s, frame(MessageType::kTaskDone, {{"lease", task.body["lease"]}, {"rows", 4},
                                          {"attempt_file", task.body["attempt_file"]}}),
        now));
  }
};

TEST_F(HandlerTest, WrongOrMissingTokenRefusedOthersUnaffected) {
  ControlSession good = join("good");
  const Frame t = get_task(good);
  ASSERT_EQ(t.type, MessageType::kTask);

  ControlSession bad{"bad"}, none{"none"};
  Reply r = handler.on_frame(bad, frame(MessageType::kHello, {{"token", "right-tokeN"}}), now);
  EXPECT_TRUE(r.close);
  EXPECT_EQ(only(r).type, MessageType::kRefused);
  r = handler.on_frame(none, frame(MessageType::kHello, {{"name", "x"}}), now);
  EXPECT_TRUE(r.close);
  EXPECT_EQ(only(r).type, MessageType::kRefused);
  ControlSession typed{"typed"};
  r = handler.on_frame(typed, frame(MessageType::kHello, {{"token", 12}}), now);
  EXPECT_TRUE(r.close);
  EXPECT_FALSE(bad.authenticated || none.authenticated || typed.authenticated);
  EXPECT_EQ(handler.counters().refused_total, 3);
  handler.on_disconnect(bad, now);

  // The authenticated worker carries on.
  EXPECT_TRUE(done(good, t).body["committed"]);
  EXPECT_EQ(fx.commits["shard-000000.h5"], 1);
}

TEST_F(HandlerTest, AnythingBeforeHelloIsRefused) {
  ControlSession s{"eager"};
  const Reply r = handler.on_frame(s, frame(MessageType::kGetTask), now);
  EXPECT_TRUE(r.close);
  EXPECT_EQ(only(r).type, MessageType::kRefused);
  EXPECT_EQ(table.count(TaskState::kLeased), 0);
}

TEST_F(HandlerTest, HandsOutTasksThenWaitThenNoMoreWork) {
  ControlSession a = join("a"), b = join("b");
  const Frame ta = get_task(a), tb = get_task(b);
  EXPECT_EQ(ta.body["file"], "shard-000000.h5");
  EXPECT_EQ(tb.body["file"], "shard-000001.h5");
  EXPECT_EQ(tb.body["begin"], 4);
  EXPECT_EQ(tb.body["end"], 8);
  EXPECT_EQ(get_task(a).type, MessageType::kWait);
  EXPECT_TRUE(done(a, ta).body["committed"]);
  EXPECT_TRUE(done(b, tb).body["committed"]);
  EXPECT_EQ(get_task(a).type, MessageType::kNoMoreWork);
  EXPECT_EQ(handler.counters().commits_total, 2);
}

TEST_F(HandlerTest, DisconnectedWorkersTaskGoesToAnotherExactlyOnce) {
  ControlSession a = join("a"), b = join("b");
  const Frame ta = get_task(a);
  handler.on_disconnect(a, now);  // SIGKILLed mid-task
  ASSERT_EQ(fx.discarded.size(), 1u);
  EXPECT_EQ(fx.discarded[0], ta.body["attempt_file"]);
  const Frame tb = get_task(b);
  EXPECT_EQ(tb.body["file"], "shard-000000.h5");
  EXPECT_TRUE(done(b, tb).body["committed"]);
  EXPECT_EQ(fx.commits["shard-000000.h5"], 1);
}

TEST_F(HandlerTest, LateCompletionOfAnExpiredLeaseIsDiscardedWithItsFile) {
  ControlSession slow = join("slow"), fast = join("fast");
  const Frame late = get_task(slow);
  now += seconds(11);  // no heartbeat: the lease expires
  handler.tick(now);
  const Frame again = get_task(fast);
  EXPECT_EQ(again.body["file"], late.body["file"]);
  EXPECT_NE(again.body["attempt_file"], late.body["attempt_file"]);
  EXPECT_TRUE(done(fast, again).body["committed"]);
  fx.discarded.clear();
  const Frame ack = done(slow, late);
  EXPECT_FALSE(ack.body["committed"]);
  ASSERT_EQ(fx.discarded.size(), 1u);
  EXPECT_EQ(fx.discarded[0], late.body["attempt_file"]);
  EXPECT_EQ(fx.commits["shard-000000.h5"], 1);
  EXPECT_EQ(handler.counters().stale_completions_total, 1);
}

TEST_F(HandlerTest, HeartbeatsKeepALeaseAlive) {
  ControlSession a = join("a");
  const Frame t = get_task(a);
  for (int i = 0; i < 5; ++i) {
    now += seconds(6);
    const Reply r = handler.on_frame(a, frame(MessageType::kHeartbeat, {{"leases", {t.body["lease"]}}}), now);
    EXPECT_TRUE(r.frames.empty());
    EXPECT_FALSE(r.close);
    handler.tick(now);
  }
  EXPECT_TRUE(done(a, t).body["committed"]);
}

TEST_F(HandlerTest, StaleAttemptNamesOutsideTheLeaseAreNotRemoved) {
  ControlSession a = join("a");
  const Reply r = handler.on_frame(
      a, frame(MessageType::kTaskDone, {{"lease", 999}, {"attempt_file", "../manifest.json"}}), now);
  EXPECT_FALSE(only(r).body["committed"]);
  EXPECT_TRUE(fx.discarded.empty());
}

TEST_F(HandlerTest, RejectedCommitSendsTheTaskBack) {
  ControlSession a = join("a");
  const Frame t = get_task(a);
  fx.reject = "sha256 mismatch";
  const Frame ack = done(a, t);
  EXPECT_FALSE(ack.body["committed"]);
  EXPECT_EQ(ack.body["reason"], "sha256 mismatch");
  EXPECT_EQ(table.state(0), TaskState::kPending);
  EXPECT_EQ(get_task(a).body["file"], "shard-000000.h5");
}

TEST_F(HandlerTest, TaskFailedReleasesTheLease) {
  ControlSession a = join("a");
  const Frame t = get_task(a);
  handler.on_frame(a, frame(MessageType::kTaskFailed, {{"lease", t.body["lease"]}, {"message", "oom"}}), now);
  EXPECT_EQ(table.state(0), TaskState::kPending);
}

TEST_F(HandlerTest, MalformedMessagesCloseTheConnection) {
  ControlSession a = join("a");
  for (const Frame& f : {frame(MessageType::kHeartbeat), frame(MessageType::kHeartbeat, {{"leases", {"x"}}}),
                         frame(MessageType::kTaskDone, {{"lease", "1"}}), frame(MessageType::kWelcome),
                         frame(MessageType::kTaskFailed)}) {
    const Reply r = handler.on_frame(a, f, now);
    EXPECT_TRUE(r.close) << f.body.dump();
    EXPECT_EQ(only(r).type, MessageType::kError);
  }
  const Reply r = handler.on_parse_error(a, "frame length 4294967295 exceeds the limit");
  EXPECT_TRUE(r.close);
  EXPECT_EQ(only(r).type, MessageType::kError);
}

}  // namespace
}  // namespace condenser
