#pragma once
// Deterministic data augmentation: random crop (zero padding 2) and horizontal
// flip, with all randomness from an own SplitMix64 stream (never torch's RNG)
// and only exact integer index shuffling (no interpolation), so a view is a
// pure function of (job_seed, sample_index, view) and bitwise identical in
// every process, on every platform and across restarts.
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <vector>

namespace condenser {

// Zero padding of the random crop: offsets are drawn from [-kCropPad, kCropPad].
constexpr int64_t kCropPad = 2;

// View `view` of one image [C, H, W] float32 (C = 1 for Fashion-MNIST).
// view 0: a copy of the image, bitwise unchanged.
// view >= 1: with g = SplitMix64(mix_seed(mix_seed(job_seed, sample_index), view))
// draw, in this order, dy = g.below(5) - 2, dx = g.below(5) - 2 and
// flip = top bit of g.next(); then
//   crop[c][y][x] = image[c][y + dy][x + dx]   (0 where that is outside the image)
//   out[c][y][x]  = crop[c][y][flip ? W - 1 - x : x]
// i.e. pad by 2 with zeros, crop H x W at offset (2 + dy, 2 + dx), flip with
// probability 1/2. Every output pixel is an input pixel or 0. With `flip`
// false (data whose mirror image is another thing: digits, text) the flip
// bit is still drawn, so the crops are the same, and never applied.
// Throws UsageError for view < 0, a tensor that is not 3-d float32.
at::Tensor augment_view(const at::Tensor& image, uint64_t job_seed, int64_t sample_index, int view,
                        bool flip);

// Batched: out[b] = augment_view(images[sample_indices[b]], job_seed,
// sample_indices[b], views[b], flip). images: [N, C, H, W] float32, all samples of the
// set (indexed by sample index); returns [B, C, H, W] on images' device.
// Throws UsageError if the vectors differ in length or an index is outside [0, N).
at::Tensor augment_batch(const at::Tensor& images, const std::vector<int64_t>& sample_indices,
                         const std::vector<int>& views, uint64_t job_seed, bool flip);

// Which of K = views_per_sample views a sample gets in an epoch:
//   view = (epoch + sample_index) mod K   (non-negative).
// Why: for a fixed sample consecutive epochs walk through all K views, so each
// view (including the unaugmented view 0) is used exactly once every K epochs
// and a teacher's soft labels precomputed for K views are all consumed; for a
// fixed epoch neighbouring samples get different views, so no epoch is all
// unaugmented (or all one view). K = 1 always gives view 0 (no augmentation).
// Throws UsageError if views_per_sample < 1.
int view_for_epoch(int64_t sample_index, int64_t epoch, int views_per_sample);

}  // namespace condenser
