#include "bench/bench_lm.h"

#include <cstdlib>

#include "core/errors.h"
#include "data/text/token_cache.h"

namespace condenser {

std::string lm_token_file(const BenchOptions& options) {
  const char* cache = std::getenv("CONDENSER_CACHE");
  if (cache == nullptr || *cache == '\0') {
    // Not the user's ~/.cache: the results folder keeps it for the next run.
    const std::string dir = options.out_dir + "/cache";
    if (::setenv("CONDENSER_CACHE", dir.c_str(), 1) != 0) {
      throw RuntimeFailure("bench: cannot set CONDENSER_CACHE=" + dir);
    }
  }
  return text_token_file({"kjv", "", static_cast<int>(kLmVocab), 0});
}

LmWindows lm_windows(const BenchOptions& options, int64_t count) {
  LmWindows w;
  w.token_file = lm_token_file(options);
  w.info = describe_dataset("tokens", w.token_file, kLmSeqLen);
  if (w.info.train_rows < count) {
    throw RuntimeFailure("bench: the token file '" + w.token_file + "' has " +
                         std::to_string(w.info.train_rows) + " training windows; " +
                         std::to_string(count) + " needed");
  }
  w.train = load_split(w.info, "train");
  w.samples = plan_splits(w.info, 0, count, kLmSplitSeed).train;
  return w;
}

namespace {

ModelSpec lm_spec(const std::string& name, const std::string& layers) {
  ModelSpec spec;
  spec.name = name;
  spec.input_shape = {kLmSeqLen};
  spec.vocab = kLmVocab;
  spec.layers = parse_model_layers(layers, name + ".layers");
  return spec;
}

}  // namespace

// The layer lists of configs/lm_kjv.yaml and configs/lm_tiny.yaml.
ModelSpec lm_teacher_spec(bool quick) {
  return lm_spec("teacher", quick ? "[{embedding: 64, positions: rotary}, "
                                    "{block: 2, mlp: 128, repeat: 2}, layer_norm, lm_head]"
                                  : "[{embedding: 256, positions: rotary}, "
                                    "{block: 4, mlp: 1024, repeat: 6}, layer_norm, lm_head]");
}

ModelSpec lm_student_spec(bool quick) {
  return lm_spec("student", quick ? "[{embedding: 32, positions: learned}, "
                                    "{block: 2, mlp: 64}, layer_norm, lm_head]"
                                  : "[{embedding: 128, positions: rotary}, "
                                    "{block: 4, mlp: 512, repeat: 4}, layer_norm, lm_head]");
}

}  // namespace condenser
