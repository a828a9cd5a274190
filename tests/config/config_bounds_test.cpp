// Bounds on what a config may make condenser do: the file is read only up to
// a limit (not /dev/zero until memory runs out) and runtime.threads has a
// ceiling.
#include <gtest/gtest.h>

#include <fstream>
#include <string>

#include "config/config.h"
#include "config/config_schema.h"
#include "core/errors.h"

namespace condenser {
namespace {

std::string load_error(const std::string& path, const std::vector<std::string>& overrides = {}) {
  try {
    load_config(path, overrides);
  } catch (const UsageError& e) {
    return e.what();
  }
  ADD_FAILURE() << "expected a UsageError for " << path;
  return "";
}

::testing::AssertionResult Contains(const std::string& text, const std::string& part) {
  if (text.find(part) != std::string::npos) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "'" << part << "' not in: " << text;
}

TEST(ConfigBounds, DevZeroIsRefusedWithoutReadingIt) {
  const std::string e = load_error("/dev/zero");
  EXPECT_TRUE(Contains(e, "config file '/dev/zero' is a device"));
}

TEST(ConfigBounds, AFileOverOneMebibyteIsRefused) {
  const std::string path = ::testing::TempDir() + "/condenser_config_bounds_big.yaml";
  {
    std::ofstream out(path, std::ios::binary);
    const std::string comment = "# " + std::string(1000, 'x') + "\n";
    for (int i = 0; i < 1100; ++i) out << comment;
  }
  EXPECT_TRUE(Contains(load_error(path), "is larger than 1 MiB"));
  std::remove(path.c_str());
}

TEST(ConfigBounds, ThreadsHaveACeiling) {
  const std::string path = ::testing::TempDir() + "/condenser_config_bounds_threads.yaml";
  std::ofstream(path) << "runtime:\n  threads: 1000000\n";
  EXPECT_TRUE(Contains(load_error(path), "runtime.threads: expected an integer in [0, 1024]"));
  std::ofstream(path) << "runtime:\n  threads: 1024\n";
  EXPECT_EQ(load_config(path).runtime.threads, kMaxThreads);
  EXPECT_TRUE(Contains(load_error(path, {"runtime.threads=1025"}), "override"));
  std::remove(path.c_str());
}

}  // namespace
}  // namespace condenser
