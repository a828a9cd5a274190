#pragma once
// What the control-plane tests share: a valid job token and effects that
// keep no files (commits accepted, nothing recorded).
#include <string>

#include "coordinator/control/control_handler.h"

namespace condenser::testing_util {

// A valid job token (32 hex digits).
inline constexpr const char* kToken = "0123456789abcdef0123456789abcdef";

struct NoEffects : ControlEffects {
  std::string commit(const Lease&, const LabelTask&, const msg::TaskDone&) override { return ""; }
  void discard(const std::string&) override {}
  void record(const TableEvent&) override {}
};

}  // namespace condenser::testing_util
