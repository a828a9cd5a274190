// C++ half of the Python interop check: LibTorch runs the exported student on
// fixed inputs and our reader reads a shard; interop_check.py must reproduce
// both with torch.jit.load and h5py.
// Usage: condenser_interop_check RUN_DIR PYTHON SCRIPT
#include <torch/script.h>
#include <torch/torch.h>

#include <cstdlib>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>

#include "data/shards/manifest.h"
#include "data/shards/shard_reader.h"

int main(int argc, char** argv) {
  if (argc != 4) {
    std::cerr << "usage: condenser_interop_check RUN_DIR PYTHON SCRIPT\n";
    return 2;
  }
  const std::string run = argv[1];
  torch::manual_seed(123);
  const at::Tensor inputs = torch::rand({6, 1, 28, 28});
  torch::jit::Module student = torch::jit::load(run + "/export/student.pt");
  torch::NoGradGuard no_grad;
  const at::Tensor outputs = student.forward({inputs}).toTensor().contiguous();

  const condenser::Manifest manifest = condenser::load_manifest(run + "/manifest.json");
  const std::string shard = run + "/soft_labels/" + manifest.shards.at(0).file;
  const condenser::ShardData data = condenser::read_shard(shard);
  const size_t rows = 5, classes = static_cast<size_t>(data.meta.num_classes);

  nlohmann::json j;
  j["inputs"] = std::vector<float>(inputs.data_ptr<float>(), inputs.data_ptr<float>() + inputs.numel());
  j["outputs"] = std::vector<float>(outputs.data_ptr<float>(),
                                    outputs.data_ptr<float>() + outputs.numel());
  j["shard"] = shard;
  j["sample_index"] = std::vector<int64_t>(data.sample_index.begin(), data.sample_index.begin() + rows);
  j["logits"] = std::vector<float>(data.logits.begin(), data.logits.begin() + rows * classes);
  const std::string json_path = run + "/../interop_expected.json";
  std::ofstream(json_path) << j.dump();

  const std::string cmd = std::string(argv[2]) + " " + argv[3] + " " + run + " " + json_path;
  const int status = std::system(cmd.c_str());
  return status == 0 ? 0 : 1;
}
