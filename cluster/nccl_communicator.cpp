#include "cluster/nccl_communicator.h"

#include <atomic>

#if defined(CONDENSER_WITH_NCCL)
#include <c10/cuda/CUDACachingAllocator.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#include <torch/torch.h>

#include <cstring>
#include <mutex>
#include <optional>
#include <thread>

#include "cluster/nccl_ops.h"
#include "cluster/rank_env.h"
#include "core/errors.h"
#include "core/log.h"
#endif

namespace condenser {

namespace {
std::atomic<int64_t> g_nccl_collectives{0};
}  // namespace

int64_t nccl_collectives_issued() { return g_nccl_collectives.load(); }

#if defined(CONDENSER_WITH_NCCL)
namespace {

nccl::DType nccl_type(const at::Tensor& t) {
  switch (t.scalar_type()) {
    case at::kFloat: return nccl::DType::kFloat32;
    case at::kDouble: return nccl::DType::kFloat64;
    case at::kHalf: return nccl::DType::kFloat16;
    case at::kBFloat16: return nccl::DType::kBFloat16;
    case at::kLong: return nccl::DType::kInt64;
    case at::kInt: return nccl::DType::kInt32;
    case at::kByte: return nccl::DType::kUInt8;
    default:
      throw RuntimeFailure(std::string("NCCL collectives support float32, float64, float16, "
                                       "bfloat16, int32, int64 and uint8 tensors, not ") +
                           c10::toString(t.scalar_type()));
  }
}

// Complete when the event recorded after the NCCL call has passed. Holds the
// tensors too, although recordStream already keeps their memory from being
// reused by another stream before the collective ends.
class NcclWork : public Work {
 public:
  NcclWork(std::string description, std::shared_ptr<nccl::Event> finished,
           std::shared_ptr<nccl::Comm> comm, std::vector<at::Tensor> keep)
      : description_(std::move(description)),
        finished_(std::move(finished)),
        comm_(std::move(comm)),
        keep_(std::move(keep)) {}
  bool done() const override { return finished_->query(); }
  void wait(std::chrono::milliseconds timeout) override {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!finished_->query()) {
      // A dead peer shows up as NCCL's asynchronous error, not as an event.
      comm_->check_async_error();
      if (std::chrono::steady_clock::now() > deadline) {
        throw RuntimeFailure(description_ + " did not finish within " +
                             std::to_string(timeout.count() / 1000.0) +
                             " s: another rank has probably failed or is stuck");
      }
      std::this_thread::sleep_for(std::chrono::microseconds(20));
    }
  }

 private:
  std::string description_;
  std::shared_ptr<nccl::Event> finished_;
  std::shared_ptr<nccl::Comm> comm_;
  std::vector<at::Tensor> keep_;
};

class RoutingCommunicator : public Communicator {
 public:
  RoutingCommunicator(std::unique_ptr<Communicator> mpi, int device)
      : mpi_(std::move(mpi)), device_(static_cast<c10::DeviceIndex>(device)) {
    // NCCL's unique id travels as bytes in a CPU tensor over the MPI side.
    nccl::UniqueId id;
    at::Tensor bytes = torch::zeros({int64_t(sizeof(id.bytes))}, torch::kUInt8);
    if (mpi_->rank() == 0) {
      id = nccl::make_unique_id();
      std::memcpy(bytes.data_ptr(), id.bytes.data(), sizeof(id.bytes));
    }
    wait_all(mpi_->broadcast(bytes, 0));
    std::memcpy(id.bytes.data(), bytes.data_ptr(), sizeof(id.bytes));
    c10::cuda::CUDAGuard guard(device_);
    comm_ = std::make_shared<nccl::Comm>(id, mpi_->size(), mpi_->rank(), device);
    // A pool stream of its own, so collectives overlap with compute on the
    // current stream (as torch.distributed's NCCL backend does).
    stream_.emplace(c10::cuda::getStreamFromPool(/*isHighPriority=*/true, device_));
  }
  ~RoutingCommunicator() override {
    try {
      stream_->synchronize();
    } catch (...) {
      // Destruction must not throw; the communicator below aborts if NCCL failed.
    }
  }

  int rank() const override { return mpi_->rank(); }
  int size() const override { return mpi_->size(); }
  std::string backend() const override { return mpi_->backend() + "+nccl"; }

