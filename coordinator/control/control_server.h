#pragma once
// The thin Asio layer around ControlHandler: one io_context on its own thread
// (DESIGN.md: Asio has its own thread), a control listener speaking the
// frame protocol, and read-only HTTP through an HttpServer (http_server.h):
// its own, or the job's listener with this server's routes plugged in while
// it lives. Sessions only move bytes:
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

class HttpServer;

struct ServerOptions {
  std::string control_listen = "127.0.0.1:0";  // HOST:PORT; port 0 picks a free one
  std::string http_listen;                     // empty: the control host, a free port
  // The job's listener (not owned): serve the routes through it until stop()
  // and put its own back then; http_listen is ignored. Null: bind http_listen.
  HttpServer* http = nullptr;
  std::chrono::milliseconds read_timeout{10000};
  std::chrono::milliseconds tick{250};         // lease expiry check period
};

class ControlServer {
 public:
  // Binds the control listener and, without options.http, the HTTP one
  // (UsageError naming the address when that fails), and starts the io
  // thread. `routes` serve HTTP: status and metrics run on the io thread
  // (they may read the handler), the dashboard on the HTTP thread.
  ControlServer(ControlHandler& handler, const ServerOptions& options, HttpRoutes routes);
  ~ControlServer();  // stops the io thread, closes every connection
  ControlServer(const ControlServer&) = delete;
  ControlServer& operator=(const ControlServer&) = delete;

  std::string control_address() const;  // "HOST:PORT" actually bound (format_host_port)
  std::string http_address() const;

  // Runs `fn` on the io thread and waits for it: the way to read handler
  // state from another thread.
  void run_on_io(const std::function<void()>& fn);

  void stop();  // unplugs the routes (or closes the own HTTP port) first

 private:
  HttpRoutes on_io(HttpRoutes routes);

  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace condenser
