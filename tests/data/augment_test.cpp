// Deterministic augmentation: view 0 is the identity, views are pure functions
// of (job_seed, sample_index, view), every output is one of the 50 exact
// crop/flip rearrangements, and the bytes are identical in a fresh process.
#include "data/augment.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <torch/torch.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include "core/errors.h"
#include "core/sha256.h"
#include "tests/common/temp_dir.h"

extern char** environ;

namespace condenser {
namespace {

constexpr int64_t kH = 28, kW = 28;
constexpr uint64_t kSeed = 20240611;

// Distinct positive pixel values, built from integers (no RNG): every nonzero
// output pixel identifies its source position.
at::Tensor distinct_image(int64_t salt = 0) {
  at::Tensor img = torch::empty({1, kH, kW}, torch::kFloat32);
  auto a = img.accessor<float, 3>();
  for (int64_t y = 0; y < kH; ++y)
    for (int64_t x = 0; x < kW; ++x) a[0][y][x] = float(1 + (y * kW + x) * 7 % 9973 + salt);
  return img;
}

bool bitwise_equal(const at::Tensor& a, const at::Tensor& b) {
  return a.sizes() == b.sizes() && a.scalar_type() == b.scalar_type() &&
         std::memcmp(a.contiguous().data_ptr(), b.contiguous().data_ptr(), a.nbytes()) == 0;
}

// The documented formula for one (dy, dx, flip), written out independently.
at::Tensor expected_view(const at::Tensor& img, int64_t dy, int64_t dx, bool flip) {
  at::Tensor out = torch::zeros_like(img);
  auto src = img.accessor<float, 3>();
  auto dst = out.accessor<float, 3>();
  for (int64_t y = 0; y < kH; ++y) {
    for (int64_t x = 0; x < kW; ++x) {
      const int64_t cx = flip ? kW - 1 - x : x, sy = y + dy, sx = cx + dx;
      if (sy >= 0 && sy < kH && sx >= 0 && sx < kW) dst[0][y][x] = src[0][sy][sx];
    }
  }
  return out;
}

// All 50 rearrangements, kind = 10 * (dy + 2) + 2 * (dx + 2) + flip.
std::vector<at::Tensor> all_views(const at::Tensor& img) {
  std::vector<at::Tensor> out;
  for (int64_t dy = -2; dy <= 2; ++dy)
    for (int64_t dx = -2; dx <= 2; ++dx)
      for (int flip = 0; flip < 2; ++flip) out.push_back(expected_view(img, dy, dx, flip != 0));
  return out;
}

// Which rearrangement `view` is; -1 if none.
int classify(const std::vector<at::Tensor>& candidates, const at::Tensor& view) {
  for (size_t i = 0; i < candidates.size(); ++i)
    if (bitwise_equal(view, candidates[i])) return int(i);
  return -1;
}

TEST(Augment, ViewZeroIsBitwiseIdentity) {
  at::Tensor img = distinct_image();
  img[0][3][4] = -0.0f;  // signed zero and NaN survive bitwise
  img[0][5][6] = std::nanf("");
  for (int64_t sample : {0, 1, 99}) {
    EXPECT_TRUE(bitwise_equal(augment_view(img, kSeed, sample, 0, true), img)) << sample;
  }
}

TEST(Augment, DeterministicAndIndependentOfTorchRng) {
  const at::Tensor img = distinct_image();
  for (int view = 1; view < 6; ++view) {
    torch::manual_seed(uint64_t(view));
    const at::Tensor a = augment_view(img, kSeed, 17, view, true);
    torch::manual_seed(999);
    (void)torch::rand({100});
    EXPECT_TRUE(bitwise_equal(a, augment_view(img, kSeed, 17, view, true))) << view;
  }
}

TEST(Augment, EveryViewIsAnExactCropFlipOfTheImage) {
  const at::Tensor img = distinct_image();
  const auto candidates = all_views(img);
  std::set<int> seen;
  int flips = 0, draws = 0;
  for (int64_t sample = 0; sample < 60; ++sample) {
    for (int view = 1; view <= 10; ++view, ++draws) {
      const int kind = classify(candidates, augment_view(img, kSeed, sample, view, true));
      ASSERT_GE(kind, 0) << "sample " << sample << " view " << view;
      seen.insert(kind);
      flips += kind % 2;
    }
  }
  EXPECT_EQ(seen.size(), 50u);  // all 25 offsets x 2 flips occur in 600 draws
  EXPECT_NEAR(double(flips) / draws, 0.5, 0.07);
}

// soft_labels.flip: false keeps every crop and never mirrors (digits, text).
TEST(Augment, WithoutFlipsTheSameCropsAreNeverMirrored) {
  const at::Tensor img = distinct_image();
  const auto candidates = all_views(img);
  for (int64_t sample = 0; sample < 40; ++sample) {
    for (int view = 1; view <= 5; ++view) {
      const int with = classify(candidates, augment_view(img, kSeed, sample, view, true));
      const int without = classify(candidates, augment_view(img, kSeed, sample, view, false));
      ASSERT_GE(without, 0);
      EXPECT_EQ(without % 2, 0) << "mirrored: sample " << sample << " view " << view;
      EXPECT_EQ(without / 2, with / 2) << "another crop: sample " << sample << " view " << view;
    }
  }
}

TEST(Augment, PixelsArePermutationWithZeros) {
  const at::Tensor img = distinct_image();
  std::multiset<float> source(img.data_ptr<float>(), img.data_ptr<float>() + kH * kW);
  for (int view = 1; view <= 20; ++view) {
    const at::Tensor v = augment_view(img, kSeed, 5, view, true);
    std::multiset<float> kept;
    for (int64_t i = 0; i < kH * kW; ++i) {
      const float p = v.data_ptr<float>()[i];
      if (p != 0.0f) kept.insert(p);
    }
    // Nonzero pixels are distinct source pixels; at least a (H-2) x (W-2) core survives.
    EXPECT_TRUE(std::includes(source.begin(), source.end(), kept.begin(), kept.end())) << view;
    EXPECT_EQ(std::set<float>(kept.begin(), kept.end()).size(), kept.size()) << view;
    EXPECT_GE(int64_t(kept.size()), (kH - 2) * (kW - 2)) << view;
  }
}

TEST(Augment, DifferentViewsSamplesAndSeedsDiffer) {
  const at::Tensor img = distinct_image();
  const auto candidates = all_views(img);
  std::set<int> by_view, by_sample, by_seed;
  for (int i = 1; i <= 12; ++i) {
    by_view.insert(classify(candidates, augment_view(img, kSeed, 3, i, true)));
    by_sample.insert(classify(candidates, augment_view(img, kSeed, i, 1, true)));
    by_seed.insert(classify(candidates, augment_view(img, kSeed + uint64_t(i), 3, 1, true)));
  }
  // 12 draws from 50 kinds: collisions happen, but not many.
  EXPECT_GE(by_view.size(), 6u);
  EXPECT_GE(by_sample.size(), 6u);
  EXPECT_GE(by_seed.size(), 6u);
}

TEST(Augment, BatchMatchesSingleViews) {
  const at::Tensor images =
      torch::stack({distinct_image(0), distinct_image(1), distinct_image(2), distinct_image(3)});
  const std::vector<int64_t> samples = {3, 0, 3, 2, 1};
  const std::vector<int> views = {0, 2, 5, 1, 0};
  const at::Tensor batch = augment_batch(images, samples, views, kSeed, true);
  ASSERT_EQ(batch.sizes(), (std::vector<int64_t>{5, 1, kH, kW}));
  for (size_t b = 0; b < samples.size(); ++b) {
    EXPECT_TRUE(bitwise_equal(batch[int64_t(b)],
                              augment_view(images[samples[b]], kSeed, samples[b], views[b], true)))
        << b;
  }
  EXPECT_THROW(augment_batch(images, {4}, {0}, kSeed, true), UsageError);
  EXPECT_THROW(augment_batch(images, {0, 1}, {0}, kSeed, true), UsageError);
  EXPECT_THROW(augment_view(distinct_image(), kSeed, 0, -1, true), UsageError);
  EXPECT_THROW(augment_view(images, kSeed, 0, 1, true), UsageError);
}

TEST(Augment, ViewForEpochCyclesThroughEveryView) {
  for (int k : {1, 2, 3, 5}) {
    for (int64_t sample : {0, 1, 7, 1000003}) {
      std::set<int> views;
      for (int64_t epoch = 0; epoch < k; ++epoch) views.insert(view_for_epoch(sample, epoch, k));
      EXPECT_EQ(int(views.size()), k) << "each view once per K epochs";
      EXPECT_EQ(view_for_epoch(sample, 4, k), view_for_epoch(sample, 4 + k, k));
      if (k > 1) EXPECT_NE(view_for_epoch(sample, 4, k), view_for_epoch(sample + 1, 4, k));
    }
  }
  EXPECT_EQ(view_for_epoch(6, 3, 4), 1);
  EXPECT_THROW(view_for_epoch(0, 0, 0), UsageError);
}

// SHA-256 of a fixed set of views' raw bytes.
std::string fixed_views_hash() {
  const at::Tensor images = torch::stack({distinct_image(0), distinct_image(5), distinct_image(9)});
  const std::vector<int64_t> samples = {0, 1, 2, 2, 1, 0, 2};
  const std::vector<int> views = {0, 1, 2, 3, 4, 5, 6};
  const at::Tensor out = augment_batch(images, samples, views, kSeed, true).contiguous();
  return sha256_hex(out.data_ptr(), out.nbytes());
}

// Pinned: a change here changes every augmented view (and invalidates teacher
// soft labels computed for them); update only on purpose.
const char kFixedViewsHash[] = "c906b7b57be5e9787333cb9e9fce4914f5fc117c8f54d9e7b585712b4d7f451d";

constexpr char kHashOutEnv[] = "CONDENSER_AUGMENT_HASH_OUT";

// Helper for the test below; run in a child process it writes its hash to
// $CONDENSER_AUGMENT_HASH_OUT. Run directly it checks the pinned hash.
TEST(AugmentRegen, ChildComputesFixedViewsHash) {
  const std::string hash = fixed_views_hash();
  EXPECT_EQ(hash, kFixedViewsHash);
  if (const char* out = std::getenv(kHashOutEnv)) std::ofstream(out) << hash;
}

TEST(AugmentRegen, BitwiseIdenticalInAnotherProcess) {
  testing_util::TempDir tmp("augment");
  const std::string out_path = tmp.path + "/hash.txt";
  // Everything exec needs is built before fork; GTEST_* (filter, sharding) is dropped.
  std::vector<std::string> env_strings = {std::string(kHashOutEnv) + "=" + out_path};
  for (char** e = environ; *e; ++e)
    if (std::strncmp(*e, "GTEST_", 6) != 0 &&
        std::strncmp(*e, kHashOutEnv, std::strlen(kHashOutEnv)) != 0)
      env_strings.push_back(*e);
  std::vector<char*> envp;
  for (auto& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::string exe = "/proc/self/exe", arg0 = "augment_child",
              filter = "--gtest_filter=AugmentRegen.ChildComputesFixedViewsHash";
  char* argv[] = {arg0.data(), filter.data(), nullptr};
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    execve(exe.c_str(), argv, envp.data());
    _exit(127);
  }
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
  std::string child_hash;
  std::ifstream(out_path) >> child_hash;
  EXPECT_EQ(child_hash.size(), 64u);
  EXPECT_EQ(child_hash, fixed_views_hash());
}

}  // namespace
}  // namespace condenser
