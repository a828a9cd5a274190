#include "export/latency.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <string>

#include "export/timing.h"

namespace condenser {
namespace {

double seconds_of_forward(torch::jit::Module& m, const at::Tensor& x) {
  const auto start = std::chrono::steady_clock::now();
  m.forward({x});
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

nlohmann::json timing_ms(const Timing& t, int iterations) {
  const double k = 1000.0 / iterations;
  return {{"median", t.median * k}, {"min", t.min * k}, {"max", t.max * k}};
}

// [batch, ...] for a sample [1, ...].
std::vector<int64_t> batch_shape(const at::Tensor& sample, int64_t batch) {
  std::vector<int64_t> shape = sample.sizes().vec();
  shape[0] = batch;
  return shape;
}

}  // namespace

nlohmann::json compare_latency(const torch::jit::Module& teacher_in,
                               const torch::jit::Module& student_in,
                               const LatencyOptions& options) {
  torch::NoGradGuard no_grad;
  // Pin the thread count for both models; the job's count comes back after.
  struct ThreadsGuard {
    int saved = at::get_num_threads();
    explicit ThreadsGuard(int n) {
      if (n > 0) at::set_num_threads(n);
    }
    ~ThreadsGuard() { at::set_num_threads(saved); }
  } threads_guard(options.threads);
  torch::jit::Module teacher = teacher_in.clone(), student = student_in.clone();
  teacher.to(c10::kCPU);
  student.to(c10::kCPU);
  teacher.eval();
  student.eval();
  nlohmann::json out = {
      {"device", "cpu"},
      {"threads", at::get_num_threads()},
      {"method", "median of " + std::to_string(options.repeats) + " alternated rounds after " +
                     std::to_string(options.warmup) + " warm-up rounds, same input for both"}};
  // A fixed generator: the same input on every export of every run.
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(1234);
  for (int64_t batch : options.batch_sizes) {
    const at::Tensor x = options.sample.defined()
                             ? options.sample.to(c10::kCPU).expand(batch_shape(options.sample, batch)).contiguous()
                             : at::rand({batch, 1, 28, 28}, gen);
    // Size each round from the slower model's warmed-up forward, so short
    // forwards are not lost in timer noise and long ones stay quick.
    for (int i = 0; i < 2; ++i) seconds_of_forward(teacher, x), seconds_of_forward(student, x);
    const double one = std::max(seconds_of_forward(teacher, x), seconds_of_forward(student, x));
    const int iterations = static_cast<int>(
        std::clamp(std::ceil(options.round_seconds / std::max(one, 1e-7)), 1.0, 10000.0));
    auto rounds = [iterations, &x](torch::jit::Module& m) {
      return [iterations, &x, &m] {
        for (int i = 0; i < iterations; ++i) m.forward({x});
      };
    };
    const auto [s, t] =
        time_alternating(rounds(student), rounds(teacher), options.repeats, options.warmup);
    const std::string key = "batch_" + std::to_string(batch);
    out["teacher"]["latency_ms"][key] = timing_ms(t, iterations);
    out["student"]["latency_ms"][key] = timing_ms(s, iterations);
    out["teacher"]["throughput_samples_per_s"][key] = double(batch) * iterations / t.median;
    out["student"]["throughput_samples_per_s"][key] = double(batch) * iterations / s.median;
    out["speedup"][key] = t.median / s.median;
    out["iterations_per_round"][key] = iterations;
  }
  return out;
}

}  // namespace condenser
