#pragma once
// Crash points for the kill-and-resume tests (the failpoint habit of
// FoundationDB and TiKV): with CONDENSER_FAULT=POINT:VALUE in the
// environment, reaching that point with that value SIGKILLs this process on
// the spot, as a preempted node would be. Unset (always, outside tests), it
// costs one cached getenv.
//   after_step:N        once the job's N-th optimizer step is done
//   in_checkpoint:N     half-way through writing the checkpoint of step N
//   after_stage:NAME    just after stage NAME's end checkpoint
//   in_export:student.pt  once the export wrote student.pt (before the rest)
#include <string>

namespace condenser {

void fault_point(const std::string& point, const std::string& value);

}  // namespace condenser
