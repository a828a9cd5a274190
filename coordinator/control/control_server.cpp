#include "coordinator/control/control_server.h"

#include <fcntl.h>

#include <atomic>
#include <boost/asio.hpp>
#include <deque>
#include <future>
#include <thread>

#include "core/errors.h"
#include "core/log.h"
#include "protocol/address.h"

namespace condenser {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using boost::system::error_code;

int64_t unix_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string endpoint_text(const tcp::endpoint& e) {
  return format_host_port({e.address().to_string(), e.port()});
}

// Group commit: replies that promise durability (Reply::sync) wait for one
// ControlEffects::sync shared by every such reply held when it starts. The
// sync (an fdatasync, milliseconds) runs on its own thread, so the io thread
// goes on granting leases meanwhile; replies held while one runs share the
// next. A failed sync stops the io thread like any failed file effect.
class SyncBatch {
 public:
  SyncBatch(asio::io_context& io, ControlHandler& handler) : io_(io), handler_(handler) {}
  void hold(std::function<void()> release) {
    held_.push_back(std::move(release));
    if (!syncing_) start();
  }
  void join() { pool_.join(); }

 private:
  void start() {
    syncing_ = true;
    auto batch = std::make_shared<std::vector<std::function<void()>>>(std::exchange(held_, {}));
    asio::post(pool_, [this, batch] {
      std::string failure;
      try {
        handler_.sync();
      } catch (const std::exception& e) {
        failure = e.what();
      }
      asio::post(io_, [this, batch, failure] {
        if (!failure.empty()) throw RuntimeFailure(failure);
        for (const auto& release : *batch) release();
        syncing_ = false;
        if (!held_.empty()) start();
      });
    });
  }
  asio::io_context& io_;
  ControlHandler& handler_;
  asio::thread_pool pool_{1};
  std::vector<std::function<void()>> held_;
  bool syncing_ = false;
};

// One worker connection: bytes in -> parse_frame -> handler -> bytes out.
class ControlConnection : public std::enable_shared_from_this<ControlConnection> {
 public:
  ControlConnection(tcp::socket socket, ControlHandler& handler, SyncBatch& batch,
                    std::chrono::milliseconds timeout)
      : socket_(std::move(socket)),
        deadline_(socket_.get_executor()),
        handler_(handler),
        batch_(batch),
        timeout_(timeout) {
    error_code ec;
    session_.peer = endpoint_text(socket_.remote_endpoint(ec));
  }

  void start() {
    arm_deadline();
    read();
  }

 private:
  void arm_deadline() {
    deadline_.expires_after(timeout_);
    deadline_.async_wait([self = shared_from_this()](error_code ec) {
      if (ec || self->finished_) return;  // cancelled: a frame arrived in time
      log_warn("coordinator: dropping ", self->session_.peer, ": no complete frame within ",
               self->timeout_.count(), " ms");
      self->finish();
    });
  }

  void read() {
    socket_.async_read_some(asio::buffer(chunk_),
                            [self = shared_from_this()](error_code ec, size_t n) {
                              if (ec) return self->finish();
                              self->inbox_.append(self->chunk_.data(), n);
                              self->consume();
                            });
  }

  void consume() {
    while (!closing_) {
      const ParseResult r = parse_frame(inbox_);
      if (r.status == ParseStatus::kNeedMore) break;
      const auto arrived = std::chrono::steady_clock::now();
      const Reply reply = r.status == ParseStatus::kFrame
                              ? handler_.on_frame(session_, r.frame, arrived, unix_ms())
                              : handler_.on_parse_error(session_, r.error);
      if (r.status == ParseStatus::kFrame) {
        inbox_.erase(0, r.consumed);
        arm_deadline();  // the deadline runs per frame
      }
      closing_ = reply.close;
      for (const std::string& f : reply.frames) outbox_.push_back(f);
      if (reply.sync) {
        ++held_;  // sent after the shared sync
        batch_.hold([self = shared_from_this(), arrived, timed = reply.timed] {
          --self->held_;
          self->handler_.observe(timed, seconds_since(arrived));
          self->write();
        });
      } else {
        handler_.observe(reply.timed, seconds_since(arrived));
      }
      write();
    }
    if (!closing_) read();
  }

