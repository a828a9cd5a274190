#include "coordinator/control/control_server.h"

#include <atomic>
#include <deque>
#include <future>
#include <optional>
#include <thread>

#include "coordinator/control/asio_listen.h"
#include "coordinator/control/http_server.h"
#include "core/errors.h"
#include "core/log.h"

namespace condenser {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using asio_listen::endpoint_text;
using boost::system::error_code;

int64_t unix_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
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

}  // namespace

struct ControlServer::Impl {
  ControlHandler& handler;
  ServerOptions options;
  asio::io_context io;
  tcp::acceptor control{io};
  std::unique_ptr<HttpServer> own_http;  // without options.http
  std::optional<RoutesPlug> plug;        // with options.http
  std::string http_address;
  asio::steady_timer ticker{io};
  SyncBatch batch{io, handler};
  asio::steady_timer accept_retry{io};
  bool accept_failing = false;
  std::thread thread;
  bool stopped = false;
  std::atomic<bool> failed{false};  // the io thread died (a handler threw)
  std::string failure;              // written before `failed` is set

  Impl(ControlHandler& h, const ServerOptions& o) : handler(h), options(o) {}

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
      asio_listen::close_on_exec(socket.native_handle());
      socket.set_option(tcp::no_delay(true), ec);
      std::make_shared<ControlConnection>(std::move(socket), handler, batch, options.read_timeout)
          ->start();
      accept_control();
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

// `routes` with status and metrics run on the io thread (they read the
// handler, which has no locks); the dashboard stays on the HTTP thread.
HttpRoutes ControlServer::on_io(HttpRoutes routes) {
  const auto wrap = [this](std::function<std::string()> f) -> std::function<std::string()> {
    if (!f) return f;
    return [this, f] {
      std::string out;
      run_on_io([&] { out = f(); });
      return out;
    };
  };
  routes.status = wrap(std::move(routes.status));
  routes.metrics = wrap(std::move(routes.metrics));
  return routes;
}

ControlServer::ControlServer(ControlHandler& handler, const ServerOptions& options,
                             HttpRoutes routes)
    : impl_(std::make_unique<Impl>(handler, options)) {
  Impl& m = *impl_;
  const tcp::endpoint control_at = asio_listen::resolve(m.io, options.control_listen, "--listen");
  asio_listen::open(m.control, control_at, "coordinator control");
  if (options.http != nullptr) {
    m.plug.emplace(*options.http, on_io(std::move(routes)));
    m.http_address = options.http->address();
  } else {
    const std::string http_listen = options.http_listen.empty()
                                        ? format_host_port({control_at.address().to_string(), 0})
                                        : options.http_listen;
    m.own_http = std::make_unique<HttpServer>(http_listen, options.read_timeout,
                                              on_io(std::move(routes)), "--http");
    m.http_address = m.own_http->address();
  }
  m.accept_control();
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
  // HTTP first, while the io thread still answers: once the routes are
  // unplugged no request reads the handler any more.
  impl_->plug.reset();
  if (impl_->own_http) impl_->own_http->stop();
  impl_->stopped = true;
  impl_->io.stop();
  if (impl_->thread.joinable()) impl_->thread.join();
  impl_->batch.join();  // a sync in progress ends before the effects may go
}

std::string ControlServer::control_address() const {
  return endpoint_text(impl_->control.local_endpoint());
}

std::string ControlServer::http_address() const { return impl_->http_address; }

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
