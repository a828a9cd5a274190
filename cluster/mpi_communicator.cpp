#include "cluster/mpi_communicator.h"

#include <mpi.h>
#include <torch/torch.h>

#include <atomic>
#include <cstdint>
#include <cstdlib>

#include "cluster/work_queue.h"
#include "core/errors.h"

namespace condenser {
namespace {

std::atomic<bool> g_mpi_initialised{false};

void check(int rc, const char* what) {
  if (rc == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING];
  int len = 0;
  MPI_Error_string(rc, text, &len);
  throw RuntimeFailure(std::string(what) + " failed: " + std::string(text, size_t(len)));
}

// MPI has no 16-bit float types: sum them as float, element by element.
template <typename Half>
void sum_16bit(void* in, void* inout, int* len, MPI_Datatype*) {
  const auto* a = static_cast<const Half*>(in);
  auto* b = static_cast<Half*>(inout);
  for (int i = 0; i < *len; ++i) b[i] = Half(float(a[i]) + float(b[i]));
}

class MpiCommunicator : public Communicator {
 public:
  // MPI_COMM_WORLD: owns the MPI thread (initialises and finalises MPI).
  MpiCommunicator()
      : queue_(std::make_shared<WorkQueue>([this] {
          // Waiting ranks yield the core instead of spinning: compute
          // (backward) shares it with this thread while all-reduces overlap.
          setenv("OMPI_MCA_mpi_yield_when_idle", "1", /*overwrite=*/0);
          int provided = 0;
          check(MPI_Init_thread(nullptr, nullptr, MPI_THREAD_SERIALIZED, &provided),
                "MPI_Init_thread");
          if (provided < MPI_THREAD_SERIALIZED) {
            throw RuntimeFailure("this MPI library gives thread level " +
                                 std::to_string(provided) +
                                 ", condenser needs MPI_THREAD_SERIALIZED or better");
          }
          g_mpi_initialised = true;
          comm_ = MPI_COMM_WORLD;
          MPI_Comm_rank(comm_, &rank_);
          MPI_Comm_size(comm_, &size_);
          MPI_Type_contiguous(2, MPI_BYTE, &half_type_);
          MPI_Type_commit(&half_type_);
          MPI_Op_create(&sum_16bit<c10::Half>, /*commute=*/1, &half_sum_);
          MPI_Op_create(&sum_16bit<c10::BFloat16>, /*commute=*/1, &bf16_sum_);
        })) {}

  // A split of `parent`: same MPI thread, types and ops; its own MPI_Comm.
  // Constructed on the MPI thread (inside split()).
  MpiCommunicator(const MpiCommunicator& parent, MPI_Comm comm)
      : comm_(comm), half_type_(parent.half_type_), half_sum_(parent.half_sum_),
        bf16_sum_(parent.bf16_sum_), queue_(parent.queue_), owns_mpi_(false) {
    MPI_Comm_rank(comm_, &rank_);
    MPI_Comm_size(comm_, &size_);
  }

  ~MpiCommunicator() override {
    if (!owns_mpi_) {
      try {
        wait_all(queue_->submit("MPI_Comm_free", [this] { MPI_Comm_free(&comm_); }));
      } catch (...) {
        // Destruction must not throw; MPI_Finalize frees what is left.
      }
      return;
    }
    queue_->stop([this] {
      MPI_Op_free(&half_sum_);
      MPI_Op_free(&bf16_sum_);
      MPI_Type_free(&half_type_);
      MPI_Finalize();
    });
  }

  std::unique_ptr<Communicator> split(int color) override {
    std::unique_ptr<Communicator> result;
    wait_all(queue_->submit("split of rank " + std::to_string(rank_) + " of " +
                                std::to_string(size_),
                            [this, color, &result] {
                              MPI_Comm sub = MPI_COMM_NULL;
                              check(MPI_Comm_split(comm_, color, rank_, &sub), "MPI_Comm_split");
                              result = std::make_unique<MpiCommunicator>(*this, sub);
                            }));
    return result;
  }

  int rank() const override { return rank_; }
  int size() const override { return size_; }
  std::string backend() const override { return "mpi"; }

  WorkPtr allreduce(at::Tensor& tensor, ReduceOp op) override {
    const Staged staged = stage(tensor, "allreduce");
    return queue_->submit(describe("allreduce", tensor), [this, staged, op] {
      at::Tensor t = staged.host;
      check(MPI_Allreduce(MPI_IN_PLACE, t.data_ptr(), int(t.numel()), mpi_type(t),
                          sum_op(t), comm_),
            "MPI_Allreduce");
      if (op == ReduceOp::kAvg) {
        if (t.is_floating_point()) {
          t.div_(size_);
        } else {
          t.div_(size_, "trunc");
        }
      }
      staged.copy_back();
    });
  }

