#pragma once
// Collectives over MPI for CPU tensors. One thread owns every MPI call (it
// initialises MPI with at least MPI_THREAD_SERIALIZED and finalises it), so
// autograd hooks and the training loop may submit from any thread. Tensors
// on another device are staged through host memory (NCCL is the fast path
// for CUDA tensors: see make_world_communicator).
#include <memory>

#include "cluster/communicator.h"

namespace condenser {

std::unique_ptr<Communicator> make_mpi_communicator();

// True once this process has initialised MPI (for exit_now_if_distributed).
bool mpi_was_initialised();

}  // namespace condenser
