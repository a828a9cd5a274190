#include "cluster/nccl_ops.h"

#if defined(CONDENSER_WITH_NCCL) || defined(CONDENSER_NCCL_OPS_STANDALONE)
#include <cuda_runtime.h>
#include <nccl.h>

#include <cstring>

#include "core/errors.h"

namespace condenser::nccl {
namespace {

static_assert(sizeof(UniqueId::bytes) == sizeof(ncclUniqueId), "ncclUniqueId size changed");

void check_cuda(cudaError_t rc, const char* what) {
  if (rc != cudaSuccess) {
    throw RuntimeFailure(std::string(what) + " failed: " + cudaGetErrorString(rc));
  }
}

void check_nccl(ncclResult_t rc, const char* what) {
  if (rc != ncclSuccess) {
    std::string message = std::string(what) + " failed: " + ncclGetErrorString(rc);
    // NCCL keeps a more specific message for the last error of this thread.
    const char* detail = ncclGetLastError(nullptr);
    if (detail != nullptr && *detail != '\0') message += std::string(" (") + detail + ")";
    throw RuntimeFailure(message);
  }
}

ncclDataType_t to_nccl(DType type) {
  switch (type) {
    case DType::kFloat32: return ncclFloat32;
    case DType::kFloat64: return ncclFloat64;
    case DType::kFloat16: return ncclFloat16;
    case DType::kBFloat16: return ncclBfloat16;
    case DType::kInt32: return ncclInt32;
    case DType::kInt64: return ncclInt64;
    case DType::kUInt8: return ncclUint8;
  }
  throw RuntimeFailure("NCCL: unknown data type");
}

ncclComm_t as_comm(void* p) { return static_cast<ncclComm_t>(p); }
cudaStream_t as_stream(void* p) { return static_cast<cudaStream_t>(p); }
cudaEvent_t as_event(void* p) { return static_cast<cudaEvent_t>(p); }

}  // namespace

int device_count() {
  int n = 0;
  // No driver / no GPU is an answer here, not an error.
  if (cudaGetDeviceCount(&n) != cudaSuccess) {
    (void)cudaGetLastError();  // clear it so later calls do not report it
    return 0;
  }
  return n;
}

std::string device_name(int device) {
  cudaDeviceProp prop;
  if (cudaGetDeviceProperties(&prop, device) != cudaSuccess) {
    (void)cudaGetLastError();
    return "";
  }
  return prop.name;
}

std::string version() {
  int v = 0;
  if (ncclGetVersion(&v) != ncclSuccess) return "NCCL (unknown version)";
  // NCCL >= 2.9: code = major * 10000 + minor * 100 + patch.
  return "NCCL " + std::to_string(v / 10000) + "." + std::to_string(v / 100 % 100) + "." +
         std::to_string(v % 100);
}

UniqueId make_unique_id() {
  ncclUniqueId id;
  check_nccl(ncclGetUniqueId(&id), "ncclGetUniqueId");
  UniqueId out;
  std::memcpy(out.bytes.data(), &id, sizeof(id));
  return out;
}

void set_device(int device) { check_cuda(cudaSetDevice(device), "cudaSetDevice"); }

Comm::Comm(const UniqueId& id, int world, int rank, int device) : device_(device) {
  set_device(device);
  ncclUniqueId raw;
  std::memcpy(&raw, id.bytes.data(), sizeof(raw));
  ncclComm_t comm = nullptr;
  check_nccl(ncclCommInitRank(&comm, world, raw, rank), "ncclCommInitRank");
  comm_ = comm;
}

Comm::~Comm() {
  if (comm_ == nullptr) return;
  // Destroy waits for the communicator's pending work; after an
  // asynchronous error it would hang, so abort instead.
  ncclResult_t async = ncclSuccess;
  if (ncclCommGetAsyncError(as_comm(comm_), &async) == ncclSuccess && async == ncclSuccess) {
    ncclCommDestroy(as_comm(comm_));
  } else {
    ncclCommAbort(as_comm(comm_));
  }
}

void Comm::allreduce(void* data, size_t count, DType type, Op op, void* stream) {
  check_nccl(ncclAllReduce(data, data, count, to_nccl(type), op == Op::kAvg ? ncclAvg : ncclSum,
                           as_comm(comm_), as_stream(stream)),
             "ncclAllReduce");
}

void Comm::broadcast(void* data, size_t count, DType type, int root, void* stream) {
  check_nccl(ncclBroadcast(data, data, count, to_nccl(type), root, as_comm(comm_),
                           as_stream(stream)),
             "ncclBroadcast");
}

void Comm::allgather(const void* in, void* out, size_t count, DType type, void* stream) {
  check_nccl(ncclAllGather(in, out, count, to_nccl(type), as_comm(comm_), as_stream(stream)),
             "ncclAllGather");
}

void Comm::check_async_error() const {
  ncclResult_t async = ncclSuccess;
  check_nccl(ncclCommGetAsyncError(as_comm(comm_), &async), "ncclCommGetAsyncError");
  check_nccl(async, "an NCCL collective (asynchronous error)");
}

Event::Event() {
  cudaEvent_t e = nullptr;
  check_cuda(cudaEventCreateWithFlags(&e, cudaEventDisableTiming), "cudaEventCreate");
  event_ = e;
}

Event::~Event() {
  if (event_ != nullptr) cudaEventDestroy(as_event(event_));
}

void Event::record(void* stream) {
  check_cuda(cudaEventRecord(as_event(event_), as_stream(stream)), "cudaEventRecord");
}

bool Event::query() const {
  const cudaError_t rc = cudaEventQuery(as_event(event_));
  if (rc == cudaSuccess) return true;
  if (rc == cudaErrorNotReady) return false;
  check_cuda(rc, "cudaEventQuery");
  return false;
}

void Event::block(void* stream) const {
  check_cuda(cudaStreamWaitEvent(as_stream(stream), as_event(event_), 0), "cudaStreamWaitEvent");
}

}  // namespace condenser::nccl

#endif
