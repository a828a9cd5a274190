#include "report/job_report.h"

#include <cmath>
#include <cstdio>

#include "core/errors.h"

namespace condenser {
namespace {

nlohmann::json stats_json(const ModelStats& s) {
  nlohmann::json j = {{"parameters", s.parameters},     {"nonzeros", s.nonzeros},
                      {"sparsity", s.sparsity},         {"val_accuracy", s.val_accuracy},
                      {"test_accuracy", s.test_accuracy}};
  if (s.test_perplexity > 0) {
    j["val_perplexity"] = s.val_perplexity;
    j["test_perplexity"] = s.test_perplexity;
  }
  return j;
}

ModelStats stats_from(const nlohmann::json& j) {
  ModelStats s;
  s.parameters = j.at("parameters").get<int64_t>();
  s.nonzeros = j.at("nonzeros").get<int64_t>();
  s.sparsity = j.at("sparsity").get<double>();
  s.val_accuracy = j.at("val_accuracy").get<double>();
  s.test_accuracy = j.at("test_accuracy").get<double>();
  s.val_perplexity = j.value("val_perplexity", 0.0);
  s.test_perplexity = j.value("test_perplexity", 0.0);
  return s;
}

std::string pct(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f%%", 100.0 * v);
  return buf;
}

nlohmann::json count_or_null(int64_t n) { return n >= 0 ? nlohmann::json(n) : nlohmann::json(); }

nlohmann::json attempt_json(const PruneAttempt& a) {
  nlohmann::json j = {{"name", a.name},       {"stage", a.stage},
                      {"retry", a.retry},     {"target_sparsity", a.target},
                      {"model", stats_json(a.model)}, {"flops", count_or_null(a.flops)},
                      {"dense_flops", count_or_null(a.dense_flops)},
                      {"layer_sparsity", a.layer_sparsity},
                      {"drop_points", a.drop_points}, {"passed", a.passed},
                      {"seconds", a.seconds},   {"steps", a.steps}};
  if (a.val_perplexity_before > 0) j["val_perplexity_before_recovery"] = a.val_perplexity_before;
  for (const TokenSpeed& t : a.tokens_per_s) {
    j["tokens_per_s"].push_back(
        {{"batch", t.batch}, {"pruned", t.pruned}, {"dense", t.dense}, {"speedup", t.speedup()}});
  }
  return j;
}

PruneAttempt attempt_from(const nlohmann::json& j) {
  PruneAttempt a;
  a.name = j.at("name").get<std::string>();
  a.stage = j.at("stage").get<int>();
  a.retry = j.at("retry").get<int>();
  a.target = j.at("target_sparsity").get<double>();
  a.model = stats_from(j.at("model"));
  a.flops = j.at("flops").is_null() ? -1 : j.at("flops").get<int64_t>();
  a.dense_flops = j.at("dense_flops").is_null() ? -1 : j.at("dense_flops").get<int64_t>();
  a.layer_sparsity = j.at("layer_sparsity");
  a.drop_points = j.at("drop_points").get<double>();
  a.passed = j.at("passed").get<bool>();
  a.seconds = j.at("seconds").get<double>();
  a.steps = j.at("steps").get<int64_t>();
  a.val_perplexity_before = j.value("val_perplexity_before_recovery", 0.0);
  for (const auto& t : j.value("tokens_per_s", nlohmann::json::array())) {
    a.tokens_per_s.push_back({t.at("batch").get<int64_t>(), t.at("pruned").get<double>(),
                              t.at("dense").get<double>()});
  }
  return a;
}

// Language models: "test perplexity: teacher 12.3, student 15.1, control 16.0 (-5.6 %)".
std::string perplexity_line(const JobReport& r) {
  char line[256];
  std::snprintf(line, sizeof line, "test perplexity: teacher %.3f, student %.3f",
                r.teacher.test_perplexity, r.student_final.test_perplexity);
  std::string out = line;
  if (r.has_control && r.student_control.test_perplexity > 0) {
    std::snprintf(line, sizeof line, ", control without the teacher %.3f (distilled %.3f, %.2f%% lower)",
                  r.student_control.test_perplexity, r.student_dense.test_perplexity,
                  distillation_perplexity_gain_percent(r));
    out += line;
  }
  return out + "\n";
}

nlohmann::json data_json(const DataSummary& d) {
  nlohmann::json j = {{"kind", d.kind},
                      {"path", d.path},
                      {"sample_shape", d.sample_shape},
                      {"input_dtype", d.input_dtype},
                      {"normalisation", d.normalisation},
                      {"classes", d.classes},
                      {"class_names", d.class_names},
                      {"test_samples", d.test_samples}};
  if (!d.tokenizer_sha256.empty()) {
    j["token_file"] = d.token_file;
    j["tokenizer_sha256"] = d.tokenizer_sha256;
    j["test_tokens"] = d.test_tokens;
  }
  return j;
}

}  // namespace

double distillation_gain_points(const JobReport& r) {
  if (!r.has_control) return std::nan("");
  return 100.0 * (r.student_dense.test_accuracy - r.student_control.test_accuracy);
}

double distillation_gain_val_points(const JobReport& r) {
  if (!r.has_control) return std::nan("");
  return 100.0 * (r.student_dense.val_accuracy - r.student_control.val_accuracy);
}

double distillation_perplexity_gain_percent(const JobReport& r) {
  const double kd = r.student_dense.test_perplexity, ce = r.student_control.test_perplexity;
  if (!r.has_control || kd <= 0 || ce <= 0) return std::nan("");
  return 100.0 * (ce - kd) / ce;
}

nlohmann::json to_json(const JobReport& r) {
  nlohmann::json stages = nlohmann::json::array();
  for (const StageRecord& s : r.stages) {
    nlohmann::json j = {{"name", s.name}, {"seconds", s.seconds}, {"steps", s.steps}};
    if (s.has_model) j["model"] = stats_json(s.model);
    stages.push_back(j);
  }
  nlohmann::json attempts = nlohmann::json::array();
  for (const PruneAttempt& a : r.prune_attempts) attempts.push_back(attempt_json(a));
  return {{"job_name", r.job_name},
          {"data", data_json(r.data)},
          {"teacher_source", r.teacher_source},
          {"teacher_sha256", r.teacher_sha256},
          {"student_model", r.student_model},
          {"dataset_fingerprint", r.dataset_fingerprint},
          {"target_sparsity", r.target_sparsity},
          {"teacher", stats_json(r.teacher)},
          {"student_dense", stats_json(r.student_dense)},
          {"student_final", stats_json(r.student_final)},
          {"student_control", r.has_control ? stats_json(r.student_control) : nlohmann::json()},
          {"stages", stages},
          {"teacher_forward_samples", r.teacher_forward_samples},
          {"soft_label_reads", r.soft_label_reads},
          {"total_seconds", r.total_seconds},
          {"finished", r.finished},
          {"prune_schedule",
           {{"attempts", attempts},
            {"budget_reference_accuracy", r.budget_reference_accuracy},
            {"outcome", r.prune_outcome},
            {"budget_missed", r.budget_missed}}}};
}

JobReport report_from_json(const nlohmann::json& j, const std::string& origin) {
  try {
    JobReport r;
    r.job_name = j.at("job_name").get<std::string>();
    if (j.contains("data")) {  // absent in summaries written before own datasets
      const auto& d = j.at("data");
      r.data.kind = d.at("kind").get<std::string>();
      r.data.path = d.at("path").get<std::string>();
      r.data.sample_shape = d.at("sample_shape").get<std::vector<int64_t>>();
      r.data.input_dtype = d.at("input_dtype").get<std::string>();
      r.data.normalisation = d.at("normalisation").get<std::string>();
      r.data.classes = d.at("classes").get<int>();
      r.data.class_names = d.at("class_names").get<std::vector<std::string>>();
      r.data.test_samples = d.at("test_samples").get<int64_t>();
      r.data.token_file = d.value("token_file", "");
      r.data.tokenizer_sha256 = d.value("tokenizer_sha256", "");
      r.data.test_tokens = d.value("test_tokens", int64_t{0});
    }
    r.teacher_source = j.at("teacher_source").get<std::string>();
    r.teacher_sha256 = j.at("teacher_sha256").get<std::string>();
    r.student_model = j.at("student_model").get<std::string>();
    r.dataset_fingerprint = j.at("dataset_fingerprint").get<std::string>();
    r.target_sparsity = j.at("target_sparsity").get<double>();
    r.teacher = stats_from(j.at("teacher"));
    r.student_dense = stats_from(j.at("student_dense"));
    r.student_final = stats_from(j.at("student_final"));
    // null (or absent, in summaries written before the control) without one
    r.has_control = j.contains("student_control") && !j.at("student_control").is_null();
    if (r.has_control) r.student_control = stats_from(j.at("student_control"));
    for (const auto& s : j.at("stages")) {
      StageRecord rec;
      rec.name = s.at("name").get<std::string>();
      rec.seconds = s.at("seconds").get<double>();
      rec.steps = s.at("steps").get<int64_t>();
      rec.has_model = s.contains("model");
      if (rec.has_model) rec.model = stats_from(s.at("model"));
      r.stages.push_back(rec);
    }
    r.teacher_forward_samples = j.at("teacher_forward_samples").get<int64_t>();
    r.soft_label_reads = j.at("soft_label_reads").get<int64_t>();
    r.total_seconds = j.at("total_seconds").get<double>();
    r.finished = j.at("finished").get<bool>();
    if (j.contains("prune_schedule")) {  // absent in summaries before staged schedules
      const auto& p = j.at("prune_schedule");
      for (const auto& a : p.at("attempts")) r.prune_attempts.push_back(attempt_from(a));
      r.budget_reference_accuracy = p.at("budget_reference_accuracy").get<double>();
      r.prune_outcome = p.at("outcome").get<std::string>();
      r.budget_missed = p.at("budget_missed").get<bool>();
    }
    return r;
  } catch (const nlohmann::json::exception& e) {
    throw UsageError("'" + origin + "' is not a valid condenser job summary (" + e.what() + ")");
  }
}

std::string format_summary_table(const JobReport& r) {
  std::string out;
  char line[256];
  std::snprintf(line, sizeof line, "%-10s %9s %7s %9s %9s %10s %10s %8s\n", "stage", "seconds",
                "steps", "val acc", "test acc", "params", "nonzeros", "sparsity");
  out += line;
  for (const StageRecord& s : r.stages) {
    if (s.has_model) {
      std::snprintf(line, sizeof line, "%-10s %9.1f %7lld %9s %9s %10lld %10lld %8s\n",
                    s.name.c_str(), s.seconds, static_cast<long long>(s.steps),
                    pct(s.model.val_accuracy).c_str(), pct(s.model.test_accuracy).c_str(),
                    static_cast<long long>(s.model.parameters),
                    static_cast<long long>(s.model.nonzeros), pct(s.model.sparsity).c_str());
    } else {
      std::snprintf(line, sizeof line, "%-10s %9.1f %7lld\n", s.name.c_str(), s.seconds,
                    static_cast<long long>(s.steps));
    }
    out += line;
  }
  if (!r.prune_attempts.empty()) {
    std::snprintf(line, sizeof line, "\n%-12s %8s %8s %9s %9s %7s %10s %10s %s\n", "prune stage",
                  "target", "reached", "val acc", "test acc", "drop", "nonzeros", "MFLOPs", "budget");
    out += line;
    for (const PruneAttempt& a : r.prune_attempts) {
      char mflops[32] = "n/a";
      if (a.flops >= 0) std::snprintf(mflops, sizeof mflops, "%.3f", a.flops / 1e6);
      std::snprintf(line, sizeof line, "%-12s %8s %8s %9s %9s %7.2f %10lld %10s %s\n",
                    a.name.c_str(), pct(a.target).c_str(), pct(a.model.sparsity).c_str(),
                    pct(a.model.val_accuracy).c_str(), pct(a.model.test_accuracy).c_str(),
                    a.drop_points, static_cast<long long>(a.model.nonzeros), mflops,
                    a.passed ? "met" : "missed, rolled back");
      out += line;
    }
    if (!r.prune_outcome.empty()) out += r.prune_outcome + "\n";
  }
  std::snprintf(line, sizeof line,
                "\nteacher %s test accuracy, %lld parameters | student %s test accuracy, %lld "
                "parameters (%.1f%% of teacher), %lld nonzeros, sparsity %s | total %.1f s\n",
                pct(r.teacher.test_accuracy).c_str(), static_cast<long long>(r.teacher.parameters),
                pct(r.student_final.test_accuracy).c_str(),
                static_cast<long long>(r.student_final.parameters),
                r.teacher.parameters ? 100.0 * r.student_final.parameters / r.teacher.parameters
                                     : 0.0,
                static_cast<long long>(r.student_final.nonzeros),
                pct(r.student_final.sparsity).c_str(), r.total_seconds);
  out += line;
  if (r.teacher.test_perplexity > 0) out += perplexity_line(r);
  if (r.has_control) {
    std::snprintf(line, sizeof line,
                  "gain from distillation: %+.2f points test (student %s, control without the "
                  "teacher %s; validation %+.2f)\n",
                  distillation_gain_points(r), pct(r.student_dense.test_accuracy).c_str(),
                  pct(r.student_control.test_accuracy).c_str(), distillation_gain_val_points(r));
    out += line;
    if (distillation_gain_points(r) <= 0) {
      out += "distillation did not beat the control on this job: try more student epochs "
             "(the cache makes them cheap), another soft_labels.temperature / student.alpha, "
             "or a stronger teacher\n";
    }
  }
  std::snprintf(line, sizeof line,
                "teacher forward passes: %lld paid once for labelling, %lld avoided by the "
                "soft-label cache\n",
                static_cast<long long>(r.teacher_forward_samples),
                static_cast<long long>(r.soft_label_reads));
  out += line;
  return out;
}

}  // namespace condenser
