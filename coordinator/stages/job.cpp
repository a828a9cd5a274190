#include "coordinator/stages/job.h"

#include <torch/torch.h>

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <optional>
#include <thread>

#include "cluster/communicator.h"
#include "cluster/rank_env.h"
#include "config/prune_plan.h"
#include "config/run_dir.h"
#include "coordinator/checkpoints/checkpoint.h"
#include "coordinator/control/job_http.h"
#include "coordinator/stages/control_stage.h"
#include "coordinator/stages/distill_stage.h"
#include "coordinator/stages/export_stage.h"
#include "coordinator/stages/job_checkpoints.h"
#include "coordinator/stages/job_context.h"
#include "coordinator/stages/label_stage.h"
#include "coordinator/stages/metrics_log.h"
#include "coordinator/stages/preflight.h"
#include "coordinator/stages/progress.h"
#include "coordinator/stages/prune_stage.h"
#include "coordinator/stages/teacher_stage.h"
#include "core/bounded_read.h"
#include "core/errors.h"
#include "core/files.h"
#include "core/log.h"
#include "protocol/job_token.h"
#include "report/dashboard.h"
#include "data/datasets.h"
#include "data/sampling.h"
#include "trainers/device.h"
#include "trainers/model_choice.h"
#include "trainers/model_io.h"
#include "trainers/token_metrics.h"
#include "trainers/training.h"

