#pragma once
// Where this process sits in a job: rank, world size and how many ranks share
// its node, read from the launcher's environment (Open MPI's OMPI_COMM_WORLD_*,
// then Slurm's SLURM_*), else a single process.
#include <string>

namespace condenser {

struct RankEnv {
  int rank = 0;
  int world_size = 1;
  int local_rank = 0;
  int local_size = 1;
  std::string source = "single";  // "openmpi", "slurm" or "single"
  bool pmix = false;  // slurm: srun gave the processes PMIx (srun --mpi=pmix), so MPI works
};

// Reads the environment; malformed values are a UsageError naming the
// variable, and so is mpirun's world size differing from SLURM_NTASKS inside
// an allocation (set CONDENSER_ALLOW_PARTIAL_ALLOCATION to use fewer ranks).
RankEnv discover_rank_env();

// The default LibTorch thread count: the node's cores divided by the ranks on
// the node, at least 1 (Debian's LibTorch otherwise starts with one thread).
int default_thread_count(const RankEnv& env, unsigned hardware_cores);

}  // namespace condenser
