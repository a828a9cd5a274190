#pragma once
// The benchmark contract: ours vs the bare baseline on the same
// work in the same run, alternated and repeated (export/timing.h), medians
// with min/max, a printed table and bench/results/NAME.json.
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "export/timing.h"

namespace condenser {

struct BenchCase {
  std::string name;
  double ours = 0.0, baseline = 0.0;
  std::string unit;
  nlohmann::json extra = nlohmann::json::object();  // min/max, sizes, notes
};

struct BenchRatio {
  std::string name;
  double value = 0.0, goal = 0.0;
  bool higher_is_better = true;
  bool met() const { return higher_is_better ? value >= goal : value <= goal; }
};

struct BenchReport {
  std::string bench;
  std::vector<BenchCase> cases;
  std::vector<BenchRatio> ratios;
  nlohmann::json tables = nlohmann::json::object();  // extra named tables

  nlohmann::json to_json() const;
  // Prints the cases and ratios (each marked meets goal / MISSES goal).
  std::string format() const;
  // Writes DIR/NAME.json atomically; returns the path.
  std::string write(const std::string& dir) const;
};

}  // namespace condenser
