#include "coordinator/checkpoints/checkpoint.h"

#include <dirent.h>
#include <sys/stat.h>
#include <torch/serialize/archive.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

#include "config/config_schema.h"
#include "core/errors.h"
#include "core/fault_injection.h"
#include "core/files.h"
#include "core/log.h"
#include "core/sha256.h"

namespace condenser {
namespace {

const char* const kFiles[] = {"weights.pt", "optimizer.pt", "rng.pt", "masks.pt"};

std::string step_name(int64_t step) {
  char name[32];
  std::snprintf(name, sizeof(name), "step-%08lld", static_cast<long long>(step));
  return name;
}

void write_durably(const std::string& path, const std::string& bytes) {
  write_file_synced(path, bytes);  // the cause (e.g. ENOSPC) in the error, no partial file
}

// state.json carries the SHA-256 of its own compact dump without this key:
// a torn or edited state (a cursor, a stage) fails like any damaged file.
const char* const kStateChecksum = "state_sha256";

std::string state_checksum(const nlohmann::json& state) {
  const std::string body = state.dump();
  return sha256_hex(body.data(), body.size());
}

const int64_t kMaxStateBytes = int64_t(256) << 20;  // the report and config: far less

UsageError damaged(const std::string& path, const std::string& why) {
  return UsageError("checkpoint file '" + path + "' " + why);
}

// state.json, parsed and checked against its own checksum. UsageError naming
// the file when it is missing, too large, torn, edited or has no checksum.
nlohmann::json read_state(const std::string& dir) {
  const std::string path = dir + "/state.json";
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) throw damaged(path, "is missing");
  if (st.st_size > kMaxStateBytes) throw damaged(path, "is too large to be a checkpoint's state");
  nlohmann::json state;
  try {
    state = nlohmann::json::parse(read_file(path));
  } catch (const nlohmann::json::exception& e) {
    throw damaged(path, std::string("is damaged (") + e.what() + ")");
  }
  if (!state.is_object() || !state.contains(kStateChecksum) || !state[kStateChecksum].is_string()) {
    throw damaged(path, "has no checksum (torn, edited, or written by an older condenser)");
  }
  const std::string want = state[kStateChecksum].get<std::string>();
  state.erase(kStateChecksum);
  if (state_checksum(state) != want) throw damaged(path, "fails its SHA-256 check (torn or edited)");
  return state;
}

// Tensors under keys t0, t1, ... (names go to state.json: archive keys
// cannot hold every character a parameter name may).
std::string archive_bytes(const std::vector<at::Tensor>& tensors) {
  torch::serialize::OutputArchive archive;
  for (size_t i = 0; i < tensors.size(); ++i) archive.write("t" + std::to_string(i), tensors[i]);
  std::ostringstream out;
  archive.save_to(out);
  return out.str();
}

std::vector<at::Tensor> archive_tensors(const std::string& path, size_t count) {
  torch::serialize::InputArchive archive;
  archive.load_from(path);
  std::vector<at::Tensor> out(count);
  for (size_t i = 0; i < count; ++i) archive.read("t" + std::to_string(i), out[i]);
  return out;
}


// Temporary directories of checkpoints whose writer was killed.
void remove_stale_temporaries(const std::string& dir, const std::string& keep) {
  std::vector<std::string> stale;
  if (DIR* d = opendir(dir.c_str())) {
    while (dirent* e = readdir(d)) {
      const std::string n = e->d_name;
      if (n.rfind(".step-", 0) == 0 && n != keep) stale.push_back(n);
    }
    closedir(d);
  }
  for (const auto& n : stale) remove_tree(dir + "/" + n);
}

// Keeps the newest keep_last, the best by validation accuracy, and the
// newest stage end: a prune stage that misses its budget rolls back to it.
void prune_old(const std::string& dir, int keep_last) {
  remove_stale_temporaries(dir, "");
  const std::vector<std::string> names = list_checkpoints(dir);
  std::string best, stage_end;
  double best_acc = -1;
  for (const std::string& n : names) {
    try {
      const auto state = read_state(dir + "/" + n);  // a damaged one counts for nothing
      const double acc = state.value("val_accuracy", -1.0);
      if (acc > best_acc) best_acc = acc, best = n;
      if (stage_end.empty() && state.value("stage_done", false)) stage_end = n;
    } catch (const std::exception&) {
    }
  }
  for (size_t i = size_t(keep_last); i < names.size(); ++i) {
    if (names[i] != best && names[i] != stage_end) remove_tree(dir + "/" + names[i]);
  }
}

}  // namespace

std::vector<std::string> list_checkpoints(const std::string& dir) {
  std::vector<std::string> names;
  if (DIR* d = opendir(dir.c_str())) {
    while (dirent* e = readdir(d)) {
      const std::string n = e->d_name;
      if (n.rfind("step-", 0) == 0 && n.find('.') == std::string::npos) names.push_back(n);
    }
    closedir(d);
  }
  std::sort(names.rbegin(), names.rend());  // newest first (zero-padded)
  return names;
}

