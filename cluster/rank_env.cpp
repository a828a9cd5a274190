#include "cluster/rank_env.h"

#include <cstdlib>
#include <string>

#include "core/errors.h"

namespace condenser {
namespace {

// Returns false when unset; throws when set to something that is not an int >= 0.
bool read_int(const char* name, int* out) {
  const char* value = std::getenv(name);
  if (value == nullptr || *value == '\0') return false;
  char* end = nullptr;
  const long v = std::strtol(value, &end, 10);
  if (*end != '\0' || v < 0) {
    throw UsageError(std::string("environment variable ") + name + "='" + value +
                     "' is not a non-negative integer; unset it or fix the launcher");
  }
  *out = static_cast<int>(v);
  return true;
}

// The leading count of a Slurm list such as "2(x3)" or "4,2"; false when unset.
bool read_leading_int(const char* name, int* out) {
  const char* value = std::getenv(name);
  if (value == nullptr || *value < '0' || *value > '9') return false;
  *out = static_cast<int>(std::strtol(value, nullptr, 10));
  return true;
}

}  // namespace

RankEnv discover_rank_env() {
  RankEnv env;
  if (read_int("OMPI_COMM_WORLD_RANK", &env.rank)) {
    env.source = "openmpi";
    read_int("OMPI_COMM_WORLD_SIZE", &env.world_size);
    read_int("OMPI_COMM_WORLD_LOCAL_RANK", &env.local_rank);
    read_int("OMPI_COMM_WORLD_LOCAL_SIZE", &env.local_size);
    int slurm_tasks = 0;
    if (read_leading_int("SLURM_NTASKS", &slurm_tasks) && slurm_tasks != env.world_size &&
        std::getenv("CONDENSER_ALLOW_PARTIAL_ALLOCATION") == nullptr) {
      throw UsageError("mpirun started " + std::to_string(env.world_size) +
                       " rank(s) but the Slurm allocation has SLURM_NTASKS=" +
                       std::to_string(slurm_tasks) + "; inside an allocation run mpirun without "
                       "-n (it takes the allocation's tasks), or match sbatch --ntasks");
    }
  } else if (read_int("SLURM_PROCID", &env.rank)) {
    env.source = "slurm";
    read_int("SLURM_NTASKS", &env.world_size);
    read_int("SLURM_LOCALID", &env.local_rank);
    // SLURM_NTASKS_PER_NODE may read "2(x3)"; count ranks on this node via
    // SLURM_TASKS_PER_NODE's first figure when the simple one is absent.
    if (!read_leading_int("SLURM_NTASKS_PER_NODE", &env.local_size) &&
        !read_leading_int("SLURM_TASKS_PER_NODE", &env.local_size)) {
      env.local_size = 1;
    }
    env.pmix = std::getenv("PMIX_RANK") != nullptr;
  }
  if (env.world_size < 1 || env.rank >= env.world_size || env.local_size < 1) {
    throw UsageError("inconsistent launcher environment (" + env.source + "): rank " +
                     std::to_string(env.rank) + " of world size " +
                     std::to_string(env.world_size) + ", local size " +
                     std::to_string(env.local_size));
  }
  return env;
}

int default_thread_count(const RankEnv& env, unsigned hardware_cores) {
  const int cores = hardware_cores == 0 ? 1 : static_cast<int>(hardware_cores);
  return std::max(1, cores / std::max(1, env.local_size));
}

}  // namespace condenser
