// `condenser bench structured`: CPU inference of the default student after
// structured pruning of half its channels and compaction, against the dense
// student, same inputs, same thread count, alternated in one run.
#include <torch/torch.h>

#include "bench/benches.h"
#include "trainers/model_spec.h"
#include "trainers/structured_pruning.h"
#include "trainers/pruning.h"

namespace condenser {

BenchReport bench_structured(const BenchOptions& options) {
  BenchReport report;
  report.bench = "structured";
  torch::NoGradGuard no_grad;
  const ModelSpec spec = zoo_spec("small_cnn");
  torch::jit::Module dense = build_model(spec, 1);
  dense.eval();
  CompactModel small = compact(dense, spec, plan_structured(dense, spec, 0.5, "l1"));
  small.module.eval();
  const int64_t dense_params = measure_sparsity(dense).parameters;
  const int64_t small_params = measure_sparsity(small.module).parameters;
  const int iterations = options.quick ? 5 : 200;
  for (int64_t batch : {1, 64}) {
    const at::Tensor x = torch::rand({batch, 1, 28, 28});
    auto run = [&](torch::jit::Module& m) {
      return [&m, &x, iterations] {
        for (int i = 0; i < iterations; ++i) m.forward({x});
      };
    };
    auto [ours, base] = time_alternating(run(small.module), run(dense), options.repeats, 2);
    const double per = double(iterations) * double(batch);
    report.cases.push_back({"samples/s at batch " + std::to_string(batch), per / ours.median,
                            per / base.median, "samples/s",
                            {{"ours_min_max_s", {ours.min, ours.max}},
                             {"baseline_min_max_s", {base.min, base.max}},
                             {"threads", at::get_num_threads()}}});
    report.ratios.push_back(
        {"speedup_batch_" + std::to_string(batch), base.median / ours.median, 1.5, true});
  }
  report.tables["parameters"] = {{"dense", dense_params}, {"compacted_50pct", small_params}};
  return report;
}

}  // namespace condenser
