#pragma once
// The worker's end of the control connection: blocking POSIX socket I/O with
// deadlines on connect and every receive, frames from protocol/frame.h.
// send() may be called from the heartbeat thread while the main thread
// receives; only one thread receives.
#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>

#include "protocol/frame.h"

namespace condenser {

class FrameClient {
 public:
  FrameClient() = default;
  ~FrameClient() { close(); }
  FrameClient(const FrameClient&) = delete;
  FrameClient& operator=(const FrameClient&) = delete;

  // Connects to "HOST:PORT". RuntimeFailure (with the reason) on failure.
  void connect(const std::string& address, std::chrono::milliseconds timeout);
  // RuntimeFailure when the connection is gone.
  void send(MessageType type, const nlohmann::json& body);
  // The next frame; RuntimeFailure on timeout, close or a malformed frame.
  Frame receive(std::chrono::milliseconds timeout);
  void close();
  bool connected() const { return fd_ >= 0; }

 private:
  int fd_ = -1;
  std::mutex send_mutex_;
  std::string inbox_;
};

}  // namespace condenser
