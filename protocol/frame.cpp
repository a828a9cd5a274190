#include "protocol/frame.h"

#include <stdexcept>

namespace condenser {

bool is_known_type(uint8_t type) { return type >= 1 && type <= 14; }

const char* type_name(MessageType type) {
  switch (type) {
    case MessageType::kHello: return "hello";
    case MessageType::kWelcome: return "welcome";
    case MessageType::kRefused: return "refused";
    case MessageType::kGetTask: return "get_task";
    case MessageType::kTask: return "task";
    case MessageType::kWait: return "wait";
    case MessageType::kNoMoreWork: return "no_more_work";
    case MessageType::kHeartbeat: return "heartbeat";
    case MessageType::kTaskDone: return "task_done";
    case MessageType::kDoneAck: return "done_ack";
    case MessageType::kError: return "error";
    case MessageType::kTaskFailed: return "task_failed";
    case MessageType::kShardChunk: return "shard_chunk";
    case MessageType::kChunkAck: return "chunk_ack";
  }
  return "unknown";
}

std::string encode_frame(MessageType type, const nlohmann::json& body) {
  const std::string payload = body.dump();
  const size_t length = payload.size() + 2;
  if (length > kMaxFrameBytes) {
    throw std::length_error(std::string("protocol: ") + type_name(type) + " frame of " +
                            std::to_string(length) + " bytes exceeds the 1 MiB limit");
  }
  std::string out;
  out.reserve(4 + length);
  out.push_back(static_cast<char>((length >> 24) & 0xff));
  out.push_back(static_cast<char>((length >> 16) & 0xff));
  out.push_back(static_cast<char>((length >> 8) & 0xff));
  out.push_back(static_cast<char>(length & 0xff));
  out.push_back(static_cast<char>(kProtocolVersion));
  out.push_back(static_cast<char>(type));
  out += payload;
  return out;
}

ParseResult parse_frame(std::string_view buffer) {
  ParseResult r;
  auto fail = [&r](std::string why) {
    r.status = ParseStatus::kError;
    r.error = std::move(why);
    return r;
  };
  if (buffer.size() < 4) return r;
  const auto byte = [&buffer](size_t i) { return static_cast<uint32_t>(static_cast<uint8_t>(buffer[i])); };
  const uint32_t length = (byte(0) << 24) | (byte(1) << 16) | (byte(2) << 8) | byte(3);
  if (length > kMaxFrameBytes) {
    return fail("frame length " + std::to_string(length) + " exceeds the limit of " +
                std::to_string(kMaxFrameBytes) + " bytes");
  }
  if (length < 2) return fail("frame length " + std::to_string(length) + " is below 2");
  // Reject a bad version or type as soon as its byte arrives, not after the body.
  if (buffer.size() >= 5 && byte(4) != kProtocolVersion) {
    return fail("protocol version " + std::to_string(byte(4)) + " (this coordinator speaks " +
                std::to_string(kProtocolVersion) + ")");
  }
  if (buffer.size() >= 6 && !is_known_type(static_cast<uint8_t>(byte(5)))) {
    return fail("unknown message type " + std::to_string(byte(5)));
  }
  if (buffer.size() < 4 + static_cast<size_t>(length)) return r;
  const std::string_view payload = buffer.substr(6, length - 2);
  nlohmann::json body = nlohmann::json::parse(payload.begin(), payload.end(), nullptr,
                                              /*allow_exceptions=*/false);
  if (body.is_discarded() || !body.is_object()) return fail("payload is not a JSON object");
  r.status = ParseStatus::kFrame;
  r.frame.version = static_cast<uint8_t>(byte(4));
  r.frame.type = static_cast<MessageType>(byte(5));
  r.frame.body = std::move(body);
  r.consumed = 4 + static_cast<size_t>(length);
  return r;
}

bool constant_time_equal(std::string_view a, std::string_view b) {
  // Walk the longer length whatever the contents; a length mismatch still fails.
  const size_t n = a.size() > b.size() ? a.size() : b.size();
  unsigned diff = a.size() == b.size() ? 0u : 1u;
  for (size_t i = 0; i < n; ++i) {
    const unsigned char x = i < a.size() ? static_cast<unsigned char>(a[i]) : 0;
    const unsigned char y = i < b.size() ? static_cast<unsigned char>(b[i]) : 0;
    diff |= static_cast<unsigned>(x ^ y);
  }
  return diff == 0;
}

}  // namespace condenser
