// `condenser bench structured`: CPU inference of the default student after
// structured pruning of half its channels and compaction, against the dense
// student, same inputs, same thread count, alternated in one run. Two cuts:
// every layer, and the job's default that keeps the first conv's channels
// (prune.exclude: [first, last]; the last layer's outputs are the classes).
#include <torch/torch.h>

#include "bench/benches.h"
#include "trainers/model_spec.h"
#include "trainers/prune_masks.h"
#include "trainers/pruning/structured.h"

namespace condenser {

BenchReport bench_structured(const BenchOptions& options) {
  BenchReport report;
  report.bench = "structured";
  torch::NoGradGuard no_grad;
  const ModelSpec spec = zoo_spec("small_cnn");
  torch::jit::Module dense = build_model(spec, 1);
  dense.eval();
  StructuredPlan all_layers = plan_structured(dense, spec, 0.5, "l1");
  StructuredPlan first_kept = all_layers;
  first_kept.keep.erase(0);  // layer 0 is the first conv
  const int64_t dense_params = measure_sparsity(dense).parameters;
  report.tables["parameters"] = {{"dense", dense_params}};
  const int iterations = options.quick ? 5 : 200;
  for (const auto& [name, plan] : {std::pair<std::string, StructuredPlan>{"", all_layers},
                                   {"_first_conv_kept", first_kept}}) {
    CompactModel small = compact(dense, spec, plan);
    small.module.eval();
    report.tables["parameters"]["compacted_50pct" + name] = measure_sparsity(small.module).parameters;
    for (int64_t batch : {1, 64}) {
      const at::Tensor x = torch::rand({batch, 1, 28, 28});
      auto run = [&](torch::jit::Module& m) {
        return [&m, &x, iterations] {
          for (int i = 0; i < iterations; ++i) m.forward({x});
        };
      };
      auto [ours, base] = time_alternating(run(small.module), run(dense), options.repeats, 2);
      const double per = double(iterations) * double(batch);
      report.cases.push_back({"samples/s at batch " + std::to_string(batch) +
                                  (name.empty() ? "" : " (first conv kept)"),
                              per / ours.median, per / base.median, "samples/s",
                              {{"ours_min_max_s", {ours.min, ours.max}},
                               {"baseline_min_max_s", {base.min, base.max}},
                               {"threads", at::get_num_threads()}}});
      report.ratios.push_back({"speedup_batch_" + std::to_string(batch) + name,
                               base.median / ours.median, 1.5, true});
    }
  }
  return report;
}

}  // namespace condenser
