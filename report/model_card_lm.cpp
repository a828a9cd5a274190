#include "report/model_card_lm.h"

#include <cmath>
#include <cstdio>

#include "report/model_card.h"

namespace condenser {
namespace {

using nlohmann::json;

double number_at(const json& j, const char* a, const char* b) {
  if (!j.contains(a) || !j[a].is_object() || !j[a].contains(b) || !j[a][b].is_number()) {
    return std::nan("");
  }
  return j[a][b].get<double>();
}

std::string num(double v, int decimals) {
  if (!std::isfinite(v)) return "n/a";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

// A perplexity and its bits per token: "12.34 (3.63 bits/token)".
std::string ppl(double v) {
  if (!std::isfinite(v) || v <= 0) return "n/a";
  return num(v, 2) + " (" + num(std::log2(v), 3) + " bits/token)";
}

// One row per width or depth attempt: what it kept, what the cut cost in
// validation perplexity and what recovery won back, and its speed.
std::string lm_pruning_table(const json& m) {
  const json* attempts = nullptr;
  if (m.contains("prune_schedule") && m["prune_schedule"].is_object() &&
      m["prune_schedule"].contains("attempts")) {
    attempts = &m["prune_schedule"]["attempts"];
  }
  if (attempts == nullptr || !attempts->is_array() || attempts->empty() ||
      !(*attempts)[0].contains("tokens_per_s")) {
    return "";
  }
  std::string s = "\n## Pruning attempts\n\nValidation perplexity right after each cut and after "
                  "its recovery by distillation; tokens/s of the compacted attempt against the "
                  "dense student, timed side by side:\n\n| attempt | nonzeros | MFLOPs/token | "
                  "perplexity after the cut | after recovery | tokens/s x, batch 1 | batch 64 | "
                  "budget |\n|---|---|---|---|---|---|---|---|\n";
  for (const json& a : *attempts) {
    std::string speed[2] = {"n/a", "n/a"};
    for (const json& t : a.value("tokens_per_s", json::array())) {
      speed[t.value("batch", 0) == 1 ? 0 : 1] = num(t.value("speedup", 0.0), 2) + "x";
    }
    const double flops = a.contains("flops") && a["flops"].is_number() ? a["flops"].get<double>()
                                                                      : std::nan("");
    s += "| " + a.value("name", std::string("?")) + " | " +
         num(number_at(a, "model", "nonzeros"), 0) + " | " + num(flops / 1e6, 3) + " | " +
         num(a.value("val_perplexity_before_recovery", std::nan("")), 2) + " | " +
         num(number_at(a, "model", "val_perplexity"), 2) + " | " + speed[0] + " | " + speed[1] +
         " | " + (a.value("passed", false) ? "met" : "missed, rolled back") + " |\n";
  }
  return s;
}

}  // namespace

bool is_language_model(const json& m) {
  return m.contains("data") && m["data"].is_object() && m["data"].contains("tokenizer_sha256");
}

std::string lm_results_section(const json& m) {
  std::string s = "## Perplexity\n\nNext-token perplexity on the " +
                  (m["data"].contains("test_tokens") ? m["data"]["test_tokens"].dump() : "n/a") +
                  " tokens of the test split (lower is better):\n\n| model | perplexity | "
                  "next-token accuracy |\n|---|---|---|\n";
  const auto row = [&](const std::string& name, const char* key) {
    s += "| " + name + " | " + ppl(number_at(m, key, "test_perplexity")) + " | " +
         num(100.0 * number_at(m, key, "test_accuracy"), 2) + " % |\n";
  };
  row("teacher", "teacher");
  row("distilled student", "student_dense");
  if (m.contains("student_control") && m["student_control"].is_object()) {
    row("control (the student without the teacher)", "student_control");
  }
  if (m.contains("distillation_gain") && m["distillation_gain"].is_object() &&
      m["distillation_gain"].contains("perplexity_lower_percent")) {
    s += "\nDistillation lowered the student's test perplexity by " +
         num(m["distillation_gain"]["perplexity_lower_percent"].get<double>(), 2) +
         " % against the control trained on the same tokens and steps.\n";
  }
  if (m.contains("tokens_per_s") && m["tokens_per_s"].contains("student")) {
    const json& t = m["tokens_per_s"];
    const auto at64 = [&](const char* side) {
      return t.contains(side) && t[side].contains("batch_64") ? num(t[side]["batch_64"].get<double>(), 0)
                                                               : std::string("n/a");
    };
    s += "\nThroughput at batch 64 (whole windows, CPU, see metrics.json `tokens_per_s`): "
         "teacher " + at64("teacher") + " tokens/s, student " + at64("student") + " tokens/s.\n";
  }
  s += lm_pruning_table(m);
  if (m.contains("samples") && m["samples"].is_array() && !m["samples"].empty()) {
    s += "\n## Samples\n\nContinuations written by the student (fixed prompts: the first words "
         "of the first test documents):\n\n";
    for (const json& x : m["samples"]) {
      s += "- *" + x.value("mode", "") + "*: **" + x.value("prompt", "") + "**" +
           x.value("continuation", "") + "\n";
    }
  }
  return s + "\n";
}

std::string lm_usage_section(const json& m) {
  const json& data = m["data"];
  const std::string t = data.contains("sample_shape") ? data["sample_shape"][0].dump() : "T";
  std::string s = "## Input\n\nint64 token ids shaped `[N, " + t + "]` (at most " + t +
                  " positions) from the SentencePiece tokenizer `tokenizer.model` (SHA-256 " +
                  data.value("tokenizer_sha256", "") + "), which is also stored inside "
                  "`student.pt`; it returns `[N, " + t + ", " +
                  (m.contains("input") ? m["input"].value("classes", json()).dump() : "V") +
                  "]` next-token logits.\n\n";
  s += "## Generate text\n\n```sh\ncondenser generate student.pt --prompt \"...\" "
       "[--sample --top-k 40 --temperature 0.8 --seed 1]\n```\n\n";
  s += "## Load it in Python\n\n```python\nimport torch, sentencepiece as spm\n\n"
       "extra = {\"tokenizer.model\": \"\"}\nmodel = torch.jit.load(\"student.pt\", "
       "_extra_files=extra).eval()\nsp = spm.SentencePieceProcessor(model_proto=extra"
       "[\"tokenizer.model\"])\nids = torch.tensor([sp.encode(\"...\")])\nwith torch.no_grad():\n"
       "    logits = model(ids)  # [1, len, vocabulary]\n```\n\n";
  return s;
}

}  // namespace condenser
