#include "app/commands.h"

#include <c10/util/Exception.h>

#include <iostream>

#include "bench/bench_control.h"
#include "bench/bench_launch.h"
#include "bench/benches.h"
#include "cluster/communicator.h"
#include "cluster/rank_env.h"
#include "config/config.h"
#include "coordinator/checkpoints/checkpoint_inspect.h"
#include "coordinator/stages/job.h"
#include "coordinator/stages/job_checkpoints.h"
#include "coordinator/stages/preflight.h"
#include "core/errors.h"
#include "core/files.h"
#include "core/log.h"
#include "core/stop_signals.h"
#include "data/shards/shard_inspect.h"
#include "export/export.h"
#include "protocol/address.h"
#include "report/status_view.h"
#include "worker/worker_loop.h"

namespace condenser {
namespace {

// One rank of several failed: say which and why, then end this process at
// once (MPI_Finalize would wait for the others forever); mpirun stops them.
void fail_this_rank(const Communicator& world, const std::exception& e) {
  if (world.size() <= 1) return;
  const auto* error = dynamic_cast<const Error*>(&e);
  const auto* torch_error = dynamic_cast<const c10::Error*>(&e);
  std::cerr << "condenser: error on rank " << world.rank() << " of " << world.size() << ": "
            << (torch_error ? torch_error->what_without_backtrace() : e.what()) << "\n";
  exit_now_if_distributed(error ? static_cast<int>(error->code())
                                : static_cast<int>(ExitCode::kRuntime));
}

// `word` as one shell word: as is when it is made of safe characters only,
// else in single quotes (a ' inside written as '\''), so a printed command
// can be pasted back whatever the run directory or an override contains.
std::string shell_quoted(const std::string& word) {
  const char* safe =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_@%+=:,./-";
  if (!word.empty() && word.find_first_not_of(safe) == std::string::npos) return word;
  std::string out = "'";
  for (const char c : word) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

}  // namespace

int command_validate(const RunArgs& args) {
  const Config config = load_config(args.config_path, args.overrides);
  if (args.print_config) {
    std::cout << config_to_yaml(config);
  } else {
    const PreflightReport checked = preflight(config);
    std::cout << args.config_path << ": ok (job '" << config.name << "'): "
              << checked.data.train_samples << " train, " << checked.data.validation_samples
              << " validation, " << checked.data.test_samples << " test samples in '"
              << config.data.path << "'"
              << (checked.teacher_probed ? "; teacher '" + config.teacher.path + "' probed" : "")
              << "\n  data: " << checked.dataset.kind << ", samples " << checked.dataset.shape_text()
              << ", " << checked.dataset.num_classes << " classes, inputs "
              << checked.dataset.normalisation << "\n";
    for (const std::string& line : checked.models) std::cout << "  " << line << "\n";
  }
  return 0;
}

int command_run(const RunArgs& args) {
  const Config config = load_config(args.config_path, args.overrides);
  if (args.print_config) {
    std::cout << config_to_yaml(config);
    return 0;
  }
  // Under mpirun every rank runs this; only rank 0 reports progress.
  const std::unique_ptr<Communicator> world = make_world_communicator(discover_rank_env());
  const bool root = world->rank() == 0;
  set_log_level(root ? parse_log_level(config.logging.level) : LogLevel::kWarn);
  apply_thread_count(config);
  JobOptions options;
  options.run_dir = args.run_dir.empty() ? "runs/" + config.name : args.run_dir;
  options.relabel = args.relabel;
  options.resume = args.resume;
  options.local_workers = args.local_workers;
  options.listen = args.listen;
  options.http_listen = args.http_listen;
  // A malformed address fails now, not after the teacher has trained.
  parse_host_port(options.listen, "--listen");
  if (!options.http_listen.empty()) parse_host_port(options.http_listen, "--http");
  options.read_timeout_ms = args.read_timeout_ms;
  options.lease_ms = args.lease_ms;
  options.comm = world.get();
  install_stop_signals();
  JobReport report;
  try {
    report = run_job(config, options);
  } catch (const JobStopped& stopped) {
    if (root) {
      std::cout << "\ncondenser: stopped on request; checkpoint written. Resume with:\n  condenser run "
                << shell_quoted(args.config_path) << " --run-dir " << shell_quoted(options.run_dir)
                << " --resume auto";
      for (const auto& o : args.overrides) std::cout << " " << shell_quoted(o);
      std::cout << "\n";
    }
    return 0;
  } catch (const std::exception& e) {
    fail_this_rank(*world, e);
    throw;
  }
  const int code = report.budget_missed ? static_cast<int>(ExitCode::kBudget) : 0;
  if (!root) return code;
  std::cout << "\n" << format_summary_table(report);
  std::cout << "\nresults: " << options.run_dir << "/export (student.pt, metrics.json)\n";
  if (report.budget_missed) {
    std::cerr << "condenser: accuracy budget missed: " << report.prune_outcome
              << ". Exported the best compliant model, the dense distilled student. Raise "
                 "budget.max_drop, lower the first stage's sparsity, or fine-tune longer.\n";
  }
  return code;
}

int command_inspect_shards(const std::string& dir) {
  const ShardInspection inspection = inspect_shards(dir);
  std::cout << format_inspection(inspection);
  return inspection.ok ? 0 : 1;
}

int command_inspect_checkpoint(const std::string& dir) {
  const CheckpointInspection inspection = inspect_checkpoints(dir);
  std::cout << inspection.text;
  return inspection.ok ? 0 : 1;
}

int command_status(const std::string& run_dir, const std::string& coordinator) {
  if (run_dir.empty() == coordinator.empty()) {
    throw UsageError("status: give a run directory or --coordinator HOST:PORT (one of them)");
  }
  if (!coordinator.empty()) {
    std::cout << fetch_status(coordinator).dump(2) << "\n";
  } else {
    std::cout << render_progress(read_progress(run_dir));
  }
  return 0;
}

int command_export(const std::string& run_dir, const std::string& out_dir) {
  export_run(run_dir, out_dir);
  std::cout << "exported to " << (out_dir.empty() ? run_dir + "/export" : out_dir) << "\n";
  return 0;
}

// `bench control`'s flags over its defaults.
ControlBenchOptions control_bench_options(const BenchArgs& args, const BenchOptions& options) {
  ControlBenchOptions c = control_bench_defaults(options);
  if (args.workers > 0) c.workers = args.workers;
  if (args.tasks > 0) c.tasks = args.tasks;
  c.dry = args.dry;
  if (args.task_ms >= 0) c.task_ms = args.task_ms;
  if (args.heartbeat_ms > 0) c.heartbeat_ms = args.heartbeat_ms;
  if (args.lease_ms > 0) c.lease_ms = args.lease_ms;
  if (args.phase_seconds > 0) c.phase_seconds = args.phase_seconds;
  return c;
}

int command_bench(const BenchArgs& args) {
  BenchOptions options;
  options.repeats = args.repeats;
  options.quick = args.quick;
  options.scratch_dir = args.out_dir + "/scratch";
  options.out_dir = args.out_dir;
  const std::vector<std::string> names =
      args.name == "all" ? bench_names() : std::vector<std::string>{args.name};
  const RankEnv env = discover_rank_env();
  if (env.rank != 0) set_log_level(LogLevel::kWarn);
  for (const std::string& name : names) {
    if (bench_ranks(name) > env.world_size) {
      relaunch_under_mpirun(name, options);
      continue;
    }
    log_info("bench ", name, ": ", options.repeats, " alternating rounds after a warm-up");
    const BenchReport report =
        name == "control" ? bench_control(control_bench_options(args, options)) : run_bench(name, options);
    if (env.rank != 0) continue;  // rank 0 prints and writes
    std::cout << "\n== bench " << name << "\n" << report.format();
    if (report.tables.contains("bytes_per_sample")) {
      std::cout << "\nbytes per sample:\n";
      for (const auto& row : report.tables["bytes_per_sample"]) {
        std::cout << "  C=" << row["classes"].get<int>() << "  " << row["format"].get<std::string>()
                  << "  " << fixed(row["bytes_per_sample"].get<double>(), 1) << "\n";
      }
    }
    std::cout << "written: " << report.write(args.out_dir) << "\n";
  }
  if (env.rank == 0) remove_tree(options.scratch_dir);
  return 0;
}

int command_worker(const WorkerOptions& options) { return run_worker(options); }

}  // namespace condenser
