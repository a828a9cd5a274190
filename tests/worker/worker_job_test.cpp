// The worker's side of a job without a coordinator or data files: the
// LabelSpec of a welcome round-trips (the worker compares specs to decide
// whether to reload), a spec becomes the labeller's shard layout, and a
// leased task decodes into the range written to the lease's attempt file.
#include "worker/worker_job.h"

#include <gtest/gtest.h>

#include <string>

#include "protocol/messages.h"

namespace condenser {
namespace {

LabelSpec spec_of_a_job() {
  LabelSpec s;
  s.teacher_path = "/runs/a/models/teacher.pt";
  s.teacher_sha256 = std::string(64, 'c');
  s.data_dir = "/data";
  s.validation_size = 100;
  s.train_subset = 900;
  s.split_seed = 3;
  s.dataset_fingerprint = "fingerprint";
  s.num_samples = 800;
  s.soft_label_dir = "/runs/a/soft_labels";
  s.temperature = 3.0;
  s.num_classes = 10;
  s.dtype = "float16";
  s.top_k = 4;
  s.views = 3;
  s.augment_seed = 17;
  s.batch_size = 32;
  s.precision = "bf16";
  return s;
}

// What the worker receives: the coordinator's bytes, parsed.
template <class M>
Frame received(const M& message) {
  const ParseResult r = parse_frame(msg::encode(message));
  EXPECT_EQ(r.status, ParseStatus::kFrame) << r.error;
  return r.frame;
}

TEST(WorkerJob, WelcomeSpecRoundTripsToTheSameJob) {
  const LabelSpec sent = spec_of_a_job();
  const msg::Welcome w = msg::decode<msg::Welcome>(received(msg::Welcome{2, 500, sent}));
  EXPECT_EQ(to_json(w.spec), to_json(sent));  // same job: the loaded one is kept
  LabelSpec other = sent;
  other.teacher_sha256 = std::string(64, 'd');
  EXPECT_NE(to_json(other), to_json(w.spec));  // another teacher: reload
}

TEST(WorkerJob, SpecBecomesTheShardLayout) {
  const LabellerSetup s = labeller_setup(spec_of_a_job(), "host:42");
  EXPECT_EQ(s.meta.teacher_sha256, std::string(64, 'c'));
  EXPECT_EQ(s.meta.dataset_fingerprint, "fingerprint");
  EXPECT_EQ(s.meta.temperature, 3.0);
  EXPECT_EQ(s.meta.num_classes, 10);
  EXPECT_EQ(s.meta.top_k, 4);
  EXPECT_EQ(s.meta.producer, "condenser worker host:42");
  EXPECT_EQ(s.dtype, LogitDType::kFloat16);
  EXPECT_EQ(s.top_k, 4);
  EXPECT_EQ(s.views, 3);
  EXPECT_EQ(s.augment_seed, 17u);
  EXPECT_EQ(s.batch_size, 32);
  EXPECT_EQ(s.soft_label_dir, "/runs/a/soft_labels");
  EXPECT_FALSE(s.images.defined());  // loaded by load_job, not here
  LabelSpec bad = spec_of_a_job();
  bad.dtype = "int4";
  EXPECT_THROW(labeller_setup(bad, "w"), RuntimeFailure);
}

TEST(WorkerJob, LeasedTaskIsWrittenToItsAttemptFile) {
  const msg::Task sent{9, 1, {150, 300, "shard-000001.h5"}, ".attempt-000009-shard-000001.h5",
                       30000};
  const msg::Task t = msg::decode<msg::Task>(received(sent));
  EXPECT_EQ(attempt_of(t), (LabelTask{150, 300, ".attempt-000009-shard-000001.h5"}));
  EXPECT_EQ(t.task.file, "shard-000001.h5");  // the name it commits as, for the log
}

TEST(WorkerJob, MalformedTaskIsAProtocolErrorNamingTheField) {
  Frame f = received(msg::Task{9, 1, {150, 300, "s.h5"}, ".a", 30000});
  f.body.erase("attempt_file");
  try {
    msg::decode<msg::Task>(f);
    FAIL() << "decoded a task without its attempt file";
  } catch (const ProtocolError& e) {
    EXPECT_STREQ(e.what(), "task: field 'attempt_file' is missing");
  }
  // A ProtocolError is a RuntimeFailure: the worker reconnects, it does not exit.
  EXPECT_THROW(msg::decode<msg::Task>(f), RuntimeFailure);
}

}  // namespace
}  // namespace condenser
