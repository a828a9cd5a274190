# Hostile tests: workers (see CMakeLists.txt for hostile_test).
# Local workers die with their job and inherit no port (3), a crashed one is
# restarted and a terminal Ctrl-C stops the job gracefully (7), the job
# token is private and never empty (11).
hostile_test(workers_orphan workers_orphan.sh)
hostile_test(workers_restart workers_restart.sh)
hostile_test(workers_ctrl_c workers_ctrl_c.sh)
hostile_test(workers_token workers_token.sh)
