#pragma once
// The job configuration: one typed schema in one place (config_schema.cpp
// binds every dotted key to a field below, with its type, range and help).
// Loading reports an unknown key with file, line and the closest valid key,
// and a wrong type or out-of-range value with key, value and what was expected.
#include <string>
#include <vector>

namespace condenser {

struct RuntimeConfig {
  int threads = 0;  // LibTorch intra-op threads; 0 = cores / ranks on this node
  std::string device = "cpu";  // cpu | cuda | cuda:N (models and batches live there)
  double bucket_cap_mb = 25.0;  // data-parallel gradient buckets (PyTorch DDP's default)
};

// What the ranks of an mpirun job do while the teacher labels.
struct RolesConfig {
  // 0 (phased): every rank labels, then every rank trains the student. k > 0
  // (pipelined): the last k ranks keep labelling while the others train on
  // shards as they are committed (needs 0 <= k < ranks; checked at run time).
  int teacher_ranks = 0;
};

struct DataConfig {
  // fashion_mnist | hdf5 (data/hdf5_dataset.h: the layout) | tokens (a token
  // file of `condenser prepare-text`) | text (a corpus the job tokenizes first)
  std::string dataset = "fashion_mnist";
  // the IDX folder, the .h5 file, the token file, or the corpus (a UTF-8
  // file, or "kjv": the King James Bible of Debian's bible-kjv)
  std::string path = "/usr/share/datasets/fashion-mnist";
  // Carved from the training set when the source has no validation split
  // (and as many again when it has no test split; the test set only reports).
  int validation_size = 5000;
  int train_subset = 0;        // 0 = the whole training split
  int test_subset = 0;         // 0 = the whole test set
  int seq_len = 128;           // tokens, text: tokens per training window (sample)
  int vocab_size = 4096;       // text: SentencePiece vocabulary trained on the corpus
  std::string tokenizer;       // text: an existing SentencePiece .model instead of training one
};

struct OptimConfig {
  int epochs = 5;
  int batch_size = 128;
  std::string optimizer = "adam";    // adam | sgd
  double lr = 1e-3;
  std::string lr_schedule = "cosine";  // cosine | constant
  double weight_decay = 0.0;
  double momentum = 0.9;  // sgd only
};

struct TeacherConfig {
  std::string model = "cnn";  // built-in zoo name, used when path and layers are empty
  std::string path;           // a TorchScript teacher; when set, no teacher training
  std::string layers;         // YAML list of layers (config/model_decl.h): a declared teacher
  std::string precision = "fp32";  // fp32 | bf16: the weights the teacher labels with
  // A built-in teacher trains on the augmented views it will label
  // (soft_labels.views_per_sample > 1), so it labels views it knows.
  bool augment = true;
  OptimConfig train;
};

struct SoftLabelConfig {
  double temperature = 4.0;
  int batch_size = 64;     // teacher inference batch (bench teacher: ~1.6x the samples/s of 500 on CPU)
  int shard_rows = 10000;  // rows per HDF5 shard
  std::string dtype = "float32";  // float32 | float16 (full format)
  std::string format = "full";    // full | topk (top_k values + indices + logsumexp)
  int top_k = 5;                  // classes kept per row when format = topk
  std::string topk_dtype = "float16";  // float32 | float16 | bfloat16 | int8 (top-k values)
  int views_per_sample = 1;       // augmented views labelled per sample (view 0 = original)
  bool flip = true;               // views may be mirrored; false for digits, text, ...
  int prefetch_depth = 2;         // shards read ahead by the background reader
  std::string reader = "memory";  // memory (one verified table) | stream (bounded memory)
};

struct StudentConfig {
  std::string model = "small_cnn";  // built-in zoo name, used when path and layers are empty
  std::string path;    // a TorchScript student, trained as given (its own initial weights)
  std::string layers;  // YAML list of layers (config/model_decl.h): a declared student
  double alpha = 0.9;  // weight of the KD term; (1 - alpha) on hard-label CE
  // Mixing two samples of a batch while distilling (and in the control):
  // none | mixup (blend the images) | cutmix (paste a box of one into the
  // other). The targets mix with the same weight, drawn from Beta(mix_alpha,
  // mix_alpha) per batch: the stored soft labels of both views, and both labels.
  std::string mix = "none";
  double mix_alpha = 1.0;
  OptimConfig train;
};

// The no-teacher control: the student trained again with cross-entropy only
// (no soft labels read) on the same batches, views, mixing and schedule, so
// the report can say what distillation gained.
struct ControlConfig {
  bool enabled = true;
};

struct PruneConfig {
  bool enabled = true;
  // global_magnitude: unstructured, one threshold over all conv/linear weights;
  // structured: whole channels/neurons by norm, then the model is compacted;
  // nm: N:M semi-structured (2:4 by default) in every weight row;
  // language models: width (attention heads and MLP neurons) or depth
  // (whole blocks), ranked on a calibration batch, then compacted.
  std::string method = "global_magnitude";
  double sparsity = 0.8;  // fraction of weights (structured: of channels) removed; nm ignores it
  std::string structured_norm = "l1";  // l1 | l2 (structured)
  int nm_n = 2;  // keep n of every m consecutive weights (nm)
  int nm_m = 4;
  int calibration_samples = 64;  // width/depth: training windows the importance is measured on
  // width: YAML map of per-axis cuts {heads, mlp, embedding}, each a fraction
  // of that axis's units or auto (config/prune_plan.h reads it); "" = heads
  // and mlp auto, embedding 0. The auto axes share one fraction that reaches
  // prune.sparsity.
  std::string width_targets;
  // depth: how a block is ranked. cosine: 1 - cosine(block input, output);
  // perplexity: the calibration perplexity with the block skipped.
  std::string block_importance = "cosine";
  OptimConfig finetune;
  // Flow-style YAML text (config/prune_plan.h reads it): a list of stages,
  // each {sparsity, epochs, lr} or a bare sparsity; "" = one stage.
  std::string stages;
  std::string schedule = "one_shot";  // one_shot | gradual (cubic within each stage)
  int gradual_every_steps = 50;
  double gradual_fraction = 0.75;
  // YAML list of weight names or first/last; "auto": [first, last] for
  // magnitude and N:M pruning, [] for structured (whose last layer's outputs
  // are the classes and are never cut; the first conv's channels are where
  // most of the speed-up comes from).
  std::string exclude = "auto";
  std::string layer_sparsity;             // YAML map weight name -> sparsity
};

// The accuracy guard on pruning: a stage whose validation accuracy falls
// more than max_drop points below the reference is rolled back and retried
// with half the sparsity step.
struct BudgetConfig {
  bool enabled = true;
  double max_drop = 1.0;  // accuracy: percentage points; perplexity: percent increase
  std::string metric = "accuracy";  // accuracy | perplexity (language models)
  std::string reference = "dense_student";  // dense_student | teacher
  int max_retries = 2;
};

struct LoggingConfig {
  std::string level = "info";  // trace | debug | info | warn | error
  int every_steps = 100;       // metrics.jsonl step records
};

struct CheckpointConfig {
  int every_steps = 500;  // optimizer steps between checkpoints (0 = only at stage ends)
  int keep_last = 3;      // newest checkpoints kept, besides the best by validation accuracy
};

struct Config {
  std::string name = "job";
  int seed = 42;
  RuntimeConfig runtime;
  RolesConfig roles;
  DataConfig data;
  TeacherConfig teacher;
  SoftLabelConfig soft_labels;
  StudentConfig student;
  ControlConfig control;
  PruneConfig prune;
  BudgetConfig budget;
  LoggingConfig logging;
  CheckpointConfig checkpoint;
};

// Loads a YAML file (keys may be omitted: defaults apply) and applies
// "dotted.key=value" overrides in order. Throws UsageError on any problem.
Config load_config(const std::string& path, const std::vector<std::string>& overrides = {});

// Parses YAML text; `origin` names the source in messages (a path or "<string>").
Config parse_config(const std::string& yaml_text, const std::string& origin,
                    const std::vector<std::string>& overrides = {});

// The full resolved config as YAML (every key, in schema order); parses back
// to an equal Config.
std::string config_to_yaml(const Config& config);

// Every valid dotted key, in schema order.
std::vector<std::string> config_keys();

}  // namespace condenser
