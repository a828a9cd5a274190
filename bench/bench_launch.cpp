#include "bench/bench_launch.h"

#include <unistd.h>

#include <cstdlib>
#include <fstream>

#include "core/errors.h"
#include "core/files.h"
#include "core/log.h"

namespace condenser {

nlohmann::json bench_train_world1(const BenchOptions& options);

int bench_ranks(const std::string& name) {
  return name == "allreduce" || name == "train" ? 2 : 1;
}

namespace {

std::string this_executable() {
  char path[4096];
  const ssize_t n = readlink("/proc/self/exe", path, sizeof(path) - 1);
  if (n <= 0) throw RuntimeFailure("cannot find this executable (/proc/self/exe)");
  return std::string(path, size_t(n));
}

std::string shell_quoted(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

}  // namespace

void relaunch_under_mpirun(const std::string& name, const BenchOptions& options) {
  const int ranks = bench_ranks(name);
  std::string env;
  if (geteuid() == 0) env += "OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 ";
  std::string world1_file;
  if (name == "train") {
    // World 1 is measured here, alone on the machine, before the ranks start.
    log_info("bench train: measuring world 1 in this process first");
    ensure_dir(options.scratch_dir);
    world1_file = options.scratch_dir + "/train-world1.json";
    atomic_write_file(world1_file, bench_train_world1(options).dump() + "\n");
    env += "CONDENSER_BENCH_WORLD1=" + shell_quoted(world1_file) + " ";
  }
  const std::string command =
      env + "mpirun -n " + std::to_string(ranks) + " --oversubscribe " +
      shell_quoted(this_executable()) + " bench " + name + " --repeats " +
      std::to_string(options.repeats) + (options.quick ? " --quick" : "") + " --out " +
      shell_quoted(options.out_dir);
  log_info("bench ", name, ": ", command);
  const int status = std::system(command.c_str());
  if (!world1_file.empty()) std::remove(world1_file.c_str());
  if (status != 0) {
    throw RuntimeFailure("bench " + name + " under mpirun failed (status " +
                         std::to_string(status) + (status == 127 << 8 ? ": mpirun not found; install "
                                                                          "openmpi-bin)"
                                                                        : "; its ranks' errors are above)"));
  }
}

}  // namespace condenser
