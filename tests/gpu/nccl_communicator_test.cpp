// NcclCommunicator (cluster/nccl_communicator.h) on one GPU: NCCL refuses two
// ranks on one device, so the multi-rank logic is covered by tests/mpi and
// NCCL here at world size 1, where the results are known exactly.
#include "cluster/nccl_communicator.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cstdlib>

#include "cluster/communicator.h"
#include "cluster/gradient_reducer.h"
#include "cluster/mpi_communicator.h"
#include "core/errors.h"
#include "tests/gpu/gpu_test_util.h"
#include "trainers/model_spec.h"

namespace condenser {
namespace {

const c10::Device kGpu(c10::kCUDA, 0);

std::unique_ptr<Communicator> nccl_world_of_one() {
  return with_nccl_for_cuda(std::make_unique<SingleRankCommunicator>(), 0);
}

TEST(NcclCommunicator, AllreduceAndBroadcastAtWorldSizeOneKeepEveryDtype) {
  CONDENSER_REQUIRE_NCCL();
  auto comm = nccl_world_of_one();
  ASSERT_EQ(comm->backend(), "single+nccl");
  const int64_t before = nccl_collectives_issued();
  int64_t calls = 0;
  for (const auto dtype : {at::kFloat, at::kDouble, at::kHalf, at::kBFloat16, at::kInt, at::kLong,
                           at::kByte}) {
    // 1001 elements: not a multiple of any vector width.
    const at::Tensor expected = torch::arange(1001, torch::kLong).remainder(97).to(dtype);
    for (const ReduceOp op : {ReduceOp::kSum, ReduceOp::kAvg}) {
      if (op == ReduceOp::kAvg && dtype == at::kByte) continue;
      at::Tensor t = expected.to(kGpu);
      const WorkPtr work = comm->allreduce(t, op);
      wait_all(work);
      EXPECT_TRUE(work->done());
      EXPECT_TRUE(torch::equal(t.cpu(), expected)) << c10::toString(dtype);
      ++calls;
    }
    at::Tensor b = expected.to(kGpu);
    wait_all(comm->broadcast(b, 0));
    EXPECT_TRUE(torch::equal(b.cpu(), expected)) << c10::toString(dtype);
    ++calls;
  }
  EXPECT_EQ(nccl_collectives_issued() - before, calls) << "every CUDA call went to NCCL";
}

TEST(NcclCommunicator, WaitsForTheProducingStreamBeforeReading) {
  CONDENSER_REQUIRE_NCCL();
  auto comm = nccl_world_of_one();
  // 64 Mi floats written by kernels on the current stream and read at once by
  // NCCL's own stream (out of place, so a stale read would show).
  const int64_t n = int64_t(64) << 20;
  at::Tensor in = torch::arange(n, torch::TensorOptions().dtype(torch::kFloat).device(kGpu));
  in.mul_(3).remainder_(1000);
  at::Tensor out = torch::zeros({n}, in.options());
  wait_all(comm->allgather(in, out));
  const at::Tensor expected = torch::arange(n, torch::kFloat).mul_(3).remainder_(1000);
  EXPECT_TRUE(torch::equal(out.cpu(), expected));
}

TEST(NcclCommunicator, CpuTensorsStayOffNccl) {
  CONDENSER_REQUIRE_NCCL();
  auto comm = nccl_world_of_one();
  const int64_t before = nccl_collectives_issued();
  at::Tensor t = torch::tensor({1.5, 2.5}, torch::kDouble);
  wait_all(comm->allreduce(t, ReduceOp::kSum));
  wait_all(comm->broadcast(t, 0));
  EXPECT_EQ(nccl_collectives_issued(), before);
  EXPECT_DOUBLE_EQ(t[1].item<double>(), 2.5);
}

TEST(NcclCommunicator, RefusesWhatNcclCannotDoWithAMessage) {
  CONDENSER_REQUIRE_NCCL();
  auto comm = nccl_world_of_one();
  at::Tensor strided = torch::zeros({8, 8}, torch::TensorOptions().device(kGpu)).t();
  EXPECT_THROW(wait_all(comm->allreduce(strided, ReduceOp::kSum)), RuntimeFailure);
  at::Tensor flags = torch::zeros({8}, torch::TensorOptions().dtype(torch::kBool).device(kGpu));
  try {
    wait_all(comm->allreduce(flags, ReduceOp::kSum));
    FAIL() << "a bool all-reduce was accepted";
  } catch (const RuntimeFailure& e) {
    EXPECT_NE(std::string(e.what()).find("Bool"), std::string::npos) << e.what();
  }
}

// A data-parallel step's collectives through MPI + NCCL: the gradients of a
// CUDA model through the GradientReducer (NCCL) and the metric sums (CPU
// tensors, MPI). ctest runs this one under `mpirun -n 1`
// (gpu.nccl_routing_under_mpirun); elsewhere it skips.
TEST(NcclCommunicator, MpiJobRoutesCpuTensorsToMpiAndCudaTensorsToNccl) {
  CONDENSER_REQUIRE_NCCL();
  if (std::getenv("OMPI_COMM_WORLD_SIZE") == nullptr) {
    GTEST_SKIP() << "needs mpirun; ctest runs it as gpu.nccl_routing_under_mpirun";
  }
  auto comm = with_nccl_for_cuda(make_mpi_communicator(), 0);
  ASSERT_EQ(comm->backend(), "mpi+nccl");
  torch::jit::Module model = build_model(zoo_spec("small_cnn"), 3);
  model.to(kGpu);
  std::vector<at::Tensor> params;
  for (const auto& p : model.parameters()) params.push_back(p);
  const at::Tensor x = torch::rand({64, 1, 28, 28}, torch::TensorOptions().device(kGpu));
  const at::Tensor y = torch::randint(0, 10, {64}, torch::TensorOptions().dtype(torch::kLong).device(kGpu));
  auto loss = [&] {
    return torch::nll_loss(torch::log_softmax(model.forward({x}).toTensor(), 1), y);
  };
  // Reference gradients without any communicator.
  loss().backward();
  std::vector<at::Tensor> expected;
  for (auto& p : params) {
    expected.push_back(p.grad().detach().clone());
    p.mutable_grad() = at::Tensor();
  }
  const int64_t before = nccl_collectives_issued();
  {
    GradientReducer reducer(params, *comm, size_t(64) << 10);  // several buckets
    reducer.prepare();
    loss().backward();
    reducer.finish();
    const int64_t buckets = static_cast<int64_t>(reducer.bucket_layout().size());
    EXPECT_GE(buckets, 2);
    EXPECT_GE(nccl_collectives_issued() - before, buckets);
    for (size_t i = 0; i < params.size(); ++i) {
      EXPECT_TRUE(torch::allclose(params[i].grad(), expected[i], 1e-5, 1e-6)) << "parameter " << i;
    }
  }
  const int64_t after_gradients = nccl_collectives_issued();
  at::Tensor sums = torch::tensor({3.0, 4.0}, torch::kDouble);
  wait_all(comm->allreduce(sums, ReduceOp::kSum));
  EXPECT_EQ(nccl_collectives_issued(), after_gradients) << "a CPU tensor went to NCCL";
  EXPECT_DOUBLE_EQ(sums[0].item<double>(), 3.0);
}

}  // namespace
}  // namespace condenser
