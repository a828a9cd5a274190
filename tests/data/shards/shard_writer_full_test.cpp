// A shard written onto a full disk: one clear error naming the cause, no
// .tmp left, and the process stays sound afterwards (HDF5 holds no handle
// on the failed file: the next write and the exit work).
#include <gtest/gtest.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "core/errors.h"
#include "core/files.h"
#include "data/shards/shard_writer.h"
#include "tests/common/file_size_limit.h"
#include "tests/common/temp_dir.h"

namespace condenser {
namespace {

void write_rows(const std::string& path, int64_t rows) {
  ShardMeta meta;
  meta.num_classes = 10;
  std::vector<int64_t> index(static_cast<size_t>(rows));
  std::vector<int32_t> view(static_cast<size_t>(rows), 0);
  std::vector<float> logits(static_cast<size_t>(rows * 10), 0.5f);
  for (int64_t i = 0; i < rows; ++i) index[static_cast<size_t>(i)] = i;
  write_shard(path, meta, index, view, logits, LogitDType::kFloat32);
}

TEST(ShardWriterFull, AFailedWriteIsOneLineLeavesNoTmpAndTheNextWriteWorks) {
  testing_util::TempDir dir("shard_full");
  const char* full = std::getenv("CONDENSER_FULL_DIR");  // a full tmpfs, when a test mounts one
  const std::string target = full ? full : dir.path;
  {
    testing_util::FileSizeLimit limit(full ? RLIM_INFINITY : 16384);
    try {
      write_rows(target + "/big.h5", 20000);
      ADD_FAILURE() << "a shard was written past the limit";
    } catch (const RuntimeFailure& e) {
      const std::string what = e.what();
      EXPECT_EQ(what.find('\n'), std::string::npos) << what;
      EXPECT_NE(what.find("big.h5.tmp"), std::string::npos) << what;
    }
  }
  EXPECT_FALSE(path_exists(target + "/big.h5.tmp"));
  EXPECT_FALSE(path_exists(target + "/big.h5"));
  write_rows(dir.path + "/small.h5", 10);
  EXPECT_TRUE(path_exists(dir.path + "/small.h5"));
}

}  // namespace
}  // namespace condenser
