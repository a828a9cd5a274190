#pragma once
// The raw NCCL and CUDA-runtime calls of the NCCL communicator, behind an
// interface that needs neither LibTorch nor the CUDA headers: data pointers,
// element counts and streams passed as void* (cudaStream_t). Why a separate
// layer: it compiles and links against cuda_runtime.h + nccl.h alone, so it
// is built and its no-GPU paths tested even where LibTorch has no CUDA;
// nccl_communicator.cpp is the small torch-facing part on top.
//
// Compiled when CONDENSER_WITH_NCCL (the real CUDA build) or
// CONDENSER_NCCL_OPS_STANDALONE (the compile check, tests/gpu) is defined.
// Every failure throws RuntimeFailure naming the call and NCCL's or CUDA's
// own message.
#include <array>
#include <cstddef>
#include <string>

namespace condenser::nccl {

enum class DType { kFloat32, kFloat64, kFloat16, kBFloat16, kInt32, kInt64, kUInt8 };
enum class Op { kSum, kAvg };

// NCCL_UNIQUE_ID_BYTES (128): made on rank 0, sent to the others by MPI.
struct UniqueId {
  std::array<char, 128> bytes{};
};

// CUDA devices this process can use; 0 (never an exception) when there is
// no driver or no GPU, so callers can skip cleanly.
int device_count();
// The device's name ("NVIDIA H100 80GB HBM3"); "" when unavailable.
std::string device_name(int device);
// "NCCL 2.28.9" from ncclGetVersion.
std::string version();

UniqueId make_unique_id();

// One rank's NCCL communicator on one device. Calls enqueue on `stream` and
// return at once. Not thread-safe: the caller serialises calls (NCCL needs
// the same call order on every rank anyway).
class Comm {
 public:
  // Collective over the `world` ranks; makes `device` current first.
  Comm(const UniqueId& id, int world, int rank, int device);
  ~Comm();
  Comm(const Comm&) = delete;
  Comm& operator=(const Comm&) = delete;

  int device() const { return device_; }
  void allreduce(void* data, size_t count, DType type, Op op, void* stream);
  void broadcast(void* data, size_t count, DType type, int root, void* stream);
  // `out` holds world * count elements: rank r's `in` at r * count.
  void allgather(const void* in, void* out, size_t count, DType type, void* stream);
  // Throws when NCCL reported an asynchronous error (a peer died, a
  // network failure); then the communicator is unusable.
  void check_async_error() const;

 private:
  void* comm_ = nullptr;  // ncclComm_t
  int device_ = 0;
};

// A CUDA event: marks a point in a stream's work.
class Event {
 public:
  Event();
  ~Event();
  Event(const Event&) = delete;
  Event& operator=(const Event&) = delete;
  void record(void* stream);
  // True once the work before record() has finished; throws on a CUDA error.
  bool query() const;
  // Makes `stream` wait (on the GPU, not the host) for this event.
  void block(void* stream) const;

 private:
  void* event_ = nullptr;  // cudaEvent_t
};

// Sets the calling thread's current CUDA device.
void set_device(int device);

}  // namespace condenser::nccl
