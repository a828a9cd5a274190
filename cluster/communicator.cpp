#include "cluster/communicator.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "cluster/mpi_communicator.h"
#include "cluster/nccl_communicator.h"
#include "cluster/rank_env.h"
#include "core/errors.h"

namespace condenser {
namespace {

class DoneWork : public Work {
 public:
  void wait(std::chrono::milliseconds) override {}
  bool done() const override { return true; }
};

}  // namespace

std::chrono::milliseconds collective_timeout() {
  const char* value = std::getenv("CONDENSER_COLLECTIVE_TIMEOUT_S");
  if (value == nullptr || *value == '\0') return std::chrono::minutes(10);
  char* end = nullptr;
  const double seconds = std::strtod(value, &end);
  if (*end != '\0' || seconds <= 0) {
    throw UsageError(std::string("CONDENSER_COLLECTIVE_TIMEOUT_S='") + value +
                     "' is not a positive number of seconds");
  }
  return std::chrono::milliseconds(static_cast<int64_t>(seconds * 1000));
}

void wait_all(const WorkPtr& work) { work->wait(collective_timeout()); }

WorkPtr SingleRankCommunicator::allreduce(at::Tensor&, ReduceOp) {
  return std::make_shared<DoneWork>();
}

WorkPtr SingleRankCommunicator::broadcast(at::Tensor&, int root) {
  if (root != 0) throw RuntimeFailure("broadcast from rank " + std::to_string(root) +
                                      " in a world of one");
  return std::make_shared<DoneWork>();
}

WorkPtr SingleRankCommunicator::allgather(const at::Tensor& input, at::Tensor& output) {
  output.view(input.sizes()).copy_(input);
  return std::make_shared<DoneWork>();
}

WorkPtr SingleRankCommunicator::barrier() { return std::make_shared<DoneWork>(); }

std::unique_ptr<Communicator> SingleRankCommunicator::split(int) {
  return std::make_unique<SingleRankCommunicator>();
}

std::string broadcast_text(Communicator& comm, const std::string& text, int root) {
  at::Tensor length = at::full({1}, int64_t(text.size()), at::kLong);
  wait_all(comm.broadcast(length, root));
  at::Tensor bytes = at::zeros({std::max<int64_t>(1, length.item<int64_t>())}, at::kByte);
  if (comm.rank() == root) std::memcpy(bytes.data_ptr(), text.data(), text.size());
  wait_all(comm.broadcast(bytes, root));
  return std::string(static_cast<const char*>(bytes.data_ptr()),
                     static_cast<size_t>(length.item<int64_t>()));
}

std::unique_ptr<Communicator> make_world_communicator(const RankEnv& env) {
  if (env.world_size <= 1) return std::make_unique<SingleRankCommunicator>();
  if (env.source == "slurm" && !env.pmix) {
    // srun without PMI: N processes that would each run the whole job alone.
    throw UsageError("Slurm started this as task " + std::to_string(env.rank) + " of " +
                     std::to_string(env.world_size) + " without PMI, so MPI cannot connect the "
                     "tasks (each would think it is rank 0 of 1); use srun --mpi=pmix, or "
                     "mpirun inside the allocation (see cluster/slurm/*.sbatch)");
  }
  std::unique_ptr<Communicator> mpi = make_mpi_communicator();
  return with_nccl_for_cuda(std::move(mpi), env.local_rank);
}

void exit_now_if_distributed(int code) {
  if (!mpi_was_initialised()) return;
  std::fflush(stdout);
  std::fflush(stderr);
  std::_Exit(code);
}

}  // namespace condenser
