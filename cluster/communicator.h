#pragma once
// Collectives over the ranks of a job, one virtual per collective (the
// habit of torch.distributed's ProcessGroup and Horovod). Every call returns
// at once with a Work handle; the operation runs in the background and
// wait(timeout) blocks until it is done. Calls must be issued in the same
// order on every rank (each backend runs them in submission order).
//
// Tensors must be contiguous and stay alive and untouched until wait()
// returns. Dtypes: float32, float16, bfloat16, int64. kAvg on int64 divides
// with truncation.
#include <ATen/core/Tensor.h>

#include <chrono>
#include <memory>
#include <string>

namespace condenser {

struct RankEnv;

enum class ReduceOp { kSum, kAvg };

class Work {
 public:
  virtual ~Work() = default;
  // Blocks until the operation finished. Throws RuntimeFailure naming the
  // operation, this rank, the element count and the timeout when it takes
  // longer than `timeout`, and rethrows a failure of the operation itself.
  virtual void wait(std::chrono::milliseconds timeout) = 0;
  virtual bool done() const = 0;
};

using WorkPtr = std::shared_ptr<Work>;

class Communicator {
 public:
  virtual ~Communicator() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  virtual std::string backend() const = 0;

  // In place: every rank ends with the sum (or mean) of all ranks' tensors.
  virtual WorkPtr allreduce(at::Tensor& tensor, ReduceOp op) = 0;
  // In place: every rank ends with `root`'s tensor.
  virtual WorkPtr broadcast(at::Tensor& tensor, int root) = 0;
  // `output` holds size() * input.numel() elements: rank r's input at r.
  virtual WorkPtr allgather(const at::Tensor& input, at::Tensor& output) = 0;
  virtual WorkPtr barrier() = 0;

  // MPI_Comm_split: the ranks passing the same `color` form the returned
  // communicator, ranked in their order here. Collective (every rank calls
  // it, in the same place of its call sequence); the result shares this
  // communicator's MPI thread and must be destroyed before it.
  virtual std::unique_ptr<Communicator> split(int color) = 0;
};

// How long a collective may take before the job is declared hung. Long enough
// for a slow epoch-end evaluation on another rank; settable for tests.
std::chrono::milliseconds collective_timeout();

// Runs `work` and waits with collective_timeout(): the common blocking call.
void wait_all(const WorkPtr& work);

// The communicator for this process: MPI when the launcher started several
// ranks, else a single-rank one that needs no MPI at all.
std::unique_ptr<Communicator> make_world_communicator(const RankEnv& env);

// A world of one: every collective is complete at once (allgather copies).
class SingleRankCommunicator : public Communicator {
 public:
  int rank() const override { return 0; }
  int size() const override { return 1; }
  std::string backend() const override { return "single"; }
  WorkPtr allreduce(at::Tensor& tensor, ReduceOp op) override;
  WorkPtr broadcast(at::Tensor& tensor, int root) override;
  WorkPtr allgather(const at::Tensor& input, at::Tensor& output) override;
  WorkPtr barrier() override;
  std::unique_ptr<Communicator> split(int color) override;
};

// Rank `root`'s `text` on every rank (the others pass anything): its length,
// then its bytes, as uint8 tensors. Blocking (wait_all).
std::string broadcast_text(Communicator& comm, const std::string& text, int root);

// After an error on one rank of a multi-rank job: writes nothing more and
// ends this process with `code` without MPI_Finalize (which would wait for
// the other ranks forever); the launcher then stops the rest of the job.
// Returns normally in a single-process run.
void exit_now_if_distributed(int code);

}  // namespace condenser
