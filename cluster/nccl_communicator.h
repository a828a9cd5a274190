#pragma once
// NCCL for CUDA tensors, MPI for the rest, behind one Communicator: each call
// goes to the backend of its tensor's device. NCCL's unique id is made on
// rank 0 and broadcast over MPI. Without CONDENSER_WITH_NCCL (or when no
// GPU is visible) the MPI communicator is returned unchanged and CUDA tensors
// are staged through host memory.
#include <memory>

#include "cluster/communicator.h"

namespace condenser {

std::unique_ptr<Communicator> with_nccl_for_cuda(std::unique_ptr<Communicator> mpi,
                                                 int local_rank);

}  // namespace condenser