std::map<std::string, at::Tensor> module_state(const torch::jit::Module& module) {
  std::map<std::string, at::Tensor> state;
  for (const auto& p : module.named_parameters(/*recurse=*/true)) {
    state["param:" + p.name] = p.value.detach().to(at::kCPU).clone();
  }
  for (const auto& b : module.named_buffers(/*recurse=*/true)) {
    state["buffer:" + b.name] = b.value.detach().to(at::kCPU).clone();
  }
  return state;
}

void load_module_state(torch::jit::Module& module, const std::map<std::string, at::Tensor>& state) {
  torch::NoGradGuard no_grad;
  auto copy = [&](const std::string& key, const at::Tensor& target) {
    const auto it = state.find(key);
    if (it == state.end() || !it->second.sizes().equals(target.sizes())) {
      throw RuntimeFailure("checkpoint does not fit the model: " + key +
                           (it == state.end() ? " is missing" : " has another shape"));
    }
    target.copy_(it->second);
  };
  for (const auto& p : module.named_parameters(true)) copy("param:" + p.name, p.value);
  for (const auto& b : module.named_buffers(true)) copy("buffer:" + b.name, b.value);
}

namespace {

// Writes the files and state.json into `tmp` (a fresh directory).
void write_files(const std::string& tmp, const Checkpoint& c) {
  nlohmann::json state = {{"stage", c.stage},
                          {"stage_done", c.stage_done},
                          {"job_step", c.job_step},
                          {"val_accuracy", c.val_accuracy},
                          {"cursor",
                           {{"epoch", c.resume.cursor.epoch},
                            {"batch", c.resume.cursor.batch},
                            {"steps", c.resume.cursor.steps},
                            {"loss_sum", c.resume.cursor.loss_sum},
                            {"correct", c.resume.cursor.correct}}},
                          {"report", c.report},
                          {"config", c.config}};
  std::vector<at::Tensor> weights, masks;
  for (const auto& [key, t] : c.weights) {
    state["weights"].push_back(key);
    weights.push_back(t);
  }
  for (const auto& [key, t] : c.masks.masks()) {
    state["masks"].push_back(key);
    masks.push_back(t.to(at::kCPU));
  }
  const std::string bytes[] = {archive_bytes(weights), c.resume.optimizer,
                               archive_bytes({c.resume.rng_states}), archive_bytes(masks)};
  for (size_t i = 0; i < 4; ++i) {
    write_durably(tmp + "/" + kFiles[i], bytes[i]);
    state["sha256"][kFiles[i]] = sha256_hex(bytes[i].data(), bytes[i].size());
    if (i == 1) fault_point("in_checkpoint", std::to_string(c.job_step));
  }
  state[kStateChecksum] = state_checksum(state);
  write_durably(tmp + "/state.json", state.dump(1) + "\n");
  fsync_dir(tmp);
}

}  // namespace

std::string write_checkpoint(const std::string& dir, const Checkpoint& c, int keep_last) {
  for (const auto& [key, t] : c.weights) {
    if (t.is_floating_point() && !at::isfinite(t).all().item<bool>()) {
      throw UsageError(c.stage + ": " + key + " is not finite (NaN or inf) at job step " +
                       std::to_string(c.job_step) + "; that checkpoint is not written (earlier " +
                       "ones are kept); lower the learning rate, or check the teacher and the data");
    }
  }
  ensure_dir(dir);
  const std::string name = step_name(c.job_step);
  const std::string tmp = dir + "/." + name + ".tmp-" + std::to_string(getpid());
  remove_tree(tmp);
  ensure_dir(tmp);
  try {
    write_files(tmp, c);
  } catch (...) {
    remove_tree(tmp);  // a full disk leaves no half-written checkpoint behind
    throw;
  }
  std::string final_path = dir + "/" + name;
  remove_tree(final_path);  // a resumed job may reach the same step again
  if (std::rename(tmp.c_str(), final_path.c_str()) != 0) {
    const int err = errno;
    remove_tree(tmp);
    throw RuntimeFailure("cannot rename '" + tmp + "' to '" + final_path + "': " +
                         std::strerror(err));
  }
  fsync_dir(dir);
  atomic_write_file(dir + "/latest", name + "\n");
  prune_old(dir, keep_last);
  return final_path;
}

