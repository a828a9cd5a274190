# Jobs across emulated nodes (label cluster): Linux network namespaces joined
# by veth pairs to a bridge, made and removed by each test (root only; where
# namespaces cannot be made a test prints "skipped: <why>" and ctest reports
# it skipped). Names and ports live inside each test's own namespaces, so the
# tests may run in parallel with anything. Included from tests/CMakeLists.txt.
set(NETNS_DIR ${CMAKE_BINARY_DIR}/netns)

# netns_test(NAME SCRIPT): bash SCRIPT with the binary, the hostile tests'
# tiny config, the data and a fresh folder ${NETNS_DIR}/NAME as environment.
function(netns_test name script)
  add_test(NAME cluster.${name}
    COMMAND ${CMAKE_COMMAND} -E env CONDENSER=$<TARGET_FILE:condenser>
            TINY=${PROJECT_SOURCE_DIR}/tests/hostile/tiny.yaml DATA=${CONDENSER_TEST_DATA}
            WORK=${NETNS_DIR}/${name} PYTHON=${CONDENSER_PYTHON}
            bash ${CMAKE_CURRENT_LIST_DIR}/${script})
  set_tests_properties(cluster.${name} PROPERTIES LABELS "cluster;e2e" TIMEOUT 240
    PROCESSORS 2 SKIP_REGULAR_EXPRESSION "skipped: ")
endfunction()

# Three nodes; node 3's link cut mid-labelling: lease expiry, reassignment,
# the late commit refused, every (sample, view) exactly once.
netns_test(netns_nodes netns_nodes.sh)

# mpirun across nodes 2 and 3 (Open MPI's rsh agent = ip netns exec): a
# data-parallel job whose ranks meet only over the links.
netns_test(netns_mpi netns_mpi.sh)

# The same job with node 3's link cut mid-training: mpirun ends it within
# seconds (daemon keepalives), and the same command resumes and finishes.
netns_test(netns_mpi_cut netns_mpi_cut.sh)
