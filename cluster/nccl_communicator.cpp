#include "cluster/nccl_communicator.h"

#if defined(CONDENSER_WITH_NCCL)
#include <c10/cuda/CUDAStream.h>
#include <cuda_runtime.h>
#include <nccl.h>
#include <torch/cuda.h>
#include <torch/torch.h>

#include <cstdint>
#include <cstring>
#include <thread>

#include "core/errors.h"
#include "core/log.h"
#endif

namespace condenser {

#if defined(CONDENSER_WITH_NCCL)
namespace {

void check_cuda(cudaError_t rc, const char* what) {
  if (rc != cudaSuccess) {
    throw RuntimeFailure(std::string(what) + " failed: " + cudaGetErrorString(rc));
  }
}

void check_nccl(ncclResult_t rc, const char* what) {
  if (rc != ncclSuccess) {
    throw RuntimeFailure(std::string(what) + " failed: " + ncclGetErrorString(rc));
  }
}

ncclDataType_t nccl_type(const at::Tensor& t) {
  switch (t.scalar_type()) {
    case at::kFloat: return ncclFloat32;
    case at::kDouble: return ncclFloat64;
    case at::kHalf: return ncclFloat16;
    case at::kBFloat16: return ncclBfloat16;
    case at::kLong: return ncclInt64;
    case at::kInt: return ncclInt32;
    case at::kByte: return ncclUint8;
    default:
      throw RuntimeFailure(std::string("NCCL collectives support float32, float64, float16, "
                                       "bfloat16, int32 and int64 tensors, not ") +
                           c10::toString(t.scalar_type()));
  }
}

// Complete when the event recorded after the NCCL call has passed; keeps the
// tensors alive until then.
class NcclWork : public Work {
 public:
  NcclWork(std::string description, cudaEvent_t event, std::vector<at::Tensor> keep)
      : description_(std::move(description)), event_(event), keep_(std::move(keep)) {}
  ~NcclWork() override { cudaEventDestroy(event_); }
  bool done() const override { return cudaEventQuery(event_) == cudaSuccess; }
  void wait(std::chrono::milliseconds timeout) override {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      const cudaError_t rc = cudaEventQuery(event_);
      if (rc == cudaSuccess) return;
      if (rc != cudaErrorNotReady) check_cuda(rc, description_.c_str());
      if (std::chrono::steady_clock::now() > deadline) {
        throw RuntimeFailure(description_ + " did not finish within " +
                             std::to_string(timeout.count() / 1000.0) +
                             " s: another rank has probably failed or is stuck");
      }
      std::this_thread::sleep_for(std::chrono::microseconds(50));
    }
  }

 private:
  std::string description_;
  cudaEvent_t event_;
  std::vector<at::Tensor> keep_;
};

class RoutingCommunicator : public Communicator {
 public:
  RoutingCommunicator(std::unique_ptr<Communicator> mpi, int device)
      : mpi_(std::move(mpi)), device_(device) {
    ncclUniqueId id;
    at::Tensor bytes = torch::zeros({int64_t((sizeof(id) + 3) / 4)}, torch::kInt32);
    if (mpi_->rank() == 0) {
      check_nccl(ncclGetUniqueId(&id), "ncclGetUniqueId");
      std::memcpy(bytes.data_ptr(), &id, sizeof(id));
    }
    wait_all(mpi_->broadcast(bytes, 0));
    std::memcpy(&id, bytes.data_ptr(), sizeof(id));
    check_cuda(cudaSetDevice(device_), "cudaSetDevice");
    check_nccl(ncclCommInitRank(&comm_, mpi_->size(), id, mpi_->rank()), "ncclCommInitRank");
    check_cuda(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking), "cudaStreamCreate");
  }
  ~RoutingCommunicator() override {
    cudaStreamSynchronize(stream_);
    ncclCommDestroy(comm_);
    cudaStreamDestroy(stream_);
  }

