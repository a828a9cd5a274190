// Collectives on every supported dtype and on odd sizes, at any world size.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "tests/mpi/mpi_world.h"

namespace condenser {
namespace {

using test::world;

const std::vector<at::ScalarType> kDtypes = {at::kFloat, at::kHalf, at::kBFloat16, at::kLong};
const std::vector<int64_t> kSizes = {1, 7, 1001, 65537};

// Small integers: exact in every dtype, so sums can be compared exactly.
at::Tensor pattern(int64_t n, int rank, at::ScalarType dtype) {
  return (torch::arange(n, torch::kLong) % 5 + (rank + 1)).to(dtype);
}

TEST(Collectives, AllreduceSumEveryDtypeAndOddSizes) {
  const int w = world().size();
  for (at::ScalarType dtype : kDtypes) {
    for (int64_t n : kSizes) {
      at::Tensor t = pattern(n, world().rank(), dtype);
      wait_all(world().allreduce(t, ReduceOp::kSum));
      const at::Tensor want = torch::arange(n, torch::kLong) % 5 * w + w * (w + 1) / 2;
      EXPECT_TRUE(t.to(torch::kLong).equal(want)) << c10::toString(dtype) << " n=" << n;
    }
  }
}

TEST(Collectives, AllreduceAverage) {
  const int w = world().size();
  for (at::ScalarType dtype : {at::kFloat, at::kHalf, at::kBFloat16}) {
    at::Tensor t = pattern(1001, world().rank(), dtype);
    wait_all(world().allreduce(t, ReduceOp::kAvg));
    const at::Tensor want =
        (torch::arange(1001, torch::kLong) % 5).to(torch::kDouble) + (w + 1) / 2.0;
    EXPECT_TRUE(torch::allclose(t.to(torch::kDouble), want)) << c10::toString(dtype);
  }
  at::Tensor ints = torch::full({3}, int64_t(world().rank()), torch::kLong);
  wait_all(world().allreduce(ints, ReduceOp::kAvg));
  EXPECT_EQ(ints[0].item<int64_t>(), (w * (w - 1) / 2) / w);  // truncated
}

TEST(Collectives, BroadcastFromTheLastRank) {
  const int root = world().size() - 1;
  for (at::ScalarType dtype : kDtypes) {
    at::Tensor t = pattern(7, world().rank(), dtype);
    wait_all(world().broadcast(t, root));
    EXPECT_TRUE(t.equal(pattern(7, root, dtype))) << c10::toString(dtype);
  }
}

TEST(Collectives, AllgatherPlacesEachRankInOrder) {
  const int w = world().size();
  for (at::ScalarType dtype : kDtypes) {
    const at::Tensor in = pattern(5, world().rank(), dtype);
    at::Tensor out = torch::zeros({5 * w}, in.options());
    wait_all(world().allgather(in, out));
    for (int r = 0; r < w; ++r) {
      EXPECT_TRUE(out.slice(0, 5 * r, 5 * (r + 1)).equal(pattern(5, r, dtype)));
    }
  }
}

TEST(Collectives, ManyOutstandingOperationsCompleteInOrder) {
  std::vector<at::Tensor> tensors;
  std::vector<WorkPtr> works;
  for (int i = 0; i < 50; ++i) {
    tensors.push_back(torch::full({i + 1}, float(i), torch::kFloat));
    works.push_back(world().allreduce(tensors.back(), ReduceOp::kSum));
  }
  works.push_back(world().barrier());
  for (const auto& w : works) wait_all(w);
  for (int i = 0; i < 50; ++i) {
    EXPECT_EQ(tensors[size_t(i)][0].item<float>(), float(i * world().size()));
  }
}

TEST(Collectives, WrongAllgatherOutputIsRefusedBeforeAnythingIsSent) {
  const at::Tensor in = torch::zeros({4});
  at::Tensor out = torch::zeros({3});
  if (world().size() > 1) EXPECT_ANY_THROW(world().allgather(in, out));
}

}  // namespace
}  // namespace condenser

namespace condenser {
namespace {

// Pipelined labelling's split: even and odd ranks form two groups that
// reduce and broadcast among themselves, in the world's rank order.
TEST(Collectives, SplitGroupsReduceAmongThemselves) {
  const int rank = world().rank(), w = world().size();
  std::unique_ptr<Communicator> group = world().split(rank % 2);
  int members = 0, rank_sum = 0, my_index = 0;
  for (int r = 0; r < w; ++r) {
    if (r % 2 != rank % 2) continue;
    if (r == rank) my_index = members;
    ++members;
    rank_sum += r;
  }
  EXPECT_EQ(group->size(), members);
  EXPECT_EQ(group->rank(), my_index);
  at::Tensor t = torch::full({3}, int64_t(rank), torch::kLong);
  wait_all(group->allreduce(t, ReduceOp::kSum));
  EXPECT_TRUE(t.equal(torch::full({3}, int64_t(rank_sum), torch::kLong)));
  // The group's rank 0 is the lowest world rank of that parity.
  const std::string text = broadcast_text(*group, "from world rank " + std::to_string(rank), 0);
  EXPECT_EQ(text, "from world rank " + std::to_string(rank % 2));
  wait_all(group->barrier());
  group.reset();  // freed before the world goes on
  EXPECT_EQ(broadcast_text(world(), rank == 0 ? std::string(3000, 'x') : "", 0),
            std::string(3000, 'x'));
  EXPECT_EQ(broadcast_text(world(), "", 0), "");
}

}  // namespace
}  // namespace condenser
