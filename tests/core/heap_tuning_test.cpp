// keep_freed_memory: glibc takes condenser's heap setting, and a user's own
// setting or CONDENSER_HEAP=system leaves glibc's defaults alone.
#include "core/heap_tuning.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <string>

namespace condenser {
namespace {

// Sets an environment variable for one scope and restores what was there.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    const char* old = std::getenv(name);
    had_ = old != nullptr;
    if (had_) old_ = old;
    ::setenv(name, value, 1);
  }
  ~ScopedEnv() { had_ ? (void)::setenv(name_, old_.c_str(), 1) : (void)::unsetenv(name_); }

 private:
  const char* name_;
  bool had_ = false;
  std::string old_;
};

TEST(HeapTuning, GlibcAcceptsTheSetting) {
#if defined(__GLIBC__)
  // Each value is within what mallopt accepts (it returns 0, never throws,
  // for one it refuses, such as an mmap threshold above 32 MiB).
  EXPECT_EQ(keep_freed_memory(), HeapTuning::kApplied);
#else
  EXPECT_EQ(keep_freed_memory(), HeapTuning::kUnsupported);
#endif
}

TEST(HeapTuning, LeavesTheDefaultsWhenAskedOrWhenTheUserSetTheirOwn) {
  {
    ScopedEnv heap("CONDENSER_HEAP", "system");
    EXPECT_EQ(keep_freed_memory(), HeapTuning::kOptedOut);
  }
  {
    ScopedEnv own("MALLOC_TRIM_THRESHOLD_", "4194304");
    EXPECT_EQ(keep_freed_memory(), HeapTuning::kUserSetting);
  }
  {
    ScopedEnv own("GLIBC_TUNABLES", "glibc.malloc.top_pad=0");
    EXPECT_EQ(keep_freed_memory(), HeapTuning::kUserSetting);
  }
  ScopedEnv other("GLIBC_TUNABLES", "glibc.rtld.optional_static_tls=512");
  EXPECT_NE(keep_freed_memory(), HeapTuning::kUserSetting);
}

}  // namespace
}  // namespace condenser
