#include "core/fault_injection.h"

#include <csignal>
#include <cstdlib>
#include <cstdio>

namespace condenser {

void fault_point(const std::string& point, const std::string& value) {
  static const char* const fault = std::getenv("CONDENSER_FAULT");
  if (fault == nullptr || point + ":" + value != fault) return;
  std::fprintf(stderr, "condenser: CONDENSER_FAULT=%s: killing this process\n", fault);
  std::fflush(stderr);
  std::raise(SIGKILL);
}

}  // namespace condenser
