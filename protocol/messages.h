#pragma once
// The messages of the worker protocol (frame.h), one struct per MessageType,
// each with one encoder (to the bytes of a frame) and one decoder (from a
// parsed Frame). Both ends use only these, so every key and type of a body
// is written down once, here and in messages.cpp.
//
// Decoding: msg::decode<M>(frame) checks the frame's type and every field;
// anything missing, mistyped or of the wrong type is a ProtocolError (frame.h)
// naming the message and the field, e.g. "task_done: field 'lease' is
// missing". Fields marked "optional" may be absent (they then take the
// default shown) but, when present, must have their type. Unknown fields are
// ignored, so a newer peer may add some.
#include <cstdint>
#include <string>
#include <vector>

#include "protocol/frame.h"
#include "protocol/label_spec.h"
#include "protocol/label_task.h"

namespace condenser::msg {

// Worker -> coordinator, first: the job token authenticates the worker.
struct Hello {
  std::string token;
  std::string name;  // optional, "": shown in /status
  int64_t pid = 0;   // optional
  // Optional: this worker does not see the run directory; it sends each
  // shard over this connection (ShardChunk) before its TaskDone. Its leases
  // then outlive a dropped connection until they expire, so it can
  // reconnect and resume the upload where the coordinator's copy ends.
  bool upload = false;
};

// Coordinator -> worker: accepted; the job every task belongs to.
struct Welcome {
  int64_t worker_id = 0;
  int64_t heartbeat_ms = 2000;  // heartbeat the leases held this often
  LabelSpec spec;
};

// Coordinator -> worker, then close: the hello was not accepted.
struct Refused {
  std::string reason;  // optional
};

struct GetTask {};

// Coordinator -> worker: one task under one lease.
struct Task {
  int64_t lease = 0;
  int64_t index = 0;         // the task's index in the coordinator's table ("task")
  LabelTask task;            // the range, and the shard name it commits as
  std::string attempt_file;  // where this lease writes, inside the soft-label dir
  int64_t lease_ms = 0;      // the lease lapses this long after its last heartbeat
};

// Coordinator -> worker: every remaining task is leased; ask again later.
struct Wait {
  int64_t retry_ms = 500;
};

struct NoMoreWork {};

// Worker -> coordinator (no reply): renews the leases held.
struct Heartbeat {
  std::vector<int64_t> leases;
};

// Worker -> coordinator: the lease's attempt file is written.
struct TaskDone {
  int64_t lease = 0;
  // Optional: a completion without them is not protocol-invalid but fails
  // the commit's checks (rows, checksum), and the task is labelled again.
  std::string attempt_file;
  int64_t rows = 0;
  std::string sha256;
};

// Coordinator -> worker: the answer to a TaskDone.
struct DoneAck {
  int64_t lease = 0;
  bool committed = false;
  std::string reason;  // optional: why not committed
};

// Coordinator -> worker, then close: the worker broke the protocol.
struct Error {
  std::string message;  // optional
};

// Worker -> coordinator: the task could not be labelled here.
struct TaskFailed {
  int64_t lease = 0;
  std::string message;  // optional
};

// Worker -> coordinator (a worker that said upload): bytes [offset, offset
// + data.size()) of its lease's attempt file, `size` bytes in all. An empty
// chunk asks how much the coordinator holds. Checked on decode: offset and
// size not negative, data within [0, size] and at most kMaxChunkBytes, and
// `sha256` (of data) matching.
struct ShardChunk {
  int64_t lease = 0;
  int64_t offset = 0;
  int64_t size = 0;
  std::string data;    // raw bytes (base64 on the wire)
  std::string sha256;  // of data, lowercase hex
};
// Raw bytes per chunk: its base64 frame stays well under kMaxFrameBytes.
inline constexpr int64_t kMaxChunkBytes = int64_t{512} << 10;

// Coordinator -> worker: the answer to a ShardChunk.
struct ChunkAck {
  int64_t lease = 0;
  // False: the lease is not this worker's any more (expired, reassigned) or
  // the coordinator could not store the bytes; drop the shard.
  bool accepted = false;
  int64_t received = 0;  // bytes of the file the coordinator holds: send from here
  std::string reason;    // optional: why not accepted
};

std::string encode(const Hello& m);
std::string encode(const Welcome& m);
std::string encode(const Refused& m);
std::string encode(const GetTask& m);
std::string encode(const Task& m);
std::string encode(const Wait& m);
std::string encode(const NoMoreWork& m);
std::string encode(const Heartbeat& m);
std::string encode(const TaskDone& m);
std::string encode(const DoneAck& m);
std::string encode(const Error& m);
std::string encode(const TaskFailed& m);
std::string encode(const ShardChunk& m);
std::string encode(const ChunkAck& m);

// Specialised for each message above (messages.cpp).
template <class M>
M decode(const Frame& frame);

template <> Hello decode<Hello>(const Frame& frame);
template <> Welcome decode<Welcome>(const Frame& frame);
template <> Refused decode<Refused>(const Frame& frame);
template <> GetTask decode<GetTask>(const Frame& frame);
template <> Task decode<Task>(const Frame& frame);
template <> Wait decode<Wait>(const Frame& frame);
template <> NoMoreWork decode<NoMoreWork>(const Frame& frame);
template <> Heartbeat decode<Heartbeat>(const Frame& frame);
template <> TaskDone decode<TaskDone>(const Frame& frame);
template <> DoneAck decode<DoneAck>(const Frame& frame);
template <> Error decode<Error>(const Frame& frame);
template <> TaskFailed decode<TaskFailed>(const Frame& frame);
template <> ShardChunk decode<ShardChunk>(const Frame& frame);
template <> ChunkAck decode<ChunkAck>(const Frame& frame);

}  // namespace condenser::msg
