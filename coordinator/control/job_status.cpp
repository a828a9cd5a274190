#include "coordinator/control/job_status.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <sstream>

namespace condenser {
namespace {

using nlohmann::json;

bool known(double x) { return std::isfinite(x) && x >= 0; }

json or_null(double x) { return known(x) ? json(x) : json(nullptr); }

double steady_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

const JobStageStatus* current(const JobStatusData& d) {
  for (const JobStageStatus& s : d.stages) {
    if (s.name == d.stage) return &s;
  }
  return nullptr;
}

json stage_json(const JobStageStatus& s) {
  json j = {{"name", s.name},
            {"epochs", s.epochs},
            {"step", s.step},
            {"total_steps", s.total_steps},
            {"epoch", s.epoch},
            {"loss", or_null(s.loss)},
            {"val_accuracy", or_null(s.val_accuracy)},
            {"done", s.done},
            {"seconds", s.seconds}};
  if (known(s.val_perplexity)) j["val_perplexity"] = s.val_perplexity;
  return j;
}

// Prometheus text for a value that may be unknown.
std::string number(double x) {
  if (std::isnan(x)) return "NaN";
  std::ostringstream out;
  out.precision(10);
  out << x;
  return out.str();
}

// A label value with backslashes, quotes and newlines escaped (exposition format).
std::string label_value(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

}  // namespace

json job_status_json(const JobStatusData& d) {
  json j;
  j["job"] = d.job;
  j["stage"] = d.stage;
  j["finished"] = d.finished;
  j["elapsed_seconds"] = d.elapsed_seconds;
  const JobStageStatus* now = current(d);
  const JobStageStatus none;
  const JobStageStatus& s = now ? *now : none;
  j["step"] = s.step;
  j["total_steps"] = s.total_steps;
  j["epoch"] = s.epoch;
  j["loss"] = or_null(s.loss);
  j["val_accuracy"] = or_null(s.val_accuracy);
  j["progress"] = s.done || d.finished ? 1.0
                  : s.total_steps > 0
                      ? static_cast<double>(s.step) / static_cast<double>(s.total_steps)
                      : 0.0;
  j["stages"] = json::array();
  for (const JobStageStatus& st : d.stages) j["stages"].push_back(stage_json(st));
  j["prune_attempts"] = json::array();
  for (const JobPruneAttemptStatus& a : d.prune_attempts) {
    j["prune_attempts"].push_back({{"name", a.name},
                                   {"stage", a.stage},
                                   {"target_sparsity", a.target_sparsity},
                                   {"sparsity", a.sparsity},
                                   {"passed", a.passed},
                                   {"val_accuracy", a.val_accuracy},
                                   {"test_accuracy", a.test_accuracy}});
  }
  j["checkpoints"] = {{"written", d.checkpoints}, {"latest", nullptr}};
  if (!d.latest_checkpoint.empty()) {
    j["checkpoints"]["latest"] = {{"path", d.latest_checkpoint},
                                  {"stage", d.latest_checkpoint_stage},
                                  {"step", d.latest_checkpoint_step}};
  }
  return j;
}

std::string job_metrics_text(const JobStatusData& d) {
  std::ostringstream out;
  const auto gauge = [&out](const char* name, const char* help, const std::string& value) {
    out << "# HELP " << name << " " << help << "\n# TYPE " << name << " gauge\n"
        << name << " " << value << "\n";
  };
  const JobStageStatus* now = current(d);
  const JobStageStatus none;
  const JobStageStatus& s = now ? *now : none;
  out << "# HELP condenser_job_info The job's name (1).\n# TYPE condenser_job_info gauge\n"
      << "condenser_job_info{job=\"" << label_value(d.job) << "\"} 1\n";
  out << "# HELP condenser_job_stage_info The stage the job runs now (1).\n"
      << "# TYPE condenser_job_stage_info gauge\n"
      << "condenser_job_stage_info{stage=\"" << label_value(d.stage) << "\"} 1\n";
  int64_t done = 0, passed = 0;
  for (const JobStageStatus& st : d.stages) done += st.done ? 1 : 0;
  for (const JobPruneAttemptStatus& a : d.prune_attempts) passed += a.passed ? 1 : 0;
  gauge("condenser_job_step", "Training steps done in the current stage.", number(s.step));
  gauge("condenser_job_steps_total", "Training steps planned for the current stage.",
        number(s.total_steps));
  gauge("condenser_job_epoch", "Epoch of the current stage's last record.", number(s.epoch));
  gauge("condenser_job_loss", "Last training loss of the current stage (NaN: none yet).",
        number(known(s.loss) ? s.loss : NAN));
  gauge("condenser_job_val_accuracy",
        "Last validation accuracy of the current stage, 0..1 (NaN: none yet).",
        number(known(s.val_accuracy) ? s.val_accuracy : NAN));
  gauge("condenser_job_stages_done", "Stages finished.", number(done));
  gauge("condenser_job_prune_attempts_total", "Prune attempts decided.",
        number(static_cast<double>(d.prune_attempts.size())));
  gauge("condenser_job_prune_attempts_passed_total", "Prune attempts kept (within the budget).",
        number(passed));
  gauge("condenser_job_checkpoints_total", "Checkpoints written by this job.",
        number(d.checkpoints));
  gauge("condenser_job_elapsed_seconds", "Seconds since the job started.",
        number(d.elapsed_seconds));
  gauge("condenser_job_finished", "1 once the export is complete.", d.finished ? "1" : "0");
  return out.str();
}

JobStatus::JobStatus(std::string job, std::vector<JobStageStatus> plan, std::function<double()> now)
    : now_(now ? std::move(now) : steady_seconds) {
  data_.job = std::move(job);
  data_.stage = "start";
  start_ = now_();
  if (!plan.empty()) set_plan(std::move(plan));
}

void JobStatus::set_plan(std::vector<JobStageStatus> plan) {
  std::lock_guard<std::mutex> lock(mutex_);
  data_.stages = std::move(plan);
  if (!data_.stages.empty()) data_.stage = data_.stages.front().name;
}

JobStageStatus& JobStatus::stage(const std::string& name) {
  for (JobStageStatus& s : data_.stages) {
    if (s.name == name) return s;
  }
  // A stage the plan did not know (a loaded teacher's record, a prune
  // retry): before the first stage not done yet.
  const auto at = std::find_if(data_.stages.begin(), data_.stages.end(),
                               [](const JobStageStatus& s) { return !s.done; });
  JobStageStatus added;
  added.name = name;
  return *data_.stages.insert(at, added);
}

void JobStatus::on_record(const json& r) {
  if (!r.is_object() || !r.contains("stage") || !r["stage"].is_string() || !r.contains("step") ||
      !r["step"].is_number_integer()) {
    return;
  }
  std::lock_guard<std::mutex> lock(mutex_);
  data_.stage = r["stage"].get<std::string>();
  JobStageStatus& s = stage(data_.stage);
  s.step = r["step"].get<int64_t>();
  if (r.contains("epoch") && r["epoch"].is_number_integer()) s.epoch = r["epoch"].get<int64_t>();
  for (const char* key : {"loss", "train_loss"}) {
    if (r.contains(key) && r[key].is_number()) s.loss = r[key].get<double>();
  }
  if (r.contains("val_accuracy") && r["val_accuracy"].is_number()) {
    s.val_accuracy = r["val_accuracy"].get<double>();
    // An epoch end tells the real steps per epoch: correct the estimate.
    if (s.epoch > 0 && s.epochs > 0) s.total_steps = s.step / s.epoch * s.epochs;
  }
  s.total_steps = std::max(s.total_steps, s.step);
}

void JobStatus::on_stage_done(const std::string& name, double seconds, int64_t steps,
                              double val_accuracy, double val_perplexity) {
  std::lock_guard<std::mutex> lock(mutex_);
  JobStageStatus& s = stage(name);
  s.done = true;
  s.seconds = seconds;
  s.step = std::max(s.step, steps);
  s.total_steps = std::max(s.total_steps, s.step);
  if (known(val_accuracy)) s.val_accuracy = val_accuracy;
  if (known(val_perplexity)) s.val_perplexity = val_perplexity;
  // The first stage not done runs now (pipelined, the label stage ends
  // while a student stage trains); none: the last one stays.
  data_.stage = name;
  for (const JobStageStatus& st : data_.stages) {
    if (!st.done) {
      data_.stage = st.name;
      break;
    }
  }
}

void JobStatus::set_prune_attempts(std::vector<JobPruneAttemptStatus> attempts) {
  std::lock_guard<std::mutex> lock(mutex_);
  data_.prune_attempts = std::move(attempts);
}

void JobStatus::on_checkpoint(const std::string& path, const std::string& stage, int64_t job_step) {
  std::lock_guard<std::mutex> lock(mutex_);
  ++data_.checkpoints;
  data_.latest_checkpoint = path;
  data_.latest_checkpoint_stage = stage;
  data_.latest_checkpoint_step = job_step;
}

void JobStatus::finish() {
  std::lock_guard<std::mutex> lock(mutex_);
  data_.finished = true;
}

JobStatusData JobStatus::snapshot() const {
  std::lock_guard<std::mutex> lock(mutex_);
  JobStatusData d = data_;
  d.elapsed_seconds = now_() - start_;
  return d;
}

HttpRoutes job_routes(const JobStatus& status, std::function<std::string()> dashboard) {
  HttpRoutes routes;
  routes.status = [&status] { return job_status_json(status.snapshot()).dump(2) + "\n"; };
  routes.metrics = [&status] { return job_metrics_text(status.snapshot()); };
  routes.dashboard = std::move(dashboard);
  return routes;
}

}  // namespace condenser
