// The shape side of model_spec.h: what each layer does to a per-sample shape,
// check_spec and parameter_count.
#include <algorithm>
#include <functional>
#include <numeric>
#include <sstream>

#include "core/errors.h"
#include "trainers/model_spec.h"

namespace condenser {
namespace {

std::string describe(const std::vector<int64_t>& shape) {
  std::ostringstream out;
  if (shape.size() == 1) {
    out << "a flat input of " << shape[0] << " features";
  } else {
    out << "a " << shape[0] << "x" << shape[1] << "x" << shape[2] << " image (CxHxW)";
  }
  return out.str();
}

bool is_image(const std::vector<int64_t>& s) { return s.size() == 3; }

[[noreturn]] void misfit(const std::string& where, const std::string& what) {
  throw UsageError(where + ": " + what);
}

void need_image(const LayerSpec& l, const std::vector<int64_t>& in, const std::string& where) {
  if (is_image(in)) return;
  misfit(where, layer_kind_name(l.kind) + " needs an image input [C,H,W] but gets " +
                    describe(in) +
                    "; image layers come before flatten / global_avg_pool, and tabular data "
                    "takes linear layers only");
}

std::vector<int64_t> pooled(const LayerSpec& l, const std::vector<int64_t>& in,
                            const std::string& where) {
  need_image(l, in, where);
  const int64_t h = in[1] / l.kernel, w = in[2] / l.kernel;
  if (h == 0 || w == 0) {
    misfit(where, layer_kind_name(l.kind) + " " + std::to_string(l.kernel) + " shrinks " +
                      describe(in) + " to " + std::to_string(h) + "x" + std::to_string(w) +
                      "; remove a pooling layer or use a smaller window");
  }
  return {in[0], h, w};
}

std::vector<int64_t> convolved(const LayerSpec& l, const std::vector<int64_t>& in,
                               const std::string& where) {
  need_image(l, in, where);
  const int64_t h = in[1] + 2 * l.padding - l.kernel, w = in[2] + 2 * l.padding - l.kernel;
  if (h < 0 || w < 0) {
    misfit(where, "conv kernel " + std::to_string(l.kernel) + " (padding " +
                      std::to_string(l.padding) + ") is larger than " + describe(in));
  }
  return {l.out, h / l.stride + 1, w / l.stride + 1};
}

std::vector<int64_t> walk(const std::vector<LayerSpec>& layers, std::vector<int64_t> shape,
                          const std::string& key) {
  for (size_t i = 0; i < layers.size(); ++i) {
    shape = layer_output_shape(layers[i], shape, key + "[" + std::to_string(i) + "]");
  }
  return shape;
}

int64_t params_of(const std::vector<LayerSpec>& layers, std::vector<int64_t> shape) {
  int64_t n = 0;
  for (const LayerSpec& l : layers) {
    if (l.kind == LayerKind::kConv) n += l.out * shape[0] * l.kernel * l.kernel + l.out;
    if (l.kind == LayerKind::kLinear) n += l.out * shape[0] + l.out;
    if (l.kind == LayerKind::kBatchNorm) n += 2 * shape[0];
    if (l.kind == LayerKind::kResidual) n += params_of(l.body, shape);
    shape = layer_output_shape(l, shape, "layer");
  }
  return n;
}

void check_input(const ModelSpec& spec, const std::string& key) {
  const auto& s = spec.input_shape;
  const bool positive = std::all_of(s.begin(), s.end(), [](int64_t d) { return d > 0; });
  if ((s.size() != 1 && s.size() != 3) || !positive) {
    throw UsageError(key + ": the input shape must be [features] or [channels, height, width], "
                     "all positive; got " + std::to_string(s.size()) + " dimensions");
  }
  for (const auto* values : {&spec.input_mean, &spec.input_std}) {
    const char* what = values == &spec.input_mean ? "mean" : "std";
    if (values->size() > 1 && values->size() != size_t(s[0])) {
      throw UsageError(key + ": the input normalisation has " + std::to_string(values->size()) +
                       " " + what + " values for " + std::to_string(s[0]) +
                       " channels/features; give one value or one per channel");
    }
  }
  for (double sd : spec.input_std) {
    if (!(sd > 0)) throw UsageError(key + ": the input normalisation std must be > 0");
  }
}

}  // namespace

std::string layer_prefix(const std::string& parent, size_t index) {
  return parent.empty() ? "l" + std::to_string(index) : parent + "_" + std::to_string(index);
}

std::vector<int64_t> layer_output_shape(const LayerSpec& l, const std::vector<int64_t>& in,
                                        const std::string& where) {
  switch (l.kind) {
    case LayerKind::kConv:
      return convolved(l, in, where);
    case LayerKind::kMaxPool:
    case LayerKind::kAvgPool:
      return pooled(l, in, where);
    case LayerKind::kGlobalAvgPool:
      need_image(l, in, where);
      return {in[0]};
    case LayerKind::kFlatten:
      return {std::accumulate(in.begin(), in.end(), int64_t{1}, std::multiplies<int64_t>())};
    case LayerKind::kLinear:
      if (is_image(in)) {
        misfit(where, "linear needs a flat input but gets " + describe(in) +
                          "; add flatten or global_avg_pool before it");
      }
      return {l.out};
    case LayerKind::kResidual: {
      const std::vector<int64_t> out = walk(l.body, in, where + ".residual");
      if (out != in) {
        misfit(where, "the residual body turns " + describe(in) + " into " + describe(out) +
                          "; x + body(x) needs the same shape (same channels, stride 1, "
                          "padding kernel/2, no pooling)");
      }
      return out;
    }
    case LayerKind::kBatchNorm:
    case LayerKind::kReLU:
    case LayerKind::kGELU:
    case LayerKind::kTanh:
    case LayerKind::kDropout:
      return in;
  }
  return in;
}

void check_spec(const ModelSpec& spec, int64_t classes, const std::string& key) {
  check_input(spec, key);
  if (spec.layers.empty()) {
    throw UsageError(key + ": no layers; end with {linear: " + std::to_string(classes) + "}");
  }
  const std::vector<int64_t> out = walk(spec.layers, spec.input_shape, key);
  const size_t last = spec.layers.size() - 1;
  const std::string at = key + "[" + std::to_string(last) + "]";
  if (spec.layers[last].kind != LayerKind::kLinear) {
    throw UsageError(at + ": the last layer must be {linear: " + std::to_string(classes) +
                     "} (one output per class), not " + layer_kind_name(spec.layers[last].kind));
  }
  if (out[0] != classes) {
    throw UsageError(at + ": the last linear has " + std::to_string(out[0]) +
                     " outputs but the data has " + std::to_string(classes) +
                     " classes; make it {linear: " + std::to_string(classes) + "}");
  }
}

int64_t parameter_count(const ModelSpec& spec) {
  return params_of(spec.layers, spec.input_shape);
}

}  // namespace condenser
