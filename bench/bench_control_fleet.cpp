// The worker half of `condenser bench control`: simulated workers, each a
// real TCP client speaking the real protocol (protocol/messages.h) on one
// Asio thread: hello with the token, heartbeats at the rate the welcome
// gives, get_task, a simulated labelling time, task_done (with a tiny
// attempt file unless dry), reconnecting with backoff when the coordinator
// goes away and carrying on with the lease it held.
#include <boost/asio.hpp>
#include <chrono>
#include <cstdio>
#include <deque>
#include <memory>
#include <random>

#include "bench/bench_control_parts.h"
#include "core/errors.h"
#include "core/files.h"
#include "core/sha256.h"
#include "protocol/address.h"
#include "protocol/messages.h"

namespace condenser {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using boost::system::error_code;
using Clock = std::chrono::steady_clock;

namespace {

double since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

constexpr int kConnectsInFlight = 256;  // below the listen backlog

void write_unsynced(const std::string& path, const std::string& content) {
  FILE* f = std::fopen(path.c_str(), "wb");
  const bool ok =
      f != nullptr && std::fwrite(content.data(), 1, content.size(), f) == content.size();
  if (f == nullptr || std::fclose(f) != 0 || !ok) {
    throw RuntimeFailure("bench control: cannot write " + path);
  }
}

}  // namespace

class SimWorker;

struct Fleet::Impl {
  FleetSetup setup;
  asio::io_context io;
  tcp::endpoint at;
  std::mt19937_64 rng{42};
  std::vector<std::unique_ptr<SimWorker>> workers;
  std::vector<uint8_t> acked;
  size_t next_connect = 0;
  int connecting = 0, welcomed = 0, finished = 0;
  bool go = false, restarting = false;
  int rewelcomed = 0;
  Clock::time_point phase_start;
  PhaseResult* phase = nullptr;

  int jitter_ms(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); }
  void start_connects();
  void on_welcome(bool first);
};

class SimWorker {
 public:
  SimWorker(Fleet::Impl& f, int index)
      : f_(f), index_(index), sock_(f.io), work_(f.io), beat_(f.io), retry_(f.io) {}

  void connect() {
    const uint64_t g = ++gen_;
    sock_ = tcp::socket(f_.io);
    sock_.async_connect(f_.at, [this, g](error_code ec) {
      if (g != gen_) return;
      if (ec) return lost();
      error_code ignored;
      sock_.set_option(tcp::no_delay(true), ignored);
      send(msg::encode(msg::Hello{f_.setup.token, "sim-" + std::to_string(index_), index_}));
      read();
    });
  }

  void ask() {
    if (done_ || doing_ != Doing::kIdle || !welcomed_ || !f_.go) return;
    doing_ = Doing::kAsking;
    asked_ = Clock::now();
    send(msg::encode(msg::GetTask{}));
  }

 private:
  enum class Doing { kIdle, kAsking, kWorking, kCommitting };

  void read() {
    sock_.async_read_some(asio::buffer(chunk_), [this, g = gen_](error_code ec, size_t n) {
      if (g != gen_) return;
      if (ec) return lost();
      inbox_.append(chunk_.data(), n);
      for (;;) {
        const ParseResult r = parse_frame(inbox_);
        if (r.status != ParseStatus::kFrame) break;
        inbox_.erase(0, r.consumed);
        handle(r.frame);
        if (g != gen_) return;  // closed while handling
      }
      read();
    });
  }

  void send(std::string frame) {
    out_.push_back(std::move(frame));
    if (!writing_) write_next();
  }

  void write_next() {
    writing_ = true;
    asio::async_write(sock_, asio::buffer(out_.front()), [this, g = gen_](error_code ec, size_t) {
      if (g != gen_) return;
      writing_ = false;
      if (ec) return lost();
      out_.pop_front();
      if (!out_.empty()) write_next();
    });
  }

