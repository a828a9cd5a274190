#include "coordinator/control/http_server.h"

#include <array>
#include <mutex>
#include <thread>

#include "coordinator/control/asio_listen.h"
#include "core/log.h"

namespace condenser {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using boost::system::error_code;

// The routes and the lock a request holds while it is answered.
struct SharedRoutes {
  mutable std::mutex mutex;
  HttpRoutes routes;

  std::string answer(const std::string& head) {
    std::lock_guard<std::mutex> lock(mutex);
    return http_response(head, routes);
  }
};

// One HTTP request: read the head (<= 8 KiB, within the deadline), answer, close.
class HttpConnection : public std::enable_shared_from_this<HttpConnection> {
 public:
  HttpConnection(tcp::socket socket, SharedRoutes& routes, std::chrono::milliseconds timeout)
      : socket_(std::move(socket)),
        deadline_(socket_.get_executor()),
        routes_(routes),
        timeout_(timeout) {}

  void start() {
    deadline_.expires_after(timeout_);
    deadline_.async_wait([self = shared_from_this()](error_code ec) {
      if (!ec) self->close();
    });
    read();
  }

 private:
  void read() {
    socket_.async_read_some(
        asio::buffer(chunk_), [self = shared_from_this()](error_code ec, size_t n) {
          if (ec) return self->close();
          self->head_.append(self->chunk_.data(), n);
          const bool complete = self->head_.find("\r\n\r\n") != std::string::npos;
          if (!complete && self->head_.size() <= 8192) return self->read();
          // An oversized head is answered as a bad request.
          self->reply_ = self->routes_.answer(complete ? self->head_ : std::string());
          asio::async_write(self->socket_, asio::buffer(self->reply_),
                            [self](error_code, size_t) { self->close(); });
        });
  }

  void close() {
    deadline_.cancel();
    error_code ec;
    socket_.shutdown(tcp::socket::shutdown_both, ec);
    socket_.close(ec);
  }

  tcp::socket socket_;
  asio::steady_timer deadline_;
  SharedRoutes& routes_;
  std::chrono::milliseconds timeout_;
  std::array<char, 2048> chunk_{};
  std::string head_, reply_;
};

}  // namespace

struct HttpServer::Impl {
  std::chrono::milliseconds read_timeout;
  SharedRoutes routes;
  asio::io_context io;
  tcp::acceptor acceptor{io};
  std::string address;
  std::thread thread;
  bool stopped = false;

  void accept() {
    acceptor.async_accept([this](error_code ec, tcp::socket socket) {
      if (ec == asio::error::operation_aborted) return;
      if (!ec) {
        asio_listen::close_on_exec(socket.native_handle());
        std::make_shared<HttpConnection>(std::move(socket), routes, read_timeout)->start();
      }
      accept();
    });
  }
};

HttpServer::HttpServer(const std::string& listen, std::chrono::milliseconds read_timeout,
                       HttpRoutes routes, const std::string& what)
    : impl_(std::make_unique<Impl>()) {
  Impl& m = *impl_;
  m.read_timeout = read_timeout;
  m.routes.routes = std::move(routes);
  asio_listen::open(m.acceptor, asio_listen::resolve(m.io, listen, what), what);
  m.address = asio_listen::endpoint_text(m.acceptor.local_endpoint());
  m.accept();
  m.thread = std::thread([&m] {
    try {
      m.io.run();
    } catch (const std::exception& e) {  // a route's failure is answered; this is not expected
      log_warn("http: io thread stopped: ", e.what());
    }
  });
}

HttpServer::~HttpServer() { stop(); }

void HttpServer::stop() {
  if (impl_->stopped) return;
  impl_->stopped = true;
  impl_->io.stop();
  if (impl_->thread.joinable()) impl_->thread.join();
}

std::string HttpServer::address() const { return impl_->address; }

HttpRoutes HttpServer::routes() const {
  std::lock_guard<std::mutex> lock(impl_->routes.mutex);
  return impl_->routes.routes;
}

void HttpServer::set_routes(HttpRoutes routes) {
  std::lock_guard<std::mutex> lock(impl_->routes.mutex);
  impl_->routes.routes = std::move(routes);
}

}  // namespace condenser
