#include "core/log.h"

#include <atomic>
#include <cstdio>
#include <ctime>
#include <mutex>

#include "core/errors.h"

namespace condenser {
namespace {

std::atomic<int> g_level{static_cast<int>(LogLevel::kInfo)};  // the one global: the logger
std::mutex g_mutex;
std::function<void()> g_before, g_after;  // guarded by g_mutex
const char* const kNames[] = {"trace", "debug", "info", "warn", "error"};

}  // namespace

LogLevel parse_log_level(const std::string& name) {
  for (int i = 0; i < 5; ++i) {
    if (name == kNames[i]) return static_cast<LogLevel>(i);
  }
  throw UsageError("unknown log level '" + name + "'; use trace, debug, info, warn or error");
}

void set_log_level(LogLevel level) { g_level = static_cast<int>(level); }

bool log_enabled(LogLevel level) { return static_cast<int>(level) >= g_level; }

void log_line(LogLevel level, const std::string& message) {
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  localtime_r(&now, &tm);
  char stamp[16];
  std::strftime(stamp, sizeof stamp, "%H:%M:%S", &tm);
  const char* tag = level >= LogLevel::kWarn ? (level == LogLevel::kWarn ? "warning: " : "error: ")
                                             : "";
  std::lock_guard<std::mutex> lock(g_mutex);
  if (g_before) g_before();
  std::fprintf(stderr, "[%s] %s%s\n", stamp, tag, message.c_str());
  std::fflush(stderr);
  if (g_after) g_after();
}

void set_log_line_hooks(std::function<void()> before, std::function<void()> after) {
  std::lock_guard<std::mutex> lock(g_mutex);
  g_before = std::move(before);
  g_after = std::move(after);
}

std::string fixed(double value, int decimals) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, value);
  return buf;
}

std::string percent(double fraction) { return fixed(100.0 * fraction, 2) + "%"; }

}  // namespace condenser
