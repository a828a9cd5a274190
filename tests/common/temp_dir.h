#pragma once
// A scratch directory for one test, removed with everything in it afterwards.
// Removal uses POSIX nftw, not std::filesystem::remove_all: PyTorch 2.x's
// libtorch exports its own std::filesystem symbols, and remove_all crashed in
// test binaries linked against it (seen on the GPU machine with PyTorch 2.11).
#include <ftw.h>
#include <gtest/gtest.h>
#include <stdio.h>
#include <stdlib.h>

#include <string>

namespace condenser::testing_util {

inline void remove_tree(const std::string& path) {
  nftw(
      path.c_str(),
      [](const char* p, const struct stat*, int, struct FTW*) { return ::remove(p); }, 16,
      FTW_DEPTH | FTW_PHYS);
}

struct TempDir {
  std::string path;
  bool keep = false;  // set to keep the directory for debugging a failure
  explicit TempDir(const std::string& tag = "test") {
    std::string tmpl = "/tmp/condenser_" + tag + "_XXXXXX";
    EXPECT_NE(mkdtemp(tmpl.data()), nullptr) << tmpl;
    path = tmpl;
  }
  ~TempDir() {
    if (!keep) remove_tree(path);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
};

}  // namespace condenser::testing_util
