#include "data/augment.h"

#include <torch/torch.h>

#include <string>

#include "core/errors.h"
#include "data/sampling.h"

namespace condenser {
namespace {

void check_image(const at::Tensor& image, int64_t dims, const char* what) {
  if (image.dim() != dims || image.scalar_type() != torch::kFloat32) {
    throw UsageError(std::string("augment: ") + what + " must be a " + std::to_string(dims) +
                     "-d float32 tensor; got " + std::to_string(image.dim()) + "-d " +
                     std::string(c10::toString(image.scalar_type())));
  }
}

// Writes the view of src [C, H, W] (contiguous CPU float32) into dst (same shape).
void write_view(const float* src, float* dst, int64_t channels, int64_t h, int64_t w,
                uint64_t job_seed, int64_t sample_index, int view, bool allow_flip) {
  const int64_t plane = h * w;
  if (view == 0) {
    std::copy(src, src + channels * plane, dst);
    return;
  }
  SplitMix64 g(mix_seed(mix_seed(job_seed, static_cast<uint64_t>(sample_index)),
                        static_cast<uint64_t>(view)));
  const int64_t span = 2 * kCropPad + 1;
  const int64_t dy = static_cast<int64_t>(g.below(span)) - kCropPad;
  const int64_t dx = static_cast<int64_t>(g.below(span)) - kCropPad;
  const bool flip = (g.next() >> 63) != 0 && allow_flip;  // drawn anyway: the same crops
  for (int64_t c = 0; c < channels; ++c) {
    for (int64_t y = 0; y < h; ++y) {
      const int64_t sy = y + dy;
      for (int64_t x = 0; x < w; ++x) {
        const int64_t sx = (flip ? w - 1 - x : x) + dx;
        const bool inside = sy >= 0 && sy < h && sx >= 0 && sx < w;
        dst[c * plane + y * w + x] = inside ? src[c * plane + sy * w + sx] : 0.0f;
      }
    }
  }
}

void check_view(int view) {
  if (view < 0) throw UsageError("augment: view must be >= 0; got " + std::to_string(view));
}

}  // namespace

at::Tensor augment_view(const at::Tensor& image, uint64_t job_seed, int64_t sample_index, int view,
                        bool flip) {
  check_image(image, 3, "image");
  check_view(view);
  const at::Tensor src = image.to(torch::kCPU).contiguous();
  at::Tensor out = torch::empty_like(src);
  write_view(src.data_ptr<float>(), out.data_ptr<float>(), src.size(0), src.size(1), src.size(2),
             job_seed, sample_index, view, flip);
  return out.to(image.device());
}

at::Tensor augment_batch(const at::Tensor& images, const std::vector<int64_t>& sample_indices,
                         const std::vector<int>& views, uint64_t job_seed, bool flip) {
  check_image(images, 4, "images");
  if (sample_indices.size() != views.size()) {
    throw UsageError("augment_batch: " + std::to_string(sample_indices.size()) +
                     " sample indices but " + std::to_string(views.size()) + " views");
  }
  const int64_t n = images.size(0), c = images.size(1), h = images.size(2), w = images.size(3);
  const at::Tensor src = images.to(torch::kCPU).contiguous();
  at::Tensor out = torch::empty({static_cast<int64_t>(views.size()), c, h, w}, src.options());
  const float* in = src.data_ptr<float>();
  float* dst = out.data_ptr<float>();
  for (size_t b = 0; b < views.size(); ++b) {
    const int64_t i = sample_indices[b];
    if (i < 0 || i >= n) {
      throw UsageError("augment_batch: sample index " + std::to_string(i) + " outside [0, " +
                       std::to_string(n) + ")");
    }
    check_view(views[b]);
    write_view(in + i * c * h * w, dst + static_cast<int64_t>(b) * c * h * w, c, h, w, job_seed, i,
               views[b], flip);
  }
  return out.to(images.device());
}

int view_for_epoch(int64_t sample_index, int64_t epoch, int views_per_sample) {
  if (views_per_sample < 1) {
    throw UsageError("views_per_sample must be >= 1; got " + std::to_string(views_per_sample));
  }
  const int64_t k = views_per_sample;
  return static_cast<int>((((epoch + sample_index) % k) + k) % k);
}

}  // namespace condenser
