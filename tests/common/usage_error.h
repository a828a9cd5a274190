#pragma once
// The message of the UsageError that `f` throws; a test failure (and "")
// when it throws none. Shared by the tests that check what a user is told.
#include <gtest/gtest.h>

#include <string>

#include "core/errors.h"

namespace condenser::testing_util {

template <typename F>
std::string usage_error(F&& f) {
  try {
    f();
  } catch (const UsageError& e) {
    return e.what();
  }
  ADD_FAILURE() << "no UsageError";
  return "";
}

}  // namespace condenser::testing_util
