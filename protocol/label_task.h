#pragma once
// One labelling task: a contiguous range of the job's labelled sample list,
// all views of each sample, labelled into one shard. The coordinator plans
// and leases these (coordinator/control/task_table.h: `file` is the shard
// name it commits as); a worker labels one into the file it is told to write
// (worker/teacher_labeller.h: its lease's attempt file). No LibTorch.
#include <cstdint>
#include <string>

namespace condenser {

struct LabelTask {
  int64_t begin = 0;  // positions [begin, end) in the labelled sample list
  int64_t end = 0;
  std::string file;   // shard file name inside the soft-label directory
};

inline bool operator==(const LabelTask& a, const LabelTask& b) {
  return a.begin == b.begin && a.end == b.end && a.file == b.file;
}
inline bool operator!=(const LabelTask& a, const LabelTask& b) { return !(a == b); }

}  // namespace condenser
