#pragma once
// The subcommands of the condenser CLI. Each returns the process exit code or
// throws condenser::Error (turned into one line and its exit code by main).
#include <cstdint>
#include <string>
#include <vector>

namespace condenser {

struct RunArgs {
  std::string config_path;
  std::vector<std::string> overrides;  // dotted key=value
  std::string run_dir;                 // empty: runs/<config name>
  std::string resume = "auto";         // auto | none | a checkpoint directory
  bool print_config = false;
  bool relabel = false;                // regenerate soft labels even if valid ones exist
  // The coordinator (labelling through workers; `condenser coordinator` sets 0 local workers).
  int local_workers = 1;
  std::string listen = "127.0.0.1:0";
  std::string http_listen;
  int read_timeout_ms = 10000;
  int lease_ms = 30000;
};

int command_run(const RunArgs& args);
int command_validate(const RunArgs& args);
int command_inspect_shards(const std::string& dir);
int command_inspect_checkpoint(const std::string& dir);
int command_status(const std::string& run_dir, const std::string& coordinator);
int command_export(const std::string& run_dir, const std::string& out_dir);
struct BenchArgs {
  std::string name;                      // a benchmark name, or "all"
  int repeats = 5;
  bool quick = false;
  std::string out_dir = "bench/results";
  // bench control (bench/bench_control.h); 0 / -1: its defaults.
  int workers = 0;
  int64_t tasks = 0;
  bool dry = false;
  int task_ms = -1, heartbeat_ms = 0, lease_ms = 0;
  double phase_seconds = 0;
};
int command_bench(const BenchArgs& args);
// `condenser prepare-text`: a corpus tokenized into a token file (data/text/prepare_text.h).
struct PrepareTextArgs {
  std::string corpus = "kjv";  // "kjv" or a UTF-8 file
  std::string tokenizer;       // an existing .model; empty: train one
  int vocab_size = 4096;
  std::string out;
  uint64_t seed = 0;
};
int command_prepare_text(const PrepareTextArgs& args);
// `condenser generate MODEL.pt --prompt TEXT` (export/lm_samples.h).
struct GenerateArgs {
  std::string model, prompt, tokenizer;
  int tokens = 64;
  bool sample = false;  // top-k sampling instead of greedy
  int top_k = 40;
  double temperature = 0.8;
  uint64_t seed = 1;
  int context = 0;  // 0: the model's training context
};
int command_generate(const GenerateArgs& args);
struct WorkerOptions;
int command_worker(const WorkerOptions& options);  // `condenser worker` (worker/worker_loop.h)

}  // namespace condenser
