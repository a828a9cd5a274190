#pragma once
// The live dashboard the coordinator's HTTP server answers GET / with: one
// self-refreshing page (a meta refresh, no scripts) with the progress and the
// report's charts so far, rendered from the run directory's files.
#include <string>

namespace condenser {

// Reads RUN_DIR/progress.json (written by the job's progress reporter:
// {"job", "stage", "step", "total_steps", "rate_steps_per_s", "eta_seconds",
// "elapsed_seconds", "finished", "stages": [{"name", "steps", "total_steps",
// "done", "seconds"}]}), metrics.jsonl, summary.json and export/metrics.json;
// any of them may be missing or half written. Never throws for a run that is
// absent or incomplete: the page says what is known. Charts carry the ids of
// the report's with a "dash-" prefix (dash-chart-loss, ...).
std::string render_dashboard(const std::string& run_dir, int refresh_seconds = 5);

}  // namespace condenser
