// condenser: distributed knowledge distillation and pruning. This file only
// wires the command line (CLI11) to app/commands.h and maps errors to exit
// codes: 0 ok, 1 runtime failure, 2 bad usage/config/input, 3 budget missed.
#include <c10/util/Exception.h>

#include <CLI/CLI.hpp>
#include <functional>
#include <iostream>

#include "app/commands.h"
#include "bench/benches.h"
#include "core/errors.h"
#include "core/heap_tuning.h"
#include "worker/worker_loop.h"

namespace {

void add_config_args(CLI::App* cmd, condenser::RunArgs* args) {
  cmd->add_option("config", args->config_path, "job config (YAML)")->required();
  cmd->add_option("overrides", args->overrides,
                  "dotted key=value overrides, e.g. student.train.epochs=3");
  cmd->add_flag("--print-config", args->print_config, "print the resolved config and exit");
}

void add_coordinator_args(CLI::App* cmd, condenser::RunArgs* args) {
  add_config_args(cmd, args);
  cmd->add_option("--run-dir", args->run_dir, "run directory (default runs/<name>)");
  cmd->add_option("--listen", args->listen,
                  "control address HOST:PORT (default 127.0.0.1:0, a free port)");
  cmd->add_option("--http", args->http_listen,
                  "read-only HTTP HOST:PORT for the whole job (default 127.0.0.1, a free port)");
  cmd->add_option("--local-workers", args->local_workers, "also start this many local workers")
      ->check(CLI::Range(0, 256));
  cmd->add_flag("--relabel", args->relabel, "label again even when valid soft labels exist");
  cmd->add_option("--read-timeout-ms", args->read_timeout_ms, "deadline of every frame read")
      ->check(CLI::Range(100, 3600000));
  cmd->add_option("--lease-ms", args->lease_ms, "lease length; heartbeats renew it")
      ->check(CLI::Range(100, 86400000));
}

void add_worker_args(CLI::App* cmd, condenser::WorkerOptions* o) {
  cmd->add_option("--coordinator", o->coordinator, "coordinator control address HOST:PORT")
      ->required();
  cmd->add_option("--token-file", o->token_file, "the job's RUN_DIR/job.token")->required();
  cmd->add_option("--device", o->device, "cpu | cuda | cuda:N");
  cmd->add_option("--threads", o->threads, "LibTorch threads (0: LibTorch's default)")
      ->check(CLI::Range(0, 4096));
  cmd->add_option("--name", o->name, "name shown in /status (default host:pid)");
  cmd->add_option("--upload", o->upload_dir,
                  "for a node without the run directory: write shards in this local directory "
                  "and send each to the coordinator over the connection");
  cmd->add_option("--teacher", o->teacher_path,
                  "this node's copy of the job's teacher (its identity is checked)");
  cmd->add_option("--data", o->data_dir,
                  "this node's copy of the job's data directory (its fingerprint is checked)");
  auto* give_up = cmd->add_option_function<double>(
      "--give-up-after",
      [o](double s) {
        o->give_up_after = std::chrono::milliseconds(static_cast<int64_t>(s * 1000));
      },
      "seconds to keep reconnecting to an unreachable coordinator (default 60)");
  give_up->check(CLI::Range(0.0, 86400.0));
}

// `condenser bench NAME`: ours against the bare baseline.
CLI::App* add_bench(CLI::App& app, condenser::BenchArgs* a) {
  CLI::App* cmd = app.add_subcommand("bench", "benchmarks against the bare baseline");
  std::string names;
  for (const std::string& n : condenser::bench_names()) names += (names.empty() ? "" : ", ") + n;
  cmd->add_option("name", a->name, "benchmark name (" + names + ") or all")->required();
  cmd->add_option("--repeats", a->repeats, "timed rounds per case")->check(CLI::Range(1, 1000));
  cmd->add_flag("--quick", a->quick, "small payloads (smoke test)");
  cmd->add_option("--out", a->out_dir, "results folder (default bench/results)");
  // bench control: the control plane at scale.
  cmd->add_option("--workers", a->workers, "control: simulated workers (default 1000)")
      ->check(CLI::Range(1, 1000000));
  cmd->add_option("--tasks", a->tasks, "control: tasks in the table (default 100000)")
      ->check(CLI::Range(int64_t{2}, int64_t{100000000}));
  cmd->add_flag("--dry", a->dry, "control: commits without shard files (journal only)");
  cmd->add_option("--task-ms", a->task_ms, "control: labelling time per task (default workers/4)")
      ->check(CLI::Range(0, 3600000));
  cmd->add_option("--heartbeat-ms", a->heartbeat_ms, "control: heartbeat period (default 2000)")
      ->check(CLI::Range(10, 3600000));
  cmd->add_option("--lease-ms", a->lease_ms, "control: lease duration (default 30000)")
      ->check(CLI::Range(20, 86400000));
  cmd->add_option("--phase-seconds", a->phase_seconds,
                  "control: longest time before and after the kill (default 30)")
      ->check(CLI::Range(0.1, 86400.0));
  return cmd;
}

// `condenser prepare-text`: a corpus into a token file.
CLI::App* add_prepare_text(CLI::App& app, condenser::PrepareTextArgs* a) {
  CLI::App* cmd = app.add_subcommand(
      "prepare-text", "tokenize a corpus (SentencePiece) into an HDF5 token file");
  cmd->add_option("--corpus", a->corpus,
                  "kjv (the King James Bible of Debian's bible-kjv) or a UTF-8 file, "
                  "documents separated by blank lines");
  cmd->add_option("--tokenizer", a->tokenizer,
                  "an existing SentencePiece .model (default: train one on the corpus)");
  cmd->add_option("--vocab-size", a->vocab_size, "pieces of a trained tokenizer")
      ->check(CLI::Range(16, 1 << 20));
  cmd->add_option("--out", a->out, "the token file to write (.h5)")->required();
  cmd->add_option("--seed", a->seed, "which documents go to which split");
  return cmd;
}

// `condenser generate`: continue a prompt with an exported language model.
CLI::App* add_generate(CLI::App& app, condenser::GenerateArgs* a) {
  CLI::App* cmd = app.add_subcommand("generate", "continue a prompt with a language model");
  cmd->add_option("model", a->model, "an exported language model (student.pt)")->required();
  cmd->add_option("--prompt", a->prompt, "the text to continue")->required();
  cmd->add_option("--tokenizer", a->tokenizer,
                  "its SentencePiece .model (default: the one inside the model file)");
  cmd->add_option("--tokens", a->tokens, "tokens to generate")->check(CLI::Range(0, 100000));
  cmd->add_flag("--sample", a->sample, "top-k sampling instead of greedy");
  cmd->add_option("--top-k", a->top_k, "sampling: from the k most likely tokens")
      ->check(CLI::Range(0, 1 << 20));
  cmd->add_option("--temperature", a->temperature, "sampling temperature")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--seed", a->seed, "sampling seed");
  cmd->add_option("--context", a->context,
                  "tokens of context the model sees (default: its training window)")
      ->check(CLI::Range(0, 1 << 20));
  return cmd;
}

// CLI11 would only say "a subcommand is required"; name the word instead.
bool known_command(CLI::App& app, int argc, char** argv) {
  std::string names;
  bool known = false;
  for (CLI::App* sub : app.get_subcommands(std::function<bool(CLI::App*)>{})) {
    names += " " + sub->get_name();
    known = known || (argc > 1 && sub->get_name() == argv[1]);
  }
  if (argc > 1 && argv[1][0] != '-' && !known) {
    std::cerr << "condenser: error: unknown command '" << argv[1] << "'; commands:" << names
              << " (see condenser --help)\n";
    return false;
  }
  return true;
}

// Runs a command; an error becomes one line on stderr and its exit code.
int exit_code_of(const std::function<int()>& command) {
  try {
    return command();
  } catch (const condenser::Error& e) {
    std::cerr << "condenser: error: " << e.what() << "\n";
    return static_cast<int>(e.code());
  } catch (const c10::Error& e) {
    std::cerr << "condenser: error (LibTorch): " << e.what_without_backtrace() << "\n";
    return static_cast<int>(condenser::ExitCode::kRuntime);
  } catch (const std::exception& e) {
    std::cerr << "condenser: error: " << e.what() << "\n";
    return static_cast<int>(condenser::ExitCode::kRuntime);
  } catch (...) {
    std::cerr << "condenser: error: an unknown exception\n";
    return static_cast<int>(condenser::ExitCode::kRuntime);
  }
}

// Parses the command line and runs the command it names.
int run_cli(int argc, char** argv) {
  CLI::App app{"condenser: distill a teacher into a smaller, pruned student"};
  app.require_subcommand(1);
  condenser::RunArgs run_args;

  CLI::App* run =
      app.add_subcommand("run", "run a job: teacher, soft labels, distill, prune, export");
  add_config_args(run, &run_args);
  run->add_option("--run-dir", run_args.run_dir, "run directory (default runs/<name>)");
  run->add_flag("--relabel", run_args.relabel,
                "label again even when the run directory holds valid soft labels");
  run->add_option("--resume", run_args.resume,
                  "auto (carry on from the newest valid checkpoint of an unfinished run), none, "
                  "or a checkpoint directory");
  run->add_option("--local-workers", run_args.local_workers,
                  "teacher workers started as child processes for labelling (0: external only)")
      ->check(CLI::Range(0, 256));
  run->add_option("--http", run_args.http_listen,
                  "read-only HTTP HOST:PORT for the whole job (default 127.0.0.1, a free port)");

  CLI::App* validate = app.add_subcommand("validate", "check a config and its overrides");
  add_config_args(validate, &run_args);

  std::string dir, out_dir;
  CLI::App* inspect = app.add_subcommand("inspect", "inspect soft-label shards or a checkpoint");
  inspect->require_subcommand(1);
  CLI::App* shards = inspect->add_subcommand("shards", "rows, coverage, checksums, provenance");
  shards->add_option("dir", dir, "run directory or its soft_labels/")->required();
  CLI::App* checkpoint = inspect->add_subcommand("checkpoint", "inspect a checkpoint");
  checkpoint->add_option("dir", dir, "checkpoint directory")->required();

  CLI::App* exp = app.add_subcommand("export", "write student.pt and metrics.json from a run");
  exp->add_option("run_dir", dir, "run directory")->required();
  exp->add_option("--out", out_dir, "output directory (default RUN_DIR/export)");

  condenser::RunArgs coord_args;
  coord_args.local_workers = 0;
  CLI::App* coordinator = app.add_subcommand(
      "coordinator", "run a job whose teacher labelling is done by `condenser worker`s");
  add_coordinator_args(coordinator, &coord_args);
  condenser::WorkerOptions worker_opts;
  CLI::App* worker = app.add_subcommand("worker", "serve as a teacher-inference worker");
  add_worker_args(worker, &worker_opts);
  CLI::App* status = app.add_subcommand("status", "show a job's progress");
  std::string status_coordinator;
  status->add_option("run_dir", dir, "run directory (reads its progress.json)");
  status->add_option("--coordinator", status_coordinator,
                     "a running coordinator's http HOST:PORT (see RUN_DIR/coordinator.json)");
  condenser::BenchArgs bench_args;
  CLI::App* bench = add_bench(app, &bench_args);

  condenser::PrepareTextArgs text_args;
  CLI::App* prepare = add_prepare_text(app, &text_args);
  condenser::GenerateArgs gen_args;
  CLI::App* generate = add_generate(app, &gen_args);

  if (!known_command(app, argc, argv)) return static_cast<int>(condenser::ExitCode::kUsage);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? 0 : static_cast<int>(condenser::ExitCode::kUsage);
  }

  if (*run) return condenser::command_run(run_args);
  if (*validate) return condenser::command_validate(run_args);
  if (*shards) return condenser::command_inspect_shards(dir);
  if (*checkpoint) return condenser::command_inspect_checkpoint(dir);
  if (*exp) return condenser::command_export(dir, out_dir);
  if (*coordinator) return condenser::command_run(coord_args);
  if (*worker) return condenser::command_worker(worker_opts);
  if (*status) return condenser::command_status(dir, status_coordinator);
  if (*bench) return condenser::command_bench(bench_args);
  if (*prepare) return condenser::command_prepare_text(text_args);
  if (*generate) return condenser::command_generate(gen_args);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  condenser::keep_freed_memory();  // before the first tensor is allocated
  return exit_code_of([&] { return run_cli(argc, argv); });
}
