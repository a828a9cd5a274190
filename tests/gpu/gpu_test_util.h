#pragma once
// What the GPU tests share: the reason a test cannot run here (a CPU build,
// no GPU, no NCCL), reported with GTEST_SKIP so `make test` on a CPU machine
// lists them as skipped instead of failing; the data folder.
#include <gtest/gtest.h>
#include <torch/cuda.h>

#include <string>

namespace condenser::testing_util {

inline std::string cuda_unavailable_reason() {
#if !defined(CONDENSER_WITH_CUDA)
  return "built without CUDA (CONDENSER_WITH_CUDA=OFF, a CPU LibTorch); scripts/gpu-check.sh "
         "builds and runs these on a GPU machine";
#else
  if (!torch::cuda::is_available()) return "no CUDA device is visible to this process";
  return "";
#endif
}

inline std::string nccl_unavailable_reason() {
  const std::string cuda = cuda_unavailable_reason();
  if (!cuda.empty()) return cuda;
#if !defined(CONDENSER_WITH_NCCL)
  return "built without NCCL (CONDENSER_WITH_NCCL=OFF)";
#else
  return "";
#endif
}

inline const char* test_data_dir() { return CONDENSER_TEST_DATA; }

}  // namespace condenser::testing_util

// GTEST_SKIP returns from the test body, so these must be macros.
#define CONDENSER_REQUIRE_CUDA()                                                       \
  do {                                                                                 \
    const std::string why_ = ::condenser::testing_util::cuda_unavailable_reason();     \
    if (!why_.empty()) GTEST_SKIP() << why_;                                           \
  } while (0)
#define CONDENSER_REQUIRE_NCCL()                                                       \
  do {                                                                                 \
    const std::string why_ = ::condenser::testing_util::nccl_unavailable_reason();     \
    if (!why_.empty()) GTEST_SKIP() << why_;                                           \
  } while (0)
