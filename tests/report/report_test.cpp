// report/: charts, report.html, model card and dashboard from JSON alone.
#include <gtest/gtest.h>

#include <cmath>
#include <regex>
#include <string>
#include <vector>

#include "core/files.h"
#include "report/dashboard.h"
#include "report/html.h"
#include "report/job_report.h"
#include "report/model_card.h"
#include "report/report_charts.h"
#include "report/report_html.h"
#include "report/run_files.h"
#include "report/svg_chart.h"
#include "tests/common/temp_dir.h"

namespace condenser {
namespace {

using nlohmann::json;
using testing_util::TempDir;

std::vector<json> sample_records() {
  std::vector<json> r;
  for (int step = 10; step <= 40; step += 10)
    r.push_back({{"stage", "teacher"}, {"step", step}, {"loss", 2.0 / step}});
  r.push_back({{"stage", "teacher"},
               {"epoch", 1},
               {"step", 40},
               {"train_loss", 0.1},
               {"train_accuracy", 0.7},
               {"val_accuracy", 0.75},
               {"seconds", 1.0}});
  for (int step = 10; step <= 20; step += 10)
    r.push_back({{"stage", "distill"}, {"step", step}, {"loss", 1.0}});
  r.push_back({{"stage", "distill"},
               {"epoch", 1},
               {"step", 25},
               {"train_loss", 0.9},
               {"train_accuracy", 0.6},
               {"val_accuracy", 0.65},
               {"seconds", 1.0}});
  return r;
}

json sample_metrics() {
  json stats = {{"parameters", 1000},
                {"nonzeros", 200},
                {"sparsity", 0.8},
                {"val_accuracy", 0.8},
                {"test_accuracy", 0.81}};
  json teacher = {{"parameters", 10000},
                  {"nonzeros", 10000},
                  {"sparsity", 0.0},
                  {"val_accuracy", 0.9},
                  {"test_accuracy", 0.9}};
  json dense = stats;
  dense["nonzeros"] = 1000;
  return {
      {"job_name", "t<job>"},
      {"teacher_source", "built-in cnn"},
      {"student_model", "small_cnn"},
      {"teacher", teacher},
      {"student_final", stats},
      {"stages",
       json::array({{{"name", "teacher"}, {"seconds", 5.0}, {"steps", 40}, {"model", teacher}},
                    {{"name", "label"}, {"seconds", 1.0}, {"steps", 2}},
                    {{"name", "distill"}, {"seconds", 3.0}, {"steps", 25}, {"model", dense}},
                    {{"name", "prune"}, {"seconds", 2.0}, {"steps", 10}, {"model", stats}}})},
      {"sparsity_per_layer",
       json::array(
           {{{"name", "conv1.weight"}, {"numel", 100}, {"nonzero", 20}, {"sparsity", 0.8}}})},
      {"student_file_bytes", 4096},
      {"comparison",
       {{"device", "cpu"},
        {"threads", 1},
        {"method", "alternated"},
        {"speedup", {{"batch_1", 3.0}, {"batch_64", 6.0}}},
        {"teacher", {{"test_accuracy", 0.9}, {"latency_ms", {{"batch_1", {{"median", 1.5}}}}}}},
        {"student", {{"test_accuracy", 0.81}, {"latency_ms", {{"batch_1", {{"median", 0.5}}}}}}}}},
      {"recipe", {{"dataset", "fashion_mnist"}, {"prune", {{"method", "global_magnitude"}}}}},
      {"int8", {{"available", false}, {"reason", "no quantized engine"}}}};
}

TEST(Html, EscapesAndFormats) {
  EXPECT_EQ(html_escape("<a href=\"x\">&'"), "&lt;a href=&quot;x&quot;&gt;&amp;&#39;");
  EXPECT_EQ(fmt_count(1234567), "1,234,567");
  EXPECT_EQ(fmt_count(12), "12");
  EXPECT_EQ(fmt_bytes(2048), "2.0 KiB");
  EXPECT_EQ(fmt_pct(0.8123), "81.23%");
  EXPECT_EQ(fmt_seconds(75.2), "1 min 15 s");
  EXPECT_EQ(yaml_quote("a \"b\"\n"), "\"a \\\"b\\\"\\n\"");
}

TEST(SvgChart, NiceTicksCoverTheRange) {
  const std::vector<double> t = nice_ticks(0.13, 0.92, 5);
  ASSERT_GE(t.size(), 3u);
  EXPECT_LE(t.front(), 0.2 + 1e-12);
  EXPECT_GE(t.back(), 0.8 - 1e-12);
  EXPECT_NEAR(t[1] - t[0], 0.2, 1e-12);
}

TEST(SvgChart, EmptyChartStillRenders) {
  LineChart c;
  c.id = "empty";
  const std::string svg = line_chart_svg(c);
  EXPECT_NE(svg.find("<svg id=\"empty\""), std::string::npos);
  EXPECT_NE(svg.find("no data yet"), std::string::npos);
}

TEST(ReportCharts, StagesFollowEachOther) {
  const std::vector<StageSpan> spans = stage_spans(sample_records());
  ASSERT_EQ(spans.size(), 2u);
  EXPECT_EQ(spans[0].stage, "teacher");
  EXPECT_EQ(spans[0].offset, 0.0);
  EXPECT_EQ(spans[1].offset, 40.0);  // distill starts where teacher's last step was
  EXPECT_EQ(spans[1].steps, 25.0);
  const std::string loss = loss_chart(sample_records(), "");
  // Two stage boundary markers, one polyline per stage.
  EXPECT_EQ(std::count(loss.begin(), loss.end(), '\n'), 0);
  size_t markers = 0;
  for (size_t p = loss.find("class=\"marker\""); p != std::string::npos;
       p = loss.find("class=\"marker\"", p + 1)) {
    ++markers;
  }
  EXPECT_EQ(markers, 2u);
  EXPECT_NE(loss.find(">distill<"), std::string::npos);
}

TEST(Report, SelfContainedWithEveryChart) {
  const std::string html = render_report(sample_metrics(), sample_records());
  for (const char* id : {"chart-loss", "chart-accuracy", "chart-sparsity-layers",
                         "chart-accuracy-sparsity", "chart-cost"}) {
    EXPECT_NE(html.find("<svg id=\"" + std::string(id) + "\""), std::string::npos) << id;
  }
  EXPECT_EQ(html.find("<script"), std::string::npos);
  EXPECT_EQ(html.find("src="), std::string::npos);
  EXPECT_EQ(html.find("<link"), std::string::npos);
  // The only URL is the SVG namespace, which is never fetched.
  EXPECT_FALSE(std::regex_search(html, std::regex("https?://(?!www\\.w3\\.org/2000/svg)")));
  EXPECT_NE(html.find("t&lt;job&gt;"), std::string::npos);  // names are escaped
  EXPECT_NE(html.find("3.0x"), std::string::npos);
  EXPECT_NE(html.find("no quantized engine"), std::string::npos);
}

// A language model's report charts its prune attempts by perplexity (right
// after each cut and after recovery) and their tokens/s, not by accuracy.
TEST(Report, LanguageModelPruneAttemptsChartPerplexityAndTokenSpeed) {
  json m = sample_metrics();
  m["data"]["tokenizer_sha256"] = "ab";
  m["student_dense"] = {{"parameters", 1000}, {"nonzeros", 1000}, {"val_perplexity", 40.0}};
  json attempt = {{"name", "prune.1"},
                  {"passed", true},
                  {"model", {{"parameters", 1000}, {"nonzeros", 500}, {"val_perplexity", 44.5}}},
                  {"val_perplexity_before_recovery", 90.25},
                  {"tokens_per_s",
                   {{{"batch", 1}, {"pruned", 3000}, {"dense", 1500}, {"speedup", 2.0}},
                    {{"batch", 64}, {"pruned", 9000}, {"dense", 4000}, {"speedup", 2.25}}}}};
  m["prune_schedule"]["attempts"] = json::array({attempt});
  const std::string html = render_report(m, sample_records());
  EXPECT_NE(html.find("<svg id=\"chart-perplexity-sparsity\""), std::string::npos);
  EXPECT_NE(html.find("<svg id=\"chart-token-speed\""), std::string::npos);
  EXPECT_EQ(html.find("<svg id=\"chart-accuracy-sparsity\""), std::string::npos);
  const std::string chart = perplexity_sparsity_chart(m, "");
  EXPECT_NE(chart.find("prune.1 44.5"), std::string::npos);
  EXPECT_NE(chart.find("right after the cut"), std::string::npos);
  EXPECT_NE(chart.find("dense student"), std::string::npos);
  const std::string speed = token_speed_chart(m, "");
  EXPECT_NE(speed.find("prune.1, batch 64"), std::string::npos);
  EXPECT_NE(speed.find("2.25x  9,000 tok/s"), std::string::npos);
}

TEST(ModelCard, FrontMatterAndLoadingInstructions) {
  const std::string card = render_model_card(sample_metrics(), "name: t\nseed: 1\n");
  ASSERT_EQ(card.rfind("---\n", 0), 0u);
  const size_t end = card.find("\n---\n", 4);
  ASSERT_NE(end, std::string::npos);
  const std::string front = card.substr(4, end - 4);
  EXPECT_NE(front.find("dataset: \"fashion_mnist\""), std::string::npos);
  EXPECT_NE(front.find("teacher: \"built-in cnn\""), std::string::npos);
  EXPECT_NE(front.find("  test_accuracy: 0.81\n"), std::string::npos);
  EXPECT_NE(front.find("  cpu_latency_ms_batch_1: 0.5\n"), std::string::npos);
  EXPECT_NE(card.find("torch.jit.load(\"student.pt\")"), std::string::npos);
  EXPECT_NE(card.find("torch::jit::load(\"student.pt\")"), std::string::npos);
  EXPECT_NE(card.find("```yaml\nname: t\nseed: 1\n```"), std::string::npos);
}

TEST(JobReport, TheGainIsTheDistilledMinusTheControlTestAccuracy) {
  JobReport r;
  r.student_dense.test_accuracy = 0.912;
  r.student_dense.val_accuracy = 0.915;
  EXPECT_TRUE(std::isnan(distillation_gain_points(r)));  // no control: not measured
  EXPECT_TRUE(to_json(r)["student_control"].is_null());
  EXPECT_EQ(format_summary_table(r).find("gain from distillation"), std::string::npos);
  json old = to_json(r);
  old.erase("student_control");  // a summary written before the control existed
  EXPECT_FALSE(report_from_json(old, "old").has_control);

  r.has_control = true;
  r.student_control.test_accuracy = 0.905;
  r.student_control.val_accuracy = 0.918;
  EXPECT_NEAR(distillation_gain_points(r), 0.7, 1e-9);
  EXPECT_NEAR(distillation_gain_val_points(r), -0.3, 1e-9);
  const JobReport back = report_from_json(to_json(r), "summary.json");
  ASSERT_TRUE(back.has_control);
  EXPECT_EQ(back.student_control.test_accuracy, 0.905);
  EXPECT_NE(format_summary_table(r).find("gain from distillation: +0.70 points test (student "
                                         "91.20%, control without the teacher 90.50%"),
            std::string::npos)
      << format_summary_table(r);
  EXPECT_EQ(format_summary_table(r).find("did not beat the control"), std::string::npos);
  r.student_control.test_accuracy = 0.92;  // the control won: say so, and what to try
  EXPECT_NE(format_summary_table(r).find("gain from distillation: -0.80 points test"),
            std::string::npos);
  EXPECT_NE(format_summary_table(r).find("did not beat the control"), std::string::npos);
}

TEST(ModelCard, ShowsTheGainOverTheControlAndSaysWhenThereIsNone) {
  json m = sample_metrics();
  EXPECT_NE(render_model_card(m, "").find("Gain from distillation: not measured"),
            std::string::npos);
  m["distillation_gain"] = {{"points_test", 0.7},
                            {"student", {{"test_accuracy", 0.912}}},
                            {"control", {{"test_accuracy", 0.905}}}};
  const std::string card = render_model_card(m, "");
  EXPECT_NE(card.find("**Gain from distillation: +0.70 points**"), std::string::npos) << card;
  EXPECT_NE(card.find("  distillation_gain_points: 0.7\n"), std::string::npos);
  EXPECT_NE(card.find("  control_test_accuracy: 0.905\n"), std::string::npos);
  EXPECT_NE(render_report(m, sample_records()).find("+0.70 pts"), std::string::npos);
}

TEST(RunFiles, SkipsAHalfWrittenLine) {
  const std::vector<json> r = parse_json_lines("{\"a\":1}\n\n{\"b\":2}\n{\"c\":");
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[1]["b"], 2);
}

TEST(Dashboard, RendersAMissingRunAndARunningOne) {
  std::string html;
  ASSERT_NO_THROW(html = render_dashboard("/nonexistent/run", 3));
  EXPECT_NE(html.find("No progress reported yet"), std::string::npos);
  EXPECT_NE(html.find("http-equiv=\"refresh\" content=\"3\""), std::string::npos);

  TempDir dir("dashboard");
  std::string lines;
  for (const json& r : sample_records()) lines += r.dump() + "\n";
  atomic_write_file(dir.path + "/metrics.jsonl", lines + "{\"stage\":");
  atomic_write_file(dir.path + "/progress.json",
                    json({{"job", "quick"},
                          {"stage", "distill"},
                          {"step", 25},
                          {"total_steps", 100},
                          {"rate_steps_per_s", 12.5},
                          {"eta_seconds", 6.0},
                          {"elapsed_seconds", 9.0},
                          {"finished", false},
                          {"stages", json::array({{{"name", "teacher"},
                                                   {"steps", 40},
                                                   {"total_steps", 40},
                                                   {"done", true},
                                                   {"seconds", 5.0}}})}})
                        .dump());
  atomic_write_file(dir.path + "/summary.json", "{ torn");
  html = render_dashboard(dir.path);
  EXPECT_NE(html.find("stage distill</b>: step 25 of 100"), std::string::npos);
  EXPECT_NE(html.find("width:25.0%"), std::string::npos);
  EXPECT_NE(html.find("<svg id=\"dash-chart-loss\""), std::string::npos);
  EXPECT_NE(html.find("<svg id=\"dash-chart-accuracy\""), std::string::npos);
  EXPECT_NE(html.find("running"), std::string::npos);

  // A mistyped field is shown, not thrown: the server keeps answering.
  atomic_write_file(dir.path + "/progress.json", "{\"finished\": \"yes\", \"step\": []}");
  ASSERT_NO_THROW(html = render_dashboard(dir.path));
  EXPECT_NE(html.find("cannot show"), std::string::npos);
}

}  // namespace
}  // namespace condenser

