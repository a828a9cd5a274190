#include "core/heap_tuning.h"

#include <cstdlib>
#include <cstring>
#include <initializer_list>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace condenser {
namespace {

bool user_set_malloc() {
  for (const char* name : {"MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "MALLOC_TOP_PAD_"}) {
    if (std::getenv(name) != nullptr) return true;
  }
  const char* tunables = std::getenv("GLIBC_TUNABLES");
  return tunables != nullptr && std::strstr(tunables, "glibc.malloc.") != nullptr;
}

}  // namespace

HeapTuning keep_freed_memory() {
  const char* choice = std::getenv("CONDENSER_HEAP");
  if (choice != nullptr && std::strcmp(choice, "system") == 0) return HeapTuning::kOptedOut;
  if (user_set_malloc()) return HeapTuning::kUserSetting;
#if defined(__GLIBC__)
  constexpr int kMiB = 1 << 20;
  // 32 MiB is the most glibc accepts (64-bit); a fixed value also switches
  // off its moving threshold.
  const bool ok = mallopt(M_MMAP_THRESHOLD, 32 * kMiB) == 1 &&
                  mallopt(M_TRIM_THRESHOLD, 1024 * kMiB) == 1 && mallopt(M_TOP_PAD, 64 * kMiB) == 1;
  return ok ? HeapTuning::kApplied : HeapTuning::kUnsupported;
#else
  return HeapTuning::kUnsupported;
#endif
}

}  // namespace condenser
