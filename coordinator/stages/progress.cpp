#include "coordinator/stages/progress.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <mutex>

#include "cluster/rank_env.h"
#include "config/prune_plan.h"
#include "core/files.h"
#include "core/log.h"
#include "data/sampling.h"

namespace condenser {
namespace {

std::string eta_text(double s) {
  if (!std::isfinite(s) || s < 0) return "?";
  const auto t = static_cast<int64_t>(std::llround(s));
  char buf[32];
  if (t < 60)
    std::snprintf(buf, sizeof buf, "%llds", static_cast<long long>(t));
  else if (t < 3600)
    std::snprintf(buf, sizeof buf, "%lldm%02llds", static_cast<long long>(t / 60),
                  static_cast<long long>(t % 60));
  else
    std::snprintf(buf, sizeof buf, "%lldh%02lldm", static_cast<long long>(t / 3600),
                  static_cast<long long>(t % 3600 / 60));
  return buf;
}

int percent_of(int64_t step, int64_t total) {
  return total > 0 ? static_cast<int>(std::min<int64_t>(100, 100 * step / total)) : 0;
}

double steady_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

}  // namespace

std::vector<StagePlan> plan_progress(const Config& c, int64_t train_samples, int world_size) {
  const auto steps = [&](const OptimConfig& o) {
    return int64_t(o.epochs) * steps_per_epoch(train_samples, o.batch_size, world_size);
  };
  std::vector<StagePlan> plan;
  if (c.teacher.path.empty())
    plan.push_back({"teacher", c.teacher.train.epochs, steps(c.teacher.train)});
  plan.push_back({"label", 0, 0});
  if (c.control.enabled) {
    plan.push_back({"control", c.student.train.epochs, steps(c.student.train)});
  }
  plan.push_back({"distill", c.student.train.epochs, steps(c.student.train)});
  if (c.prune.enabled) {
    // The planned stages (retries, if any, are added as they happen).
    const std::vector<PruneStep> prune = prune_steps(c.prune);
    for (size_t i = 0; i < prune.size(); ++i) {
      OptimConfig o = c.prune.finetune;
      o.epochs = prune[i].epochs;
      plan.push_back({prune.size() == 1 ? "prune" : "prune." + std::to_string(i + 1), o.epochs,
                      steps(o)});
    }
  }
  plan.push_back({"export", 0, 0});
  return plan;
}

std::string format_progress_bar(const std::string& stage, int index, int count, int64_t step,
                                int64_t total, double rate, double eta_s, int width) {
  const int filled =
      total > 0 ? static_cast<int>(std::min<int64_t>(width, width * step / total)) : 0;
  char buf[256];
  std::snprintf(buf, sizeof buf, "%s [%d/%d] [%s%s] %3d%%  %lld/%lld steps  %.1f steps/s  ETA %s",
                stage.c_str(), index, count, std::string(size_t(filled), '#').c_str(),
                std::string(size_t(width - filled), '-').c_str(), percent_of(step, total),
                static_cast<long long>(step), static_cast<long long>(total),
                std::isfinite(rate) ? rate : 0.0, eta_text(eta_s).c_str());
  return buf;
}

std::string format_progress_line(const std::string& stage, int index, int count, int64_t step,
                                 int64_t total, double rate, double eta_s) {
  char buf[256];
  std::snprintf(
      buf, sizeof buf, "progress: %s (stage %d of %d) step %lld/%lld (%d%%), %.1f steps/s, ETA %s",
      stage.c_str(), index, count, static_cast<long long>(step), static_cast<long long>(total),
      percent_of(step, total), std::isfinite(rate) ? rate : 0.0, eta_text(eta_s).c_str());
  return buf;
}

ProgressReporter::ProgressReporter(std::vector<StagePlan> plan, std::ostream& out,
                                   ProgressOptions options)
    : out_(out), options_(std::move(options)) {
  if (!options_.now) options_.now = steady_seconds;
  for (StagePlan& p : plan) stages_.push_back({std::move(p)});
  start_ = stage_start_ = options_.now();
  if (options_.tty) {
    // Log lines (stderr, same terminal) must not land in the middle of the bar.
    set_log_line_hooks([this] { clear_bar(); }, [this] { draw_bar(); });
  }
}

ProgressReporter::~ProgressReporter() {
  if (options_.tty) set_log_line_hooks(nullptr, nullptr);
  clear_bar();
}

ProgressReporter::StageState* ProgressReporter::stage(const std::string& name) {
  for (StageState& s : stages_) {
    if (s.plan.name == name) return &s;
  }
  stages_.push_back({StagePlan{name, 0, 0}});  // a stage the plan did not know
  return &stages_.back();
}

double ProgressReporter::rate() const {
  for (const StageState& s : stages_) {
    if (s.plan.name == current_) {
      const double dt = options_.now() - stage_start_;
      return dt > 0 ? double(s.step) / dt : 0.0;
    }
  }
  return 0.0;
}

double ProgressReporter::eta_seconds() const {
  const double r = rate();
  for (const StageState& s : stages_) {
    if (s.plan.name == current_ && r > 0)
      return double(std::max<int64_t>(0, s.plan.total_steps - s.step)) / r;
  }
  return NAN;
}

void ProgressReporter::on_record(const nlohmann::json& rec) {
  std::lock_guard<std::recursive_mutex> lock(mutex_);
  if (!rec.is_object() || !rec.contains("stage") || !rec.contains("step")) return;
  current_ = rec["stage"].get<std::string>();
  StageState* s = stage(current_);
  s->step = rec["step"].get<int64_t>();
  // An epoch end tells the real steps per epoch (data-parallel sharding, a
  // streamed epoch): correct the estimate.
  if (rec.contains("val_accuracy") && rec.contains("epoch") && s->plan.epochs > 0) {
    const int64_t epoch = rec["epoch"].get<int64_t>();
    if (epoch > 0) s->plan.total_steps = s->step / epoch * s->plan.epochs;
  }
  s->plan.total_steps = std::max(s->plan.total_steps, s->step);
  report(false);
}

void ProgressReporter::on_stage_done(const std::string& name, double seconds) {
  std::lock_guard<std::recursive_mutex> lock(mutex_);
  StageState* s = stage(name);
  s->done = true;
  s->seconds = seconds;
  s->plan.total_steps = std::max(s->plan.total_steps, s->step);
  current_ = name;
  report(true);
  stage_start_ = options_.now();
  // The next stage of the plan starts now (its first record comes only after
  // log_every steps): show it at step 0 meanwhile.
  for (size_t i = 0; i + 1 < stages_.size(); ++i) {
    if (stages_[i].plan.name == name && !stages_[i + 1].done) {
      current_ = stages_[i + 1].plan.name;
      break;
    }
  }
  if (!options_.progress_file.empty()) {
    last_file_ = options_.now();
    atomic_write_file(options_.progress_file, snapshot().dump(2) + "\n");
  }
}

void ProgressReporter::finish() {
  std::lock_guard<std::recursive_mutex> lock(mutex_);
  finished_ = true;
  clear_bar();
  if (!options_.progress_file.empty()) {
    atomic_write_file(options_.progress_file, snapshot().dump(2) + "\n");
  }
}

nlohmann::json ProgressReporter::snapshot() const {
  std::lock_guard<std::recursive_mutex> lock(mutex_);
  nlohmann::json stages = nlohmann::json::array();
  int64_t step = 0, total = 0;
  for (const StageState& s : stages_) {
    stages.push_back({{"name", s.plan.name},
                      {"steps", s.step},
                      {"total_steps", s.plan.total_steps},
                      {"done", s.done},
                      {"seconds", s.seconds}});
    if (s.plan.name == current_) step = s.step, total = s.plan.total_steps;
  }
  const double eta = eta_seconds();
  return {{"job", options_.job},
          {"stage", current_},
          {"step", step},
          {"total_steps", total},
          {"rate_steps_per_s", rate()},
          {"eta_seconds", std::isfinite(eta) ? nlohmann::json(eta) : nlohmann::json(nullptr)},
          {"elapsed_seconds", options_.now() - start_},
          {"finished", finished_},
          {"stages", stages}};
}

void ProgressReporter::report(bool force) {
  const double t = options_.now();
  if (!options_.progress_file.empty() && (force || t - last_file_ >= options_.file_interval_s)) {
    last_file_ = t;
    atomic_write_file(options_.progress_file, snapshot().dump(2) + "\n");
  }
  if (options_.tty) {
    if (force || t - last_draw_ >= options_.redraw_interval_s) draw_bar();
    return;
  }
  const StageState* s = stage(current_);
  if (s->plan.epochs == 0) return;  // label/export: the log says when they end
  const std::string key = current_ + ":" + std::to_string(s->step);
  if ((force || t - last_plain_ >= options_.plain_interval_s) && key != last_plain_key_) {
    last_plain_ = t;
    last_plain_key_ = key;  // a stage end right after its last epoch line says nothing new
    int index = 1;
    while (index <= int(stages_.size()) && stages_[size_t(index - 1)].plan.name != current_)
      ++index;
    out_ << format_progress_line(current_, index, int(stages_.size()), s->step, s->plan.total_steps,
                                 rate(), s->done ? 0.0 : eta_seconds())
         << "\n"
         << std::flush;
  }
}

void ProgressReporter::clear_bar() {
  std::lock_guard<std::recursive_mutex> lock(mutex_);
  if (!bar_shown_) return;
  out_ << "\r\033[K" << std::flush;
  bar_shown_ = false;
}

void ProgressReporter::draw_bar() {
  std::lock_guard<std::recursive_mutex> lock(mutex_);
  if (!options_.tty || current_.empty() || finished_) return;
  last_draw_ = options_.now();
  int index = 1;
  while (index <= int(stages_.size()) && stages_[size_t(index - 1)].plan.name != current_) ++index;
  const StageState* s = index <= int(stages_.size()) ? &stages_[size_t(index - 1)] : nullptr;
  if (s == nullptr || s->plan.epochs == 0 || s->done) return;
  out_ << "\r\033[K"
       << format_progress_bar(current_, index, int(stages_.size()), s->step, s->plan.total_steps,
                              rate(), eta_seconds(), options_.bar_width)
       << std::flush;
  bar_shown_ = true;
}

std::unique_ptr<ProgressReporter> make_job_progress(const Config& config,
                                                    const std::string& run_dir,
                                                    int64_t train_samples) {
  const RankEnv env = discover_rank_env();
  if (env.rank != 0) return nullptr;
  ProgressOptions o;
  o.job = config.name;
  o.tty = ::isatty(STDOUT_FILENO) == 1;
  o.progress_file = run_dir + "/progress.json";
  return std::make_unique<ProgressReporter>(plan_progress(config, train_samples, env.world_size),
                                            std::cout, std::move(o));
}

}  // namespace condenser
