#pragma once
// The worker's end of the control connection: frames (frame.h) of typed
// messages (messages.h) over the blocking TcpClient, with deadlines on
// connect and every receive. send() may be called from the heartbeat thread
// while the main thread receives; only one thread receives, connects or
// closes.
#include <chrono>
#include <mutex>
#include <string>

#include "protocol/address.h"
#include "protocol/frame.h"
#include "protocol/messages.h"
#include "protocol/tcp_client.h"

namespace condenser {

class FrameClient {
 public:
  FrameClient() = default;
  ~FrameClient() { close(); }
  FrameClient(const FrameClient&) = delete;
  FrameClient& operator=(const FrameClient&) = delete;

  // RuntimeFailure (with the reason) when the coordinator cannot be reached.
  void connect(const HostPort& coordinator, std::chrono::milliseconds timeout);
  // One message (msg::encode); RuntimeFailure when the connection is gone.
  template <class Message>
  void send(const Message& message) {
    send_frame(msg::encode(message));
  }
  void send_frame(const std::string& bytes);
  // The next frame; RuntimeFailure on timeout or close, ProtocolError on a
  // malformed frame.
  Frame receive(std::chrono::milliseconds timeout);
  void close();
  bool connected() const { return tcp_.connected(); }

 private:
  TcpClient tcp_;
  std::mutex send_mutex_;  // the heartbeat thread sends too
  std::string inbox_;
};

}  // namespace condenser
