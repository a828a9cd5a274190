#include "report/report_charts.h"

#include <algorithm>
#include <map>

#include "report/html.h"
#include "report/svg_chart.h"

namespace condenser {
namespace {

using nlohmann::json;

double num_or(const json& j, const char* key, double fallback) {
  return j.is_object() && j.contains(key) && j[key].is_number() ? j[key].get<double>() : fallback;
}

std::string str_or(const json& j, const char* key, const std::string& fallback) {
  return j.is_object() && j.contains(key) && j[key].is_string() ? j[key].get<std::string>()
                                                                : fallback;
}

// A count field as "12,345".
std::string count_at(const json& j, const char* key) {
  return fmt_count(static_cast<int64_t>(num_or(j, key, 0)));
}

// summary["prune_schedule"]["attempts"], or an empty list.
json prune_attempts(const json& summary) {
  const json schedule =
      summary.is_object() ? summary.value("prune_schedule", json::object()) : json::object();
  return schedule.value("attempts", json::array());
}

// A stage's colour is fixed by its name, so every chart agrees.
std::string stage_color(const std::string& stage) {
  static const std::map<std::string, std::string> kColors = {{"teacher", "#8e5bd6"},
                                                             {"label", "#d4a017"},
                                                             {"distill", "#2e7dd7"},
                                                             {"control", "#9aa5b1"},
                                                             {"prune", "#e8623a"},
                                                             {"export", "#4a5a6a"}};
  // Prune attempts (prune.2, prune.2.1) and the compaction share prune's colour.
  const bool prune = stage.rfind("prune.", 0) == 0 || stage == "compact";
  const auto it = kColors.find(prune ? "prune" : stage);
  return it == kColors.end() ? "#2aa876" : it->second;
}

double global_step(const std::vector<StageSpan>& spans, const json& rec) {
  const std::string stage = str_or(rec, "stage", "");
  for (const StageSpan& s : spans) {
    if (s.stage == stage) return s.offset + num_or(rec, "step", 0.0);
  }
  return num_or(rec, "step", 0.0);
}

std::vector<Marker> stage_markers(const std::vector<StageSpan>& spans) {
  std::vector<Marker> m;
  m.reserve(spans.size());
  for (const StageSpan& s : spans) m.push_back({s.offset, s.stage});
  return m;
}

}  // namespace

std::vector<StageSpan> stage_spans(const std::vector<json>& records) {
  std::vector<StageSpan> spans;
  for (const json& r : records) {
    if (!r.contains("stage") || !r.contains("step")) continue;
    const std::string stage = str_or(r, "stage", "");
    auto it = std::find_if(spans.begin(), spans.end(),
                           [&](const StageSpan& s) { return s.stage == stage; });
    if (it == spans.end()) {
      const double offset = spans.empty() ? 0.0 : spans.back().offset + spans.back().steps;
      spans.push_back({stage, offset, 0.0});
      it = spans.end() - 1;
    }
    it->steps = std::max(it->steps, num_or(r, "step", 0.0));
  }
  return spans;
}

std::string loss_chart(const std::vector<json>& records, const std::string& id_prefix) {
  const std::vector<StageSpan> spans = stage_spans(records);
  LineChart c;
  c.id = id_prefix + "chart-loss";
  c.title = "Training loss against step (teacher: cross-entropy; student: KD + CE)";
  c.x_label = "step (all stages, in order)";
  c.y_label = "loss";
  c.y_from_zero = true;
  c.markers = stage_markers(spans);
  for (const StageSpan& span : spans) {
    Series s{span.stage + " loss", stage_color(span.stage), {}};
    // Step records carry "loss"; a stage that logged no steps (log_every
    // longer than the stage) falls back to its epochs' mean "train_loss".
    const bool has_steps = std::any_of(records.begin(), records.end(), [&](const json& r) {
      return str_or(r, "stage", "") == span.stage && r.contains("loss");
    });
    const char* key = has_steps ? "loss" : "train_loss";
    for (const json& r : records) {
      if (str_or(r, "stage", "") != span.stage || !r.contains(key)) continue;
      s.xy.emplace_back(global_step(spans, r), num_or(r, key, 0.0));
    }
    if (!s.xy.empty()) c.series.push_back(std::move(s));
  }
  return line_chart_svg(c);
}

std::string accuracy_chart(const std::vector<json>& records, const std::string& id_prefix) {
  const std::vector<StageSpan> spans = stage_spans(records);
  LineChart c;
  c.id = id_prefix + "chart-accuracy";
  c.title = "Accuracy against step (per epoch; solid validation, dashed training)";
  c.x_label = "step (all stages, in order)";
  c.y_label = "accuracy";
  c.y_percent = true;
  c.markers = stage_markers(spans);
  for (const StageSpan& span : spans) {
    Series val{span.stage + " val", stage_color(span.stage), {}};
    Series train{span.stage + " train", stage_color(span.stage), {}, true};
    val.points = true;
    train.points = true;  // an epoch alone is a point, not a line
    for (const json& r : records) {
      if (str_or(r, "stage", "") != span.stage || !r.contains("val_accuracy")) continue;
      val.xy.emplace_back(global_step(spans, r), num_or(r, "val_accuracy", 0.0));
      train.xy.emplace_back(global_step(spans, r), num_or(r, "train_accuracy", 0.0));
    }
    if (val.xy.empty()) continue;
    c.series.push_back(std::move(val));
    c.series.push_back(std::move(train));
  }
  return line_chart_svg(c);
}

std::string sparsity_layers_chart(const json& layers, const std::string& id_prefix) {
  BarChart c;
  c.id = id_prefix + "chart-sparsity-layers";
  c.title = "Sparsity per layer of the exported student (zero weights / weights)";
  c.percent = true;
  c.max_value = 1.0;
  if (layers.is_array()) {
    for (const json& l : layers) {
      c.bars.push_back({str_or(l, "name", "?"), num_or(l, "sparsity", 0.0), "",
                        count_at(l, "nonzero") + " / " + count_at(l, "numel") + " kept"});
    }
  }
  return bar_chart_svg(c);
}

std::string accuracy_sparsity_chart(const json& summary, const std::string& id_prefix) {
  LineChart c;
  c.id = id_prefix + "chart-accuracy-sparsity";
  c.title = "Test accuracy against sparsity, stage by stage";
  c.x_label = "share of the dense student's parameters removed or zero";
  c.y_label = "test accuracy";
  c.y_percent = true;
  const json stages =
      summary.is_object() && summary.contains("stages") ? summary["stages"] : json::array();
  double dense = 0.0, teacher_acc = -1.0;
  for (const json& s : stages) {
    if (!s.contains("model")) continue;
    if (str_or(s, "name", "") == "teacher") teacher_acc = num_or(s["model"], "test_accuracy", -1);
    if (str_or(s, "name", "") == "distill") dense = num_or(s["model"], "parameters", 0.0);
  }
  Series student{"student", stage_color("distill"), {}};
  student.points = true;
  for (const json& s : stages) {
    const std::string name = str_or(s, "name", "");
    // The no-teacher control is a baseline, not a state of the student.
    if (!s.contains("model") || name == "teacher" || name == "control" || dense <= 0) continue;
    const double removed = 1.0 - num_or(s["model"], "nonzeros", dense) / dense;
    const double acc = num_or(s["model"], "test_accuracy", 0.0);
    student.xy.emplace_back(removed, acc);
    student.point_labels.push_back(name + " " + fmt_pct(acc, 1));
  }
  if (teacher_acc >= 0) {
    c.series.push_back({"teacher (dense)",
                        stage_color("teacher"),
                        {{0.0, teacher_acc}, {1.0, teacher_acc}},
                        true});
  }
  if (!student.xy.empty()) c.series.push_back(std::move(student));
  c.x_percent = true;
  c.x_lo = 0.0;  // the whole 0..100 % range, so the sparsity reads at a glance
  c.x_hi = 1.0;
  return line_chart_svg(c);
}

std::string perplexity_sparsity_chart(const json& summary, const std::string& id_prefix) {
  LineChart c;
  c.id = id_prefix + "chart-perplexity-sparsity";
  c.title = "Validation perplexity against parameters removed, attempt by attempt";
  c.x_label = "share of the dense student's parameters removed";
  c.y_label = "validation perplexity";
  c.x_percent = true;
  c.x_lo = 0.0;
  c.x_hi = 1.0;
  const json dense = summary.is_object() ? summary.value("student_dense", json::object()) : json();
  const double params = num_or(dense, "parameters", 0.0),
               ppl = num_or(dense, "val_perplexity", 0.0);
  Series cut{"right after the cut", stage_color("control"), {}, true};
  Series recovered{"after recovery", stage_color("prune"), {}};
  cut.points = recovered.points = true;
  for (const json& a : prune_attempts(summary)) {
    if (params <= 0 || !a.contains("model")) continue;
    const double removed = 1.0 - num_or(a["model"], "nonzeros", params) / params;
    const std::string name =
        str_or(a, "name", "?") + (a.value("passed", true) ? "" : " (rolled back)");
    if (a.contains("val_perplexity_before_recovery")) {
      cut.xy.emplace_back(removed, num_or(a, "val_perplexity_before_recovery", 0.0));
      cut.point_labels.push_back("");
    }
    const double after = num_or(a["model"], "val_perplexity", 0.0);
    recovered.xy.emplace_back(removed, after);
    recovered.point_labels.push_back(name + " " + fmt_num(after, 1));
  }
  if (ppl > 0) {
    c.series.push_back({"dense student", stage_color("distill"), {{0.0, ppl}, {1.0, ppl}}, true});
  }
  if (!cut.xy.empty()) c.series.push_back(std::move(cut));
  if (!recovered.xy.empty()) c.series.push_back(std::move(recovered));
  return line_chart_svg(c);
}

std::string token_speed_chart(const json& summary, const std::string& id_prefix) {
  BarChart c;
  c.id = id_prefix + "chart-token-speed";
  c.title = "Tokens/s of each attempt's compacted model over the dense student's";
  c.unit = "x";
  for (const json& a : prune_attempts(summary)) {
    for (const json& t : a.value("tokens_per_s", json::array())) {
      c.bars.push_back({str_or(a, "name", "?") + ", batch " + count_at(t, "batch"),
                        num_or(t, "speedup", 0.0), "", count_at(t, "pruned") + " tok/s"});
    }
  }
  return bar_chart_svg(c);
}

std::string cost_chart(const json& summary, const std::string& id_prefix) {
  StackedBar c;
  c.id = id_prefix + "chart-cost";
  c.title = "Where the time went (seconds)";
  c.unit = " s";
  static const std::map<std::string, std::string> kLabels = {
      {"teacher", "teacher training"},
      {"label", "teacher labelling (inference, paid once)"},
      {"distill", "student distillation"},
      {"control", "no-teacher control (the baseline the gain is measured against)"},
      {"prune", "student pruning + fine-tuning"},
      {"export", "export (latency measurement included)"}};
  const json stages =
      summary.is_object() && summary.contains("stages") ? summary["stages"] : json::array();
  for (const json& s : stages) {
    const std::string name = str_or(s, "name", "?");
    const auto it = kLabels.find(name);
    const bool attempt = name.rfind("prune.", 0) == 0;  // a prune stage or retry of a schedule
    c.segments.push_back({it != kLabels.end() ? it->second
                          : attempt           ? "pruning + fine-tuning (" + name + ")"
                                              : name,
                          num_or(s, "seconds", 0.0),
                          stage_color(name), ""});
  }
  return stacked_bar_svg(c);
}

std::string stage_table_html(const json& summary) {
  std::string t =
      "<table class=\"stages\"><tr><th>stage</th><th>seconds</th><th>steps</th><th>val acc</th>"
      "<th>test acc</th><th>parameters</th><th>nonzeros</th><th>sparsity</th></tr>";
  const json stages =
      summary.is_object() && summary.contains("stages") ? summary["stages"] : json::array();
  for (const json& s : stages) {
    t += "<tr><td>" + html_escape(str_or(s, "name", "?")) + "</td><td>" +
         fmt_num(num_or(s, "seconds", 0), 1) + "</td><td>" + count_at(s, "steps") + "</td>";
    if (s.contains("model")) {
      const json& m = s["model"];
      t += "<td>" + fmt_pct(num_or(m, "val_accuracy", 0)) + "</td><td>" +
           fmt_pct(num_or(m, "test_accuracy", 0)) + "</td><td>" + count_at(m, "parameters") +
           "</td><td>" + count_at(m, "nonzeros") + "</td><td>" + fmt_pct(num_or(m, "sparsity", 0)) +
           "</td>";
    } else {
      t += "<td colspan=\"5\"></td>";
    }
    t += "</tr>";
  }
  return t + "</table>";
}

}  // namespace condenser
