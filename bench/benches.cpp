#include "bench/benches.h"

#include "core/errors.h"

namespace condenser {

std::vector<std::string> bench_names() { return {"shards", "structured", "teacher"}; }

BenchReport run_bench(const std::string& name, const BenchOptions& options) {
  if (name == "shards") return bench_shards(options);
  if (name == "structured") return bench_structured(options);
  if (name == "teacher") return bench_teacher(options);
  std::string names;
  for (const auto& n : bench_names()) names += (names.empty() ? "" : ", ") + n;
  throw UsageError("unknown benchmark '" + name + "'; available: " + names);
}

}  // namespace condenser
