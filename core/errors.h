#pragma once
// Error types that carry the process exit code (README "Command line": 0 ok,
// 1 runtime failure, 2 bad usage/config/input, 3 accuracy budget not met).
// Library code throws; only app/ turns an Error into one line on stderr and
// an exit code.
#include <stdexcept>
#include <string>

namespace condenser {

enum class ExitCode : int { kOk = 0, kRuntime = 1, kUsage = 2, kBudget = 3 };

class Error : public std::runtime_error {
 public:
  Error(const std::string& message, ExitCode code) : std::runtime_error(message), code_(code) {}
  ExitCode code() const { return code_; }

 private:
  ExitCode code_;
};

// Something the user can fix: bad config key or value, missing file, wrong
// teacher, corrupt input. The message names the thing and what to do.
class UsageError : public Error {
 public:
  explicit UsageError(const std::string& message) : Error(message, ExitCode::kUsage) {}
};

// The job itself failed (I/O error, library failure, a bug).
class RuntimeFailure : public Error {
 public:
  explicit RuntimeFailure(const std::string& message) : Error(message, ExitCode::kRuntime) {}
};

// A compressed model missed its accuracy budget.
class BudgetMissed : public Error {
 public:
  explicit BudgetMissed(const std::string& message) : Error(message, ExitCode::kBudget) {}
};

}  // namespace condenser
