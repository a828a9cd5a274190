#include "coordinator/stages/label_stage.h"

#include <ATen/Parallel.h>
#include <unistd.h>

#include <cstdlib>

#include "cluster/rank_env.h"
#include "coordinator/control/label_service.h"
#include "coordinator/stages/labelling.h"
#include "coordinator/stages/rank_timeline.h"
#include "core/errors.h"
#include "core/files.h"
#include "core/log.h"
#include "core/stop_signals.h"
#include "data/sampling.h"
#include "data/shards/shard_quarantine.h"
#include "protocol/address.h"
#include "protocol/job_token.h"
#include "worker/worker_loop.h"

namespace condenser {
namespace {

// Which labelling tasks still need the teacher. Shards of an earlier run in
// this directory are reused when they carry the same provenance and layout
// (and pass their checksums: bad ones go to quarantine/ and are relabelled).
// Labels from another teacher or dataset are refused unless --relabel, or
// unless this job trained its teacher itself (then they are stale by design).
std::vector<LabelTask> tasks_to_label(JobContext& job, const std::vector<LabelTask>& tasks,
                                      Manifest& manifest, bool teacher_trained_here) {
  if (job.options.relabel || !path_exists(job.paths.manifest)) return tasks;
  Manifest old = load_manifest(job.paths.manifest);
  const bool same_labels = old.teacher_sha256 == manifest.teacher_sha256 &&
                           old.dataset_fingerprint == manifest.dataset_fingerprint;
  if (!same_labels) {
    if (teacher_trained_here) {
      log_info("label: earlier soft labels came from teacher ", old.teacher_sha256.substr(0, 12),
               "; relabelling with this job's teacher");
      return tasks;
    }
    throw UsageError("soft labels in '" + job.paths.root + "' were made by teacher " +
                     old.teacher_sha256 + " on dataset " + old.dataset_fingerprint +
                     ", but this job's teacher is " + manifest.teacher_sha256 + " on dataset " +
                     manifest.dataset_fingerprint + "; run with --relabel to label again");
  }
  const bool same_layout =
      old.format == manifest.format && old.top_k == manifest.top_k && old.views == manifest.views &&
      old.dtype == manifest.dtype && old.temperature == manifest.temperature &&
      old.num_classes == manifest.num_classes && old.total_rows == manifest.total_rows &&
      old.teacher_precision == manifest.teacher_precision && old.flip == manifest.flip;
  if (!same_layout) {
    log_info(
        "label: the soft-label layout changed (format, k, views, flips, dtype, T, rows or teacher "
        "precision); relabelling");
    return tasks;
  }
  const std::vector<ManifestEntry> bad = verify_or_quarantine(job.paths.soft_labels, old);
  if (!bad.empty()) log_warn("label: ", bad.size(), " shard(s) quarantined; relabelling them");
  std::vector<LabelTask> todo;
  for (const LabelTask& task : tasks) {
    bool done = false;
    for (const ManifestEntry& e : old.shards) {
      if (e.file == task.file && e.task_begin == task.begin && e.task_end == task.end) {
        manifest.shards.push_back(e);
        done = true;
      }
    }
    if (!done) todo.push_back(task);
  }
  log_info("label: reusing ", manifest.shards.size(), " verified shard(s), labelling ",
           todo.size());
  return todo;
}

// A coordinator bound to every interface is reached at this host's name.
std::string advertised(const std::string& control) {
  HostPort at = parse_host_port(control, "coordinator control address");
  if (at.host != "0.0.0.0" && at.host != "::") return control;
  char name[256] = {};
  ::gethostname(name, sizeof name - 1);
  at.host = name;
  return format_host_port(at);
}

// What rank 0 broadcasts to the other ranks: where its coordinator listens
// and the job token ("" when nothing is left to label).
std::string coordinator_message(const JobContext& job, const std::string& control) {
  if (control.empty()) return "";
  return advertised(control) + "\n" + read_job_token(job.paths.token);
}

// Other nodes cannot reach 127.0.0.1: a job whose ranks span nodes binds
// every interface (the token still guards it) unless --listen says where.
std::string listen_for_ranks(const JobContext& job, int ranks) {
  if (ranks <= 1 || job.options.listen != "127.0.0.1:0") return job.options.listen;
  const RankEnv env = discover_rank_env();
  return env.local_size < env.world_size ? "0.0.0.0:0" : job.options.listen;
}

// What every worker is told about the job (its welcome).
LabelSpec label_spec(const JobContext& job, const LabellerSetup& setup) {
  LabelSpec s;
  s.teacher_path = absolute_path(job.config.teacher.path.empty() ? job.paths.models + "/teacher.pt"
                                                                 : job.config.teacher.path);
  s.teacher_sha256 = setup.meta.teacher_sha256;
  s.dataset = job.dataset.kind;  // a text corpus: its token file
  s.data_dir = absolute_path(job.dataset.path);
  s.seq_len = job.dataset.kind == "tokens" ? job.config.data.seq_len : 0;
  s.validation_size = job.config.data.validation_size;
  s.train_subset = job.config.data.train_subset;
  s.split_seed = static_cast<uint64_t>(job.config.seed);
  s.dataset_fingerprint = setup.meta.dataset_fingerprint;
  s.num_samples = static_cast<int64_t>(setup.samples.size());
  s.soft_label_dir = absolute_path(setup.soft_label_dir);
  s.temperature = setup.meta.temperature;
  s.num_classes = setup.meta.num_classes;
  s.dtype = setup.dtype == LogitDType::kFloat16 ? "float16" : "float32";
  s.top_k = setup.top_k;
  s.views = setup.views;
  s.augment_seed = setup.augment_seed;
  s.flip = setup.flip;
  s.batch_size = setup.batch_size;
  s.precision = job.config.teacher.precision;
  s.topk_dtype = value_format_name(setup.meta.value_format);
  return s;
}

// The coordinator's view of the job: the spec, the run directory, the
// job's --local-workers / --listen / --http / timeouts, and the dashboard.
LabelServiceSetup service_setup(const JobContext& job, const LabellerSetup& setup, int ranks) {
  const JobOptions& o = job.options;
  LabelServiceSetup s;
  s.spec = label_spec(job, setup);
  s.job_name = job.config.name;
  s.paths = job.paths;
  s.local_workers = o.local_workers;
  s.device = job.config.runtime.device;
  s.worker_threads = std::max(1, at::get_num_threads() / std::max(1, o.local_workers));
  s.listen = listen_for_ranks(job, ranks);
  s.http_listen = o.http_listen;
  s.read_timeout_ms = o.read_timeout_ms;
  s.lease_ms = o.lease_ms;
  s.resume_journal = !o.relabel;  // --relabel: an interrupted journal is not replayed
  s.dashboard = o.dashboard;
  s.http = job.http;  // rank 0: the job's listener serves the labelling's routes too
  return s;
}

// Labels as a worker of rank 0's coordinator until there is no more work
// (or, `stoppable`, a stop signal). In-process rather than a child: the rank
// has nothing else to do meanwhile, its runtime.threads are already set for
// it, and a failure ends the rank like any other error (mpirun then ends the
// job).
void label_as_worker(const JobContext& job, const std::string& message, int rank,
                     bool stoppable) {
  const size_t newline = message.find('\n');
  WorkerOptions o;
  o.coordinator = message.substr(0, newline);
  o.token = message.substr(newline + 1);
  o.device = job.device.str();
  o.name = "rank-" + std::to_string(rank);
  if (stoppable) o.stop = stop_requested;
  run_worker(o);
}

// Pipelined mode: the last k ranks label; the others (rank 0 among them,
// hosting the coordinator on a thread) train on shards as they come.
SoftLabels pipelined_labels(JobContext& job, const LabellerSetup& setup, Manifest manifest,
                            const SoftLabelSource& source, RankTimeline timeline,
                            LabelServiceSetup service, bool teacher_trained_here) {
  Communicator& world = *job.options.comm;
  const int rank = world.rank();
  const bool teacher_rank = rank >= world.size() - job.config.roles.teacher_ranks;
  SoftLabels labels;
  std::unique_ptr<Communicator> group = world.split(teacher_rank ? 1 : 0);
  if (teacher_rank) {
    timeline.role = "teacher";
    timeline.label_start = unix_seconds();
    const std::string message = broadcast_text(world, "", 0);
    // A stop signal ends the teacher ranks too (the students checkpoint).
    if (!message.empty()) label_as_worker(job, message, rank, /*stoppable=*/true);
    timeline.label_end = unix_seconds();
    timeline.write(job.paths.root);
    labels.students = std::move(group);  // the teacher ranks' group, unused
    labels.labeller_only = true;
    return labels;
  }
  timeline.role = "student";
  Manifest layout = manifest;
  layout.shards.clear();
  labels.table = load_soft_labels(source, layout, job.train_data.size(), {}, 1);  // all NaN
  labels.pipeline =
      std::make_unique<ShardPipeline>(job, *group, source, layout, labels.table, timeline);
  std::string message;
  if (rank == 0) {
    const auto tasks = plan_label_tasks(static_cast<int64_t>(setup.samples.size()),
                                        job.config.soft_labels.shard_rows);
    const auto todo = tasks_to_label(job, tasks, manifest, teacher_trained_here);
    labels.pipeline->book().keep_if_from(tasks);
    service.local_workers = 0;  // rank 0's cores train the student
    LabelServiceHooks hooks;
    hooks.stop = stop_requested;
    ShardOrderBook& book = labels.pipeline->book();
    hooks.committed = [&book](const Manifest& m) { book.committed(m); };
    const std::string control = labels.pipeline->start_labelling(
        [service, tasks, todo, manifest, hooks](
            const std::function<void(const std::string&)>& serving) {
          LabelServiceHooks h = hooks;
          h.serving = serving;
          return label_with_workers(service, tasks, todo, manifest, h);
        });
    message = coordinator_message(job, control);
  }
  broadcast_text(world, message, 0);
  labels.students = std::move(group);
  labels.pipeline->timeline().train_start = unix_seconds();
  labels.pipeline->timeline().write(job.paths.root);
  log_info("label: pipelined, ", job.config.roles.teacher_ranks, " teacher rank(s) label while ",
           labels.students->size(), " rank(s) train on committed shards");
  return labels;
}

// The teacher's side of the job's labelling: samples, provenance, layout.
LabellerSetup job_labeller_setup(const JobContext& job) {
  const SoftLabelConfig& s = job.config.soft_labels;
  LabellerSetup setup;
  setup.images = job.train_data.images;
  setup.samples = job.train.indices;
  setup.meta.teacher_sha256 = job.report.teacher_sha256;
  setup.meta.dataset_fingerprint = job.report.dataset_fingerprint;
  setup.meta.temperature = s.temperature;
  setup.meta.num_classes = job.train_data.num_classes;
  setup.meta.producer = "condenser";
  if (!parse_logit_dtype(s.dtype, &setup.dtype)) {
    throw UsageError("soft_labels.dtype: unknown dtype '" + s.dtype + "'; use float32 or float16");
  }
  if (s.format == "topk") {
    if (s.top_k > setup.meta.num_classes) {
      throw UsageError("soft_labels.top_k = " + std::to_string(s.top_k) + " exceeds the " +
                       std::to_string(setup.meta.num_classes) + " classes of the dataset");
    }
    setup.top_k = s.top_k;
    setup.meta.top_k = s.top_k;
    if (!parse_value_format(s.topk_dtype, &setup.meta.value_format)) {
      throw UsageError("soft_labels.topk_dtype: unknown format '" + s.topk_dtype +
                       "'; use float32, float16, bfloat16 or int8");
    }
  }
  setup.views = s.views_per_sample;
  // Token windows: one top-k per position (preflight made format topk).
  if (job.dataset.kind == "tokens") {
    setup.positions = setup.meta.positions = job.config.data.seq_len;
  }
  setup.augment_seed = augment_seed(job.config);
  setup.flip = job.config.soft_labels.flip;
  setup.batch_size = s.batch_size;
  setup.soft_label_dir = job.paths.soft_labels;
  return setup;
}

// The manifest's provenance and layout fields, no shards yet.
Manifest job_manifest(const JobContext& job, const LabellerSetup& setup) {
  const SoftLabelConfig& s = job.config.soft_labels;
  Manifest manifest;
  manifest.teacher_sha256 = setup.meta.teacher_sha256;
  manifest.dataset_fingerprint = setup.meta.dataset_fingerprint;
  manifest.num_classes = setup.meta.num_classes;
  manifest.temperature = s.temperature;
  manifest.dtype = setup.top_k > 0 ? value_format_name(setup.meta.value_format) : s.dtype;
  manifest.positions = setup.meta.positions;
  manifest.format = s.format;
  manifest.top_k = setup.top_k;
  manifest.views = setup.views;
  manifest.teacher_precision = job.config.teacher.precision;
  manifest.flip = setup.flip;
  manifest.total_rows = static_cast<int64_t>(setup.samples.size()) * setup.views;
  return manifest;
}

}  // namespace

SoftLabels label_stage(JobContext& job, torch::jit::Module& teacher, bool teacher_trained_here) {
  const SoftLabelConfig& s = job.config.soft_labels;
  const auto start = Clock::now();
  const LabellerSetup setup = job_labeller_setup(job);
  Manifest manifest = job_manifest(job, setup);
  Communicator* world = job.options.comm;
  const int ranks = world ? world->size() : 1;
  const int teacher_ranks = job.config.roles.teacher_ranks;
  check_rank_roles(job.config, ranks);
  const SoftLabelSource source{job.paths.soft_labels, job.report.teacher_sha256,
                               job.report.dataset_fingerprint};
  RankTimeline timeline;
  timeline.rank = world ? world->rank() : 0;
  timeline.world = ranks;
  LabelServiceSetup service = service_setup(job, setup, ranks);
  if (teacher_ranks > 0) {
    return pipelined_labels(job, setup, manifest, source, timeline, service, teacher_trained_here);
  }
  // Phased: rank 0 hosts the coordinator, every other rank labels as a
  // worker of it; then all of them read the same verified shards.
  int64_t labelled_tasks = 0;
  timeline.label_start = unix_seconds();
  if (job.is_root()) {
    const auto tasks = plan_label_tasks(static_cast<int64_t>(setup.samples.size()), s.shard_rows);
    const auto todo = tasks_to_label(job, tasks, manifest, teacher_trained_here);
    LabelServiceHooks hooks;
    hooks.serving = [&](const std::string& control) {
      if (ranks > 1) broadcast_text(*world, coordinator_message(job, control), 0);
    };
    const LabellingResult labelled = label_with_workers(service, tasks, todo, manifest, hooks);
    job.report.teacher_forward_samples = labelled.teacher_forward_samples;
    labelled_tasks = static_cast<int64_t>(todo.size());
  } else {
    const std::string message = broadcast_text(*world, "", 0);
    // Phased: labelling completes; a stop takes effect at the next step.
    if (!message.empty()) label_as_worker(job, message, world->rank(), /*stoppable=*/false);
  }
  timeline.label_end = unix_seconds();
  job.barrier();
  job.record("label", since(start), labelled_tasks, nullptr);

  // Training reads the soft labels back from the shards (verified), not from
  // the labeller's memory: as one table, or streamed shard by shard.
  SoftLabels labels;
  if (s.reader == "stream") {
    labels.stream = std::make_unique<ShardStream>(source, load_manifest(job.paths.manifest),
                                                  s.prefetch_depth, mix_seed(job.config.seed, 4));
  } else {
    labels.table = load_soft_labels(source, load_manifest(job.paths.manifest),
                                    job.train_data.size(), job.train.indices, s.prefetch_depth);
  }
  timeline.train_start = unix_seconds();
  timeline.write(job.paths.root);
  return labels;
}

void check_rank_roles(const Config& config, int ranks) {
  const int k = config.roles.teacher_ranks;
  if (k > 0 && k >= ranks) {
    throw UsageError("roles.teacher_ranks = " + std::to_string(k) + " needs more ranks than that "
                     "(this job has " + std::to_string(ranks) + "): at least one rank must train "
                     "the student; use 0 .. " + std::to_string(ranks - 1) + " or start " +
                     std::to_string(k + 1) + " or more ranks (mpirun -n " + std::to_string(k + 1) +
                     ")");
  }
  if (k > 0 && config.soft_labels.reader != "memory") {
    throw UsageError("roles.teacher_ranks > 0 (pipelined) trains from shards as they are "
                     "committed into one table; set soft_labels.reader: memory");
  }
}

}  // namespace condenser