namespace condenser {
namespace {

// A width attempt's perplexity before recovery and its side-by-side speed
// survive the summary's round trip; attempts without them stay without.
TEST(JobReport, PruneAttemptKeepsPerplexityBeforeRecoveryAndTokensPerSecond) {
  JobReport r;
  PruneAttempt timed;
  timed.name = "prune";
  timed.val_perplexity_before = 412.5;
  timed.tokens_per_s = {{1, 3000.0, 1500.0}, {64, 90000.0, 36000.0}};
  PruneAttempt plain;
  plain.name = "prune.2";
  r.prune_attempts = {timed, plain};
  const json j = to_json(r);
  const json& a = j["prune_schedule"]["attempts"];
  EXPECT_EQ(a[0]["val_perplexity_before_recovery"], 412.5);
  EXPECT_EQ(a[0]["tokens_per_s"][1]["speedup"], 2.5);
  EXPECT_FALSE(a[1].contains("val_perplexity_before_recovery") || a[1].contains("tokens_per_s"));
  const JobReport back = report_from_json(j, "summary.json");
  ASSERT_EQ(back.prune_attempts.size(), 2u);
  EXPECT_EQ(back.prune_attempts[0].val_perplexity_before, 412.5);
  ASSERT_EQ(back.prune_attempts[0].tokens_per_s.size(), 2u);
  EXPECT_EQ(back.prune_attempts[0].tokens_per_s[0].batch, 1);
  EXPECT_EQ(back.prune_attempts[0].tokens_per_s[0].speedup(), 2.0);
  EXPECT_TRUE(back.prune_attempts[1].tokens_per_s.empty());
}

}  // namespace
}  // namespace condenser