  // The coordinator is gone (or refused the connection): reconnect later,
  // keeping the lease and the work in progress.
  void lost() {
    close();
    if (done_) return;
    const bool first_try = backoff_ms_ == 0;
    backoff_ms_ = first_try ? f_.jitter_ms(100, 1000) : std::min(2000, backoff_ms_ * 2);
    retry_.expires_after(std::chrono::milliseconds(backoff_ms_));
    retry_.async_wait([this](error_code ec) {
      if (!ec) connect();
    });
  }

  void close() {
    ++gen_;
    error_code ignored;
    sock_.close(ignored);
    inbox_.clear();
    out_.clear();
    writing_ = false;
    if (welcomed_) --f_.welcomed;
    welcomed_ = false;
  }

  void handle(const Frame& frame) {
    switch (frame.type) {
      case MessageType::kWelcome:
        return welcome(msg::decode<msg::Welcome>(frame));
      case MessageType::kTask:
        return leased(msg::decode<msg::Task>(frame));
      case MessageType::kWait: {
        doing_ = Doing::kIdle;
        work_.expires_after(std::chrono::milliseconds(msg::decode<msg::Wait>(frame).retry_ms));
        work_.async_wait([this](error_code ec) {
          if (!ec) ask();
        });
        return;
      }
      case MessageType::kNoMoreWork:
        done_ = true;
        ++f_.finished;
        beat_.cancel();
        return close();
      case MessageType::kDoneAck:
        return acked(msg::decode<msg::DoneAck>(frame));
      default:
        throw RuntimeFailure("bench control: worker " + std::to_string(index_) + " got " +
                             type_name(frame.type) + " from the coordinator");
    }
  }

  void welcome(const msg::Welcome& m) {
    welcomed_ = true;
    backoff_ms_ = 0;
    f_.on_welcome(!ever_welcomed_);
    ever_welcomed_ = true;
    heartbeat_ms_ = m.heartbeat_ms;
    if (!beating_) {
      beating_ = true;
      beat(f_.jitter_ms(0, static_cast<int>(heartbeat_ms_)));
    }
    // Back after a restart: renew the lease held at once, resend what was lost.
    if (doing_ == Doing::kWorking || doing_ == Doing::kCommitting) {
      send(msg::encode(msg::Heartbeat{{lease_}}));
    }
    if (doing_ == Doing::kCommitting) send_done();
    if (doing_ == Doing::kAsking) {
      doing_ = Doing::kIdle;
      ask();
    }
    ask();
  }

  void beat(int ms) {
    beat_.expires_after(std::chrono::milliseconds(ms));
    beat_.async_wait([this](error_code ec) {
      if (ec || done_) return;
      if (welcomed_) {
        msg::Heartbeat h;
        if (doing_ == Doing::kWorking || doing_ == Doing::kCommitting) h.leases.push_back(lease_);
        send(msg::encode(h));
      }
      beat(static_cast<int>(heartbeat_ms_));
    });
  }

  void leased(const msg::Task& m) {
    if (f_.phase != nullptr) {
      f_.phase->leases.emplace_back(std::chrono::duration<double>(asked_ - f_.phase_start).count(),
                                    since(asked_) * 1000.0);
      if (f_.phase->first_lease_seconds < 0) f_.phase->first_lease_seconds = since(f_.phase_start);
    }
    doing_ = Doing::kWorking;
    lease_ = m.lease;
    task_ = m.index;
    attempt_ = m.attempt_file;
    const int ms = f_.setup.task_ms;
    work_.expires_after(std::chrono::milliseconds(ms <= 0 ? 0 : f_.jitter_ms(ms / 2, ms * 3 / 2)));
    work_.async_wait([this](error_code ec) {
      if (!ec) finished_task();
    });
  }

  void finished_task() {
    const std::string content =
        "bench task " + std::to_string(task_) + " lease " + std::to_string(lease_) + "\n";
    sha_ = sha256_hex(content.data(), content.size());
    // Not synced: the workers share this one thread, the coordinator's
    // commit path (checksum, rename, journal) is what is measured.
    if (!f_.setup.dry) write_unsynced(f_.setup.soft_label_dir + "/" + attempt_, content);
    doing_ = Doing::kCommitting;
    if (welcomed_) send_done();
  }

