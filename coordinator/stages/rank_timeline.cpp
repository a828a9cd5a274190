#include "coordinator/stages/rank_timeline.h"

#include <chrono>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "core/files.h"

namespace condenser {

double unix_seconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

void RankTimeline::write(const std::string& run_dir) const {
  ensure_dir(run_dir + "/timeline");
  char name[32];
  std::snprintf(name, sizeof name, "/timeline/rank-%03d.json", rank);
  atomic_write_file(run_dir + name, nlohmann::json{{"rank", rank},
                                                   {"world", world},
                                                   {"role", role},
                                                   {"label_start", label_start},
                                                   {"label_end", label_end},
                                                   {"train_start", train_start}}
                                        .dump() + "\n");
}

}  // namespace condenser
