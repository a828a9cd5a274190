// FLOPs of declared models: strides shrink the positions a conv pays for,
// residual bodies count under their own names, pooling and adds are free.
#include "trainers/model_flops.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

namespace condenser {
namespace {

TEST(ModelFlops, StridedConvResidualBodyAndGlobalPool) {
  ModelSpec spec;
  spec.name = "student";
  spec.input_shape = {2, 6, 6};
  spec.layers = parse_model_layers(
      "[{conv: 4, stride: 2}, {residual: [{conv: 4}, relu]}, global_avg_pool, {linear: 3}]",
      "student.layers");
  torch::jit::Module m = build_model(spec, 1);
  const ModelFlops flops = model_flops(spec, m);
  ASSERT_EQ(flops.layers.size(), 3u);
  // 3x3 output positions after stride 2; each multiply-add is 2 FLOPs.
  EXPECT_EQ(flops.layers[0].name, "l0_w");
  EXPECT_EQ(flops.layers[0].dense, 2 * 9 * (4 * 2 * 9));
  EXPECT_EQ(flops.layers[1].name, "l1_0_w");
  EXPECT_EQ(flops.layers[1].dense, 2 * 9 * (4 * 4 * 9));
  EXPECT_EQ(flops.layers[2].name, "l3_w");
  EXPECT_EQ(flops.layers[2].dense, 2 * 4 * 3);
  EXPECT_EQ(flops.dense, 1296 + 2592 + 24);
  {
    torch::NoGradGuard no_grad;
    m.attr("l1_0_w").toTensor().zero_();
  }
  EXPECT_EQ(model_flops(spec, m).effective, 1296 + 24);
}

}  // namespace
}  // namespace condenser
