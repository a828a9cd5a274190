#pragma once
// The job's teacher and student as the config names them: a built-in zoo
// model fitted to the dataset's sample shape and class count, a model
// declared as a list of layers (teacher.layers / student.layers), or a
// TorchScript file (teacher.path / student.path). One place decides, so
// preflight, the stages and the export agree on what the models are.
#include <torch/script.h>

#include <optional>
#include <string>

#include "config/config.h"
#include "data/datasets.h"
#include "trainers/model_spec.h"

namespace condenser {

// The spec a built-in or declared teacher is built from; nullopt when
// teacher.path gives a TorchScript file.
std::optional<ModelSpec> teacher_spec(const Config& config, const DatasetInfo& data);

// The spec of a zoo or declared student (student.layers, even when
// student.path gives its starting weights); nullopt for a TorchScript
// student.path alone. Only a
// student with a spec can be pruned structurally (its layers say which
// channels feed which) and counted in FLOPs.
std::optional<ModelSpec> student_spec(const Config& config, const DatasetInfo& data);

// What the report calls the student: the zoo name, "declared (N layers)",
// or "TorchScript FILE".
std::string student_description(const Config& config);

// A fresh student on the CPU: built from its spec with the job's student
// seed, or student.path loaded as given (its own initial weights, every
// parameter trainable). With both student.layers and student.path, the
// declared student starts from the file's weights (same names and shapes;
// UsageError naming the first tensor that differs). The distilled student
// and the control start equal.
torch::jit::Module fresh_student(const Config& config, const DatasetInfo& data);

// The checks preflight makes (nothing trained): at most one of path and
// layers for the teacher, specs that fit the data (check_spec, naming the key), a
// TorchScript student whose forward gives [N, classes] on `probe` (the
// first training inputs), structured pruning only for students with a spec.
// UsageError naming the key or file and what to do.
void check_models(const Config& config, const DatasetInfo& data, const at::Tensor& probe);

}  // namespace condenser
