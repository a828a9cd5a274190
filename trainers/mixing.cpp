#include "trainers/mixing.h"

#include <torch/torch.h>

#include <cmath>

#include "core/errors.h"
#include "data/sampling.h"

namespace condenser {
namespace {

double uniform01(SplitMix64& g) { return double(g.next() >> 11) * 0x1.0p-53; }  // [0, 1)

double standard_normal(SplitMix64& g) {  // Box-Muller
  const double u1 = 1.0 - uniform01(g);  // (0, 1]: log is finite
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * M_PI * uniform01(g));
}

// Gamma(a, 1) by Marsaglia and Tsang; a < 1 boosted through Gamma(a + 1).
double sample_gamma(SplitMix64& g, double a) {
  if (a < 1.0) return sample_gamma(g, a + 1.0) * std::pow(1.0 - uniform01(g), 1.0 / a);
  const double d = a - 1.0 / 3.0, c = 1.0 / std::sqrt(9.0 * d);
  for (;;) {
    const double x = standard_normal(g);
    const double v = std::pow(1.0 + c * x, 3);
    if (v <= 0.0) continue;
    const double u = 1.0 - uniform01(g);
    if (std::log(u) < 0.5 * x * x + d - d * v + d * std::log(v)) return d * v;
  }
}

// Pastes a box of about (1 - lambda) of the pixels from each row's partner;
// returns the share of pixels each row kept (the exact mixing weight).
double paste_box(at::Tensor& images, const at::Tensor& partner, double lambda, SplitMix64& g) {
  const int64_t h = images.size(2), w = images.size(3);
  const double side = std::sqrt(1.0 - lambda);
  const auto cy = int64_t(g.below(uint64_t(h))), cx = int64_t(g.below(uint64_t(w)));
  const auto half_h = int64_t(std::llround(double(h) * side / 2.0));
  const auto half_w = int64_t(std::llround(double(w) * side / 2.0));
  const int64_t y0 = std::max<int64_t>(0, cy - half_h), y1 = std::min(h, cy + half_h);
  const int64_t x0 = std::max<int64_t>(0, cx - half_w), x1 = std::min(w, cx + half_w);
  if (y1 <= y0 || x1 <= x0) return 1.0;
  using torch::indexing::Slice;
  const at::Tensor box = images.index_select(0, partner.to(images.device()))
                             .index({Slice(), Slice(), Slice(y0, y1), Slice(x0, x1)});
  images.index_put_({Slice(), Slice(), Slice(y0, y1), Slice(x0, x1)}, box);
  return 1.0 - double((y1 - y0) * (x1 - x0)) / double(h * w);
}

}  // namespace

double sample_beta(SplitMix64& g, double a) {
  if (!(a > 0.0)) throw UsageError("mix_alpha must be > 0; got " + std::to_string(a));
  const double x = sample_gamma(g, a), y = sample_gamma(g, a);
  // A tiny a can underflow both draws to 0; Beta(a, a) is then all but a coin flip.
  if (!(x + y > 0.0)) return uniform01(g) < 0.5 ? 0.0 : 1.0;
  return x / (x + y);
}

void mix_batch(Batch& batch, const MixOptions& mix, uint64_t seed) {
  if (mix.method == "none") return;
  if (mix.method != "mixup" && mix.method != "cutmix") {
    throw UsageError("student.mix: unknown method '" + mix.method + "'; use none, mixup or cutmix");
  }
  if (mix.method == "cutmix" && batch.images.dim() != 4) {
    throw UsageError("student.mix: cutmix needs image inputs [N, C, H, W]; these samples have " +
                     std::to_string(batch.images.dim() - 1) + " dimension(s); use mixup or none");
  }
  const int64_t n = batch.images.size(0);
  if (n < 2) return;
  SplitMix64 g(seed);
  const double lambda = sample_beta(g, mix.alpha);
  const std::vector<int64_t> order = permutation(n, g.next());
  batch.partner = torch::tensor(order, torch::kInt64);
  if (mix.method == "mixup") {
    const at::Tensor other = batch.images.index_select(0, batch.partner.to(batch.images.device()));
    batch.images = batch.images.mul(lambda).add_(other, 1.0 - lambda);
    batch.lambda = lambda;
  } else {
    batch.images = batch.images.clone();
    batch.lambda = paste_box(batch.images, batch.partner, lambda, g);
  }
}

}  // namespace condenser
