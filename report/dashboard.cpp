#include "report/dashboard.h"

#include <algorithm>
#include <cmath>

#include "report/html.h"
#include "report/report_charts.h"
#include "report/report_html.h"
#include "report/run_files.h"

namespace condenser {
namespace {

using nlohmann::json;

double num(const json& j, const char* key, double fallback = NAN) {
  return j.is_object() && j.contains(key) && j[key].is_number() ? j[key].get<double>() : fallback;
}

std::string str(const json& j, const char* key, const std::string& fallback) {
  return j.is_object() && j.contains(key) && j[key].is_string() ? j[key].get<std::string>()
                                                                : fallback;
}

std::string progress_bar(double fraction) {
  fraction = std::isfinite(fraction) ? std::clamp(fraction, 0.0, 1.0) : 0.0;
  return "<div class=\"pbar\"><div style=\"width:" + fmt_num(100 * fraction, 1) +
         "%\"></div></div>";
}

std::string stage_rows(const json& p);

std::string progress_panel(const json& p) {
  if (!p.is_object()) return "<p class=\"note\">No progress reported yet.</p>";
  std::string s;
  const double step = num(p, "step", 0), total = num(p, "total_steps", 0);
  const std::string stage = "<b>stage " + html_escape(str(p, "stage", "?")) + "</b>: ";
  if (p.value("finished", false)) {
    s += "<p><b>finished</b> in " + fmt_seconds(num(p, "elapsed_seconds")) + "</p>";
    return s + progress_bar(1.0) + stage_rows(p);
  }
  if (total > 0) {
    s += "<p>" + stage + "step " + fmt_count(static_cast<int64_t>(step)) + " of " +
         fmt_count(static_cast<int64_t>(total)) + ", " + fmt_num(num(p, "rate_steps_per_s"), 1) +
         " steps/s, ETA " + fmt_seconds(num(p, "eta_seconds")) + ", elapsed " +
         fmt_seconds(num(p, "elapsed_seconds")) + "</p>";
  } else {  // labelling and export count no steps
    s += "<p>" + stage + "running, elapsed " + fmt_seconds(num(p, "elapsed_seconds")) + "</p>";
  }
  return s + progress_bar(total > 0 ? step / total : 0.0) + stage_rows(p);
}

std::string stage_rows(const json& p) {
  std::string s =
      "<table style=\"margin-top:10px\"><tr><th>stage</th><th>steps</th><th>progress</th>"
      "<th>seconds</th></tr>";
  if (p.contains("stages") && p["stages"].is_array()) {
    for (const json& st : p["stages"]) {
      const double done = num(st, "steps", 0), all = num(st, "total_steps", 0);
      const bool finished = st.is_object() && st.value("done", false);
      const double fraction = finished ? 1.0 : (all > 0 ? done / all : 0.0);
      s += "<tr><td>" + html_escape(str(st, "name", "?")) + "</td><td>" +
           fmt_count(static_cast<int64_t>(done)) + " / " + fmt_count(static_cast<int64_t>(all)) +
           "</td><td style=\"width:240px\">" + progress_bar(fraction) + "</td><td>" +
           (finished ? fmt_num(num(st, "seconds", 0), 1) : std::string("")) + "</td></tr>";
    }
  }
  return s + "</table>";
}

std::string dashboard_body(const std::string& run_dir, int refresh_seconds) {
  const RunFiles f = read_run_files(run_dir);
  // progress.json speaks for the current run; an export/ of an earlier run in
  // the same directory does not make this one finished.
  const bool finished =
      f.progress.is_object() ? f.progress.value("finished", false) : f.metrics.is_object();
  std::string job = str(f.progress, "job", str(f.summary, "job_name", "condenser job"));
  std::string body = "<header><h1>condenser: " + html_escape(job) + "</h1><p>" +
                     html_escape(run_dir) + " &middot; " + (finished ? "finished" : "running") +
                     " &middot; this page refreshes every " + std::to_string(refresh_seconds) +
                     " s</p></header><main>";
  body += "<div class=\"panel\" id=\"progress\"><h2>Progress</h2>" + progress_panel(f.progress) +
          "</div>";
  body += "<div class=\"grid\" style=\"margin-top:14px\">";
  body += "<div class=\"panel\">" + loss_chart(f.records, "dash-") + "</div>";
  body += "<div class=\"panel\">" + accuracy_chart(f.records, "dash-") + "</div>";
  if (f.summary.is_object()) {
    body += "<div class=\"panel\">" + accuracy_sparsity_chart(f.summary, "dash-") + "</div>";
    body += "<div class=\"panel\"><h2>Cost so far</h2>" + cost_chart(f.summary, "dash-") + "</div>";
  }
  body += "</div>";
  if (f.metrics.is_object()) {
    body += "<div class=\"panel\" style=\"margin-top:14px\"><h2>Teacher vs student</h2>" +
            comparison_table_html(f.metrics) + "</div>";
  }
  if (f.summary.is_object()) {
    body += "<div class=\"panel\" style=\"margin-top:14px\"><h2>Stages done</h2>" +
            stage_table_html(f.summary) + "</div>";
  }
  return body + "</main>";
}

}  // namespace

std::string render_dashboard(const std::string& run_dir, int refresh_seconds) {
  std::string body;
  try {
    body = dashboard_body(run_dir, refresh_seconds);
  } catch (const std::exception& e) {  // a file of unexpected shape: say so, keep serving
    body = "<header><h1>condenser</h1></header><main><p>cannot show " + html_escape(run_dir) +
           " yet: " + html_escape(e.what()) + "</p></main>";
  }
  // Keep refreshing after the end too: a new run may reuse the directory.
  const std::string refresh =
      "<meta http-equiv=\"refresh\" content=\"" + std::to_string(refresh_seconds) + "\">\n";
  return html_page("condenser dashboard", body, refresh);
}

}  // namespace condenser
