# The job's HTTP side from the first stage to the end of export: /status,
# /metrics and / answer during teacher training and the student stages with
# the stage and a rising step; a busy --http is refused (exit 2) before
# training; after the job the port answers nothing. Included by CMakeLists.txt.
add_test(NAME e2e.job_http
  COMMAND ${CONDENSER_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/job_http_check.py ${CONDENSER_BIN}
          ${QUICK} ${CONDENSER_TEST_DATA} ${E2E_DIR}/job_http)
set_tests_properties(e2e.job_http PROPERTIES LABELS e2e TIMEOUT 600)
# An --http host that does not resolve: exit 2 naming it, nothing trained.
expect_usage_error(bad_http "--http nohost:8080: cannot resolve 'nohost'"
  run ${QUICK} data.path=${CONDENSER_TEST_DATA} --http nohost:8080 --run-dir ${E2E_DIR}/bad_http)