namespace condenser {
namespace {

void load_data(JobContext& job, const DatasetInfo& checked) {
  const DataConfig& d = job.config.data;
  job.dataset = checked;
  const DatasetInfo& info = job.dataset;
  const SplitPlan plan = plan_splits(info, d.validation_size, d.train_subset, job.config.seed);
  job.train_data = load_split(info, "train");
  job.train = {job.train_data.images, job.train_data.labels, plan.train};
  // A set of the source's own split, or of the rows carved from train.
  const auto set_of = [&](const SetRows& set, ImageDataset& own) {
    const ImageDataset& data = set.split == "train" ? job.train_data : (own = load_split(info, set.split));
    return LabelledSet{data.images, data.labels, set.rows};
  };
  job.validation = set_of(validation_rows(info, plan), job.validation_data);
  job.test = set_of(test_rows(info, plan, d.test_subset), job.test_data);
  job.report.dataset_fingerprint = job.train_data.fingerprint;
  job.report.data = {d.dataset,
                     d.path,
                     info.sample_shape,
                     info.input_dtype(),
                     info.normalisation,
                     info.num_classes,
                     info.class_names,
                     static_cast<int64_t>(job.test.indices.size())};
  if (info.kind == "tokens") {  // a language model: the tokens it is scored on
    job.report.data.token_file = info.path;
    job.report.data.tokenizer_sha256 = info.tokenizer_sha256;
    job.report.data.test_tokens =
        job.test.labels.index_select(0, index_tensor(job.test.indices, 0, job.test.indices.size()))
            .ne(kIgnoreToken)
            .sum()
            .item<int64_t>();
  }
  log_info("data: ", job.train.indices.size(), " train, ", job.validation.indices.size(),
           " validation, ", job.test.indices.size(), " test samples of ", info.shape_text(), " (",
           info.num_classes, " classes) from ", d.path,
           info.validation_rows > 0 ? "" : ", validation carved from train",
           info.test_rows > 0 ? "" : ", test carved from train");
}

bool previous_run_finished(const RunPaths& paths) {
  if (!path_exists(paths.summary)) return false;
  try {
    const std::string text = read_file_at_most(paths.summary, kMaxRecordBytes, "summary");
    return nlohmann::json::parse(text).value("finished", false);
  } catch (const nlohmann::json::exception&) {
    return false;
  }
}

// A finished run in this directory is run again from the start (its soft
// labels are reused); an unfinished one carries on from its checkpoint.
std::optional<Checkpoint> resume_point(const JobOptions& options, const RunPaths& paths) {
  if (options.resume == "auto" && !previous_run_finished(paths)) {
    return load_latest_checkpoint(paths.root + "/checkpoints");
  }
  if (options.resume == "auto" || options.resume == "none") return std::nullopt;
  if (!path_exists(options.resume + "/state.json")) {
    throw UsageError("--resume " + options.resume + ": not a checkpoint directory (no state.json)");
  }
  return load_checkpoint(options.resume);
}

// The report's job fields, and the checks that must pass before anything is trained.
void start_job(JobContext& job) {
  const Config& config = job.config;
  job.report.job_name = config.name;
  job.report.student_model = student_description(config);
  // Weight sparsity the prune schedule aims at: structured pruning removes
  // channels (the compacted model is dense), N:M zeroes m - n of every m.
  const PruneConfig& pc = config.prune;
  job.report.target_sparsity = !pc.enabled || pc.method == "structured"
                                   ? 0.0
                                   : prune_steps(pc).back().sparsity;
  Communicator* comm = job.options.comm;
  const int world = comm ? comm->size() : 1;
  log_info("job '", config.name, "' in ", job.options.run_dir, " on ", job.device.str(), " with ",
           at::get_num_threads(), " threads",
           world > 1 ? ", data-parallel over " + std::to_string(world) + " ranks (" +
                           comm->backend() + ")"
                     : std::string());
}

// Every check passed: the job may now write. config.resolved.yaml, the token,
// and, on a fresh start, no checkpoints and an empty metrics.jsonl; only
// inside a folder that carries condenser's marker (the claim made sure).
void begin_writing(RunDirClaim& claim, const Config& config, bool fresh) {
  const RunPaths& paths = claim.paths();
  claim.track_file(paths.token);
  ensure_job_token(paths.token);  // first: it refuses a bad token file a user left
  claim.commit(config);
  if (fresh && path_exists(paths.marker)) {
    remove_tree(paths.root + "/checkpoints");  // a fresh start keeps none
    if (::truncate(paths.metrics.c_str(), 0) != 0 && errno != ENOENT) {
      throw RuntimeFailure("cannot empty '" + paths.metrics + "': " + std::strerror(errno));
    }
  }
}

// GET /: the caller's page, else the live dashboard of the run directory.
std::function<std::string()> dashboard_of(const JobOptions& options) {
  if (options.dashboard) return options.dashboard;
  return [run_dir = options.run_dir] { return render_dashboard(run_dir); };
}

// The job's status gets its stage plan, and on a resumed job the stages its
// checkpoint already finished.
void plan_status(JobStatus& status, const JobContext& job) {
  std::vector<JobStageStatus> plan;
  const int world = job.options.comm ? job.options.comm->size() : 1;
  for (const StagePlan& p :
       plan_progress(job.config, static_cast<int64_t>(job.train.indices.size()), world)) {
    JobStageStatus s;
    s.name = p.name;
    s.epochs = p.epochs;
    s.total_steps = p.total_steps;
    plan.push_back(s);
  }
  status.set_plan(std::move(plan));
  for (const StageRecord& r : job.report.stages) {
    status.on_stage_done(r.name, r.seconds, r.steps, r.has_model ? r.model.val_accuracy : -1.0);
  }
}

}  // namespace

int apply_thread_count(const Config& config) {
  int threads = config.runtime.threads;
  if (threads == 0) {
    threads = default_thread_count(discover_rank_env(), std::thread::hardware_concurrency());
  }
  at::set_num_threads(threads);
  return threads;
}

JobReport run_job(const Config& config, const JobOptions& options) {
  const auto job_start = Clock::now();
  const bool root = options.comm == nullptr || options.comm->rank() == 0;
  // Everything a user can get wrong is refused before the run directory is touched.
  const PreflightReport checked = preflight(config);
  // Rank 0's HTTP side, bound before anything is claimed or trained (a bad or
  // busy --http is refused here) and answering until the export is done.
  std::optional<JobHttp> http;
  if (root) {
    http.emplace(config.name, options.http_listen,
                 std::chrono::milliseconds(options.read_timeout_ms), dashboard_of(options));
  }
  // Rank 0 claims the run directory for the job's life (checked, marked,
  // locked); a refusal before begin_writing undoes whatever the claim made.
  std::optional<RunDirClaim> claim;
  if (root) claim.emplace(options.run_dir);
  const RunPaths paths = RunPaths::at(options.run_dir);
  std::optional<Checkpoint> from = resume_point(options, paths);
  if (from) check_resume_compatible(*from, config, options.comm ? options.comm->size() : 1);
  if (from && root) trim_metrics_after(paths.metrics, *from);
  if (root) claim->track_file(paths.metrics);
  JobOptions ranks = options;  // pipelined labelling narrows comm to the student ranks
  JobContext job{config, ranks, resolve_device(config.runtime.device, discover_rank_env().local_rank), paths,
                 MetricsLog(root ? paths.metrics : "", /*truncate=*/false)};
  if (http) {
    job.status = &http->status();
    job.http = &http->server();
  }
  job.barrier();
  start_job(job);
  load_data(job, checked.dataset);
  if (from) job.report = report_from_json(from->report, from->path + "/state.json");
  if (http) plan_status(http->status(), job);
  if (root) begin_writing(*claim, config, /*fresh=*/!from);
  if (http) http->publish(options.run_dir);  // coordinator.json names it from here to the end
  job.barrier();  // the run directory is ready before any rank writes into it
  const std::unique_ptr<ProgressReporter> progress =
      make_job_progress(config, options.run_dir, static_cast<int64_t>(job.train.indices.size()));
  job.progress = progress.get();

  JobCheckpoints checkpoints(job, std::move(from));

  torch::jit::Module teacher = teacher_stage(job, checkpoints);
  const SoftLabels soft_logits = label_stage(job, teacher, config.teacher.path.empty());
  if (soft_logits.labeller_only) return job.report;  // a pipelined teacher rank: labelling was all
  if (soft_logits.students) ranks.comm = soft_logits.students.get();
  if (config.control.enabled) control_stage(job, checkpoints);
  torch::jit::Module student = distill_stage(job, soft_logits, checkpoints);
  if (soft_logits.pipeline) soft_logits.pipeline->finish();  // every shard in; labelling over
  if (config.prune.enabled) student = prune_stage(job, student, soft_logits, checkpoints);
  if (soft_logits.stream) {
    log_info("soft labels streamed from shards: training waited ",
             fixed(soft_logits.stream->wait_seconds(), 2), " s in all on HDF5 reads");
  }
  if (!config.prune.enabled) job.report.student_final = job.report.stages.back().model;
  if (!job.is_root()) {
    job.barrier();  // rank 0 writes the final model and exports
    return job.report;
  }
  save_module(student, job.paths.models + "/student_final.pt");
  export_stage(job, job_start, progress.get());
  if (http) http->status().finish();
  return job.report;
}

}  // namespace condenser
