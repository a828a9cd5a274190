#include "coordinator/checkpoints/checkpoint_inspect.h"

#include <sstream>
#include <vector>

#include "coordinator/checkpoints/checkpoint.h"
#include "core/errors.h"
#include "core/files.h"

namespace condenser {
namespace {

std::vector<std::string> checkpoint_dirs(const std::string& dir) {
  if (path_exists(dir + "/state.json")) return {dir};
  const std::string folder = path_exists(dir + "/checkpoints") ? dir + "/checkpoints" : dir;
  std::vector<std::string> out;
  for (const std::string& name : list_checkpoints(folder)) out.insert(out.begin(), folder + "/" + name);
  return out;  // oldest first
}

}  // namespace

CheckpointInspection inspect_checkpoints(const std::string& dir) {
  const std::vector<std::string> dirs = checkpoint_dirs(dir);
  if (dirs.empty()) {
    throw UsageError("no checkpoints in '" + dir +
                     "'; give a run directory, its checkpoints/ folder or a step-NNNNNNNN folder");
  }
  CheckpointInspection out;
  std::ostringstream text;
  for (const std::string& path : dirs) {
    text << path << ": ";
    try {
      const Checkpoint c = load_checkpoint(path);
      text << "ok, stage " << c.stage;
      if (c.stage_done) {
        text << " (done)";
      } else {
        text << ", epoch " << c.resume.cursor.epoch + 1 << ", batch " << c.resume.cursor.batch;
      }
      text << ", job step " << c.job_step << ", " << c.weights.size() << " tensors";
      if (!c.masks.empty()) text << ", " << c.masks.masks().size() << " masks";
      if (c.val_accuracy >= 0) text << ", val accuracy " << c.val_accuracy;
      text << ", " << c.resume.rng_states.size(0) << " rank(s)\n";
    } catch (const Error& e) {
      out.ok = false;
      text << "BAD: " << e.what() << "\n";
    } catch (const std::exception& e) {  // e.g. bad_alloc from a forged tensor header
      out.ok = false;
      text << "BAD: cannot be read (" << e.what() << ")\n";
    }
  }
  const std::string folder = parent_dir(dirs.front());
  if (path_exists(folder + "/latest")) text << "latest: " << read_file(folder + "/latest");
  out.text = text.str();
  return out;
}

}  // namespace condenser
