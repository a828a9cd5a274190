#pragma once
// Pipelined mode (roles.teacher_ranks = k > 0): the student ranks train
// while the teacher ranks label. The coordinator (rank 0, on a thread) puts
// each shard in the consumption order as it is committed and records that
// order in RUN_DIR/shard_order.json (atomic replace), so a resumed run
// replays it: recorded shards keep their places, new commits are appended.
// The first distill epoch visits the shards in that order (rows shuffled
// within a shard), waiting for the next commit when it has caught up; later
// epochs and stages use the normal order over the complete table.
#include <condition_variable>
#include <exception>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "coordinator/stages/job_context.h"
#include "coordinator/stages/labelling.h"
#include "coordinator/stages/rank_timeline.h"
#include "data/shards/soft_label_table.h"
#include "trainers/batch_source.h"

namespace condenser {

class Communicator;

// Rank 0's record of the order; fed by the labelling thread, read by the
// training thread.
class ShardOrderBook {
 public:
  explicit ShardOrderBook(std::string path);  // loads the recorded order, if any
  // Drops a recorded order that names a shard outside `plan` or one twice
  // (left by a job with another shard layout): a new order starts.
  void keep_if_from(const std::vector<LabelTask>& plan);
  // Every shard of `manifest` is available; those not in the order yet are
  // appended in manifest (= commit) order and the file is replaced.
  void committed(const Manifest& manifest);
  void close();                        // labelling ended
  void fail(std::exception_ptr error);  // labelling failed: waiters rethrow it
  // Blocks until more than `known` shards at the head of the order are
  // available, or labelling ended. Returns that available head.
  std::vector<ManifestEntry> wait_beyond(size_t known);

 private:
  std::vector<ManifestEntry> head() const;  // with mutex_ held
  const std::string path_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<std::string> order_;
  std::map<std::string, ManifestEntry> available_;
  bool closed_ = false;
  std::exception_ptr error_;
};

// The student ranks' side: fills the soft-label table shard by shard in the
// recorded order and serves the first distill epoch's order from it.
class ShardPipeline : public EpochOrderSource {
 public:
  // `table` is the NaN-filled table to fill (shares storage with the one
  // the stages train on); `layout` the manifest's provenance and layout.
  ShardPipeline(JobContext& job, Communicator& students, const SoftLabelSource& source,
                Manifest layout, SoftTargets table, RankTimeline timeline);
  ~ShardPipeline() override;  // joins the labelling thread (rank 0)

  // Rank 0: runs `label` on a thread (it feeds book() and calls `serving`),
  // returns the coordinator's control address once it serves ("" when there
  // was nothing to label).
  std::string start_labelling(
      const std::function<LabellingResult(const std::function<void(const std::string&)>& serving)>&
          label);
  ShardOrderBook& book() { return *book_; }
  RankTimeline& timeline() { return timeline_; }  // finish() writes it again

  bool orders(int64_t epoch) const override { return epoch == 0; }
  void extend(int64_t epoch, size_t end, std::vector<int64_t>& order) override;
  // Collective over the student ranks: every shard in the table, labelling
  // over (rank 0 records the label stage and rethrows a labelling failure).
  void finish();

 private:
  void fetch();  // collective: the next committed shards into the table
  void load(const ManifestEntry& entry);

  JobContext& job_;
  Communicator& students_;
  const SoftLabelSource source_;
  const Manifest layout_;
  SoftTargets table_;
  RankTimeline timeline_;
  std::vector<std::string> consumed_;  // shard files in the table, in order
  std::vector<int64_t> positions_;     // the first epoch's order so far
  double waited_seconds_ = 0;
  std::unique_ptr<ShardOrderBook> book_;  // rank 0
  std::thread labelling_;
  LabellingResult result_;
  std::exception_ptr error_;
  double label_seconds_ = 0;
  double label_end_ = -1;  // set by the labelling thread, read after joining it
  bool finished_ = false;
  size_t label_record_at_;  // summary.json lists the label stage where it began
};

}  // namespace condenser
