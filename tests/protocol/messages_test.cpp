// protocol/messages.h: every message survives encode -> parse_frame -> decode;
// a decode error names the message and the field; optional fields default;
// the label spec round-trips and names its own bad fields.
#include <gtest/gtest.h>

#include <cstdint>
#include <string>

#include "protocol/messages.h"

namespace condenser {
namespace {

using nlohmann::json;

template <class M>
M round_trip(const M& message) {
  const std::string bytes = msg::encode(message);
  const ParseResult r = parse_frame(bytes);
  EXPECT_EQ(r.status, ParseStatus::kFrame) << r.error;
  EXPECT_EQ(r.consumed, bytes.size());
  return msg::decode<M>(r.frame);
}

Frame frame(MessageType type, json body) {
  Frame f;
  f.type = type;
  f.body = std::move(body);
  return f;
}

// The ProtocolError text of decoding `f` as M ("" when it decodes).
template <class M>
std::string decode_error(const Frame& f) {
  try {
    msg::decode<M>(f);
  } catch (const ProtocolError& e) {
    return e.what();
  }
  return "";
}

LabelSpec sample_spec() {
  LabelSpec s;
  s.teacher_path = "/runs/a/models/teacher.pt";
  s.teacher_sha256 = std::string(64, 'a');
  s.data_dir = "/data/fashion";
  s.validation_size = 500;
  s.train_subset = 2000;
  s.split_seed = 0xfedcba9876543210ull;  // above int64: must stay unsigned
  s.dataset_fingerprint = "fp";
  s.num_samples = 1500;
  s.soft_label_dir = "/runs/a/soft_labels";
  s.temperature = 4.5;
  s.num_classes = 10;
  s.dtype = "float16";
  s.top_k = 3;
  s.views = 2;
  s.augment_seed = 99;
  s.batch_size = 64;
  s.precision = "bf16";
  s.seq_len = 128;
  return s;
}

TEST(Messages, WorkerMessagesRoundTrip) {
  const msg::Hello h = round_trip(msg::Hello{"tok", "w0", 4242});
  EXPECT_EQ(h.token, "tok");
  EXPECT_EQ(h.name, "w0");
  EXPECT_EQ(h.pid, 4242);
  round_trip(msg::GetTask{});
  EXPECT_EQ(round_trip(msg::Heartbeat{{3, 9, int64_t{1} << 40}}).leases,
            (std::vector<int64_t>{3, 9, int64_t{1} << 40}));
  EXPECT_TRUE(round_trip(msg::Heartbeat{}).leases.empty());
  const msg::TaskDone d = round_trip(msg::TaskDone{7, ".attempt-000007-shard-000001.h5", 300, "ab"});
  EXPECT_EQ(d.lease, 7);
  EXPECT_EQ(d.attempt_file, ".attempt-000007-shard-000001.h5");
  EXPECT_EQ(d.rows, 300);
  EXPECT_EQ(d.sha256, "ab");
  const msg::TaskFailed f = round_trip(msg::TaskFailed{7, "out of memory"});
  EXPECT_EQ(f.lease, 7);
  EXPECT_EQ(f.message, "out of memory");
}

TEST(Messages, CoordinatorMessagesRoundTrip) {
  const msg::Welcome w = round_trip(msg::Welcome{5, 1234, sample_spec()});
  EXPECT_EQ(w.worker_id, 5);
  EXPECT_EQ(w.heartbeat_ms, 1234);
  EXPECT_EQ(to_json(w.spec), to_json(sample_spec()));
  EXPECT_EQ(round_trip(msg::Refused{"hello first"}).reason, "hello first");
  const msg::Task t = round_trip(msg::Task{11, 2, {300, 450, "shard-000002.h5"}, ".attempt-x", 30000});
  EXPECT_EQ(t.lease, 11);
  EXPECT_EQ(t.index, 2);
  EXPECT_EQ(t.task, (LabelTask{300, 450, "shard-000002.h5"}));
  EXPECT_EQ(t.attempt_file, ".attempt-x");
  EXPECT_EQ(t.lease_ms, 30000);
  EXPECT_EQ(round_trip(msg::Wait{250}).retry_ms, 250);
  round_trip(msg::NoMoreWork{});
  const msg::DoneAck a = round_trip(msg::DoneAck{11, false, "expected 300 rows"});
  EXPECT_EQ(a.lease, 11);
  EXPECT_FALSE(a.committed);
  EXPECT_EQ(a.reason, "expected 300 rows");
  EXPECT_EQ(round_trip(msg::Error{"bad"}).message, "bad");
}

TEST(Messages, DecodeErrorsNameTheMessageAndTheField) {
  EXPECT_EQ(decode_error<msg::Task>(frame(MessageType::kTask, {{"task", 1}})),
            "task: field 'lease' is missing");
  json task = json::parse(msg::encode(msg::Task{1, 0, {0, 4, "s.h5"}, ".a", 10}).substr(6));
  task["end"] = "4";
  EXPECT_EQ(decode_error<msg::Task>(frame(MessageType::kTask, task)),
            "task: field 'end' must be an integer, not a string");
  task["end"] = 2.5;
  EXPECT_EQ(decode_error<msg::Task>(frame(MessageType::kTask, task)),
            "task: field 'end' must be an integer, not the number 2.5");
  EXPECT_EQ(decode_error<msg::Heartbeat>(frame(MessageType::kHeartbeat, {{"leases", {1, "2"}}})),
            "heartbeat: field 'leases' must be an array of integers, not a string");
  EXPECT_EQ(decode_error<msg::Heartbeat>(frame(MessageType::kHeartbeat, {{"leases", 1}})),
            "heartbeat: field 'leases' must be an array of integers, not the number 1");
  EXPECT_EQ(decode_error<msg::DoneAck>(frame(MessageType::kDoneAck, {{"lease", 1}, {"committed", 1}})),
            "done_ack: field 'committed' must be true or false, not the number 1");
  EXPECT_EQ(decode_error<msg::Hello>(frame(MessageType::kHello, {{"token", nullptr}})),
            "hello: field 'token' must be a string, not null");
  EXPECT_EQ(decode_error<msg::Welcome>(frame(MessageType::kWelcome, {{"worker_id", 1},
                                                                       {"heartbeat_ms", 5},
                                                                       {"spec", json::array()}})),
            "welcome: field 'spec' must be an object, not an array");
  // An integer beyond int64 is not an integer of this protocol.
  EXPECT_EQ(decode_error<msg::TaskFailed>(
                frame(MessageType::kTaskFailed, {{"lease", 18446744073709551615ull}})),
            "task_failed: field 'lease' must be an integer, not the number 18446744073709551615");
}

TEST(Messages, DecodeChecksTheFrameType) {
  const Frame wait = parse_frame(msg::encode(msg::Wait{5})).frame;
  EXPECT_EQ(decode_error<msg::Task>(wait), "expected task, got wait");
  EXPECT_EQ(decode_error<msg::Wait>(wait), "");
}

TEST(Messages, OptionalFieldsDefaultButKeepTheirType) {
  const msg::Hello h = msg::decode<msg::Hello>(frame(MessageType::kHello, {{"token", "t"}}));
  EXPECT_EQ(h.name, "");
  EXPECT_EQ(h.pid, 0);
  const msg::TaskDone d = msg::decode<msg::TaskDone>(frame(MessageType::kTaskDone, {{"lease", 3}}));
  EXPECT_EQ(d.attempt_file, "");
  EXPECT_EQ(d.rows, 0);
  EXPECT_EQ(d.sha256, "");
  EXPECT_EQ(msg::decode<msg::Error>(frame(MessageType::kError, json::object())).message, "");
  EXPECT_EQ(decode_error<msg::Hello>(frame(MessageType::kHello, {{"token", "t"}, {"pid", "12"}})),
            "hello: field 'pid' must be an integer, not a string");
  EXPECT_EQ(decode_error<msg::TaskDone>(frame(MessageType::kTaskDone, {{"lease", 3}, {"rows", true}})),
            "task_done: field 'rows' must be an integer, not a boolean");
  // Unknown fields are ignored (a newer peer may add some).
  EXPECT_EQ(decode_error<msg::GetTask>(frame(MessageType::kGetTask, {{"hint", 1}})), "");
}

TEST(Messages, TaskRangeMustNotRunBackwards) {
  const Frame f = parse_frame(msg::encode(msg::Task{1, 0, {8, 4, "s.h5"}, ".a", 10})).frame;
  EXPECT_EQ(decode_error<msg::Task>(f), "task: 'end' is before 'begin'");
}

TEST(LabelSpecJson, RoundTripsThroughTextKeepingUnsignedSeeds) {
  const LabelSpec s = sample_spec();
  const LabelSpec back = label_spec_from_json(json::parse(to_json(s).dump()));
  EXPECT_EQ(to_json(back), to_json(s));
  EXPECT_EQ(back.split_seed, 0xfedcba9876543210ull);
  EXPECT_EQ(back.temperature, 4.5);
  EXPECT_EQ(back.precision, "bf16");
  EXPECT_EQ(back.seq_len, 128);
}

TEST(LabelSpecJson, MissingOrBadFieldsAreNamed) {
  json j = to_json(sample_spec());
  j.erase("precision");  // absent from older coordinators: fp32
  EXPECT_EQ(label_spec_from_json(j).precision, "fp32");
  j.erase("seq_len");  // absent from coordinators older than token datasets: 0
  EXPECT_EQ(label_spec_from_json(j).seq_len, 0);
  j.erase("teacher_sha256");
  try {
    label_spec_from_json(j, "welcome.spec");
    FAIL() << "accepted a spec without teacher_sha256";
  } catch (const ProtocolError& e) {
    EXPECT_STREQ(e.what(), "welcome.spec: field 'teacher_sha256' is missing");
  }
  j = to_json(sample_spec());
  j["split_seed"] = -1;
  EXPECT_THROW(label_spec_from_json(j), ProtocolError);
  j = to_json(sample_spec());
  j["views"] = 0;
  EXPECT_THROW(label_spec_from_json(j), ProtocolError);
  j = to_json(sample_spec());
  j["num_classes"] = int64_t{1} << 33;
  EXPECT_THROW(label_spec_from_json(j), ProtocolError);
  EXPECT_THROW(label_spec_from_json(json::array()), ProtocolError);
}

}  // namespace
}  // namespace condenser
