#pragma once
// RUN_DIR/timeline/rank-R.json: when this rank labelled and when it started
// training the student (Unix seconds; -1 = never), written by every rank of
// a job so the phased and pipelined modes can be compared
// (bench/roles_timeline.sh prints them side by side).
#include <string>

namespace condenser {

struct RankTimeline {
  int rank = 0;
  int world = 1;
  std::string role = "phased";  // phased | student | teacher (pipelined mode)
  double label_start = -1;      // this rank began labelling (rank 0: its coordinator served)
  double label_end = -1;        // ... stopped (rank 0: the last shard was committed)
  double train_start = -1;      // began training the student

  // Replaces this rank's file atomically (rank files never collide).
  void write(const std::string& run_dir) const;
};

double unix_seconds();

}  // namespace condenser
