// The HTTP listener on real loopback sockets: routes swapped while it
// serves (the job's listener lent to the labelling stage), a swap that waits
// for the request inside the old routes, a busy port refused naming --http,
// and a ControlServer serving through the job's listener.
#include "coordinator/control/http_server.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <future>
#include <string>
#include <thread>

#include "coordinator/control/control_server.h"
#include "core/errors.h"
#include "protocol/address.h"
#include "tests/coordinator/control/control_test_util.h"

namespace condenser {
namespace {

using std::chrono::milliseconds;

using testing_util::kToken;

using testing_util::NoEffects;

// GET `path` from `address`: the whole response ("" when nothing answers).
std::string get(const std::string& address, const std::string& path) {
  const HostPort at = parse_host_port(address, "test");
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(at.port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::string reply;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
    const std::string req = "GET " + path + " HTTP/1.1\r\nHost: x\r\n\r\n";
    if (::send(fd, req.data(), req.size(), 0) == static_cast<ssize_t>(req.size())) {
      char buf[4096];
      for (ssize_t n; (n = ::recv(fd, buf, sizeof buf, 0)) > 0;)
        reply.append(buf, static_cast<size_t>(n));
    }
  }
  ::close(fd);
  return reply;
}

std::string body(const std::string& response) {
  const size_t at = response.find("\r\n\r\n");
  return at == std::string::npos ? "" : response.substr(at + 4);
}

HttpRoutes saying(const std::string& what) {
  HttpRoutes r;
  r.status = [what] { return "{\"who\":\"" + what + "\"}"; };
  r.metrics = [what] { return what + " 1\n"; };
  return r;
}

TEST(HttpServer, RoutesSwapWhileServingAndComeBack) {
  HttpServer server("127.0.0.1:0", milliseconds(2000), saying("job"));
  EXPECT_EQ(body(get(server.address(), "/status")), "{\"who\":\"job\"}");
  {
    RoutesPlug plug(server, saying("label"));
    EXPECT_EQ(body(get(server.address(), "/status")), "{\"who\":\"label\"}");
    EXPECT_EQ(body(get(server.address(), "/metrics")), "label 1\n");
    EXPECT_EQ(plug.previous().status(), "{\"who\":\"job\"}");
  }
  EXPECT_EQ(body(get(server.address(), "/metrics")), "job 1\n");
  EXPECT_EQ(get(server.address(), "/nope").rfind("HTTP/1.1 404", 0), 0u);
  server.stop();
  server.stop();  // idempotent
}

// Once set_routes returns, no request is inside the old routes (whose
// captures, the labelling's handler, are about to go away).
TEST(HttpServer, SwapWaitsForTheRequestInsideTheOldRoutes) {
  std::promise<void> entered, release;
  std::shared_future<void> released = release.get_future().share();
  HttpRoutes slow;
  slow.status = [&entered, released] {
    entered.set_value();
    released.wait();
    return std::string("{\"old\":1}");
  };
  HttpServer server("127.0.0.1:0", milliseconds(5000), slow);
  std::future<std::string> reply =
      std::async(std::launch::async, [&] { return get(server.address(), "/status"); });
  entered.get_future().wait();
  std::atomic<bool> swapped{false};
  std::thread swapper([&] {
    server.set_routes(saying("new"));
    swapped = true;
  });
  std::this_thread::sleep_for(milliseconds(200));
  EXPECT_FALSE(swapped) << "set_routes returned while a request was inside the old routes";
  release.set_value();
  swapper.join();
  EXPECT_TRUE(swapped);
  EXPECT_EQ(body(reply.get()), "{\"old\":1}");
  EXPECT_EQ(body(get(server.address(), "/status")), "{\"who\":\"new\"}");
}

TEST(HttpServer, ARouteThatThrowsIsAnswered503AndServingGoesOn) {
  HttpRoutes r;
  r.status = []() -> std::string { throw RuntimeFailure("coordinator stopped: disk full"); };
  HttpServer server("127.0.0.1:0", milliseconds(2000), r);
  const std::string reply = get(server.address(), "/status");
  EXPECT_EQ(reply.rfind("HTTP/1.1 503", 0), 0u) << reply;
  EXPECT_NE(reply.find("disk full"), std::string::npos);
  EXPECT_EQ(get(server.address(), "/").rfind("HTTP/1.1 200", 0), 0u);
}

TEST(HttpServer, BusyOrBadAddressIsAUsageErrorNamingIt) {
  HttpServer first("127.0.0.1:0", milliseconds(1000), {});
  try {
    HttpServer second(first.address(), milliseconds(1000), {});
    FAIL() << "bound " << first.address() << " twice";
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("--http"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find(first.address()), std::string::npos) << e.what();
  }
  EXPECT_THROW(HttpServer("nohost:80", milliseconds(1000), {}), UsageError);
  EXPECT_THROW(HttpServer("127.0.0.1:99999", milliseconds(1000), {}), UsageError);
}

TEST(HttpServer, ThePortAnswersNothingOnceDestroyed) {
  std::string address;
  {
    HttpServer server("127.0.0.1:0", milliseconds(1000), saying("job"));
    address = server.address();
    EXPECT_FALSE(get(address, "/status").empty());
  }
  EXPECT_EQ(get(address, "/status"), "");
}

// The labelling's ControlServer on the job's listener: its routes (run on
// its io thread) while it lives, the job's back after stop(); no port of
// its own for HTTP.
TEST(HttpServer, ControlServerServesThroughTheJobsListener) {
  HttpServer job("127.0.0.1:0", milliseconds(2000), saying("job"));
  TaskTable table({{0, 4, "a.h5"}, {4, 8, "b.h5"}}, std::chrono::seconds(30));
  NoEffects fx;
  ControlHandler handler(table, kToken, LabelSpec{}, fx, HandlerOptions{});
  ServerOptions o;
  o.http = &job;
  o.http_listen = "nohost";  // ignored with a listener given
  HttpRoutes routes;
  routes.status = [&handler] { return status_json(handler, StatusInfo{}, 0).dump(); };
  ControlServer server(handler, o, routes);
  EXPECT_EQ(server.http_address(), job.address());
  const std::string status = body(get(job.address(), "/status"));
  EXPECT_NE(status.find("\"tasks\""), std::string::npos) << status;
  EXPECT_NE(status.find("\"total\":2"), std::string::npos) << status;
  server.stop();
  EXPECT_EQ(body(get(job.address(), "/status")), "{\"who\":\"job\"}");
}

}  // namespace
}  // namespace condenser
