// main() of the multi-rank tests, run by ctest under `mpirun -n N`: every
// rank runs every test; only rank 0 prints gtest's report, and the process
// exit code says whether any rank failed.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "cluster/rank_env.h"
#include "tests/mpi/mpi_world.h"

namespace condenser::test {
namespace {
Communicator* g_world = nullptr;
}
Communicator& world() { return *g_world; }
}  // namespace condenser::test

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  at::set_num_threads(1);
  const auto world = condenser::make_world_communicator(condenser::discover_rank_env());
  condenser::test::g_world = world.get();
  if (world->rank() != 0) {
    auto& listeners = ::testing::UnitTest::GetInstance()->listeners();
    delete listeners.Release(listeners.default_result_printer());
  }
  const int rc = RUN_ALL_TESTS();
  at::Tensor failed = torch::full({1}, int64_t(rc != 0), torch::kInt64);
  condenser::wait_all(world->allreduce(failed, condenser::ReduceOp::kSum));
  if (world->rank() == 0 && failed.item<int64_t>() > 0) {
    std::cerr << failed.item<int64_t>() << " rank(s) failed a test\n";
  }
  return failed.item<int64_t>() > 0 ? 1 : 0;
}
