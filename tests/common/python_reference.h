#pragma once
// Runs a Python reference script (tests/interop/NAME.py) with the interpreter
// that can import torch (CONDENSER_PYTHON), passing `input` as a JSON file,
// and returns the JSON it writes. A failed run is a test failure (and null).
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

namespace condenser::testing_util {

inline nlohmann::json run_python_reference(const std::string& script, const nlohmann::json& input,
                                           const std::string& scratch_dir) {
  const std::string in_path = scratch_dir + "/input.json", out_path = scratch_dir + "/output.json";
  std::ofstream(in_path) << input.dump();
  const std::string cmd = std::string(CONDENSER_PYTHON) + " " + CONDENSER_SOURCE_DIR +
                          "/tests/interop/" + script + " " + in_path + " " + out_path;
  const int rc = std::system(cmd.c_str());
  if (!WIFEXITED(rc) || WEXITSTATUS(rc) != 0) {
    ADD_FAILURE() << "python reference failed: " << cmd;
    return nullptr;
  }
  nlohmann::json output;
  std::ifstream(out_path) >> output;
  return output;
}

}  // namespace condenser::testing_util
