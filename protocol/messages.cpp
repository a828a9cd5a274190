#include "protocol/messages.h"

#include "core/sha256.h"
#include "protocol/base64.h"
#include "protocol/json_fields.h"

namespace condenser::msg {
namespace {

using nlohmann::json;

// The fields of `frame`, once its type is the one expected.
JsonFields fields(const Frame& frame, MessageType expected) {
  if (frame.type != expected) {
    throw ProtocolError(std::string("expected ") + type_name(expected) + ", got " +
                        type_name(frame.type));
  }
  return JsonFields(frame.body, type_name(expected));
}

}  // namespace

std::string encode(const Hello& m) {
  return encode_frame(MessageType::kHello,
                      {{"token", m.token}, {"name", m.name}, {"pid", m.pid}, {"upload", m.upload}});
}

template <>
Hello decode<Hello>(const Frame& frame) {
  const JsonFields f = fields(frame, MessageType::kHello);
  return {f.text("token"), f.text("name", ""), f.integer("pid", 0), f.boolean("upload", false)};
}

std::string encode(const Welcome& m) {
  return encode_frame(MessageType::kWelcome, {{"worker_id", m.worker_id},
                                              {"heartbeat_ms", m.heartbeat_ms},
                                              {"spec", to_json(m.spec)}});
}

template <>
Welcome decode<Welcome>(const Frame& frame) {
  const JsonFields f = fields(frame, MessageType::kWelcome);
  return {f.integer("worker_id"), f.integer("heartbeat_ms"),
          label_spec_from_json(f.object("spec"), "welcome.spec")};
}

std::string encode(const Refused& m) {
  return encode_frame(MessageType::kRefused, {{"reason", m.reason}});
}

template <>
Refused decode<Refused>(const Frame& frame) {
  return {fields(frame, MessageType::kRefused).text("reason", "")};
}

std::string encode(const GetTask&) { return encode_frame(MessageType::kGetTask, json::object()); }

template <>
GetTask decode<GetTask>(const Frame& frame) {
  fields(frame, MessageType::kGetTask);
  return {};
}

std::string encode(const Task& m) {
  return encode_frame(MessageType::kTask, {{"lease", m.lease},
                                           {"task", m.index},
                                           {"begin", m.task.begin},
                                           {"end", m.task.end},
                                           {"file", m.task.file},
                                           {"attempt_file", m.attempt_file},
                                           {"lease_ms", m.lease_ms}});
}

template <>
Task decode<Task>(const Frame& frame) {
  const JsonFields f = fields(frame, MessageType::kTask);
  Task m;
  m.lease = f.integer("lease");
  m.index = f.integer("task");
  m.task = {f.integer("begin"), f.integer("end"), f.text("file")};
  m.attempt_file = f.text("attempt_file");
  m.lease_ms = f.integer("lease_ms");
  if (m.task.end < m.task.begin) throw ProtocolError("task: 'end' is before 'begin'");
  return m;
}

std::string encode(const Wait& m) {
  return encode_frame(MessageType::kWait, {{"retry_ms", m.retry_ms}});
}

template <>
Wait decode<Wait>(const Frame& frame) {
  return {fields(frame, MessageType::kWait).integer("retry_ms")};
}

std::string encode(const NoMoreWork&) {
  return encode_frame(MessageType::kNoMoreWork, json::object());
}

template <>
NoMoreWork decode<NoMoreWork>(const Frame& frame) {
  fields(frame, MessageType::kNoMoreWork);
  return {};
}

std::string encode(const Heartbeat& m) {
  return encode_frame(MessageType::kHeartbeat, {{"leases", m.leases}});
}

template <>
Heartbeat decode<Heartbeat>(const Frame& frame) {
  return {fields(frame, MessageType::kHeartbeat).integers("leases")};
}

std::string encode(const TaskDone& m) {
  return encode_frame(MessageType::kTaskDone, {{"lease", m.lease},
                                               {"attempt_file", m.attempt_file},
                                               {"rows", m.rows},
                                               {"sha256", m.sha256}});
}

template <>
TaskDone decode<TaskDone>(const Frame& frame) {
  const JsonFields f = fields(frame, MessageType::kTaskDone);
  return {f.integer("lease"), f.text("attempt_file", ""), f.integer("rows", 0),
          f.text("sha256", "")};
}

std::string encode(const DoneAck& m) {
  return encode_frame(MessageType::kDoneAck,
                      {{"lease", m.lease}, {"committed", m.committed}, {"reason", m.reason}});
}

template <>
DoneAck decode<DoneAck>(const Frame& frame) {
  const JsonFields f = fields(frame, MessageType::kDoneAck);
  return {f.integer("lease"), f.boolean("committed"), f.text("reason", "")};
}

std::string encode(const Error& m) {
  return encode_frame(MessageType::kError, {{"message", m.message}});
}

template <>
Error decode<Error>(const Frame& frame) {
  return {fields(frame, MessageType::kError).text("message", "")};
}

std::string encode(const TaskFailed& m) {
  return encode_frame(MessageType::kTaskFailed, {{"lease", m.lease}, {"message", m.message}});
}

template <>
TaskFailed decode<TaskFailed>(const Frame& frame) {
  const JsonFields f = fields(frame, MessageType::kTaskFailed);
  return {f.integer("lease"), f.text("message", "")};
}

std::string encode(const ShardChunk& m) {
  return encode_frame(MessageType::kShardChunk, {{"lease", m.lease},
                                                 {"offset", m.offset},
                                                 {"size", m.size},
                                                 {"data", base64_encode(m.data)},
                                                 {"sha256", m.sha256}});
}

template <>
ShardChunk decode<ShardChunk>(const Frame& frame) {
  const JsonFields f = fields(frame, MessageType::kShardChunk);
  ShardChunk m;
  m.lease = f.integer("lease");
  m.offset = f.integer("offset");
  m.size = f.integer("size");
  m.data = base64_decode(f.text("data"), "shard_chunk: field 'data'");
  m.sha256 = f.text("sha256");
  const auto bytes = static_cast<int64_t>(m.data.size());
  if (m.offset < 0 || m.size < 0 || m.offset + bytes > m.size) {
    throw ProtocolError("shard_chunk: bytes [" + std::to_string(m.offset) + ", " +
                        std::to_string(m.offset + bytes) + ") lie outside a file of " +
                        std::to_string(m.size));
  }
  if (bytes > kMaxChunkBytes) {
    throw ProtocolError("shard_chunk: " + std::to_string(bytes) + " bytes exceed the " +
                        std::to_string(kMaxChunkBytes) + " of a chunk");
  }
  if (sha256_hex(m.data.data(), m.data.size()) != m.sha256) {
    throw ProtocolError("shard_chunk: the bytes at offset " + std::to_string(m.offset) +
                        " do not match their sha256");
  }
  return m;
}

std::string encode(const ChunkAck& m) {
  return encode_frame(MessageType::kChunkAck, {{"lease", m.lease},
                                               {"accepted", m.accepted},
                                               {"received", m.received},
                                               {"reason", m.reason}});
}

template <>
ChunkAck decode<ChunkAck>(const Frame& frame) {
  const JsonFields f = fields(frame, MessageType::kChunkAck);
  return {f.integer("lease"), f.boolean("accepted"), f.integer("received"), f.text("reason", "")};
}

}  // namespace condenser::msg