  WorkPtr allreduce(at::Tensor& t, ReduceOp op) override {
    if (!t.is_cuda()) return mpi_->allreduce(t, op);
    return launch("allreduce", {t}, [&](void* stream) {
      comm_->allreduce(t.data_ptr(), size_t(t.numel()), nccl_type(t),
                       op == ReduceOp::kAvg ? nccl::Op::kAvg : nccl::Op::kSum, stream);
    });
  }
  WorkPtr broadcast(at::Tensor& t, int root) override {
    if (!t.is_cuda()) return mpi_->broadcast(t, root);
    return launch("broadcast", {t}, [&](void* stream) {
      comm_->broadcast(t.data_ptr(), size_t(t.numel()), nccl_type(t), root, stream);
    });
  }
  WorkPtr allgather(const at::Tensor& in, at::Tensor& out) override {
    if (!in.is_cuda() && !out.is_cuda()) return mpi_->allgather(in, out);
    if (!in.is_cuda() || !out.is_cuda() || in.device() != out.device()) {
      throw RuntimeFailure("allgather: input on " + in.device().str() + ", output on " +
                           out.device().str() + "; both must be on the same device");
    }
    if (out.numel() != in.numel() * size() || out.scalar_type() != in.scalar_type()) {
      throw RuntimeFailure("allgather: output must hold world size x input elements of the "
                           "input's dtype");
    }
    return launch("allgather", {in, out}, [&](void* stream) {
      comm_->allgather(in.data_ptr(), out.data_ptr(), size_t(in.numel()), nccl_type(in), stream);
    });
  }
  WorkPtr barrier() override { return mpi_->barrier(); }
  // The group gets its own NCCL communicator (its id broadcast within it).
  std::unique_ptr<Communicator> split(int color) override {
    return with_nccl_for_cuda(mpi_->split(color), device_);
  }

 private:
  // Orders the NCCL stream after the work that produced the tensors (on the
  // caller's current stream), enqueues the call, tells the caching
  // allocator the tensors are in use on the NCCL stream, and records the
  // event its Work waits for. One call at a time: autograd hooks submit
  // from its device threads while the training loop submits from its own.
  template <typename Call>
  WorkPtr launch(const char* op, std::vector<at::Tensor> tensors, Call call) {
    for (const auto& t : tensors) {
      if (!t.is_contiguous()) throw RuntimeFailure(std::string(op) + ": tensors must be contiguous");
      if (t.device().index() != device_) {
        throw RuntimeFailure(std::string(op) + ": tensor on " + t.device().str() +
                             ", but this rank's NCCL communicator is on cuda:" +
                             std::to_string(int(device_)));
      }
    }
    std::lock_guard<std::mutex> lock(mutex_);
    c10::cuda::CUDAGuard guard(device_);
    const c10::cuda::CUDAStream producer = c10::cuda::getCurrentCUDAStream(device_);
    nccl::Event ready;
    ready.record(producer.stream());
    ready.block(stream_->stream());
    call(static_cast<void*>(stream_->stream()));
    for (const auto& t : tensors) {
      c10::cuda::CUDACachingAllocator::recordStream(t.storage().data_ptr(), *stream_);
    }
    auto finished = std::make_shared<nccl::Event>();
    finished->record(stream_->stream());
    g_nccl_collectives.fetch_add(1);
    const std::string what = std::string(op) + " of " + std::to_string(tensors[0].numel()) +
                             " " + c10::toString(tensors[0].scalar_type()) +
                             " elements over NCCL on rank " + std::to_string(rank()) + " of " +
                             std::to_string(size());
    return std::make_shared<NcclWork>(what, std::move(finished), comm_, std::move(tensors));
  }

  std::unique_ptr<Communicator> mpi_;
  c10::DeviceIndex device_;
  std::shared_ptr<nccl::Comm> comm_;
  std::optional<c10::cuda::CUDAStream> stream_;
  std::mutex mutex_;
};

}  // namespace

std::unique_ptr<Communicator> with_nccl_for_cuda(std::unique_ptr<Communicator> mpi,
                                                 int local_rank) {
  const int gpus = nccl::device_count();
  // NCCL refuses two ranks on one GPU, and every rank must take the same
  // branch here (the NCCL set-up below is collective): agree over MPI.
  const int local_ranks = discover_rank_env().local_size;
  at::Tensor unable = torch::full({1}, int64_t(gpus == 0 || local_ranks > gpus), torch::kLong);
  if (mpi->size() > 1) wait_all(mpi->allreduce(unable, ReduceOp::kSum));
  if (unable.item<int64_t>() > 0) {
    if (gpus > 0) {
      log_warn("collectives: NCCL off: ", local_ranks, " ranks on this node share ", gpus,
               " GPU(s) here or on another node (NCCL needs a GPU per rank); CUDA tensors go "
               "through ", mpi->backend(), " via host memory");
    }
    return mpi;
  }
  const int device = local_rank % gpus;
  log_info("collectives: NCCL (", nccl::version(), ") for CUDA tensors on cuda:", device,
           ", ", mpi->backend(), " for the rest");
  return std::make_unique<RoutingCommunicator>(std::move(mpi), device);
}

#else

std::unique_ptr<Communicator> with_nccl_for_cuda(std::unique_ptr<Communicator> mpi, int) {
  return mpi;
}

#endif

}  // namespace condenser
