// The schema table: the one place that binds dotted keys to Config fields.
#include "config/config_schema.h"

#include "config/model_decl.h"
#include "config/prune_plan.h"

namespace condenser {
namespace {

Range at_least(double v) { return {Bound{v, true}, std::nullopt}; }
Range above(double v) { return {Bound{v, false}, std::nullopt}; }
Range closed(double lo, double hi) { return {Bound{lo, true}, Bound{hi, true}}; }
Range half_open(double lo, double hi) { return {Bound{lo, true}, Bound{hi, false}}; }

// Binds "prefix.name" keys to members of one section struct S of Config.
template <class S>
class Section {
 public:
  Section(std::vector<FieldSpec>* out, std::string prefix, std::function<S&(Config&)> get)
      : out_(out), prefix_(std::move(prefix)), get_(std::move(get)) {}

  void integer(const char* name, int S::*m, Range range, const char* help) {
    add(name, at(m), range, {}, true, help);
  }
  void number(const char* name, double S::*m, Range range, const char* help) {
    add(name, at(m), range, {}, true, help);
  }
  void boolean(const char* name, bool S::*m, const char* help) {
    add(name, at(m), {}, {}, true, help);
  }
  void text(const char* name, std::string S::*m, bool allow_empty, const char* help) {
    add(name, at(m), {}, {}, allow_empty, help);
  }
  void choice(const char* name, std::string S::*m, std::vector<std::string> choices,
              const char* help) {
    add(name, at(m), {}, std::move(choices), false, help);
  }
  // A YAML list or map kept as flow text (FieldSpec::structured), checked by `check`.
  void structured(const char* name, std::string S::*m,
                  std::function<std::optional<std::string>(const std::string&)> check,
                  const char* help) {
    add(name, at(m), {}, {}, true, help);
    out_->back().structured = true;
    out_->back().check = std::move(check);
  }
  template <class T>
  Section<T> sub(const char* name, T S::*m) const {
    return Section<T>(out_, key(name), at(m));
  }

 private:
  template <class T>
  std::function<T&(Config&)> at(T S::*m) const {
    return [get = get_, m](Config& c) -> T& { return get(c).*m; };
  }
  std::string key(const char* name) const { return prefix_.empty() ? name : prefix_ + "." + name; }
  void add(const char* name, FieldRef ref, Range range, std::vector<std::string> choices,
           bool allow_empty, const char* help) {
    out_->push_back({key(name), std::move(ref), range, std::move(choices), allow_empty, help});
  }