  static double seconds_since(std::chrono::steady_clock::time_point t) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
  }

  void write() {
    if (writing_ || finished_ || held_ > 0) return;
    if (outbox_.empty()) {
      if (closing_) finish();
      return;
    }
    writing_ = true;
    asio::async_write(socket_, asio::buffer(outbox_.front()),
                      [self = shared_from_this()](error_code ec, size_t) {
                        self->writing_ = false;
                        if (ec) return self->finish();
                        self->outbox_.pop_front();
                        self->write();
                      });
  }

  void finish() {
    if (finished_) return;
    finished_ = true;
    deadline_.cancel();
    error_code ec;
    socket_.shutdown(tcp::socket::shutdown_both, ec);
    socket_.close(ec);
    handler_.on_disconnect(session_, std::chrono::steady_clock::now());
  }

  tcp::socket socket_;
  asio::steady_timer deadline_;
  ControlHandler& handler_;
  SyncBatch& batch_;
  std::chrono::milliseconds timeout_;
  ControlSession session_;
  int held_ = 0;  // replies waiting for the shared sync
  std::array<char, 2048> chunk_{};
  std::string inbox_;  // bounded: parse_frame refuses lengths over 1 MiB
  std::deque<std::string> outbox_;
  bool writing_ = false, closing_ = false, finished_ = false;
};

// One HTTP request: read the head (<= 8 KiB, within the deadline), answer, close.
class HttpConnection : public std::enable_shared_from_this<HttpConnection> {
 public:
  HttpConnection(tcp::socket socket, const HttpRoutes& routes, std::chrono::milliseconds timeout)
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
          if (self->head_.find("\r\n\r\n") != std::string::npos || self->head_.size() > 8192) {
            self->reply_ =
                self->head_.size() > 8192 && self->head_.find("\r\n\r\n") == std::string::npos
                    ? http_response("", self->routes_)
                    : http_response(self->head_, self->routes_);
            asio::async_write(self->socket_, asio::buffer(self->reply_),
                              [self](error_code, size_t) { self->close(); });
            return;
          }
          self->read();
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
  const HttpRoutes& routes_;
  std::chrono::milliseconds timeout_;
  std::array<char, 2048> chunk_{};
  std::string head_, reply_;
};

tcp::endpoint resolve_listen(asio::io_context& io, const std::string& address,
                             const std::string& what) {
  const HostPort at = parse_host_port(address, what);
  error_code ec;
  tcp::resolver resolver(io);
  const auto results = resolver.resolve(at.host, std::to_string(at.port), ec);
  if (ec || results.empty()) {
    throw UsageError(what + " " + address + ": cannot resolve '" + at.host + "' (" + ec.message() +
                     "); use an IP address such as 127.0.0.1 or 0.0.0.0");
  }
  return results.begin()->endpoint();
}

// Not inherited by any process this one starts (a local worker holding the
// coordinator's port would keep it open after the job died).
void close_on_exec(int fd) {
  if (fd >= 0) ::fcntl(fd, F_SETFD, ::fcntl(fd, F_GETFD) | FD_CLOEXEC);
}

void open_acceptor(tcp::acceptor& acceptor, const tcp::endpoint& at, const std::string& what) {
  error_code ec;
  acceptor.open(at.protocol(), ec);
  if (!ec) close_on_exec(acceptor.native_handle());
  if (!ec) acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) acceptor.bind(at, ec);
  if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    throw UsageError(what + ": cannot listen on " + endpoint_text(at) + " (" + ec.message() +
                     "); choose another HOST:PORT");
  }
}

}  // namespace

struct ControlServer::Impl {
  ControlHandler& handler;
  ServerOptions options;
  HttpRoutes routes;
  asio::io_context io;
  tcp::acceptor control{io}, http{io};
  asio::steady_timer ticker{io};
  SyncBatch batch{io, handler};
  asio::steady_timer accept_retry{io};
  bool accept_failing = false;
  std::thread thread;
  bool stopped = false;
  std::atomic<bool> failed{false};  // the io thread died (a handler threw)
  std::string failure;              // written before `failed` is set