namespace {

// The fields of a verified state; the files are checked against their sums first.
Checkpoint parse_state(const std::string& dir, const nlohmann::json& state) {
  for (const char* file : kFiles) {
    const std::string path = dir + "/" + file;
    if (!path_exists(path) || sha256_file(path) != state.at("sha256").at(file).get<std::string>()) {
      throw damaged(path, "is missing or fails its SHA-256 check");
    }
  }
  Checkpoint c;
  c.path = dir;
  c.stage = state.at("stage").get<std::string>();
  c.stage_done = state.at("stage_done").get<bool>();
  c.job_step = state.at("job_step").get<int64_t>();
  c.val_accuracy = state.at("val_accuracy").get<double>();
  const auto& cur = state.at("cursor");
  c.resume.cursor = {cur.at("epoch").get<int64_t>(), cur.at("batch").get<int64_t>(),
                     cur.at("steps").get<int64_t>(), cur.at("loss_sum").get<double>(),
                     cur.at("correct").get<double>()};
  const StageCursor& k = c.resume.cursor;
  if (c.job_step < 0 || k.epoch < 0 || k.batch < 0 || k.steps < 0) {
    throw damaged(dir + "/state.json", "holds a negative step or position");
  }
  c.report = state.at("report");
  if (!c.report.is_object()) throw damaged(dir + "/state.json", "holds no report object");
  c.config = state.at("config").get<std::map<std::string, std::string>>();
  const auto names = state.value("weights", std::vector<std::string>{});
  const auto tensors = archive_tensors(dir + "/weights.pt", names.size());
  for (size_t i = 0; i < names.size(); ++i) c.weights[names[i]] = tensors[i];
  const auto mask_names = state.value("masks", std::vector<std::string>{});
  const auto mask_tensors = archive_tensors(dir + "/masks.pt", mask_names.size());
  for (size_t i = 0; i < mask_names.size(); ++i) c.masks.set(mask_names[i], mask_tensors[i]);
  c.resume.optimizer = read_file(dir + "/optimizer.pt");
  c.resume.rng_states = archive_tensors(dir + "/rng.pt", 1)[0];
  if (c.resume.rng_states.dim() != 2 || c.resume.rng_states.scalar_type() != at::kByte) {
    throw damaged(dir + "/rng.pt", "does not hold the ranks' generator states");
  }
  return c;
}

}  // namespace

Checkpoint load_checkpoint(const std::string& dir) {
  const nlohmann::json state = read_state(dir);
  try {
    return parse_state(dir, state);
  } catch (const nlohmann::json::exception& e) {
    throw damaged(dir + "/state.json", std::string("has a missing or mistyped field (") +
                                           e.what() + ")");
  } catch (const c10::Error& e) {
    throw UsageError("checkpoint '" + dir + "' cannot be read back (" +
                     e.what_without_backtrace() + ")");
  }
}

std::optional<Checkpoint> load_latest_checkpoint(const std::string& dir) {
  std::vector<std::string> names = list_checkpoints(dir);
  if (path_exists(dir + "/latest")) {
    std::string latest = read_file(dir + "/latest");
    latest.erase(latest.find_last_not_of("\n ") + 1);
    const auto it = std::find(names.begin(), names.end(), latest);
    if (it != names.end()) std::rotate(names.begin(), it, it + 1);
  }
  for (const std::string& n : names) {
    try {
      return load_checkpoint(dir + "/" + n);
    } catch (const Error& e) {
      log_warn("resume: skipping checkpoint ", n, ": ", e.what());
    } catch (const c10::Error& e) {
      log_warn("resume: skipping checkpoint ", n, ": ", e.what_without_backtrace());
    } catch (const std::exception& e) {  // e.g. bad_alloc from a forged tensor size
      log_warn("resume: skipping checkpoint ", n, ": ", e.what());
    }
  }
  return std::nullopt;
}

std::map<std::string, std::string> config_map(const Config& config) {
  std::map<std::string, std::string> out;
  for (const FieldSpec& f : config_fields()) out[f.key] = config_field_text(f, config);
  return out;
}

std::optional<Checkpoint> load_latest_stage_end(const std::string& dir) {
  for (const std::string& n : list_checkpoints(dir)) {
    nlohmann::json state;
    try {
      state = read_state(dir + "/" + n);
    } catch (const UsageError& e) {
      // It may be the very stage end to roll back to: an older one would be
      // another state, silently.
      throw UsageError(std::string(e.what()) + "; it may be the stage end a prune attempt " +
                       "rolls back to: remove " + dir + "/" + n + " or run with --resume none");
    }
    if (state.value("stage_done", false)) return load_checkpoint(dir + "/" + n);
  }
  return std::nullopt;
}

std::vector<std::string> config_differences(const std::map<std::string, std::string>& saved,
                                            const std::map<std::string, std::string>& now) {
  auto may_differ = [](const std::string& key) {
    return key.rfind("logging.", 0) == 0 || key.rfind("checkpoint.", 0) == 0 ||
           key == "runtime.threads" || key == "runtime.bucket_cap_mb";
  };
  std::vector<std::string> keys;
  for (const auto& [key, value] : now) {
    const auto it = saved.find(key);
    if (may_differ(key)) continue;
    if (it == saved.end() || it->second != value) {
      keys.push_back(key + " (" + (it == saved.end() ? "unset" : it->second) + " -> " + value + ")");
    }
  }
  return keys;
}

}  // namespace condenser
