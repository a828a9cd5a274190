#pragma once
// The coordinator's read-only HTTP listener on its own io thread: binds
// HOST:PORT, answers each request with http_response (http_status.h) and
// closes (Connection: close). A request head must arrive within
// read_timeout (<= 8 KiB) or the connection is dropped.
//
// The routes can be swapped while it serves: the job starts one listener
// before its first stage and keeps it to the end of export; the labelling
// stage plugs its own routes in while it serves leases (RoutesPlug) and the
// job's come back after. A route runs under the routes' mutex, so once
// set_routes returns no request is still inside the old routes (their
// captures may then go away). Routes must not call set_routes.
#include <chrono>
#include <memory>
#include <string>

#include "coordinator/control/http_status.h"

namespace condenser {

class HttpServer {
 public:
  // Binds `listen` (HOST:PORT, port 0 picks a free one) and starts serving.
  // UsageError naming `what` and the address when it cannot resolve or bind.
  HttpServer(const std::string& listen, std::chrono::milliseconds read_timeout, HttpRoutes routes,
             const std::string& what = "--http");
  ~HttpServer();  // stops, closes the port and every connection
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  std::string address() const;  // "HOST:PORT" actually bound

  HttpRoutes routes() const;
  // Replaces the routes; waits for a request being answered with the old ones.
  void set_routes(HttpRoutes routes);

  // Stops answering (idempotent); the port stays bound until destruction,
  // as the control listener's does.
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Serves `routes` on `server` for the plug's life, then puts back the
// routes it found there.
class RoutesPlug {
 public:
  RoutesPlug(HttpServer& server, HttpRoutes routes) : server_(server), previous_(server.routes()) {
    server_.set_routes(std::move(routes));
  }
  ~RoutesPlug() { server_.set_routes(previous_); }
  RoutesPlug(const RoutesPlug&) = delete;
  RoutesPlug& operator=(const RoutesPlug&) = delete;

  const HttpRoutes& previous() const { return previous_; }

 private:
  HttpServer& server_;
  HttpRoutes previous_;
};

}  // namespace condenser
