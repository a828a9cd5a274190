#pragma once
// The one communicator of a multi-rank test process (MPI is initialised once
// per process), made by mpi_main.cpp before the tests run.
#include "cluster/communicator.h"

namespace condenser::test {

Communicator& world();

}  // namespace condenser::test
