// The coordinator's protocol handler without sockets: handshake (token),
// task hand-out, disconnects, late completions, rejected commits, bad frames.
// Replies are read back with protocol/messages.h's decoders; bad input is
// written as raw JSON bodies on purpose.
#include "coordinator/control/control_handler.h"
#include "tests/coordinator/control/control_test_util.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <map>

namespace condenser {
namespace {

using nlohmann::json;
using std::chrono::seconds;

using testing_util::kToken;

struct FakeEffects : ControlEffects {
  std::map<std::string, int> commits;  // task file -> times committed
  std::vector<std::string> discarded;
  std::vector<TableEvent> events;
  std::string reject;  // non-empty: the next commit is rejected with this
  std::string commit(const Lease&, const LabelTask& task, const msg::TaskDone&) override {
    if (!reject.empty()) return std::exchange(reject, "");
    ++commits[task.file];
    return "";
  }
  void discard(const std::string& f) override { discarded.push_back(f); }
  void record(const TableEvent& e) override { events.push_back(e); }
};

Frame frame(MessageType type, json body = json::object()) {
  Frame f;
  f.type = type;
  f.body = std::move(body);
  return f;
}

// A message as the handler receives it: encoded, then parsed.
template <class M>
Frame frame_of(const M& message) {
  return parse_frame(msg::encode(message)).frame;
}

LabelSpec one_view() {
  LabelSpec spec;
  spec.views = 1;
  spec.teacher_path = "/t.pt";
  return spec;
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
  ControlHandler handler{table, kToken, one_view(), fx, HandlerOptions{}};
  SteadyTime now{};

  ControlSession join(const std::string& peer) {
    ControlSession s;
    s.peer = peer;
    const Reply r = handler.on_frame(s, frame_of(msg::Hello{kToken, peer, 1}), now);
    EXPECT_FALSE(r.close);
    const msg::Welcome w = msg::decode<msg::Welcome>(only(r));
    EXPECT_EQ(w.spec.views, 1);
    EXPECT_EQ(w.spec.teacher_path, "/t.pt");
    EXPECT_EQ(w.worker_id, s.worker);
    return s;
  }
  Frame get_task(ControlSession& s) {
    return only(handler.on_frame(s, frame_of(msg::GetTask{}), now));
  }
  msg::Task task(ControlSession& s) { return msg::decode<msg::Task>(get_task(s)); }
  msg::DoneAck done(ControlSession& s, const msg::Task& task) {
    const msg::TaskDone m{task.lease, task.attempt_file, 4, ""};
    return msg::decode<msg::DoneAck>(only(handler.on_frame(s, frame_of(m), now)));
  }
};

TEST_F(HandlerTest, WrongOrMissingTokenRefusedOthersUnaffected) {
  ControlSession good = join("good");
  const msg::Task t = task(good);

  ControlSession bad{"bad"}, none{"none"};
  Reply r = handler.on_frame(
      bad, frame_of(msg::Hello{"0123456789abcdef0123456789abcdeF", "bad", 0}), now);
  EXPECT_TRUE(r.close);
  EXPECT_EQ(only(r).type, MessageType::kRefused);
  r = handler.on_frame(none, frame(MessageType::kHello, {{"name", "x"}}), now);
  EXPECT_TRUE(r.close);
  EXPECT_NE(msg::decode<msg::Refused>(only(r)).reason.find("'token' is missing"),
            std::string::npos);
  ControlSession typed{"typed"};
  r = handler.on_frame(typed, frame(MessageType::kHello, {{"token", 12}}), now);
  EXPECT_TRUE(r.close);
  EXPECT_EQ(only(r).type, MessageType::kRefused);
  EXPECT_FALSE(bad.authenticated || none.authenticated || typed.authenticated);
  EXPECT_EQ(handler.counters().refused_total, 3);
  handler.on_disconnect(bad, now);

  // The authenticated worker carries on.
  EXPECT_TRUE(done(good, t).committed);
  EXPECT_EQ(fx.commits["shard-000000.h5"], 1);
}

TEST_F(HandlerTest, AnythingBeforeHelloIsRefused) {
  ControlSession s{"eager"};
  const Reply r = handler.on_frame(s, frame_of(msg::GetTask{}), now);
  EXPECT_TRUE(r.close);
  EXPECT_EQ(msg::decode<msg::Refused>(only(r)).reason, "hello first");
  EXPECT_EQ(table.count(TaskState::kLeased), 0);
}

TEST_F(HandlerTest, HandsOutTasksThenWaitThenNoMoreWork) {
  ControlSession a = join("a"), b = join("b");
  const msg::Task ta = task(a), tb = task(b);
  EXPECT_EQ(ta.task.file, "shard-000000.h5");
  EXPECT_EQ(ta.index, 0);
  EXPECT_EQ(tb.task, (LabelTask{4, 8, "shard-000001.h5"}));
  EXPECT_EQ(tb.lease_ms, 10000);
  EXPECT_EQ(tb.attempt_file.rfind(attempt_prefix(tb.lease), 0), 0u);
  EXPECT_EQ(msg::decode<msg::Wait>(get_task(a)).retry_ms, HandlerOptions{}.wait_ms);
  EXPECT_TRUE(done(a, ta).committed);
  const msg::DoneAck ack = done(b, tb);
  EXPECT_TRUE(ack.committed);
  EXPECT_EQ(ack.lease, tb.lease);
  EXPECT_EQ(get_task(a).type, MessageType::kNoMoreWork);
  EXPECT_EQ(handler.counters().commits_total, 2);
  EXPECT_EQ(handler.counters().rows_committed_total, 8);
}

// Every change reaches the journal as one event; only a committed
// completion's acknowledgement waits for the sync (group commit).
TEST_F(HandlerTest, EachChangeIsOneJournalEventAndCommitsWaitForTheSync) {
  using K = TableEvent::Kind;
  ControlSession a = join("a"), b = join("b");
  const msg::Task ta = task(a), tb = task(b);
  const Reply lease_reply = handler.on_frame(a, frame_of(msg::GetTask{}), now);
  EXPECT_FALSE(lease_reply.sync);  // a Wait: both tasks are leased
  const std::string sha(64, 'c');
  const Reply r =
      handler.on_frame(a, frame_of(msg::TaskDone{ta.lease, ta.attempt_file, 4, sha}), now);
  EXPECT_TRUE(r.sync);
  EXPECT_EQ(r.timed, Reply::Timed::kCommit);
  handler.on_disconnect(b, now);
  ASSERT_EQ(fx.events.size(), 6u);
  EXPECT_EQ(fx.events[0].kind, K::kWorker);
  EXPECT_EQ(fx.events[0].worker, a.worker);
  EXPECT_EQ(fx.events[1].kind, K::kWorker);
  EXPECT_EQ(fx.events[2].kind, K::kLease);
  EXPECT_EQ(fx.events[2].lease, ta.lease);
  EXPECT_EQ(fx.events[2].task, 0);
  EXPECT_EQ(fx.events[2].worker, a.worker);
  EXPECT_EQ(fx.events[3].kind, K::kLease);
  EXPECT_EQ(fx.events[4].kind, K::kCommit);
  EXPECT_EQ(fx.events[4].lease, ta.lease);
  EXPECT_EQ(fx.events[4].sha256, sha);
  EXPECT_EQ(fx.events[5].kind, K::kDrop);
  EXPECT_EQ(fx.events[5].lease, tb.lease);
  handler.observe(Reply::Timed::kCommit, 0.004);
  handler.observe(Reply::Timed::kLeaseGrant, 0.0002);
  EXPECT_EQ(handler.metrics().commit.count(), 1);
  EXPECT_EQ(handler.metrics().lease_grant.count(), 1);
}

TEST_F(HandlerTest, DisconnectedWorkersTaskGoesToAnotherExactlyOnce) {
  ControlSession a = join("a"), b = join("b");
  const msg::Task ta = task(a);
  handler.on_disconnect(a, now);  // SIGKILLed mid-task
  ASSERT_EQ(fx.discarded.size(), 1u);
  EXPECT_EQ(fx.discarded[0], ta.attempt_file);
  const msg::Task tb = task(b);
  EXPECT_EQ(tb.task.file, "shard-000000.h5");
  EXPECT_TRUE(done(b, tb).committed);
  EXPECT_EQ(fx.commits["shard-000000.h5"], 1);
}

TEST_F(HandlerTest, LateCompletionOfAnExpiredLeaseIsDiscardedWithItsFile) {
  ControlSession slow = join("slow"), fast = join("fast");
  const msg::Task late = task(slow);
  now += seconds(11);  // no heartbeat: the lease expires
  handler.tick(now);
  const msg::Task again = task(fast);
  EXPECT_EQ(again.task.file, late.task.file);
  EXPECT_NE(again.attempt_file, late.attempt_file);
  EXPECT_TRUE(done(fast, again).committed);
  fx.discarded.clear();
  const msg::DoneAck ack = done(slow, late);
  EXPECT_FALSE(ack.committed);
  EXPECT_EQ(ack.reason, "lease expired or task reassigned");
  ASSERT_EQ(fx.discarded.size(), 1u);
  EXPECT_EQ(fx.discarded[0], late.attempt_file);
  EXPECT_EQ(fx.commits["shard-000000.h5"], 1);
  EXPECT_EQ(handler.counters().stale_completions_total, 1);
}

TEST_F(HandlerTest, HeartbeatsKeepALeaseAlive) {
  ControlSession a = join("a");
  const msg::Task t = task(a);
  for (int i = 0; i < 5; ++i) {
    now += seconds(6);
    const Reply r = handler.on_frame(a, frame_of(msg::Heartbeat{{t.lease}}), now);
    EXPECT_TRUE(r.frames.empty());
    EXPECT_FALSE(r.close);
    handler.tick(now);
  }
  EXPECT_TRUE(done(a, t).committed);
}

TEST_F(HandlerTest, StaleAttemptNamesOutsideTheLeaseAreNotRemoved) {
  ControlSession a = join("a");
  const Reply r = handler.on_frame(
      a, frame(MessageType::kTaskDone, {{"lease", 999}, {"attempt_file", "../manifest.json"}}),
      now);
  EXPECT_FALSE(msg::decode<msg::DoneAck>(only(r)).committed);
  EXPECT_TRUE(fx.discarded.empty());
}

TEST_F(HandlerTest, RejectedCommitSendsTheTaskBack) {
  ControlSession a = join("a");
  const msg::Task t = task(a);
  fx.reject = "sha256 mismatch";
  const msg::DoneAck ack = done(a, t);
  EXPECT_FALSE(ack.committed);
  EXPECT_EQ(ack.reason, "sha256 mismatch");
  EXPECT_EQ(table.state(0), TaskState::kPending);
  EXPECT_EQ(task(a).task.file, "shard-000000.h5");
}

TEST_F(HandlerTest, TaskFailedReleasesTheLease) {
  ControlSession a = join("a");
  const msg::Task t = task(a);
  handler.on_frame(a, frame_of(msg::TaskFailed{t.lease, "oom"}), now);
  EXPECT_EQ(table.state(0), TaskState::kPending);
}

TEST_F(HandlerTest, MalformedMessagesCloseTheConnection) {
  ControlSession a = join("a");
  const msg::Task t = task(a);
  const std::pair<Frame, std::string> cases[] = {
      {frame(MessageType::kHeartbeat), "heartbeat: field 'leases' is missing"},
      {frame(MessageType::kHeartbeat, {{"leases", {"x"}}}),
       "heartbeat: field 'leases' must be an array of integers, not a string"},
      {frame(MessageType::kTaskDone, {{"lease", "1"}}),
       "task_done: field 'lease' must be an integer, not a string"},
      {frame(MessageType::kWelcome), "unexpected welcome from a worker"},
      {frame(MessageType::kTaskFailed), "task_failed: field 'lease' is missing"}};
  for (const auto& [f, why] : cases) {
    const Reply r = handler.on_frame(a, f, now);
    EXPECT_TRUE(r.close) << f.body.dump();
    EXPECT_EQ(msg::decode<msg::Error>(only(r)).message, why);
  }
  EXPECT_EQ(handler.counters().protocol_errors_total, 5);
  // Nothing changed: the lease is still held.
  EXPECT_EQ(table.state(0), TaskState::kLeased);
  ASSERT_TRUE(table.find(t.lease));
  const Reply r = handler.on_parse_error(a, "frame length 4294967295 exceeds the limit");
  EXPECT_TRUE(r.close);
  EXPECT_EQ(only(r).type, MessageType::kError);
}

// An empty hello token got a lease when job.token was empty.
TEST(HandlerToken, EmptyOrShortTokenIsRefusedEvenWhenItMatches) {
  TaskTable table{{{0, 4, "shard-000000.h5"}}, seconds(10)};
  FakeEffects fx;
  for (const std::string token : {"", "abc", "0123456789abcdef"}) {
    ControlHandler handler{table, token, one_view(), fx, HandlerOptions{}};
    ControlSession s{"p"};
    const Reply r = handler.on_frame(s, frame_of(msg::Hello{token, "w", 1}), SteadyTime{});
    EXPECT_TRUE(r.close) << "token '" << token << "'";
    EXPECT_EQ(only(r).type, MessageType::kRefused);
    EXPECT_FALSE(s.authenticated);
  }
  EXPECT_EQ(table.count(TaskState::kLeased), 0);
}

TEST_F(HandlerTest, EmptyHelloTokenIsRefused) {
  ControlSession s{"empty"};
  const Reply r = handler.on_frame(s, frame_of(msg::Hello{"", "w", 1}), now);
  EXPECT_TRUE(r.close);
  EXPECT_EQ(only(r).type, MessageType::kRefused);
  EXPECT_FALSE(s.authenticated);
}

// A worker named "x\ncoordinator: committed ..." forged a log line.
TEST_F(HandlerTest, ControlCharactersInAWorkersNameAreEscaped) {
  ControlSession s{"p"};
  const std::string name = "w\ncoordinator: committed shard-000000.h5\x1b[2K\\";
  handler.on_frame(s, frame_of(msg::Hello{kToken, name, 1}), now);
  ASSERT_TRUE(s.authenticated);
  const std::string shown = handler.workers().at(s.worker).name;
  EXPECT_EQ(shown, "w\\x0acoordinator: committed shard-000000.h5\\x1b[2K\\\\");
  EXPECT_EQ(printable(std::string(300, 'a')), std::string(200, 'a') + "...");
}

}  // namespace
}  // namespace condenser
