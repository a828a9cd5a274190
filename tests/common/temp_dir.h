#pragma once
// A scratch directory for one test, removed with everything in it afterwards.
// Removal is core/files.h's remove_tree (nftw): std::filesystem::remove_all
// crashed in test binaries linked against PyTorch 2.11's libtorch.
#include <gtest/gtest.h>
#include <stdio.h>
#include <stdlib.h>

#include <string>

#include "core/files.h"

namespace condenser::testing_util {

using condenser::remove_tree;

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
