// Precompiled header shared by every target that uses LibTorch (compiling
// <torch/torch.h> costs 30-50 s a file on the 2-core machines).
#include <torch/script.h>
#include <torch/torch.h>

#include <string>
#include <vector>
