#pragma once
// Mixup and CutMix between the samples of one batch, with targets that mix
// by the same weight: the images of a batch are blended (mixup) or a box of
// one pasted into another (cutmix), and the loss becomes
//   lambda * L(s, targets of row i) + (1 - lambda) * L(s, targets of its partner)
// (trainers/train_step.h). For the KD term this is the KL to the mixture of
// the two stored teacher distributions up to a constant (the mixture's
// entropy does not depend on the student), so the cached soft labels of both
// views are all the mixed target needs: no teacher runs on the mixed image.
//
// Deterministic: the pairing and the weight come from `seed` alone, which
// the training loop derives from (seed, stage order, epoch, batch, rank), so
// a resumed stage and the no-teacher control mix exactly the same batches.
#include <cstdint>
#include <string>

#include "trainers/batch_source.h"

namespace condenser {

class SplitMix64;

struct MixOptions {
  std::string method = "none";  // none | mixup | cutmix (student.mix)
  double alpha = 1.0;           // lambda ~ Beta(alpha, alpha) per batch
};

// A draw from Beta(a, a), a > 0 (two Gamma draws, Marsaglia and Tsang),
// using only `g`: the same numbers on every platform.
double sample_beta(SplitMix64& g, double a);

// Mixes this rank's part of a batch in place: sets batch.partner (row i's
// partner, a permutation of the rows) and batch.lambda (the weight of row
// i's own targets; for cutmix the share of pixels kept), and rewrites
// batch.images. A batch of fewer than two rows, and method "none", are left
// as they are. UsageError for another method, and for cutmix on inputs that
// are not images [N, C, H, W].
void mix_batch(Batch& batch, const MixOptions& mix, uint64_t seed);

}  // namespace condenser
