// A two-rank job whose rank 1 throws while rank 0 waits in an all-reduce:
// the job must end non-zero within the test's timeout with rank 1's message,
// never hang. Uses the same path as `condenser run` (exit_now_if_distributed).
#include <torch/torch.h>

#include <iostream>

#include "cluster/communicator.h"
#include "cluster/rank_env.h"
#include "core/errors.h"

int main() {
  using namespace condenser;
  const auto world = make_world_communicator(discover_rank_env());
  try {
    if (world->rank() == 1) throw RuntimeFailure("rank 1 ran out of data on purpose");
    at::Tensor t = torch::ones({16});
    wait_all(world->allreduce(t, ReduceOp::kSum));  // rank 1 never joins
  } catch (const Error& e) {
    std::cerr << "condenser: error on rank " << world->rank() << ": " << e.what() << "\n";
    exit_now_if_distributed(static_cast<int>(e.code()));
    return static_cast<int>(e.code());
  }
  return 0;
}
