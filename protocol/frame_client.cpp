#include "protocol/frame_client.h"

#include "core/errors.h"

namespace condenser {

void FrameClient::connect(const HostPort& coordinator, std::chrono::milliseconds timeout) {
  close();
  try {
    tcp_.connect(coordinator, timeout);
  } catch (const TcpError& e) {
    throw RuntimeFailure(std::string("coordinator: ") + e.what());
  }
}

void FrameClient::send_frame(const std::string& bytes) {
  std::lock_guard<std::mutex> lock(send_mutex_);
  try {
    tcp_.send_all(bytes);
  } catch (const TcpError& e) {
    throw RuntimeFailure(std::string("lost the coordinator: ") + e.what());
  }
}

Frame FrameClient::receive(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    const ParseResult r = parse_frame(inbox_);
    if (r.status == ParseStatus::kFrame) {
      inbox_.erase(0, r.consumed);
      return r.frame;
    }
    if (r.status == ParseStatus::kError) throw ProtocolError("coordinator sent a bad frame: " + r.error);
    try {
      if (tcp_.receive_some(&inbox_, deadline) == 0) {
        throw RuntimeFailure("lost the coordinator (connection closed)");
      }
    } catch (const TcpError& e) {
      if (e.kind() == TcpError::Kind::kTimeout) {
        throw RuntimeFailure("the coordinator did not answer within " +
                             std::to_string(timeout.count()) + " ms");
      }
      throw RuntimeFailure(std::string("lost the coordinator: ") + e.what());
    }
  }
}

void FrameClient::close() {
  std::lock_guard<std::mutex> lock(send_mutex_);
  tcp_.close();
  inbox_.clear();
}

}  // namespace condenser
