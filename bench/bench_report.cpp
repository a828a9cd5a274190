#include "bench/bench_report.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <thread>

#include "core/files.h"

namespace condenser {
namespace {

Timing summarise(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  Timing t;
  t.min = v.front();
  t.max = v.back();
  const size_t n = v.size();
  t.median = n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
  return t;
}

double seconds_of(const std::function<void()>& f) {
  const auto start = std::chrono::steady_clock::now();
  f();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

std::pair<Timing, Timing> time_alternating(const std::function<void()>& ours,
                                           const std::function<void()>& baseline, int repeats,
                                           int warmup) {
  for (int i = 0; i < warmup; ++i) {
    ours();
    baseline();
  }
  std::vector<double> a, b;
  for (int i = 0; i < repeats; ++i) {
    if (i % 2 == 0) {
      a.push_back(seconds_of(ours));
      b.push_back(seconds_of(baseline));
    } else {
      b.push_back(seconds_of(baseline));
      a.push_back(seconds_of(ours));
    }
  }
  return {summarise(a), summarise(b)};
}

nlohmann::json BenchReport::to_json() const {
  nlohmann::json results = nlohmann::json::array();
  for (const BenchCase& c : cases) {
    nlohmann::json j = {{"case", c.name}, {"ours", c.ours}, {"baseline", c.baseline},
                        {"unit", c.unit}};
    for (auto it = c.extra.begin(); it != c.extra.end(); ++it) j[it.key()] = it.value();
    results.push_back(j);
  }
  nlohmann::json ratio_json = nlohmann::json::object();
  for (const BenchRatio& r : ratios) {
    ratio_json[r.name] = {{"value", r.value}, {"goal", r.goal},
                          {"higher_is_better", r.higher_is_better}, {"met", r.met()}};
  }
  nlohmann::json j = {{"bench", bench},
                      {"machine",
                       {{"cores", std::thread::hardware_concurrency()},
                        {"cuda", false},
                        {"device", "cpu"}}},
                      {"results", results},
                      {"ratios", ratio_json}};
  if (!tables.empty()) j["tables"] = tables;
  return j;
}

std::string BenchReport::format() const {
  std::string out;
  char line[256];
  std::snprintf(line, sizeof line, "%-34s %14s %14s  %s\n", "case", "ours", "baseline", "unit");
  out += line;
  for (const BenchCase& c : cases) {
    std::snprintf(line, sizeof line, "%-34s %14.4g %14.4g  %s\n", c.name.c_str(), c.ours,
                  c.baseline, c.unit.c_str());
    out += line;
  }
  out += "\n";
  for (const BenchRatio& r : ratios) {
    std::snprintf(line, sizeof line, "%-34s %8.3f  goal %s %.2f  %s\n", r.name.c_str(), r.value,
                  r.higher_is_better ? ">=" : "<=", r.goal, r.met() ? "meets goal" : "MISSES goal");
    out += line;
  }
  return out;
}

std::string BenchReport::write(const std::string& dir) const {
  ensure_dir(dir);
  const std::string path = dir + "/" + bench + ".json";
  atomic_write_file(path, to_json().dump(2) + "\n");
  return path;
}

}  // namespace condenser
