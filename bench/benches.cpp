#include "bench/benches.h"

#include "bench/bench_control.h"
#include "bench/bench_lm.h"
#include "bench/topk_kl.h"
#include "core/errors.h"

namespace condenser {

std::vector<std::string> bench_names() {
  std::vector<std::string> names = {"shards",   "structured", "teacher",  "distill",
                                     "allreduce", "train",     "topk_kl",  "lm_label",
                                     "lm_distill", "lm_shards", "control"};
#if defined(CONDENSER_WITH_CUDA)
  names.push_back("gpu");  // in `bench all` only where it can run
#endif
  return names;
}

BenchReport run_bench(const std::string& name, const BenchOptions& options) {
  if (name == "shards") return bench_shards(options);
  if (name == "structured") return bench_structured(options);
  if (name == "teacher") return bench_teacher(options);
  if (name == "distill") return bench_distill(options);
  if (name == "allreduce") return bench_allreduce(options);
  if (name == "train") return bench_train(options);
  if (name == "topk_kl") return bench_topk_kl(options);  // CONDENSER_TOPK_KL_LOGITS: .pt [tokens, V]
  if (name == "lm_label") return bench_lm_label(options);      // KJV tokens, bench/bench_lm.h
  if (name == "lm_distill") return bench_lm_distill(options);
  if (name == "lm_shards") return bench_lm_shards(options);
  if (name == "control") return bench_control(control_bench_defaults(options));
  if (name == "gpu") return bench_gpu(options);  // refuses (exit 2) without CUDA and a GPU
  std::string names;
  for (const auto& n : bench_names()) names += (names.empty() ? "" : ", ") + n;
  throw UsageError("unknown benchmark '" + name + "'; available: " + names);
}

}  // namespace condenser
