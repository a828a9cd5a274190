#include "report/report_html.h"

#include <cmath>

#include "report/html.h"
#include "report/report_charts.h"

namespace condenser {
namespace {

using nlohmann::json;

// metrics["a"]["b"]... or null when any step is missing.
json at_path(const json& j, std::initializer_list<const char*> keys) {
  const json* cur = &j;
  for (const char* k : keys) {
    if (!cur->is_object() || !cur->contains(k)) return nullptr;
    cur = &(*cur)[k];
  }
  return *cur;
}

double num(const json& j, std::initializer_list<const char*> keys, double fallback = NAN) {
  const json v = at_path(j, keys);
  return v.is_number() ? v.get<double>() : fallback;
}

std::string str(const json& j, std::initializer_list<const char*> keys) {
  const json v = at_path(j, keys);
  return v.is_string() ? v.get<std::string>() : "n/a";
}

std::string card(const std::string& value, const std::string& key) {
  return "<div class=\"card\"><div class=\"v\">" + html_escape(value) + "</div><div class=\"k\">" +
         html_escape(key) + "</div></div>";
}

std::string count_or_na(double v) {
  return std::isfinite(v) ? fmt_count(static_cast<int64_t>(v)) : "n/a";
}

std::string row(const std::string& name, const std::string& teacher, const std::string& student,
                const std::string& change) {
  return "<tr><td>" + html_escape(name) + "</td><td>" + html_escape(teacher) + "</td><td>" +
         html_escape(student) + "</td><td>" + html_escape(change) + "</td></tr>";
}

std::string ratio(double teacher, double student, const std::string& suffix) {
  if (!std::isfinite(teacher) || !std::isfinite(student) || student == 0) return "";
  const double r = teacher / student;
  // "0.9x faster" reads wrong: say slower (or larger) instead.
  if (r < 1 && suffix == "x faster") return fmt_num(1 / r, 1) + "x slower";
  if (r < 1 && suffix == "x smaller") return fmt_num(1 / r, 1) + "x larger";
  return fmt_num(r, 1) + suffix;
}

}  // namespace

std::string comparison_table_html(const json& m) {
  const json& c = m.contains("comparison") ? m["comparison"] : json::object();
  auto side = [&](const char* who, std::initializer_list<const char*> keys) {
    json v = at_path(c, {who});
    for (const char* k : keys) v = v.is_object() && v.contains(k) ? v[k] : json(nullptr);
    return v.is_number() ? v.get<double>() : NAN;
  };
  std::string t =
      "<table class=\"comparison\"><tr><th></th><th>teacher</th><th>student</th>"
      "<th>student vs teacher</th></tr>";
  const double ta = side("teacher", {"test_accuracy"}), sa = side("student", {"test_accuracy"});
  t += row("test accuracy", fmt_pct(ta), fmt_pct(sa),
           std::isfinite(ta) && std::isfinite(sa) ? fmt_num(100 * (sa - ta), 2) + " points" : "");
  const double tp = side("teacher", {"parameters"}), sp = side("student", {"parameters"});
  t += row("parameters", count_or_na(tp), count_or_na(sp), ratio(tp, sp, "x fewer"));
  const double tn = side("teacher", {"nonzeros"}), sn = side("student", {"nonzeros"});
  t += row("nonzero parameters", count_or_na(tn), count_or_na(sn), ratio(tn, sn, "x fewer"));
  const double tf = side("teacher", {"file_bytes"}), sf = side("student", {"file_bytes"});
  t += row("file size", std::isfinite(tf) ? fmt_bytes(tf) : "n/a",
           std::isfinite(sf) ? fmt_bytes(sf) : "n/a", ratio(tf, sf, "x smaller"));
  for (const char* b : {"batch_1", "batch_64"}) {
    const double tl = side("teacher", {"latency_ms", b, "median"});
    const double sl = side("student", {"latency_ms", b, "median"});
    const std::string label = std::string("CPU latency, ") + (b[6] == '1' ? "batch 1" : "batch 64");
    t += row(label + " (median)", fmt_num(tl, 3) + " ms", fmt_num(sl, 3) + " ms",
             ratio(tl, sl, "x faster"));
  }
  for (const char* b : {"batch_1", "batch_64"}) {
    const double tt = side("teacher", {"throughput_samples_per_s", b});
    const double st = side("student", {"throughput_samples_per_s", b});
    t += row(std::string("throughput, ") + (b[6] == '1' ? "batch 1" : "batch 64"),
             fmt_num(tt, 0) + " samples/s", fmt_num(st, 0) + " samples/s", ratio(st, tt, "x"));
  }
  t += "</table><p class=\"note\">Latency: " + html_escape(str(c, {"method"})) + "; " +
       html_escape(str(c, {"device"})) + ", " + count_or_na(num(c, {"threads"})) +
       " thread(s).</p>";
  return t;
}

// A language model: perplexities of teacher, distilled student and control,
// and the student's generated samples.
std::string language_model_panel(const json& m) {
  if (!at_path(m, {"data", "tokenizer_sha256"}).is_string()) return "";
  std::string t = "<div class=\"panel\" style=\"margin-top:14px\"><h2>Language model</h2>"
                  "<table><tr><th>test split</th><th>perplexity</th><th>bits per token</th>"
                  "<th>next-token accuracy</th></tr>";
  const auto line = [&](const std::string& name, const char* key) {
    const double p = num(m, {key, "test_perplexity"});
    if (!std::isfinite(p)) return;
    t += row(name, fmt_num(p, 2), fmt_num(std::log2(p), 3),
             fmt_pct(num(m, {key, "test_accuracy"})));
  };
  line("teacher", "teacher");
  line("distilled student", "student_dense");
  line("control (no teacher)", "student_control");
  t += "</table>";
  const json samples = at_path(m, {"samples"});
  if (samples.is_array() && !samples.empty()) {
    t += "<h2 style=\"margin-top:16px\">Samples from the student</h2><ul>";
    for (const json& x : samples) {
      t += "<li><i>" + html_escape(x.value("mode", "")) + "</i>: <b>" +
           html_escape(x.value("prompt", "")) + "</b>" + html_escape(x.value("continuation", "")) +
           "</li>";
    }
    t += "</ul>";
  }
  return t + "</div>";
}

std::string render_report(const json& m, const std::vector<json>& records) {
  const double ta = num(m, {"teacher", "test_accuracy"}),
               sa = num(m, {"student_final", "test_accuracy"});
  const double tp = num(m, {"teacher", "parameters"}), sp = num(m, {"student_final", "parameters"});
  std::string body = "<header><h1>condenser report: " + html_escape(str(m, {"job_name"})) +
                     "</h1><p>teacher " + html_escape(str(m, {"teacher_source"})) +
                     " &rarr; student " + html_escape(str(m, {"student_model"})) + " on " +
                     html_escape(str(m, {"recipe", "dataset"})) + "</p></header><main>";
  body += "<div class=\"cards\">";
  body += card(fmt_pct(sa), "student test accuracy (teacher " + fmt_pct(ta) + ")");
  const double gain = num(m, {"distillation_gain", "points_test"});
  body += card(std::isfinite(gain) ? (gain >= 0 ? "+" : "") + fmt_num(gain, 2) + " pts" : "n/a",
               std::isfinite(gain)
                   ? "gain from distillation (before pruning " +
                         fmt_pct(num(m, {"distillation_gain", "student", "test_accuracy"})) +
                         " vs " +
                         fmt_pct(num(m, {"distillation_gain", "control", "test_accuracy"})) +
                         " without the teacher)"
                   : "gain from distillation: no control was trained");
  body += card(count_or_na(sp), "student parameters (" + fmt_pct(sp / tp, 1) + " of teacher)");
  body += card(count_or_na(num(m, {"student_final", "nonzeros"})), "nonzero parameters");
  const double sf = num(m, {"student_file_bytes"});
  body += card(std::isfinite(sf) ? fmt_bytes(sf) : "n/a", "student.pt on disk");
  body += card(fmt_num(num(m, {"comparison", "speedup", "batch_1"}), 1) + "x",
               "faster than the teacher at batch 1");
  body +=
      card(fmt_num(num(m, {"comparison", "speedup", "batch_64"}), 1) + "x", "faster at batch 64");
  body += "</div>";
  body += "<div class=\"grid\">";
  body += "<div class=\"panel\"><h2>Teacher vs student</h2>" + comparison_table_html(m) + "</div>";
  const double paid = num(m, {"cost", "teacher_forward_passes"});
  const double avoided = num(m, {"cost", "teacher_forward_passes_avoided"});
  body += "<div class=\"panel\"><h2>Cost</h2>" + cost_chart(m, "") +
          "<p class=\"note\">The teacher ran " + count_or_na(paid) + " forward passes once (" +
          fmt_seconds(num(m, {"cost", "teacher_inference_seconds"})) +
          "); training read cached soft labels " + count_or_na(avoided) + " times instead, about " +
          fmt_seconds(num(m, {"cost", "estimated_teacher_seconds_avoided"})) +
          " of teacher inference avoided.</p></div>";
  body += "<div class=\"panel\">" + loss_chart(records, "") + "</div>";
  body += "<div class=\"panel\">" + accuracy_chart(records, "") + "</div>";
  if (at_path(m, {"data", "tokenizer_sha256"}).is_string()) {
    body += "<div class=\"panel\">" + perplexity_sparsity_chart(m, "") + "</div>";
    body += "<div class=\"panel\">" + token_speed_chart(m, "") + "</div>";
  } else {
    body += "<div class=\"panel\">" + accuracy_sparsity_chart(m, "") + "</div>";
  }
  body += "<div class=\"panel\">" + sparsity_layers_chart(at_path(m, {"sparsity_per_layer"}), "") +
          "</div>";
  body += "</div>";
  body += "<div class=\"panel\" style=\"margin-top:14px\"><h2>Stages</h2>" + stage_table_html(m);
  const json int8 = at_path(m, {"int8"});
  if (int8.is_object() && int8.value("available", false)) {
    const auto ms = [&](const char* which, const char* b) {
      return fmt_num(num(m, {"int8", which, b, "median"}), 3) + " ms";
    };
    const double qa = num(m, {"int8", "test_accuracy"}), qf = num(m, {"int8", "file_bytes"});
    const auto speed = [&](const char* b) {
      return ratio(num(m, {"int8", "float_student_latency_ms", b, "median"}),
                   num(m, {"int8", "latency_ms", b, "median"}), "x faster");
    };
    body +=
        "<h2 style=\"margin-top:16px\">int8 variant (student_int8.pt)</h2><table "
        "class=\"int8\"><tr><th></th>"
        "<th>float32 student</th><th>int8 student</th><th>int8 vs float32</th></tr>" +
        row("file size", fmt_bytes(sf), fmt_bytes(qf), ratio(sf, qf, "x smaller")) +
        row("test accuracy", fmt_pct(sa), fmt_pct(qa),
            std::isfinite(qa) ? fmt_num(100 * (qa - sa), 2) + " points" : "") +
        row("CPU latency, batch 1", ms("float_student_latency_ms", "batch_1"),
            ms("latency_ms", "batch_1"), speed("batch_1")) +
        row("CPU latency, batch 64", ms("float_student_latency_ms", "batch_64"),
            ms("latency_ms", "batch_64"), speed("batch_64")) +
        "</table><p class=\"note\">" + html_escape(str(m, {"int8", "method"})) + "</p>";
  } else {
    body += "<p class=\"note\">int8: not exported (" + html_escape(str(m, {"int8", "reason"})) +
            ")</p>";
  }
  body += "</div>" + language_model_panel(m) + "</main>";
  return html_page("condenser report: " + str(m, {"job_name"}), body);
}

}  // namespace condenser
