// The raw NCCL layer (cluster/nccl_ops.h). Its no-GPU paths run wherever
// nccl.h and libnccl are installed, CUDA LibTorch or not: version, device
// count, unique ids, and a clear error naming the failing call.
#include <gtest/gtest.h>

#include "core/errors.h"

#if defined(CONDENSER_WITH_NCCL) || defined(CONDENSER_NCCL_OPS_STANDALONE)
#include "cluster/nccl_ops.h"

namespace condenser {
namespace {

TEST(NcclOps, VersionAndDeviceCountAnswerWithOrWithoutAGpu) {
  EXPECT_EQ(nccl::version().rfind("NCCL 2.", 0), 0u) << nccl::version();
  const int devices = nccl::device_count();
  EXPECT_GE(devices, 0);
  for (int d = 0; d < devices; ++d) EXPECT_NE(nccl::device_name(d), "") << "device " << d;
  EXPECT_EQ(nccl::device_name(devices), "") << "one past the last device has no name";
}

TEST(NcclOps, UniqueIdsAreFreshEachTime) {
  const nccl::UniqueId a = nccl::make_unique_id();
  const nccl::UniqueId b = nccl::make_unique_id();
  EXPECT_NE(a.bytes, b.bytes);
  EXPECT_NE(a.bytes, nccl::UniqueId{}.bytes);
}

TEST(NcclOps, CommOnAMissingDeviceNamesTheFailingCall) {
  const int missing = nccl::device_count();
  try {
    nccl::Comm comm(nccl::make_unique_id(), 1, 0, missing);
    FAIL() << "a communicator on device " << missing << " was created";
  } catch (const RuntimeFailure& e) {
    EXPECT_NE(std::string(e.what()).find("cudaSetDevice failed: "), std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace condenser

#else

TEST(NcclOps, NeedsNccl) {
  GTEST_SKIP() << "nccl.h / libnccl / cuda_runtime.h not found at configure time "
                  "(CONDENSER_NCCL_COMPILE_CHECK=OFF and CONDENSER_WITH_NCCL=OFF)";
}

#endif
