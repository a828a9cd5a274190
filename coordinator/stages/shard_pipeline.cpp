#include "coordinator/stages/shard_pipeline.h"

#include <torch/torch.h>
#include <unistd.h>

#include <algorithm>
#include <future>
#include <nlohmann/json.hpp>
#include <set>
#include <utility>

#include "cluster/communicator.h"
#include "coordinator/stages/job_checkpoints.h"
#include "core/bounded_read.h"
#include "core/errors.h"
#include "core/files.h"
#include "core/log.h"
#include "core/stop_signals.h"
#include "data/sampling.h"

namespace condenser {
namespace {

using nlohmann::json;

json entry_json(const ManifestEntry& e) {
  return {{"file", e.file}, {"begin", e.task_begin}, {"end", e.task_end},
          {"views", e.views}, {"rows", e.rows},       {"sha256", e.sha256}};
}

ManifestEntry entry_from(const json& j) {
  ManifestEntry e;
  e.file = j.at("file").get<std::string>();
  e.task_begin = j.at("begin").get<int64_t>();
  e.task_end = j.at("end").get<int64_t>();
  e.views = j.at("views").get<int>();
  e.rows = j.at("rows").get<int64_t>();
  e.sha256 = j.at("sha256").get<std::string>();
  return e;
}

}  // namespace

ShardOrderBook::ShardOrderBook(std::string path) : path_(std::move(path)) {
  if (!path_exists(path_)) return;
  const json saved =
      json::parse(read_file_at_most(path_, kMaxRecordBytes, "shard order"), nullptr, false);
  const auto written_by_us = [&] {
    if (saved.is_discarded() || !saved.contains("order") || !saved["order"].is_array()) return false;
    return std::all_of(saved["order"].begin(), saved["order"].end(),
                       [](const json& f) { return f.is_string(); });
  };
  if (!written_by_us()) {
    throw UsageError(path_ + " is not a shard order written by condenser; delete it to start "
                     "the order afresh (a resumed run then consumes shards in another order)");
  }
  // Names outside this job's plan are dropped by keep_if_from before any is opened.
  for (const json& f : saved["order"]) order_.push_back(f.get<std::string>());
  log_info("pipeline: replaying the recorded order of ", order_.size(), " shard(s) from ", path_);
}

void ShardOrderBook::keep_if_from(const std::vector<LabelTask>& plan) {
  std::lock_guard<std::mutex> lock(mutex_);
  std::set<std::string> files, seen;
  for (const LabelTask& t : plan) files.insert(t.file);
  for (const std::string& f : order_) {
    if (files.count(f) == 0 || !seen.insert(f).second) {
      log_info("pipeline: ", path_, " names ", f, ", not (or twice) in this job's ", plan.size(),
               " shards; starting a new order");
      order_.clear();
      ::unlink(path_.c_str());
      return;
    }
  }
}

void ShardOrderBook::committed(const Manifest& manifest) {
  std::lock_guard<std::mutex> lock(mutex_);
  bool grew = false;
  for (const ManifestEntry& e : manifest.shards) {
    available_[e.file] = e;
    if (std::find(order_.begin(), order_.end(), e.file) == order_.end()) {
      order_.push_back(e.file);
      grew = true;
    }
  }
  if (grew) atomic_write_file(path_, json{{"order", order_}}.dump() + "\n");
  changed_.notify_all();
}

void ShardOrderBook::close() {
  std::lock_guard<std::mutex> lock(mutex_);
  closed_ = true;
  changed_.notify_all();
}

void ShardOrderBook::fail(std::exception_ptr error) {
  std::lock_guard<std::mutex> lock(mutex_);
  error_ = std::move(error);
  changed_.notify_all();
}

std::vector<ManifestEntry> ShardOrderBook::head() const {
  std::vector<ManifestEntry> h;
  for (const std::string& f : order_) {
    const auto it = available_.find(f);
    if (it == available_.end()) break;  // a recorded shard being labelled again
    h.push_back(it->second);
  }
  return h;
}

std::vector<ManifestEntry> ShardOrderBook::wait_beyond(size_t known) {
  std::unique_lock<std::mutex> lock(mutex_);
  changed_.wait(lock, [&] { return error_ || closed_ || head().size() > known; });
  if (error_) std::rethrow_exception(error_);
  return head();
}

ShardPipeline::ShardPipeline(JobContext& job, Communicator& students,
                             const SoftLabelSource& source, Manifest layout, SoftTargets table,
                             RankTimeline timeline)
    : job_(job),
      students_(students),
      source_(source),
      layout_(std::move(layout)),
      table_(std::move(table)),
      timeline_(std::move(timeline)),
      label_record_at_(job.report.stages.size()) {
  if (students_.rank() == 0) book_ = std::make_unique<ShardOrderBook>(job.paths.root + "/shard_order.json");
}

ShardPipeline::~ShardPipeline() {
  // Labelling ends when the teacher ranks have committed every shard.
  if (labelling_.joinable()) labelling_.join();
}

std::string ShardPipeline::start_labelling(
    const std::function<LabellingResult(const std::function<void(const std::string&)>&)>& label) {
  auto address = std::make_shared<std::promise<std::string>>();
  auto told = std::make_shared<bool>(false);
  timeline_.label_start = unix_seconds();
  labelling_ = std::thread([this, label, address, told] {
    const auto start = Clock::now();
    try {
      result_ = label([address, told](const std::string& control) {
        *told = true;
        address->set_value(control);
      });
      book_->close();
    } catch (...) {
      error_ = std::current_exception();
      book_->fail(error_);
      if (!*told) address->set_exception(error_);
    }
    label_seconds_ = since(start);
    label_end_ = unix_seconds();
  });
  return address->get_future().get();
}

void ShardPipeline::extend(int64_t, size_t end, std::vector<int64_t>& order) {
  while (positions_.size() < end) fetch();
  order.insert(order.end(), positions_.begin() + static_cast<std::ptrdiff_t>(order.size()),
               positions_.end());
}

void ShardPipeline::fetch() {
  const auto start = Clock::now();
  std::string text;
  if (students_.rank() == 0) {
    json list = json::array();
    for (const ManifestEntry& e : book_->wait_beyond(consumed_.size())) list.push_back(entry_json(e));
    // Labelling stopped on request before these labels: every student rank
    // stops too (the run resumes from the latest checkpoint).
    if (list.size() <= consumed_.size() && stop_requested()) list = json{{"stopped", true}};
    text = list.dump();
  }
  text = broadcast_text(students_, text, 0);
  waited_seconds_ += since(start);
  const json list = json::parse(text);
  if (list.is_object()) {
    log_info("pipeline: stopped on request while waiting for soft labels");
    throw JobStopped("latest (written before the wait for soft labels)");
  }
  if (list.size() <= consumed_.size()) {
    throw RuntimeFailure("pipeline: labelling ended with " + std::to_string(consumed_.size()) +
                         " shard(s) in the order and positions still missing");
  }
  for (size_t i = consumed_.size(); i < list.size(); ++i) {
    const ManifestEntry e = entry_from(list[i]);
    load(e);
    consumed_.push_back(e.file);
    // The shard's rows in an order of their own, fixed by the seed and the shard.
    const std::vector<int64_t> p =
        permutation(e.task_end - e.task_begin,
                    mix_seed(mix_seed(uint64_t(job_.config.seed), 5), uint64_t(e.task_begin)));
    for (int64_t x : p) positions_.push_back(e.task_begin + x);
  }
}

void ShardPipeline::load(const ManifestEntry& entry) {
  Manifest one = layout_;
  one.shards = {entry};
  const std::vector<int64_t>& indices = job_.train.indices;
  // Verified (checksum, provenance) as every shard a stage reads.
  const SoftTargets part = load_soft_labels(source_, one, job_.train_data.size(), {}, 1);
  std::vector<int64_t> rows;
  for (int64_t p = entry.task_begin; p < entry.task_end; ++p) {
    for (int v = 0; v < layout_.views; ++v) rows.push_back(indices[size_t(p)] * layout_.views + v);
  }
  const at::Tensor idx = torch::tensor(rows, torch::kInt64);
  auto copy = [&](const at::Tensor& to, const at::Tensor& from) {
    if (to.defined()) to.index_copy_(0, idx, from.index_select(0, idx));
  };
  copy(table_.logits, part.logits);
  copy(table_.topk_values, part.topk_values);
  copy(table_.topk_indices, part.topk_indices);
  copy(table_.logsumexp, part.logsumexp);
}

void ShardPipeline::finish() {
  if (finished_) return;
  while (positions_.size() < job_.train.indices.size()) fetch();
  finished_ = true;
  log_info("pipeline: ", consumed_.size(), " shard(s) consumed; the student waited ",
           fixed(waited_seconds_, 2), " s for them");
  if (!labelling_.joinable()) return;
  labelling_.join();
  if (error_) std::rethrow_exception(error_);
  job_.report.teacher_forward_samples = result_.teacher_forward_samples;
  timeline_.label_end = label_end_;
  timeline_.write(job_.paths.root);
  job_.record("label", label_seconds_, static_cast<int64_t>(consumed_.size()), nullptr);
  // Appended last, but listed where it began: before the stages it overlapped.
  auto& stages = job_.report.stages;
  if (stages.back().name == "label" && label_record_at_ + 1 < stages.size()) {
    std::rotate(stages.begin() + static_cast<std::ptrdiff_t>(label_record_at_), stages.end() - 1,
                stages.end());
    job_.save_report();
  }
}

}  // namespace condenser