  void send_done() { send(msg::encode(msg::TaskDone{lease_, attempt_, 1, sha_})); }

  void acked(const msg::DoneAck& m) {
    if (m.lease != lease_ || doing_ != Doing::kCommitting) return;
    if (m.committed) ++f_.acked.at(static_cast<size_t>(task_));
    if (f_.phase != nullptr) {
      ++(m.committed ? f_.phase->commits : f_.phase->stale);
      if (m.committed) f_.phase->commit_at.push_back(since(f_.phase_start));
    }
    doing_ = Doing::kIdle;
    lease_ = 0;
    ask();
  }

  Fleet::Impl& f_;
  int index_;
  tcp::socket sock_;
  asio::steady_timer work_, beat_, retry_;
  std::array<char, 1024> chunk_{};
  std::string inbox_;
  std::deque<std::string> out_;
  bool writing_ = false, welcomed_ = false, ever_welcomed_ = false, done_ = false;
  bool beating_ = false;
  uint64_t gen_ = 0;
  int backoff_ms_ = 0;
  int64_t heartbeat_ms_ = 2000;
  Doing doing_ = Doing::kIdle;
  Clock::time_point asked_;
  int64_t lease_ = 0, task_ = -1;
  std::string attempt_, sha_;
};

void Fleet::Impl::start_connects() {
  while (connecting < kConnectsInFlight && next_connect < workers.size()) {
    ++connecting;
    workers[next_connect++]->connect();
  }
}

void Fleet::Impl::on_welcome(bool first) {
  ++welcomed;
  if (first) {
    --connecting;
    start_connects();
  }
  if (restarting && ++rewelcomed == static_cast<int>(workers.size()) - finished &&
      phase != nullptr) {
    phase->reconnect_seconds = since(phase_start);
    restarting = false;
  }
}

Fleet::Fleet(const FleetSetup& setup) : impl_(new Impl) {
  impl_->setup = setup;
  impl_->acked.assign(static_cast<size_t>(setup.tasks), 0);
  for (int i = 0; i < setup.workers; ++i) {
    impl_->workers.push_back(std::make_unique<SimWorker>(*impl_, i));
  }
}

Fleet::~Fleet() {
  impl_->workers.clear();  // closes every socket before the io_context goes
  delete impl_;
}

double Fleet::connect(const std::string& control) {
  const HostPort hp = parse_host_port(control, "bench control");
  impl_->at = tcp::endpoint(asio::ip::make_address(hp.host), static_cast<uint16_t>(hp.port));
  const auto start = Clock::now();
  impl_->start_connects();
  while (impl_->welcomed < static_cast<int>(impl_->workers.size())) {
    impl_->io.run_for(std::chrono::milliseconds(100));
    if (since(start) > 120) {
      throw RuntimeFailure("bench control: only " + std::to_string(impl_->welcomed) + " of " +
                           std::to_string(impl_->workers.size()) + " workers joined in 120 s");
    }
  }
  return since(start);
}

PhaseResult Fleet::run(double seconds, int64_t stop_after) {
  PhaseResult result;
  Impl& f = *impl_;
  f.phase = &result;
  f.phase_start = Clock::now();
  f.go = true;
  for (auto& w : f.workers) w->ask();
  while (f.finished < static_cast<int>(f.workers.size()) && since(f.phase_start) < seconds &&
         result.commits < stop_after) {
    f.io.run_for(std::chrono::milliseconds(100));
  }
  f.go = false;
  result.seconds = since(f.phase_start);
  f.phase = nullptr;
  return result;
}

void Fleet::expect_restart() {
  impl_->restarting = true;
  impl_->rewelcomed = 0;
}

const std::vector<uint8_t>& Fleet::acked() const { return impl_->acked; }

}  // namespace condenser