  Impl(ControlHandler& h, const ServerOptions& o, HttpRoutes r)
      : handler(h), options(o), routes(std::move(r)) {}

  void accept_control() {
    control.async_accept([this](error_code ec, tcp::socket socket) {
      if (ec == asio::error::operation_aborted) return;
      if (ec) {
        // Out of file descriptors (EMFILE) or similar: say so once, retry
        // shortly instead of spinning; the connections already open go on.
        if (!accept_failing) {
          log_warn("coordinator: cannot accept a worker (", ec.message(),
                   "); raise the open-file limit (ulimit -n) for more workers");
        }
        accept_failing = true;
        accept_retry.expires_after(std::chrono::milliseconds(100));
        accept_retry.async_wait([this](error_code e) {
          if (!e) accept_control();
        });
        return;
      }
      accept_failing = false;
      close_on_exec(socket.native_handle());
      socket.set_option(tcp::no_delay(true), ec);
      std::make_shared<ControlConnection>(std::move(socket), handler, batch, options.read_timeout)
          ->start();
      accept_control();
    });
  }

  void accept_http() {
    http.async_accept([this](error_code ec, tcp::socket socket) {
      if (ec == asio::error::operation_aborted) return;
      if (!ec) {
        close_on_exec(socket.native_handle());
        std::make_shared<HttpConnection>(std::move(socket), routes, options.read_timeout)->start();
      }
      accept_http();
    });
  }

  void tick() {
    ticker.expires_after(options.tick);
    ticker.async_wait([this](error_code ec) {
      if (ec) return;
      handler.tick(std::chrono::steady_clock::now());
      tick();
    });
  }
};

ControlServer::ControlServer(ControlHandler& handler, const ServerOptions& options,
                             HttpRoutes routes)
    : impl_(std::make_unique<Impl>(handler, options, std::move(routes))) {
  Impl& m = *impl_;
  const tcp::endpoint control_at = resolve_listen(m.io, options.control_listen, "--listen");
  open_acceptor(m.control, control_at, "coordinator control");
  tcp::endpoint http_at(control_at.address(), 0);
  if (!options.http_listen.empty()) http_at = resolve_listen(m.io, options.http_listen, "--http");
  open_acceptor(m.http, http_at, "coordinator HTTP");
  m.accept_control();
  m.accept_http();
  m.tick();
  m.thread = std::thread([&m] {
    try {
      m.io.run();
    } catch (const std::exception& e) {
      // A file effect failed (disk full, ...): stop serving, let the job fail.
      m.failure = e.what();
      m.failed = true;
      log_warn("coordinator: io thread stopped: ", e.what());
    }
  });
}

ControlServer::~ControlServer() { stop(); }

void ControlServer::stop() {
  if (!impl_ || impl_->stopped) return;
  impl_->stopped = true;
  impl_->io.stop();
  if (impl_->thread.joinable()) impl_->thread.join();
  impl_->batch.join();  // a sync in progress ends before the effects may go
}

std::string ControlServer::control_address() const {
  return endpoint_text(impl_->control.local_endpoint());
}

std::string ControlServer::http_address() const {
  return endpoint_text(impl_->http.local_endpoint());
}

void ControlServer::run_on_io(const std::function<void()>& fn) {
  if (impl_->stopped) return fn();
  if (impl_->failed) throw RuntimeFailure("coordinator stopped: " + impl_->failure);
  auto done = std::make_shared<std::promise<void>>();
  std::future<void> result = done->get_future();
  asio::post(impl_->io, [fn, done] {
    try {
      fn();
      done->set_value();
    } catch (...) {
      done->set_exception(std::current_exception());
    }
  });
  while (result.wait_for(std::chrono::milliseconds(100)) != std::future_status::ready) {
    if (impl_->failed) throw RuntimeFailure("coordinator stopped: " + impl_->failure);
  }
  result.get();
}

}  // namespace condenser
