#pragma once
// The thin Asio layer around ControlHandler: one io_context on its own thread
// (DESIGN.md: Asio has its own thread), a control listener speaking the
// frame protocol and a read-only HTTP listener. Sessions only move bytes:
// parse_frame decides what a frame is, the handler what it means. Every read
// has a deadline: a connection that does not deliver a complete frame (or
// HTTP request head) within read_timeout is dropped; the server keeps serving.
// All handler calls run on the io thread, so the handler needs no locks.
// Addresses are HOST:PORT (protocol/address.h), IPv6 hosts in brackets.
#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "coordinator/control/control_handler.h"
#include "coordinator/control/http_status.h"

namespace condenser {

struct ServerOptions {
  std::string control_listen = "127.0.0.1:0";  // HOST:PORT; port 0 picks a free one
  std::string http_listen;                     // empty: the control host, a free port
  std::chrono::milliseconds read_timeout{10000};
  std::chrono::milliseconds tick{250};         // lease expiry check period
};

class ControlServer {
 public:
  // Binds both listeners (UsageError naming the address when that fails) and
  // starts the io thread. `routes` serve HTTP (called on the io thread).
  ControlServer(ControlHandler& handler, const ServerOptions& options, HttpRoutes routes);
  ~ControlServer();  // stops the io thread, closes every connection
  ControlServer(const ControlServer&) = delete;
  ControlServer& operator=(const ControlServer&) = delete;

  std::string control_address() const;  // "HOST:PORT" actually bound (format_host_port)
  std::string http_address() const;

  // Runs `fn` on the io thread and waits for it: the way to read handler
  // state from another thread.
  void run_on_io(const std::function<void()>& fn);

  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace condenser
