#include "data/shards/topk_codec.h"

#include <algorithm>
#include <cmath>

#include "core/errors.h"

namespace condenser {

Int8Codes encode_int8(const std::vector<float>& values, int k, double temperature,
                      Int8Scheme scheme) {
  if (k <= 0 || values.size() % static_cast<size_t>(k) != 0 || !(temperature > 0)) {
    throw RuntimeFailure("encode_int8: " + std::to_string(values.size()) +
                         " values do not form groups of k = " + std::to_string(k));
  }
  const size_t groups = values.size() / static_cast<size_t>(k);
  Int8Codes out;
  out.codes.resize(values.size());
  out.offset.resize(groups);
  out.step.resize(groups);
  for (size_t g = 0; g < groups; ++g) {
    const float* v = values.data() + g * k;
    const float top = v[0];
    float step = 0.0f;
    if (scheme == Int8Scheme::kGrid) {
      step = static_cast<float>(temperature * kInt8GridNats);
    } else {
      float low = top;
      for (int i = 0; i < k; ++i)
        if (std::isfinite(v[i])) low = std::min(low, v[i]);
      step = (top - low) / 255.0f;
      if (!std::isfinite(step) || step < 0) step = 0.0f;
    }
    out.offset[g] = top;
    out.step[g] = step;
    for (int i = 0; i < k; ++i) {
      // Codes are taken against the float32 step that is stored, so the
      // reader's offset - code * step is the nearest grid point.
      double c = step > 0 ? std::nearbyint((double(top) - v[i]) / step) : 0.0;
      if (!std::isfinite(v[i]) || !std::isfinite(c) || c > 255) c = 255;
      out.codes[g * k + i] = static_cast<uint8_t>(std::max(0.0, c));
    }
  }
  return out;
}

std::vector<float> decode_int8(const Int8Codes& codes, int k) {
  std::vector<float> out(codes.codes.size());
  for (size_t i = 0; i < out.size(); ++i) {
    const size_t g = i / static_cast<size_t>(k);
    out[i] = codes.offset[g] - static_cast<float>(codes.codes[i]) * codes.step[g];
  }
  return out;
}

std::vector<float> round_trip_values(const std::vector<float>& values, int k,
                                     TopKValueFormat format, double temperature,
                                     Int8Scheme scheme) {
  std::vector<float> out(values.size());
  switch (format) {
    case TopKValueFormat::kFloat32:
      return values;
    case TopKValueFormat::kFloat16:
      for (size_t i = 0; i < values.size(); ++i) out[i] = half_to_float(float_to_half(values[i]));
      return out;
    case TopKValueFormat::kBFloat16:
      for (size_t i = 0; i < values.size(); ++i)
        out[i] = bfloat16_to_float(float_to_bfloat16(values[i]));
      return out;
    case TopKValueFormat::kInt8:
      return decode_int8(encode_int8(values, k, temperature, scheme), k);
  }
  return out;
}

}  // namespace condenser