  std::vector<FieldSpec>* out_;
  std::string prefix_;
  std::function<S&(Config&)> get_;
};

// The same optimizer keys under teacher.train, student.train and prune.finetune.
void add_optim(Section<OptimConfig> s) {
  s.integer("epochs", &OptimConfig::epochs, at_least(0), "passes over the data; 0 skips training");
  s.integer("batch_size", &OptimConfig::batch_size, at_least(1), "examples per optimizer step");
  s.choice("optimizer", &OptimConfig::optimizer, {"adam", "sgd"}, "optimizer");
  s.number("lr", &OptimConfig::lr, above(0), "learning rate (the peak, for cosine)");
  s.choice("lr_schedule", &OptimConfig::lr_schedule, {"cosine", "constant"},
           "learning-rate schedule over the epochs");
  s.number("weight_decay", &OptimConfig::weight_decay, at_least(0), "L2 weight decay");
  s.number("momentum", &OptimConfig::momentum, half_open(0, 1), "momentum (sgd only)");
}

// The job's identity, where it runs and on what data.
void add_job_keys(Section<Config>& root) {
  root.text("name", &Config::name, false, "job name, shown in logs and reports");
  root.integer("seed", &Config::seed, at_least(0), "seed for every random choice in the job");

  auto runtime = root.sub("runtime", &Config::runtime);
  // 1024 bounds what a config may ask anywhere; preflight then holds it to
  // this machine's cores (a million threads would be created, not refused).
  runtime.integer("threads", &RuntimeConfig::threads, closed(0, kMaxThreads),
                  "LibTorch intra-op threads; 0 = cores / ranks on this node; at most 4 x the "
                  "cores of the machine");
  runtime.text("device", &RuntimeConfig::device, false,
               "where models train and infer: cpu, cuda or cuda:N (under mpirun, \"cuda\" "
               "means the GPU of this rank's local rank)");
  runtime.number("bucket_cap_mb", &RuntimeConfig::bucket_cap_mb, above(0),
                 "data-parallel: gradients are all-reduced in buckets of at most this many MiB, "
                 "each started as soon as backward has filled it");

  auto roles = root.sub("roles", &Config::roles);
  roles.integer("teacher_ranks", &RolesConfig::teacher_ranks, at_least(0),
                "under mpirun: 0 = phased (every rank labels, then all train the student); "
                "k > 0 = pipelined (the last k ranks keep labelling while the others train "
                "on shards as they are committed); needs k < ranks");

  auto data = root.sub("data", &Config::data);
  data.choice("dataset", &DataConfig::dataset, {"fashion_mnist", "hdf5", "tokens", "text"},
              "dataset to distill on: Fashion-MNIST IDX files, your own HDF5 file (groups "
              "train, optional validation and test, each with inputs [N, ...] and labels [N]), "
              "a token file written by condenser prepare-text, or a text corpus the job "
              "tokenizes first");
  data.text("path", &DataConfig::path, false,
            "fashion_mnist: the folder of its IDX files; hdf5: the .h5 file; tokens: the token "
            "file; text: a UTF-8 corpus (documents separated by blank lines) or kjv, the King "
            "James Bible of Debian's bible-kjv");
  data.integer("validation_size", &DataConfig::validation_size, at_least(0),
               "training examples held out for validation (the test set only reports)");
  data.integer("train_subset", &DataConfig::train_subset, at_least(0),
               "use only this many training examples; 0 = the whole split");
  data.integer("test_subset", &DataConfig::test_subset, at_least(0),
               "use only this many test examples; 0 = the whole test set");
  data.integer("seq_len", &DataConfig::seq_len, closed(2, 65536),
               "tokens, text: tokens per training window; a window predicts each next token");
  data.integer("vocab_size", &DataConfig::vocab_size, closed(16, 1 << 20),
               "text: size of the SentencePiece vocabulary trained on the corpus");
  data.text("tokenizer", &DataConfig::tokenizer, true,
            "text: an existing SentencePiece .model to tokenize with; empty = train one on the "
            "corpus (data.vocab_size)");
}

// The teacher, its soft labels and the student distilled from them.
void add_distillation_keys(Section<Config>& root) {
  auto teacher = root.sub("teacher", &Config::teacher);
  teacher.text("model", &TeacherConfig::model, false,
               "built-in zoo model, trained when teacher.path and teacher.layers are empty");
  teacher.text("path", &TeacherConfig::path, true,
               "a TorchScript teacher taking the dataset's samples; when set, no teacher training");
  teacher.structured("layers", &TeacherConfig::layers, check_model_layers,
                     "a teacher declared as a list of layers (conv, batch_norm, relu, gelu, tanh, "
                     "max_pool, avg_pool, global_avg_pool, flatten, linear, dropout, residual), "
                     "trained by the job; empty = teacher.model");
  teacher.choice("precision", &TeacherConfig::precision, {"fp32", "bf16"},
                 "teacher inference (labelling) precision: bf16 casts the teacher's weights "
                 "(top-1 agrees with fp32 on >= 99% of Fashion-MNIST; tests/gpu)");
  teacher.boolean("augment", &TeacherConfig::augment,
                  "train the built-in teacher on the same augmented views it labels (with "
                  "soft_labels.views_per_sample > 1); false: on the original images only");
  add_optim(teacher.sub("train", &TeacherConfig::train));

  auto soft = root.sub("soft_labels", &Config::soft_labels);
  soft.number("temperature", &SoftLabelConfig::temperature, above(0),
              "softmax temperature of the soft labels and the KD loss");
  soft.integer("batch_size", &SoftLabelConfig::batch_size, at_least(1), "teacher inference batch");
  soft.integer("shard_rows", &SoftLabelConfig::shard_rows, at_least(1), "rows per HDF5 shard");
  soft.choice("format", &SoftLabelConfig::format, {"full", "topk"},
              "full logits, or the top_k largest with a logsumexp for the rest");
  soft.integer("top_k", &SoftLabelConfig::top_k, at_least(1), "classes kept per row (format topk)");
  soft.choice("topk_dtype", &SoftLabelConfig::topk_dtype, {"float32", "float16", "bfloat16", "int8"},
              "stored precision of the top-k values (format topk); int8 quantises each row "
              "against its largest value");
  soft.integer("views_per_sample", &SoftLabelConfig::views_per_sample, at_least(1),
               "augmented views labelled per sample; epoch e trains view (e + sample) mod K");
  soft.boolean("flip", &SoftLabelConfig::flip,
               "augmentation views may be mirrored left-right; false for data whose mirror "
               "image is something else (digits, text); crops stay the same");
  soft.integer("prefetch_depth", &SoftLabelConfig::prefetch_depth, at_least(1),
               "shards the background reader holds ahead of the trainer");
  soft.choice("reader", &SoftLabelConfig::reader, {"memory", "stream"},
              "memory: all soft labels in one table; stream: shard by shard, bounded memory");
  soft.choice("dtype", &SoftLabelConfig::dtype, {"float32", "float16"},
              "stored soft-label precision");

  auto student = root.sub("student", &Config::student);
  student.text("model", &StudentConfig::model, false,
               "built-in zoo model for the student, used when student.path and student.layers "
               "are empty");
  student.text("path", &StudentConfig::path, true,
               "a TorchScript student (e.g. scripted in PyTorch), trained from its own weights; "
               "with student.layers, the declared student's starting weights (a declared "
               "teacher's file with the teacher's layers: prune the teacher)");
  student.structured("layers", &StudentConfig::layers, check_model_layers,
                     "a student declared as a list of layers (as teacher.layers); empty = "
                     "student.path or student.model");
  student.number("alpha", &StudentConfig::alpha, closed(0, 1),
                 "weight of the KD term; (1 - alpha) on hard-label cross-entropy");
  student.choice("mix", &StudentConfig::mix, {"none", "mixup", "cutmix"},
                 "mix pairs of samples in each distillation batch: mixup blends the images, "
                 "cutmix pastes a box of one into the other; the stored soft labels (and the "
                 "labels) mix with the same weight");
  student.number("mix_alpha", &StudentConfig::mix_alpha, above(0),
                 "the mixing weight is drawn from Beta(mix_alpha, mix_alpha) per batch");
  add_optim(student.sub("train", &StudentConfig::train));

  auto control = root.sub("control", &Config::control);
  control.boolean("enabled", &ControlConfig::enabled,
                  "also train the student without the teacher (cross-entropy only, same "
                  "batches, views, mixing and schedule) and report the gain from distillation");
}

// The prune schedule and the accuracy budget it must stay within.
void add_prune_keys(Section<Config>& root) {
  auto prune = root.sub("prune", &Config::prune);
  prune.boolean("enabled", &PruneConfig::enabled, "prune and fine-tune the student");
  prune.choice("method", &PruneConfig::method,
               {"global_magnitude", "layer_magnitude", "structured", "nm", "width", "depth"},
               "unstructured magnitude with one threshold over all layers (global) or the same "
               "fraction in every layer (layer), structured channels (compacted), N:M, or for "
               "language models width (attention heads, MLP neurons, embedding channels) or "
               "depth (whole blocks), both compacted");
  prune.number("sparsity", &PruneConfig::sparsity, half_open(0, 1),
               "fraction of conv/linear weights (structured: channels; width/depth: all "
               "parameters) removed; nm ignores it");
  prune.structured("stages", &PruneConfig::stages, check_prune_stages,
                   "coarse-to-fine schedule, a list of {sparsity, epochs, lr} (or bare sparsities), "
                   "each cut followed by its own fine-tune; empty = one stage at prune.sparsity");
  prune.choice("schedule", &PruneConfig::schedule, {"one_shot", "gradual"},
               "one_shot: each stage cuts at once; gradual: sparsity rises along Zhu & Gupta's "
               "cubic over the first gradual_fraction of the stage's steps");
  prune.integer("gradual_every_steps", &PruneConfig::gradual_every_steps, at_least(1),
                "gradual: steps between mask updates");
  prune.number("gradual_fraction", &PruneConfig::gradual_fraction, closed(0, 1),
               "gradual: share of a stage's fine-tune over which sparsity rises");
  prune.structured("exclude", &PruneConfig::exclude, check_name_list,
                   "weights never pruned: parameter names, or first / last (the first and last "
                   "conv/linear weight); auto = [first, last], or [] for structured; [] prunes all");
  prune.structured("layer_sparsity", &PruneConfig::layer_sparsity, check_layer_sparsity,
                   "own targets for some weights, a map name: sparsity (at the last stage; "
                   "earlier stages scale it); the rest share the remaining cut");
  prune.choice("structured_norm", &PruneConfig::structured_norm, {"l1", "l2"},
               "channel ranking norm (structured)");
  prune.integer("nm_n", &PruneConfig::nm_n, at_least(1), "weights kept per group (nm)");
  prune.integer("nm_m", &PruneConfig::nm_m, at_least(1), "group size (nm)");
  prune.integer("calibration_samples", &PruneConfig::calibration_samples, at_least(1),
                "width/depth: training windows the head, neuron and block importance is "
                "measured on");
  prune.structured("width_targets", &PruneConfig::width_targets, check_width_targets,
                   "width: the cut of each axis, a map {heads, mlp, embedding} of fractions "
                   "of its units or auto (the auto axes share the fraction that reaches "
                   "prune.sparsity; fixed ones scale with earlier stages); empty = heads and "
                   "mlp auto, embedding 0");
  prune.choice("block_importance", &PruneConfig::block_importance, {"cosine", "perplexity"},
               "depth: how blocks are ranked, 1 - cosine(block input, output) or the "
               "calibration perplexity with the block skipped; the lowest go first");
  add_optim(prune.sub("finetune", &PruneConfig::finetune));

  auto budget = root.sub("budget", &Config::budget);
  budget.boolean("enabled", &BudgetConfig::enabled,
                 "check every prune stage's validation accuracy against the budget");
  budget.number("max_drop", &BudgetConfig::max_drop, at_least(0),
                "largest allowed drop against the reference: accuracy points, or the percent "
                "perplexity may rise (budget.metric perplexity)");
  budget.choice("metric", &BudgetConfig::metric, {"accuracy", "perplexity"},
                "what the budget guards: validation accuracy, or (language models) validation "
                "perplexity relative to the reference");
  budget.choice("reference", &BudgetConfig::reference, {"dense_student", "teacher"},
                "what the drop is measured against");
  budget.integer("max_retries", &BudgetConfig::max_retries, at_least(0),
                 "retries of a missed stage, each rolling back and halving the sparsity step");
}

// What the job leaves behind while it runs: logs, metrics and checkpoints.
void add_output_keys(Section<Config>& root) {
  auto logging = root.sub("logging", &Config::logging);
  logging.choice("level", &LoggingConfig::level, {"trace", "debug", "info", "warn", "error"},
                 "log level");
  logging.integer("every_steps", &LoggingConfig::every_steps, at_least(1),
                  "steps between metrics.jsonl step records");

  auto checkpoint = root.sub("checkpoint", &Config::checkpoint);
  checkpoint.integer("every_steps", &CheckpointConfig::every_steps, at_least(0),
                     "optimizer steps between checkpoints; 0 = only at stage ends");
  checkpoint.integer("keep_last", &CheckpointConfig::keep_last, at_least(1),
                     "newest checkpoints kept, besides the best by validation accuracy");
}

std::vector<FieldSpec> build_schema() {
  std::vector<FieldSpec> f;
  Section<Config> root(&f, "", [](Config& c) -> Config& { return c; });
  add_job_keys(root);
  add_distillation_keys(root);
  add_prune_keys(root);
  add_output_keys(root);
  return f;
}

}  // namespace

const std::vector<FieldSpec>& config_fields() {
  static const std::vector<FieldSpec> fields = build_schema();
  return fields;
}

const FieldSpec* find_config_field(const std::string& key) {
  for (const FieldSpec& field : config_fields()) {
    if (field.key == key) return &field;
  }
  return nullptr;
}

bool is_config_section(const std::string& key) {
  const std::string prefix = key + ".";
  for (const FieldSpec& field : config_fields()) {
    if (field.key.compare(0, prefix.size(), prefix) == 0) return true;
  }
  return false;
}

}  // namespace condenser
