#include "bench/bench_report.h"

#include <cstdio>
#include <thread>

#include "core/files.h"

namespace condenser {

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
  std::string path = dir + "/" + bench + ".json";
  atomic_write_file(path, to_json().dump(2) + "\n");
  return path;
}

}  // namespace condenser
