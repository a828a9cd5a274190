#include "cluster/rank_env.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <functional>
#include <string>

#include "cluster/communicator.h"
#include "core/errors.h"

namespace condenser {
namespace {

class RankEnvTest : public ::testing::Test {
 protected:
  void SetUp() override { clear(); }
  void TearDown() override { clear(); }
  static void clear() {
    for (const char* v : {"OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE",
                          "OMPI_COMM_WORLD_LOCAL_RANK", "OMPI_COMM_WORLD_LOCAL_SIZE",
                          "SLURM_PROCID", "SLURM_NTASKS", "SLURM_LOCALID",
                          "SLURM_NTASKS_PER_NODE", "SLURM_TASKS_PER_NODE", "PMIX_RANK"}) {
      unsetenv(v);
    }
  }
};

TEST_F(RankEnvTest, NoLauncherMeansOneProcess) {
  const RankEnv env = discover_rank_env();
  EXPECT_EQ(env.rank, 0);
  EXPECT_EQ(env.world_size, 1);
  EXPECT_EQ(env.source, "single");
}

TEST_F(RankEnvTest, ReadsOpenMpiVariables) {
  setenv("OMPI_COMM_WORLD_RANK", "2", 1);
  setenv("OMPI_COMM_WORLD_SIZE", "4", 1);
  setenv("OMPI_COMM_WORLD_LOCAL_RANK", "0", 1);
  setenv("OMPI_COMM_WORLD_LOCAL_SIZE", "2", 1);
  const RankEnv env = discover_rank_env();
  EXPECT_EQ(env.rank, 2);
  EXPECT_EQ(env.world_size, 4);
  EXPECT_EQ(env.local_size, 2);
  EXPECT_EQ(env.source, "openmpi");
  EXPECT_EQ(default_thread_count(env, 16), 8);
}

TEST_F(RankEnvTest, FallsBackToSlurm) {
  setenv("SLURM_PROCID", "1", 1);
  setenv("SLURM_NTASKS", "3", 1);
  const RankEnv env = discover_rank_env();
  EXPECT_EQ(env.rank, 1);
  EXPECT_EQ(env.world_size, 3);
  EXPECT_EQ(env.source, "slurm");
}

TEST_F(RankEnvTest, ReadsSlurmTaskListsLikeTwoTimesThree) {
  setenv("SLURM_PROCID", "4", 1);
  setenv("SLURM_NTASKS", "6", 1);
  setenv("SLURM_TASKS_PER_NODE", "2(x3)", 1);
  EXPECT_EQ(discover_rank_env().local_size, 2);
}

std::string usage_error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const UsageError& e) {
    return e.what();
  }
  return "";
}

TEST_F(RankEnvTest, MpirunWorldDifferentFromTheAllocationIsExplained) {
  setenv("OMPI_COMM_WORLD_RANK", "0", 1);
  setenv("OMPI_COMM_WORLD_SIZE", "2", 1);
  setenv("SLURM_NTASKS", "4", 1);
  EXPECT_NE(usage_error_of([] { discover_rank_env(); }).find("mpirun without -n"),
            std::string::npos);
}

TEST_F(RankEnvTest, SrunWithoutPmiIsExplainedNotRunAsManyRankZeros) {
  setenv("SLURM_PROCID", "0", 1);
  setenv("SLURM_NTASKS", "3", 1);
  const RankEnv env = discover_rank_env();
  EXPECT_NE(usage_error_of([&] { make_world_communicator(env); }).find("srun --mpi=pmix"),
            std::string::npos);
}

TEST_F(RankEnvTest, GarbageIsAUsageErrorNamingTheVariable) {
  setenv("OMPI_COMM_WORLD_RANK", "zero", 1);
  try {
    discover_rank_env();
    FAIL();
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("OMPI_COMM_WORLD_RANK"), std::string::npos);
  }
}

TEST_F(RankEnvTest, DefaultThreadsSplitCoresAcrossLocalRanks) {
  RankEnv env;
  EXPECT_EQ(default_thread_count(env, 2), 2);
  env.local_size = 3;
  EXPECT_EQ(default_thread_count(env, 2), 1);
}

}  // namespace
}  // namespace condenser