  WorkPtr broadcast(at::Tensor& tensor, int root) override {
    const Staged staged = stage(tensor, "broadcast");
    return queue_->submit(describe("broadcast", tensor), [this, staged, root] {
      at::Tensor t = staged.host;
      check(MPI_Bcast(t.data_ptr(), int(t.numel()), mpi_type(t), root, comm_),
            "MPI_Bcast");
      staged.copy_back();
    });
  }

  WorkPtr allgather(const at::Tensor& input, at::Tensor& output) override {
    if (output.numel() != input.numel() * size_ || output.scalar_type() != input.scalar_type()) {
      throw RuntimeFailure("allgather: output needs " + std::to_string(input.numel() * size_) +
                           " elements of the input's dtype, got " +
                           std::to_string(output.numel()));
    }
    at::Tensor in = input.is_cpu() ? input.contiguous() : input.to(at::kCPU);
    const Staged out = stage(output, "allgather");
    return queue_->submit(describe("allgather", input), [this, in, out] {
      check(MPI_Allgather(in.data_ptr(), int(in.numel()), mpi_type(in), out.host.data_ptr(),
                          int(in.numel()), mpi_type(in), comm_),
            "MPI_Allgather");
      out.copy_back();
    });
  }

  WorkPtr barrier() override {
    return queue_->submit("barrier on rank " + std::to_string(rank_) + " of " +
                             std::to_string(size_),
                         [this] { check(MPI_Barrier(comm_), "MPI_Barrier"); });
  }

 private:
  // The host tensor MPI works on, and where its result goes back to.
  struct Staged {
    at::Tensor host;
    at::Tensor target;  // undefined when host is the caller's own tensor
    void copy_back() const {
      if (target.defined()) target.copy_(host);
    }
  };

  Staged stage(at::Tensor& tensor, const char* op) const {
    if (!tensor.is_contiguous()) {
      throw RuntimeFailure(std::string(op) + ": tensors must be contiguous");
    }
    mpi_type(tensor);  // rejects unsupported dtypes now, in the caller's thread
    if (tensor.is_cpu()) return {tensor, at::Tensor()};
    return {tensor.to(at::kCPU), tensor};
  }

  MPI_Datatype mpi_type(const at::Tensor& t) const {
    switch (t.scalar_type()) {
      case at::kFloat: return MPI_FLOAT;
      case at::kDouble: return MPI_DOUBLE;
      case at::kLong: return MPI_INT64_T;
      case at::kInt: return MPI_INT32_T;
      case at::kByte: return MPI_UINT8_T;
      case at::kHalf:
      case at::kBFloat16: return half_type_;
      default:
        throw RuntimeFailure(std::string("collectives support float32, float64, float16, "
                                         "bfloat16, int32, int64 and uint8 tensors, not ") +
                             c10::toString(t.scalar_type()));
    }
  }

  MPI_Op sum_op(const at::Tensor& t) const {
    if (t.scalar_type() == at::kHalf) return half_sum_;
    if (t.scalar_type() == at::kBFloat16) return bf16_sum_;
    return MPI_SUM;
  }

  std::string describe(const char* op, const at::Tensor& t) const {
    return std::string(op) + " of " + std::to_string(t.numel()) + " " +
           c10::toString(t.scalar_type()) + " elements on rank " + std::to_string(rank_) +
           " of " + std::to_string(size_);
  }

  MPI_Comm comm_ = MPI_COMM_NULL;
  int rank_ = 0;
  int size_ = 1;
  MPI_Datatype half_type_ = MPI_DATATYPE_NULL;
  MPI_Op half_sum_ = MPI_OP_NULL;
  MPI_Op bf16_sum_ = MPI_OP_NULL;
  // Last: its thread starts after the fields above exist. Shared by splits.
  std::shared_ptr<WorkQueue> queue_;
  bool owns_mpi_ = true;  // MPI_COMM_WORLD's: finalises MPI on destruction
};

}  // namespace

std::unique_ptr<Communicator> make_mpi_communicator() {
  return std::make_unique<MpiCommunicator>();
}

bool mpi_was_initialised() { return g_mpi_initialised; }

}  // namespace condenser
