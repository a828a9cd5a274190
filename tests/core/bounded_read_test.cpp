// Bounded reading of input files: regular files within the limit are read
// whole; devices, pipes, folders, missing and oversized files are usage
// errors naming what and where.
#include "core/bounded_read.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>
#include <string>

#include "core/errors.h"
#include "tests/common/temp_dir.h"

namespace condenser {
namespace {

using testing_util::TempDir;

void write(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

// read_file_at_most throws UsageError whose message holds every needle.
void expect_refused(const std::string& path, std::uint64_t max,
                    const std::vector<std::string>& needles) {
  try {
    read_file_at_most(path, max, "config file");
    ADD_FAILURE() << "no error for " << path;
  } catch (const UsageError& e) {
    const std::string msg = e.what();
    EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
    for (const std::string& needle : needles) {
      EXPECT_NE(msg.find(needle), std::string::npos) << "'" << needle << "' in: " << msg;
    }
  }
}

TEST(BoundedRead, ReadsARegularFileUpToTheLimitExactly) {
  TempDir tmp;
  const std::string path = tmp.path + "/a.yaml";
  const std::string text(std::string("name: x\n") + std::string(1000, '#') + std::string(1, '\0'));
  write(path, text);
  EXPECT_EQ(read_file_at_most(path, text.size(), "config file"), text);
  write(path, "");
  EXPECT_EQ(read_file_at_most(path, 10, "config file"), "");
}

TEST(BoundedRead, RefusesAFileOverTheLimitNamingIt) {
  TempDir tmp;
  const std::string path = tmp.path + "/big.yaml";
  write(path, std::string(2049, 'x'));
  expect_refused(path, 2048, {"config file", path, "larger than 2 KiB"});
}

TEST(BoundedRead, RefusesDevicesFoldersAndPipesWithoutReadingThem) {
  TempDir tmp;
  expect_refused("/dev/zero", kMaxConfigBytes, {"/dev/zero", "a device"});
  expect_refused(tmp.path, kMaxConfigBytes, {tmp.path, "a folder"});
  const std::string fifo = tmp.path + "/fifo";
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  expect_refused(fifo, kMaxConfigBytes, {fifo, "pipe"});  // must not block: no writer
}

TEST(BoundedRead, MissingFileIsNamed) {
  TempDir tmp;
  expect_refused(tmp.path + "/nope.yaml", 10, {tmp.path + "/nope.yaml", "not found"});
}

TEST(BoundedRead, ProcFilesThatUnderstateTheirSizeAreStillBounded) {
  // /proc files report size 0 and then return more: the read itself stops.
  expect_refused("/proc/self/maps", 16, {"/proc/self/maps", "larger than 16 bytes"});
}

TEST(BoundedRead, LimitsPrintAsUsersReadThem) {
  EXPECT_EQ(format_byte_limit(1u << 20), "1 MiB");
  EXPECT_EQ(format_byte_limit(64u << 20), "64 MiB");
  EXPECT_EQ(format_byte_limit(2048), "2 KiB");
  EXPECT_EQ(format_byte_limit(1000), "1000 bytes");
}

}  // namespace
}  // namespace condenser
