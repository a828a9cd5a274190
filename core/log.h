#pragma once
// The process's one logger: "[HH:MM:SS] message" lines on stderr, filtered by
// level. Our own rather than spdlog: PyTorch 2.x ships its own {fmt} headers,
// which collide with the system fmt that spdlog is built against.
#include <functional>
#include <sstream>
#include <string>

namespace condenser {

enum class LogLevel { kTrace = 0, kDebug, kInfo, kWarn, kError };

// "trace" | "debug" | "info" | "warn" | "error"; UsageError otherwise.
LogLevel parse_log_level(const std::string& name);
void set_log_level(LogLevel level);
bool log_enabled(LogLevel level);
void log_line(LogLevel level, const std::string& message);
// Called just before and just after each line is written, under the logger's
// lock: a terminal progress bar takes itself off the line and draws itself
// again. Pass empty functions to remove them. The hooks must not log.
void set_log_line_hooks(std::function<void()> before, std::function<void()> after);

// Concatenates its arguments with operator<<.
template <class... Args>
void log(LogLevel level, const Args&... args) {
  if (!log_enabled(level)) return;
  std::ostringstream out;
  (out << ... << args);
  log_line(level, out.str());
}
template <class... Args>
void log_info(const Args&... args) { log(LogLevel::kInfo, args...); }
template <class... Args>
void log_debug(const Args&... args) { log(LogLevel::kDebug, args...); }
template <class... Args>
void log_warn(const Args&... args) { log(LogLevel::kWarn, args...); }

// Number formatting for log lines: fixed(0.91234, 2) == "0.91",
// percent(0.91234) == "91.23%".
std::string fixed(double value, int decimals);
std::string percent(double fraction);

}  // namespace condenser
