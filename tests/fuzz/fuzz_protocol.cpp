// libFuzzer: arbitrary bytes as the traffic of two connections into the
// coordinator's parser + handler. Each step takes a control byte (which
// session, how much time passes, whether it disconnects) and then one frame.
// Checked: nothing crashes or leaks (ASan/UBSan), every reply the handler
// produces parses as a frame and decodes as its message (protocol/messages.h),
// task states stay consistent and no task is ever committed twice.
#include <cstdint>
#include <cstdlib>
#include <map>
#include <string>
#include <string_view>

#include "coordinator/control/control_handler.h"
#include "core/log.h"

namespace {

using namespace condenser;

struct CountingEffects : ControlEffects {
  std::map<std::string, int> commits;
  std::string commit(const Lease&, const LabelTask& task, const msg::TaskDone& done) override {
    if (done.rows == 13) return "rejected";  // exercise the reject path
    if (++commits[task.file] > 1) std::abort();         // exactly once
    return "";
  }
  void discard(const std::string&) override {}
  void record(const TableEvent& e) override {
    if (e.lease < 0 || e.task < 0 || e.worker < 0) std::abort();  // journal fields
  }
};

void check(bool ok) {
  if (!ok) std::abort();
}

// A reply the handler produced is a frame its receiver can decode.
void check_reply(const std::string& bytes) {
  const ParseResult r = parse_frame(bytes);
  check(r.status == ParseStatus::kFrame && r.consumed == bytes.size());
  switch (r.frame.type) {
    case MessageType::kWelcome: msg::decode<msg::Welcome>(r.frame); break;
    case MessageType::kRefused: msg::decode<msg::Refused>(r.frame); break;
    case MessageType::kTask: msg::decode<msg::Task>(r.frame); break;
    case MessageType::kWait: msg::decode<msg::Wait>(r.frame); break;
    case MessageType::kNoMoreWork: msg::decode<msg::NoMoreWork>(r.frame); break;
    case MessageType::kDoneAck: msg::decode<msg::DoneAck>(r.frame); break;
    case MessageType::kChunkAck: msg::decode<msg::ChunkAck>(r.frame); break;
    case MessageType::kError: msg::decode<msg::Error>(r.frame); break;
    default: std::abort();  // the coordinator never sends a worker's message
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  set_log_level(LogLevel::kError);  // the handler warns on every bad frame
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  CountingEffects effects;
  TaskTable table({{0, 4, "shard-000000.h5"}, {4, 8, "shard-000001.h5"}, {8, 9, "shard-000002.h5"}},
                  std::chrono::milliseconds(1000));
  ControlHandler handler(table, "0123456789abcdef0123456789abcdef", LabelSpec{}, effects, HandlerOptions{});
  ControlSession sessions[2];
  SteadyTime now{};
  std::string_view in(reinterpret_cast<const char*>(data), size);
  while (!in.empty()) {
    const auto control = static_cast<uint8_t>(in[0]);
    in.remove_prefix(1);
    now += std::chrono::milliseconds(50 * (control & 0x1f));
    ControlSession& s = sessions[control >> 7];
    if (control & 0x40) {
      handler.on_disconnect(s, now);
      s = ControlSession{};
      continue;
    }
    if (control & 0x20) handler.tick(now);
    const ParseResult r = parse_frame(in);
    if (r.status == ParseStatus::kNeedMore) break;
    Reply reply;
    if (r.status == ParseStatus::kError) {
      reply = handler.on_parse_error(s, r.error);
      check(reply.close);
      in = std::string_view();
    } else {
      check(r.consumed > 0 && r.consumed <= in.size());
      in.remove_prefix(r.consumed);
      reply = handler.on_frame(s, r.frame, now);
    }
    for (const std::string& f : reply.frames) check_reply(f);
    if (reply.close) {
      handler.on_disconnect(s, now);
      s = ControlSession{};
    }
    const int64_t total = table.count(TaskState::kPending) + table.count(TaskState::kLeased) +
                          table.count(TaskState::kDone);
    check(total == 3);
    check(static_cast<int64_t>(table.leases().size()) == table.count(TaskState::kLeased));
  }
  return 0;
}
