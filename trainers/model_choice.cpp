#include "trainers/model_choice.h"

#include <torch/torch.h>

#include <map>

#include "core/errors.h"
#include "data/sampling.h"
#include "trainers/model_io.h"

namespace condenser {
namespace {

// Zoo models and declared ones are fitted to the data; only Fashion-MNIST
// inputs arrive as raw [0, 1] pixels that the model normalises itself.
ModelSpec fit_to_data(ModelSpec spec, const DatasetInfo& data) {
  spec.input_shape = data.sample_shape;
  if (data.is_tokens()) spec.vocab = data.num_classes;  // lm_head's width, the embedding's rows
  if (data.kind != "fashion_mnist") {
    spec.input_mean.clear();
    spec.input_std.clear();
  }
  return spec;
}

ModelSpec declared(const std::string& name, const std::string& layers, const std::string& key,
                   const DatasetInfo& data) {
  ModelSpec spec;
  spec.name = name;
  spec.layers = parse_model_layers(layers, key);
  if (data.kind == "fashion_mnist") {  // the zoo's own normalisation of raw pixels
    const ModelSpec zoo = zoo_spec("mlp");
    spec.input_mean = zoo.input_mean;
    spec.input_std = zoo.input_std;
  }
  return fit_to_data(spec, data);
}

ModelSpec zoo(const std::string& name, const std::string& key, const DatasetInfo& data) {
  try {
    return fit_to_data(zoo_spec(name, data.sample_shape, data.num_classes), data);
  } catch (const UsageError& e) {
    throw UsageError(key + ": " + e.what());
  }
}

// An empty text and an empty list ("[]") both mean: no declared layers.
bool declares(const std::string& layers, const std::string& key) {
  return !layers.empty() && !parse_model_layers(layers, key).empty();
}

// A student may give both: declared layers started from a file's weights.
void check_one_source(const std::string& role, const std::string& path, const std::string& layers) {
  if (role == "teacher" && !path.empty() && declares(layers, role + ".layers")) {
    throw UsageError(role + ".path and " + role + ".layers are both set; give one: a TorchScript "
                     "file or a declared layer list");
  }
}

std::string shape_text(const at::Tensor& t) {
  std::string s;
  for (int64_t d : t.sizes()) s += (s.empty() ? "" : ", ") + std::to_string(d);
  return "[" + s + "]";
}

void probe_student(const Config& config, const DatasetInfo& data, const at::Tensor& probe) {
  const std::string& path = config.student.path;
  torch::jit::Module student = load_module(path, "student");
  student.eval();
  c10::IValue out;
  try {
    torch::NoGradGuard no_grad;
    out = student.forward({probe});
  } catch (const std::exception& e) {  // c10::Error and the interpreter's own errors
    const auto* c10_error = dynamic_cast<const c10::Error*>(&e);
    throw UsageError("student '" + path + "' fails on the first training inputs " +
                     shape_text(probe) + ": " +
                     last_line(c10_error ? c10_error->what_without_backtrace() : e.what()) +
                     "; it must take the dataset's samples " + data.batch_shape_text());
  }
  // Token windows [N, T] give one distribution per position: [N, T, V].
  std::vector<int64_t> want = {probe.size(0)};
  if (data.kind == "tokens") want.push_back(probe.size(1));
  want.push_back(data.num_classes);
  const bool fits = out.isTensor() && out.toTensor().sizes().vec() == want;
  if (!fits) {
    std::string expected;
    for (int64_t d : want) expected += (expected.empty() ? "" : ", ") + std::to_string(d);
    throw UsageError("student '" + path + "' returns " +
                     (out.isTensor() ? shape_text(out.toTensor()) : out.tagKind()) + " for " +
                     shape_text(probe) + "; expected [" + expected + "] logits");
  }
  int64_t trainable = 0;
  for (const auto& p : student.parameters()) trainable += p.is_floating_point() ? p.numel() : 0;
  if (trainable == 0) {
    throw UsageError("student '" + path + "' has no floating-point parameters to train");
  }
}

// Copies every parameter and buffer of the TorchScript file at `path` into
// the declared `student`, by name (a declared teacher's file fits a student
// declared with the teacher's layers: pruning a teacher, as Minitron does).
// UsageError naming the first tensor missing, extra or of another shape.
void start_from_file(torch::jit::Module& student, const std::string& path) {
  const torch::jit::Module file = load_module(path, "student.path");
  std::map<std::string, at::Tensor> theirs;
  for (const auto& p : file.named_parameters()) theirs[p.name] = p.value;
  for (const auto& b : file.named_buffers()) theirs[b.name] = b.value;
  const auto fill = [&](const std::string& name, const at::Tensor& mine) {
    const auto it = theirs.find(name);
    if (it == theirs.end() || it->second.sizes() != mine.sizes()) {
      throw UsageError("student.path '" + path + "' does not fit student.layers: '" + name + "' " +
                       (it == theirs.end() ? std::string("is not in the file")
                                           : "is " + shape_text(it->second) + " there, " +
                                                 shape_text(mine) + " in the declared layers") +
                       "; declare the layers the file was built with");
    }
    torch::NoGradGuard no_grad;
    mine.copy_(it->second);
    theirs.erase(it);
  };
  for (const auto& p : student.named_parameters()) fill(p.name, p.value);
  for (const auto& b : student.named_buffers()) fill(b.name, b.value);
  if (!theirs.empty()) {
    throw UsageError("student.path '" + path + "' holds '" + theirs.begin()->first +
                     "', which student.layers do not declare; declare the layers the file was "
                     "built with");
  }
}

}  // namespace

std::optional<ModelSpec> teacher_spec(const Config& config, const DatasetInfo& data) {
  const TeacherConfig& t = config.teacher;
  if (!t.path.empty()) return std::nullopt;
  if (declares(t.layers, "teacher.layers")) {
    return declared("teacher", t.layers, "teacher.layers", data);
  }
  return zoo(t.model, "teacher.model", data);
}

std::optional<ModelSpec> student_spec(const Config& config, const DatasetInfo& data) {
  const StudentConfig& s = config.student;
  if (declares(s.layers, "student.layers")) {
    return declared("student", s.layers, "student.layers", data);
  }
  if (!s.path.empty()) return std::nullopt;
  return zoo(s.model, "student.model", data);
}

std::string student_description(const Config& config) {
  const StudentConfig& s = config.student;
  if (declares(s.layers, "student.layers")) {
    return "declared (" + std::to_string(parse_model_layers(s.layers, "student.layers").size()) +
           " layers" + (s.path.empty() ? "" : ", started from " + s.path) + ")";
  }
  if (!s.path.empty()) return "TorchScript " + s.path;
  return s.model;
}

torch::jit::Module fresh_student(const Config& config, const DatasetInfo& data) {
  if (const std::optional<ModelSpec> spec = student_spec(config, data)) {
    torch::jit::Module student = build_model(*spec, mix_seed(config.seed, 2));
    if (!config.student.path.empty()) start_from_file(student, config.student.path);
    return student;
  }
  torch::jit::Module student = load_module(config.student.path, "student");
  for (const auto& p : student.parameters()) {
    if (p.is_floating_point()) p.set_requires_grad(true);
  }
  student.train();
  return student;
}

namespace {

// Built-in models and declared layers other than a language model compute
// on floats; int64 ids (tokens, categories) need an embedding first.
void check_float_inputs(const std::string& role, const DatasetInfo& data,
                        const std::optional<ModelSpec>& spec) {
  if (data.input_dtype() != "int64") return;
  const bool embeds =
      spec && !spec->layers.empty() && spec->layers[0].kind == LayerKind::kEmbedding;
  if (embeds) return;
  if (data.kind == "tokens") {
    throw UsageError(role + ": '" + data.path + "' holds token ids, and the built-in zoo holds "
                     "image and tabular models; declare " + role + ".layers as a language model "
                     "(- {embedding: 128, positions: rotary}, - {block: 4, mlp: 512, repeat: 4}, "
                     "- layer_norm, - lm_head) or give " + role + ".path, a TorchScript model");
  }
  throw UsageError(role + ": '" + data.path + "' holds int64 inputs (ids), which this model "
                   "cannot take (it has no embedding first); give " + role +
                   ".path, a TorchScript model that embeds them");
}

// The declared spec of `role`, or none when it declares no layers (a zoo
// model: zoo_spec would refuse token shapes before the clearer message).
std::optional<ModelSpec> declared_or_none(const std::string& layers, const std::string& role,
                                          const DatasetInfo& data) {
  if (!declares(layers, role + ".layers")) return std::nullopt;
  return declared(role, layers, role + ".layers", data);
}

}  // namespace

void check_models(const Config& config, const DatasetInfo& data, const at::Tensor& probe) {
  check_one_source("teacher", config.teacher.path, config.teacher.layers);
  check_one_source("student", config.student.path, config.student.layers);
  if (config.teacher.path.empty()) {
    check_float_inputs("teacher", data, declared_or_none(config.teacher.layers, "teacher", data));
  }
  if (config.student.path.empty()) {
    check_float_inputs("student", data, declared_or_none(config.student.layers, "student", data));
  }
  if (const auto t = teacher_spec(config, data)) {
    check_spec(*t, data.num_classes, t->name == "teacher" ? "teacher.layers" : "teacher.model");
  }
  if (const auto s = student_spec(config, data)) {
    check_spec(*s, data.num_classes, s->name == "student" ? "student.layers" : "student.model");
    return;
  }
  probe_student(config, data, probe);
  if (config.prune.enabled && config.prune.method == "structured") {
    throw UsageError("prune.method: structured needs a student whose layers condenser knows "
                     "(student.model or student.layers) to remove channels and compact it; a "
                     "TorchScript student ('" + config.student.path + "') can be pruned with "
                     "global_magnitude, layer_magnitude or nm");
  }
}

}  // namespace condenser
