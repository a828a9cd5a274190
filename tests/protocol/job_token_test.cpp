// The job token file: a new one is private and random; an
// existing empty, short, non-hex or group/world-readable one is refused with
// a usage error naming the file and the fix, and never rewritten.
#include "protocol/job_token.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <functional>
#include <string>
#include <vector>

#include "tests/common/temp_dir.h"
#include "core/errors.h"
#include "core/files.h"

namespace condenser {
namespace {

using testing_util::TempDir;

void write(const std::string& path, const std::string& text, int mode) {
  atomic_write_file(path, text, mode);
  ::chmod(path.c_str(), static_cast<mode_t>(mode));
}

std::string usage_error(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const UsageError& e) {
    return e.what();
  }
  return "(no usage error)";
}

TEST(JobToken, CreatedPrivateWith256RandomBits) {
  TempDir dir("token");
  const std::string a = dir.path + "/a.token", b = dir.path + "/b.token";
  ensure_job_token(a);
  ensure_job_token(b);
  struct stat st {};
  ASSERT_EQ(::stat(a.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(read_job_token(a).size(), 64u);
  EXPECT_TRUE(valid_job_token(read_job_token(a)));
  EXPECT_NE(read_job_token(a), read_job_token(b));
  const std::string before = read_job_token(a);
  ensure_job_token(a);  // an existing good token is kept
  EXPECT_EQ(read_job_token(a), before);
}

TEST(JobToken, EmptyShortOrNonHexTokenIsRefused) {
  TempDir dir("token");
  const std::string path = dir.path + "/job.token";
  const std::vector<std::string> bad_tokens = {"", "\n", "abc\n", std::string(31, 'a') + "\n",
                                               std::string(31, 'a') + "g\n",
                                               "secret token of 32+ characters!!"};
  for (const std::string& bad : bad_tokens) {
    write(path, bad, 0600);
    const std::string why = usage_error([&] { ensure_job_token(path); });
    EXPECT_NE(why.find("job token '" + path + "'"), std::string::npos) << why;
    EXPECT_NE(why.find("delete it to get a new one"), std::string::npos) << why;
    EXPECT_NE(usage_error([&] { read_job_token(path); }), "(no usage error)");
    EXPECT_EQ(read_file(path), bad);  // left as it is
  }
  write(path, "", 0600);
  EXPECT_NE(usage_error([&] { read_job_token(path); }).find("is empty"), std::string::npos);
}

TEST(JobToken, GroupOrWorldReadableTokenIsRefused) {
  TempDir dir("token");
  const std::string path = dir.path + "/job.token";
  const std::string token = std::string(64, 'f') + "\n";
  for (const int mode : {0644, 0640, 0604, 0660}) {
    write(path, token, mode);
    const std::string why = usage_error([&] { ensure_job_token(path); });
    EXPECT_NE(why.find("readable by others"), std::string::npos) << why;
    EXPECT_NE(why.find("chmod 600 '" + path + "'"), std::string::npos) << why;
  }
  write(path, token, 0600);
  EXPECT_NO_THROW(ensure_job_token(path));
  EXPECT_EQ(read_job_token(path), std::string(64, 'f'));
}

TEST(JobToken, NotARegularFileOrHugeIsRefused) {
  TempDir dir("token");
  EXPECT_NE(usage_error([&] { read_job_token("/dev/zero"); }), "(no usage error)");
  EXPECT_NE(usage_error([&] { read_job_token(dir.path); }), "(no usage error)");
  const std::string big = dir.path + "/big.token";
  write(big, std::string(1 << 20, 'a'), 0600);
  EXPECT_NE(usage_error([&] { read_job_token(big); }), "(no usage error)");
}

}  // namespace
}  // namespace condenser
