#pragma once
// NCCL for CUDA tensors, the given communicator (MPI) for the rest, behind
// one Communicator: each call goes to the backend of its tensor's device.
// NCCL's unique id is made on rank 0 and broadcast over the given
// communicator. Without CONDENSER_WITH_NCCL (or when no GPU is visible) that
// communicator is returned unchanged and CUDA tensors are staged through
// host memory. The raw NCCL/CUDA calls live in nccl_ops.h.
#include <cstdint>
#include <memory>

#include "cluster/communicator.h"

namespace condenser {

// Wraps `mpi` (any communicator: MPI, or a world of one in tests). Uses GPU
// local_rank mod the GPU count; collective over mpi's ranks. Returns `mpi`
// itself, on every rank alike, when any rank has no GPU or shares its GPU
// with another rank of its node (NCCL refuses that).
std::unique_ptr<Communicator> with_nccl_for_cuda(std::unique_ptr<Communicator> mpi,
                                                 int local_rank);

// NCCL collectives this process has enqueued (0 without NCCL): lets tests and
// logs confirm which backend carried the CUDA tensors.
int64_t nccl_collectives_issued();

}  // namespace condenser
