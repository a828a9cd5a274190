# Finds every third-party dependency once; folders link the imported targets.
find_package(Torch REQUIRED)
find_package(MPI REQUIRED COMPONENTS CXX)
find_package(HDF5 REQUIRED COMPONENTS C)
find_package(Boost REQUIRED)
find_package(yaml-cpp REQUIRED)
find_package(CLI11 REQUIRED)
find_package(nlohmann_json REQUIRED)
find_package(ZLIB REQUIRED)
find_package(Threads REQUIRED)
# SentencePiece (data/text: tokenizers); the train library comes with it.
find_package(PkgConfig REQUIRED)
pkg_check_modules(SENTENCEPIECE REQUIRED IMPORTED_TARGET sentencepiece)

# HDF5 as one imported target (FindHDF5 only gives variables on CMake 3.18).
add_library(condenser_hdf5 INTERFACE)
target_include_directories(condenser_hdf5 SYSTEM INTERFACE ${HDF5_C_INCLUDE_DIRS} ${HDF5_INCLUDE_DIRS})
target_link_libraries(condenser_hdf5 INTERFACE ${HDF5_C_LIBRARIES})
target_compile_definitions(condenser_hdf5 INTERFACE ${HDF5_C_DEFINITIONS})

# LibTorch as one imported target; TORCH_LIBRARIES carries its compile flags.
add_library(condenser_torch INTERFACE)
target_link_libraries(condenser_torch INTERFACE ${TORCH_LIBRARIES})
target_include_directories(condenser_torch SYSTEM INTERFACE ${TORCH_INCLUDE_DIRS})

# CUDA and NCCL: on when this LibTorch was built with CUDA / nccl.h is found.
set(_torch_has_cuda OFF)
if(TARGET torch_cuda OR CUDA_FOUND OR TORCH_CUDA_LIBRARIES)
  set(_torch_has_cuda ON)
endif()
option(CONDENSER_WITH_CUDA "Build the CUDA paths (needs a LibTorch with CUDA)" ${_torch_has_cuda})
find_path(NCCL_INCLUDE_DIR nccl.h HINTS /usr/local/cuda/include ENV CUDA_HOME PATH_SUFFIXES include)
find_library(NCCL_LIBRARY nccl HINTS /usr/local/cuda/lib64 ENV CUDA_HOME PATH_SUFFIXES lib64 lib)
set(_have_nccl OFF)
if(NCCL_INCLUDE_DIR AND NCCL_LIBRARY AND CONDENSER_WITH_CUDA)
  set(_have_nccl ON)
endif()
option(CONDENSER_WITH_NCCL "Build the NCCL communicator" ${_have_nccl})
if(CONDENSER_WITH_CUDA AND NOT _torch_has_cuda)
  message(FATAL_ERROR "CONDENSER_WITH_CUDA=ON but this LibTorch has no CUDA; point CMAKE_PREFIX_PATH at a CUDA LibTorch")
endif()
if(CONDENSER_WITH_NCCL AND NOT (NCCL_INCLUDE_DIR AND NCCL_LIBRARY))
  message(FATAL_ERROR "CONDENSER_WITH_NCCL=ON but nccl.h / libnccl were not found; set NCCL_INCLUDE_DIR and NCCL_LIBRARY")
endif()
if(CONDENSER_WITH_CUDA)
  target_compile_definitions(condenser_torch INTERFACE CONDENSER_WITH_CUDA=1)
endif()
if(CONDENSER_WITH_NCCL)
  target_compile_definitions(condenser_torch INTERFACE CONDENSER_WITH_NCCL=1)
endif()
# Without a CUDA LibTorch but with the CUDA toolkit and NCCL installed (the
# CPU development machine), tests/gpu still builds the raw NCCL layer
# (cluster/nccl_ops.cpp) against cuda_runtime.h + nccl.h, links and tests
# its no-GPU paths, and compiles (without linking) the torch-facing
# cluster/nccl_communicator.cpp against LibTorch's c10/cuda headers: so the
# code a GPU machine builds first has at least been compiled here.
find_path(CUDART_INCLUDE_DIR cuda_runtime.h HINTS /usr/local/cuda/include ENV CUDA_HOME PATH_SUFFIXES include)
find_library(CUDART_LIBRARY cudart HINTS /usr/local/cuda/lib64 ENV CUDA_HOME PATH_SUFFIXES lib64 lib)
set(_nccl_check OFF)
if(NOT CONDENSER_WITH_NCCL AND NCCL_INCLUDE_DIR AND NCCL_LIBRARY AND CUDART_INCLUDE_DIR AND CUDART_LIBRARY)
  set(_nccl_check ON)
endif()
option(CONDENSER_NCCL_COMPILE_CHECK "Build and test the NCCL layer without a CUDA LibTorch (tests/gpu)" ${_nccl_check})
if(CONDENSER_NCCL_COMPILE_CHECK AND CONDENSER_WITH_NCCL)
  set(CONDENSER_NCCL_COMPILE_CHECK OFF CACHE BOOL "" FORCE)  # the real build compiles it all
endif()
message(STATUS "condenser: CUDA=${CONDENSER_WITH_CUDA} NCCL=${CONDENSER_WITH_NCCL} Torch=${Torch_VERSION} NCCL compile check=${CONDENSER_NCCL_COMPILE_CHECK}")

# One precompiled header for every target that uses LibTorch; others reuse it.
add_library(condenser_torch_pch STATIC ${PROJECT_SOURCE_DIR}/cmake/torch_pch.cpp)
target_link_libraries(condenser_torch_pch PUBLIC condenser_torch)
target_precompile_headers(condenser_torch_pch PRIVATE ${PROJECT_SOURCE_DIR}/cmake/torch_pch.h)

# Use: condenser_use_torch(target) — links LibTorch and reuses the shared PCH.
function(condenser_use_torch target)
  target_link_libraries(${target} PUBLIC condenser_torch)
  target_precompile_headers(${target} REUSE_FROM condenser_torch_pch)
endfunction()
