#include "coordinator/checkpoints/checkpoint.h"

#include <dirent.h>
#include <torch/serialize/archive.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
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
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), std::streamsize(bytes.size()));
    if (!out) throw RuntimeFailure("cannot write checkpoint file '" + path + "'");
  }
  fsync_file(path);
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
      const auto state = nlohmann::json::parse(read_file(dir + "/" + n + "/state.json"));
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

std::string write_checkpoint(const std::string& dir, const Checkpoint& c, int keep_last) {
  ensure_dir(dir);
  const std::string name = step_name(c.job_step);
  const std::string tmp = dir + "/." + name + ".tmp-" + std::to_string(getpid());
  remove_tree(tmp);
  ensure_dir(tmp);
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
  write_durably(tmp + "/state.json", state.dump(1) + "\n");
  fsync_dir(tmp);
  std::string final_path = dir + "/" + name;
  remove_tree(final_path);  // a resumed job may reach the same step again
  if (std::rename(tmp.c_str(), final_path.c_str()) != 0) {
    throw RuntimeFailure("cannot rename '" + tmp + "' to '" + final_path + "'");
  }
  fsync_dir(dir);
  atomic_write_file(dir + "/latest", name + "\n");
  prune_old(dir, keep_last);
  return final_path;
}

Checkpoint load_checkpoint(const std::string& dir) {
  const std::string state_path = dir + "/state.json";
  nlohmann::json state;
  try {
    state = nlohmann::json::parse(read_file(state_path));
  } catch (const nlohmann::json::exception& e) {
    throw UsageError("checkpoint file '" + state_path + "' is damaged (" + e.what() + ")");
  }
  for (const char* file : kFiles) {
    const std::string path = dir + "/" + file;
    if (!path_exists(path) || sha256_file(path) != state["sha256"].value(file, "")) {
      throw UsageError("checkpoint file '" + path + "' is missing or fails its SHA-256 check");
    }
  }
  Checkpoint c;
  c.path = dir;
  c.stage = state.at("stage");
  c.stage_done = state.at("stage_done");
  c.job_step = state.at("job_step");
  c.val_accuracy = state.at("val_accuracy");
  const auto& cur = state.at("cursor");
  c.resume.cursor = {cur.at("epoch"), cur.at("batch"), cur.at("steps"), cur.at("loss_sum"),
                     cur.at("correct")};
  c.report = state.at("report");
  c.config = state.at("config").get<std::map<std::string, std::string>>();
  const auto names = state.value("weights", std::vector<std::string>{});
  const auto tensors = archive_tensors(dir + "/weights.pt", names.size());
  for (size_t i = 0; i < names.size(); ++i) c.weights[names[i]] = tensors[i];
  const auto mask_names = state.value("masks", std::vector<std::string>{});
  const auto mask_tensors = archive_tensors(dir + "/masks.pt", mask_names.size());
  for (size_t i = 0; i < mask_names.size(); ++i) c.masks.set(mask_names[i], mask_tensors[i]);
  c.resume.optimizer = read_file(dir + "/optimizer.pt");
  c.resume.rng_states = archive_tensors(dir + "/rng.pt", 1)[0];
  return c;
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
    bool done = false;
    try {
      done = nlohmann::json::parse(read_file(dir + "/" + n + "/state.json")).value("stage_done", false);
    } catch (const std::exception&) {
      continue;
    }
    if (done) return load_checkpoint(dir + "/" + n);
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