  int rank() const override { return mpi_->rank(); }
  int size() const override { return mpi_->size(); }
  std::string backend() const override { return "mpi+nccl"; }

  WorkPtr allreduce(at::Tensor& t, ReduceOp op) override {
    if (!t.is_cuda()) return mpi_->allreduce(t, op);
    return launch("allreduce", {t}, [&] {
      check_nccl(ncclAllReduce(t.data_ptr(), t.data_ptr(), size_t(t.numel()), nccl_type(t),
                               op == ReduceOp::kAvg ? ncclAvg : ncclSum, comm_, stream_),
                 "ncclAllReduce");
    });
  }
  WorkPtr broadcast(at::Tensor& t, int root) override {
    if (!t.is_cuda()) return mpi_->broadcast(t, root);
    return launch("broadcast", {t}, [&] {
      check_nccl(ncclBroadcast(t.data_ptr(), t.data_ptr(), size_t(t.numel()), nccl_type(t),
                               root, comm_, stream_),
                 "ncclBroadcast");
    });
  }
  WorkPtr allgather(const at::Tensor& in, at::Tensor& out) override {
    if (!in.is_cuda() || !out.is_cuda()) return mpi_->allgather(in, out);
    return launch("allgather", {in, out}, [&] {
      check_nccl(ncclAllGather(in.data_ptr(), out.data_ptr(), size_t(in.numel()), nccl_type(in),
                               comm_, stream_),
                 "ncclAllGather");
    });
  }
  WorkPtr barrier() override { return mpi_->barrier(); }

 private:
  // Orders the NCCL stream after the work that produced the tensors, enqueues
  // the call, and records the event its Work waits for.
  template <typename Call>
  WorkPtr launch(const char* op, std::vector<at::Tensor> tensors, Call call) {
    for (const auto& t : tensors) {
      if (!t.is_contiguous()) throw RuntimeFailure(std::string(op) + ": tensors must be contiguous");
    }
    const cudaStream_t producer = c10::cuda::getCurrentCUDAStream(device_).stream();
    cudaEvent_t ready = nullptr;
    check_cuda(cudaEventCreateWithFlags(&ready, cudaEventDisableTiming), "cudaEventCreate");
    check_cuda(cudaEventRecord(ready, producer), "cudaEventRecord");
    check_cuda(cudaStreamWaitEvent(stream_, ready, 0), "cudaStreamWaitEvent");
    cudaEventDestroy(ready);
    call();
    cudaEvent_t finished = nullptr;
    check_cuda(cudaEventCreateWithFlags(&finished, cudaEventDisableTiming), "cudaEventCreate");
    check_cuda(cudaEventRecord(finished, stream_), "cudaEventRecord");
    const std::string what = std::string(op) + " of " + std::to_string(tensors[0].numel()) +
                             " " + c10::toString(tensors[0].scalar_type()) +
                             " elements over NCCL on rank " + std::to_string(rank()) + " of " +
                             std::to_string(size());
    return std::make_shared<NcclWork>(what, finished, std::move(tensors));
  }

  std::unique_ptr<Communicator> mpi_;
  int device_;
  ncclComm_t comm_ = nullptr;
  cudaStream_t stream_ = nullptr;
};

}  // namespace

std::unique_ptr<Communicator> with_nccl_for_cuda(std::unique_ptr<Communicator> mpi,
                                                 int local_rank) {
  if (!torch::cuda::is_available()) return mpi;
  const int device = local_rank % int(torch::cuda::device_count());
  log_info("collectives: NCCL for CUDA tensors on device cuda:", device, ", MPI for the rest");
  return std::make_unique<RoutingCommunicator>(std::move(mpi), device);
}

#else

std::unique_ptr<Communicator> with_nccl_for_cuda(std::unique_ptr<Communicator> mpi, int) {
  return mpi;
}

#endif

}  // namespace condenser
