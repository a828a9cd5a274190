#pragma once
// The worker control protocol: length-prefixed, versioned frames carrying one
// JSON object each. Pure code (no sockets, no LibTorch) so the parser and the
// handler can be unit-tested and fuzzed on plain byte strings. What each
// type's body holds, and its one encoder and decoder, is protocol/messages.h.
//
// Wire format of one frame:
//   u32 length (big-endian) = bytes that follow (>= 2, <= kMaxFrameBytes)
//   u8  version (kProtocolVersion)
//   u8  type (MessageType)
//   payload: length - 2 bytes of UTF-8 JSON (an object)
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "core/errors.h"

namespace condenser {

// A frame or message the protocol does not allow (bad bytes, a missing or
// mistyped field, an unexpected type). A RuntimeFailure: a worker drops the
// connection and reconnects, the coordinator answers an error and closes.
class ProtocolError : public RuntimeFailure {
 public:
  using RuntimeFailure::RuntimeFailure;
};

inline constexpr uint8_t kProtocolVersion = 1;
inline constexpr uint32_t kMaxFrameBytes = 1u << 20;  // 1 MiB: bounds every buffer

// Worker -> coordinator: kHello, kGetTask, kHeartbeat, kTaskDone, kTaskFailed,
// kShardChunk. Coordinator -> worker: kWelcome, kRefused, kTask, kWait,
// kNoMoreWork, kDoneAck, kError, kChunkAck. The coordinator only ever answers; it never sends first.
// Bodies (fields marked ? may be absent): messages.h has one struct each.
enum class MessageType : uint8_t {
  kHello = 1,       // {token, name?, pid?, upload?}
  kWelcome = 2,     // {worker_id, heartbeat_ms, spec: {...label job...}}
  kRefused = 3,     // {reason?}; the connection is then closed
  kGetTask = 4,     // {}
  kTask = 5,        // {lease, task, begin, end, file, attempt_file, lease_ms}
  kWait = 6,        // {retry_ms}: every remaining task is leased to someone
  kNoMoreWork = 7,  // {}: the job is labelled; the worker may exit
  kHeartbeat = 8,   // {leases: [ids]} (no reply)
  kTaskDone = 9,    // {lease, attempt_file?, rows?, sha256?}
  kDoneAck = 10,    // {lease, committed, reason?}
  kError = 11,      // {message?}; the connection is then closed
  kTaskFailed = 12, // {lease, message?}: the task goes back to pending
  kShardChunk = 13, // {lease, offset, size, data (base64), sha256}: bytes of an attempt file
  kChunkAck = 14,   // {lease, accepted, received, reason?}: the bytes held; send from there
};

bool is_known_type(uint8_t type);
const char* type_name(MessageType type);

struct Frame {
  uint8_t version = kProtocolVersion;
  MessageType type = MessageType::kError;
  nlohmann::json body = nlohmann::json::object();
};

// The bytes of one frame. Throws std::length_error when the body is larger
// than kMaxFrameBytes allows.
std::string encode_frame(MessageType type, const nlohmann::json& body);

enum class ParseStatus { kNeedMore, kFrame, kError };

struct ParseResult {
  ParseStatus status = ParseStatus::kNeedMore;
  Frame frame;            // when kFrame
  size_t consumed = 0;    // bytes of `buffer` that made up the frame (kFrame)
  std::string error;      // when kError: what was wrong, for the log
};

// Parses the first frame in `buffer`. kNeedMore when the buffer holds only a
// prefix of a valid frame (a length <= the maximum and, once there, a
// supported version and known type); kError as soon as the bytes cannot be a
// valid frame (oversized or undersized length, other version, unknown type,
// payload that is not a JSON object). Never reads past `buffer`.
ParseResult parse_frame(std::string_view buffer);

// Compares secrets in time that depends only on their lengths, not on where
// they first differ.
bool constant_time_equal(std::string_view a, std::string_view b);

}  // namespace condenser
