#include "report/model_card.h"

#include <cmath>
#include <cstdio>

#include "report/html.h"
#include "report/model_card_lm.h"

namespace condenser {
namespace {

using nlohmann::json;

json get(const json& j, std::initializer_list<const char*> keys) {
  const json* cur = &j;
  for (const char* k : keys) {
    if (!cur->is_object() || !cur->contains(k)) return nullptr;
    cur = &(*cur)[k];
  }
  return *cur;
}

// A YAML/Markdown value: numbers as written by the JSON, "null" when absent.
std::string yaml_value(const json& v) {
  if (v.is_string()) return yaml_quote(v.get<std::string>());
  if (v.is_number_float()) {  // six significant digits: 0.9018, 4, 42.5578
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.6g", v.get<double>());
    return buf;
  }
  if (v.is_number() || v.is_boolean()) return v.dump();
  return "null";
}

std::string text(const json& v) { return v.is_string() ? v.get<std::string>() : "n/a"; }

// "global_magnitude in 3 stages (50% -> 80% -> 90%), each followed by 2, 2, 3
// fine-tuning epoch(s) with the masks held; budget: ...; <outcome>."
std::string pruning_recipe(const json& recipe, const json& schedule) {
  const json& prune = get(recipe, {"prune"});
  const json stages = get(prune, {"stages"});
  std::string out = text(get(prune, {"method"}));
  if (!stages.is_array() || stages.empty()) {  // summaries from before staged schedules
    return out + " at " + yaml_value(get(prune, {"sparsity"})) + ", then " +
           yaml_value(get(prune, {"finetune_epochs"})) +
           " fine-tuning epoch(s) with the masks held.";
  }
  std::string targets, epochs;
  for (const json& st : stages) {
    targets += (targets.empty() ? "" : " -> ") + fmt_pct(st.value("sparsity", 0.0), 0);
    epochs += (epochs.empty() ? "" : ", ") + std::to_string(st.value("epochs", 0));
  }
  out += " in " + std::to_string(stages.size()) + (stages.size() == 1 ? " stage (" : " stages (") +
         targets + "), each followed by " + epochs + " fine-tuning epoch(s) with the masks held";
  const json budget = get(prune, {"budget"});
  if (budget.is_object() && budget.value("enabled", false)) {
    char buf[160];
    const bool ppl = budget.value("metric", std::string()) == "perplexity";
    std::snprintf(
        buf, sizeof buf,
        ppl ? "; perplexity budget: at most %.2f %% above the %s's validation perplexity"
            : "; accuracy budget: at most %.2f points below the %s",
        budget.value("max_drop_points", 0.0),
        budget.value("reference", std::string()) == "teacher" ? "teacher" : "dense student");
    out += buf;
  }
  const json outcome = get(schedule, {"outcome"});
  return out + (outcome.is_string() ? "; " + outcome.get<std::string>() : std::string()) + ".";
}
double number(const json& v) { return v.is_number() ? v.get<double>() : NAN; }

}  // namespace

std::string yaml_quote(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out + "\"";
}

namespace {

// "[N, 3, 32, 32]" from metrics.json's input shape.
std::string shape_of(const json& input) {
  const json shape = get(input, {"shape"});
  if (!shape.is_array()) return "n/a";
  std::string s;
  for (const json& d : shape)
    s += (s.empty() ? "" : ", ") + (d.is_string() ? d.get<std::string>() : d.dump());
  return "[" + s + "]";
}

// YAML front matter: the card's machine-readable summary.
std::string front_matter(const json& m, const json& r) {
  std::string s = "---\n";
  s += "model_name: " + yaml_quote(text(get(m, {"job_name"})) + "-student") + "\n";
  s += "library_name: torchscript\n";
  s += "tags: [knowledge-distillation, pruning, condenser]\n";
  s += "dataset: " + yaml_value(get(r, {"dataset"})) + "\n";
  s += "dataset_path: " + yaml_value(get(m, {"input", "dataset", "path"})) + "\n";
  s += "dataset_sha256: " + yaml_value(get(m, {"dataset_fingerprint"})) + "\n";
  s += "input_shape: " + shape_of(get(m, {"input"})) + "\n";
  s += "teacher: " + yaml_value(get(m, {"teacher_source"})) + "\n";
  s += "teacher_sha256: " + yaml_value(get(m, {"teacher_sha256"})) + "\n";
  s += "student_architecture: " + yaml_value(get(m, {"student_model"})) + "\n";
  s += "pruning: " + yaml_value(get(r, {"prune", "method"})) + "\n";
  s += "metrics:\n";
  s += "  test_accuracy: " + yaml_value(get(m, {"student_final", "test_accuracy"})) + "\n";
  s += "  teacher_test_accuracy: " + yaml_value(get(m, {"teacher", "test_accuracy"})) + "\n";
  s += "  test_samples: " + yaml_value(get(r, {"test_samples"})) + "\n";
  s += "  distilled_test_accuracy: " +
       yaml_value(get(m, {"distillation_gain", "student", "test_accuracy"})) + "\n";
  s += "  control_test_accuracy: " +
       yaml_value(get(m, {"distillation_gain", "control", "test_accuracy"})) + "\n";
  s += "  distillation_gain_points: " + yaml_value(get(m, {"distillation_gain", "points_test"})) +
       "\n";
  if (get(m, {"teacher", "test_perplexity"}).is_number()) {  // a language model
    s += "  test_perplexity: " + yaml_value(get(m, {"student_final", "test_perplexity"})) + "\n";
    s += "  teacher_test_perplexity: " + yaml_value(get(m, {"teacher", "test_perplexity"})) + "\n";
    s += "  distilled_test_perplexity: " +
         yaml_value(get(m, {"distillation_gain", "student", "test_perplexity"})) + "\n";
    s += "  control_test_perplexity: " +
         yaml_value(get(m, {"distillation_gain", "control", "test_perplexity"})) + "\n";
    s += "  test_tokens: " + yaml_value(get(m, {"data", "test_tokens"})) + "\n";
  }
  s += "  parameters: " + yaml_value(get(m, {"student_final", "parameters"})) + "\n";
  s += "  teacher_parameters: " + yaml_value(get(m, {"teacher", "parameters"})) + "\n";
  s += "  nonzeros: " + yaml_value(get(m, {"student_final", "nonzeros"})) + "\n";
  s += "  sparsity: " + yaml_value(get(m, {"student_final", "sparsity"})) + "\n";
  s += "  file_bytes: " + yaml_value(get(m, {"student_file_bytes"})) + "\n";
  for (const char* b : {"batch_1", "batch_64"}) {
    s += std::string("  cpu_latency_ms_") + b + ": " +
         yaml_value(get(m, {"comparison", "student", "latency_ms", b, "median"})) + "\n";
    s += std::string("  teacher_cpu_latency_ms_") + b + ": " +
         yaml_value(get(m, {"comparison", "teacher", "latency_ms", b, "median"})) + "\n";
  }
  s += "  int8_file_bytes: " + yaml_value(get(m, {"int8", "file_bytes"})) + "\n";
  s += "  int8_test_accuracy: " + yaml_value(get(m, {"int8", "test_accuracy"})) + "\n";
  s += "  throughput_samples_per_s_batch_64: " +
       yaml_value(get(m, {"comparison", "student", "throughput_samples_per_s", "batch_64"})) + "\n";
  return s + "---\n\n";
}

// The title, one sentence and the teacher-vs-student table.
std::string summary_section(const json& m, const json& r) {
  std::string s;
  const double sa = number(get(m, {"student_final", "test_accuracy"}));
  const double ta = number(get(m, {"teacher", "test_accuracy"}));
  const double sp = number(get(m, {"student_final", "parameters"}));
  const double tp = number(get(m, {"teacher", "parameters"}));
  s += "# " + text(get(m, {"job_name"})) + " student (" + text(get(m, {"student_model"})) + ")\n\n";
  s += "A " + text(get(m, {"student_model"})) + " distilled from " +
       text(get(m, {"teacher_source"})) + " and pruned (" + text(get(r, {"prune", "method"})) +
       ") by condenser, for " + text(get(r, {"dataset"})) +
       (is_language_model(m) ? " next-token prediction (" : " classification (") +
       (get(m, {"input", "classes"}).is_number() ? get(m, {"input", "classes"}).dump() : "10") +
       " classes, inputs " + shape_of(get(m, {"input"})) + ").\n\n";
  s += "| | teacher | student |\n|---|---|---|\n";
  s += "| test accuracy | " + fmt_pct(ta) + " | " + fmt_pct(sa) + " |\n";
  s += "| parameters | " + fmt_count(static_cast<int64_t>(tp)) + " | " +
       fmt_count(static_cast<int64_t>(sp)) + " |\n";
  s += "| nonzero parameters | " +
       fmt_count(static_cast<int64_t>(number(get(m, {"teacher", "nonzeros"})))) + " | " +
       fmt_count(static_cast<int64_t>(number(get(m, {"student_final", "nonzeros"})))) + " |\n";
  s += "| file size | " + fmt_bytes(number(get(m, {"comparison", "teacher", "file_bytes"}))) +
       " | " + fmt_bytes(number(get(m, {"student_file_bytes"}))) + " |\n";
  for (const char* b : {"batch_1", "batch_64"}) {
    s += std::string("| CPU latency, ") + (b[6] == '1' ? "batch 1" : "batch 64") + " | " +
         fmt_num(number(get(m, {"comparison", "teacher", "latency_ms", b, "median"})), 3) +
         " ms | " +
         fmt_num(number(get(m, {"comparison", "student", "latency_ms", b, "median"})), 3) +
         " ms |\n";
  }
  s += "\nAccuracy is top-1 on " + yaml_value(get(r, {"test_samples"})) +
       (is_language_model(m) ? " test windows (per token)" : " test images") +
       "; latency is the median of alternated teacher/student runs on " +
       text(get(m, {"comparison", "device"})) + " with " +
       yaml_value(get(m, {"comparison", "threads"})) + " thread(s) (see metrics.json).\n\n";
  return s;
}

// What distillation gained over the same student trained without the teacher.
std::string gain_section(const json& m) {
  const json g = get(m, {"distillation_gain"});
  if (!g.is_object()) {
    return "Gain from distillation: not measured (control.enabled was off).\n\n";
  }
  const double points = number(get(g, {"points_test"}));
  return "**Gain from distillation: " + std::string(points >= 0 ? "+" : "") + fmt_num(points, 2) +
         " points** of test accuracy. Before pruning, the distilled student "
         "reached " +
         fmt_pct(number(get(g, {"student", "test_accuracy"}))) +
         "; the same student trained without the teacher (cross-entropy only, same batches, "
         "views, mixing and schedule) reached " +
         fmt_pct(number(get(g, {"control", "test_accuracy"}))) + ".\n\n";
}

std::string usage_section(const json& m) {
  const json input = get(m, {"input"});
  const std::string shape = shape_of(input);
  const std::string dtype = text(get(input, {"dtype"}));
  const json classes = get(input, {"classes"});
  const std::string outputs = classes.is_number() ? classes.dump() : "10";
  std::string s = "## Input\n\n";
  if (get(input, {"range"}).is_array()) {  // Fashion-MNIST pixels, normalised inside the model
    s += "float32 pixels in [0, 1], shaped `" + shape + "`; the model normalises them itself";
  } else {
    s += dtype + " inputs shaped `" + shape + "`, made from the dataset's stored values as " +
         text(get(input, {"normalisation"}));
  }
  s += ", and returns `[N, " + outputs + "]` logits.\n\n";
  const json names = get(input, {"class_names"});
  if (names.is_array() && !names.empty()) {
    std::string list;
    for (const json& n : names) list += (list.empty() ? "" : ", ") + text(n);
    s += "Classes, in logit order: " + list + ".\n\n";
  }
  s += "## Load it in Python\n\n```python\nimport torch\n\nmodel = torch.jit.load(\"student.pt\")\n"
       "model.eval()\nwith torch.no_grad():\n    logits = model(inputs)  # " +
       dtype + " " + shape + "\n    predicted = logits.argmax(1)\n```\n\n";
  s += "## Load it in C++ (LibTorch)\n\n```cpp\n#include <torch/script.h>\n\n"
       "torch::jit::Module model = torch::jit::load(\"student.pt\");\nmodel.eval();\n"
       "torch::NoGradGuard no_grad;\nat::Tensor logits = model.forward({inputs}).toTensor();  "
       "// " +
       dtype + " " + shape + "\nat::Tensor predicted = logits.argmax(1);\n```\n\n";
  return s;
}

std::string mixing_recipe(const json& r) {
  const std::string mix = text(get(r, {"student", "mix"}));
  if (mix == "none" || mix == "n/a") return "";
  return ", " + mix + " between pairs of labelled views (weight ~ Beta(" +
         yaml_value(get(r, {"student", "mix_alpha"})) + "), the stored soft labels mixed alike)";
}

std::string recipe_section(const json& m, const json& r) {
  std::string s = "## Compression recipe\n\n";
  s += "1. Teacher: " + text(get(m, {"teacher_source"})) + ".\n";
  s += "2. Soft labels: the teacher ran once over " + yaml_value(get(r, {"train_samples"})) +
       " training samples x " + yaml_value(get(r, {"soft_labels", "views_per_sample"})) +
       " view(s) at temperature " + yaml_value(get(r, {"soft_labels", "temperature"})) + " (" +
       text(get(r, {"soft_labels", "format"})) + " logits cached in HDF5 shards).\n";
  s += "3. Distillation: " + yaml_value(get(r, {"student", "epochs"})) +
       " epochs of alpha * T^2 * "
       "KL(teacher || student) + (1 - alpha) * CE with alpha = " +
       yaml_value(get(r, {"student", "alpha"})) + ", " + text(get(r, {"student", "optimizer"})) +
       ", lr " + yaml_value(get(r, {"student", "lr"})) + mixing_recipe(r) + ".\n";
  s += "4. Pruning: " + pruning_recipe(r, get(m, {"prune_schedule"})) + "\n";
  s += "5. Export: TorchScript in eval mode" +
       std::string(text(get(r, {"prune", "method"})) == "structured"
                       ? ", physically compacted (pruned channels removed).\n"
                       : ".\n");
  return s;
}

std::string int8_section(const json& m) {
  std::string s;
  const json int8 = get(m, {"int8"});
  if (int8.is_object() && int8.value("available", false)) {
    s += "\n## int8 variant\n\n`student_int8.pt` loads and runs the same way: " +
         text(get(int8, {"method"})) + " (" + text(get(int8, {"engine"})) + " engine). " +
         fmt_bytes(number(get(int8, {"file_bytes"}))) + " on disk, test accuracy " +
         fmt_pct(number(get(int8, {"test_accuracy"}))) + ", CPU latency " +
         fmt_num(number(get(int8, {"latency_ms", "batch_1", "median"})), 3) +
         " ms at batch 1 and " +
         fmt_num(number(get(int8, {"latency_ms", "batch_64", "median"})), 3) +
         " ms at batch 64 (float student, same run: " +
         fmt_num(number(get(int8, {"float_student_latency_ms", "batch_1", "median"})), 3) + " / " +
         fmt_num(number(get(int8, {"float_student_latency_ms", "batch_64", "median"})), 3) +
         " ms). Quantized TorchScript needs a LibTorch/PyTorch with a quantized engine "
         "(fbgemm, onednn or qnnpack).\n";
  } else {
    s += "\nint8: not exported: " + text(get(int8, {"reason"})) + "\n";
  }
  return s;
}

}  // namespace

std::string render_model_card(const json& m, const std::string& config_yaml) {
  const json& r = m.contains("recipe") ? m["recipe"] : json::object();
  const bool lm = is_language_model(m);
  std::string s = front_matter(m, r) + summary_section(m, r) + gain_section(m) +
                  (lm ? lm_results_section(m) + lm_usage_section(m) : usage_section(m)) +
                  recipe_section(m, r) + int8_section(m);
  s += "\nThe full configuration as run (`config.resolved.yaml`):\n\n```yaml\n" + config_yaml +
       (config_yaml.empty() || config_yaml.back() == '\n' ? "" : "\n") + "```\n\n";
  s += "See `metrics.json` for every number and `report.html` for the charts.\n";
  return s;
}

}  // namespace condenser
