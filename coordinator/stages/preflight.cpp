#include "coordinator/stages/preflight.h"

#include "coordinator/stages/prune_stage.h"

namespace condenser {

void preflight(const Config& config) { check_prune_targets(config); }

}  // namespace condenser
