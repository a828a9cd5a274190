# Hostile tests: run_dir (see CMakeLists.txt for hostile_test). The run
# directory: containment, the lock, nothing deleted or created before the checks.
hostile_test(run_dir_careless run_dir_careless.sh)
hostile_test(run_dir_nothing_left run_dir_nothing_left.sh)
hostile_test(run_dir_manifest run_dir_manifest.sh)
hostile_test(run_dir_lock run_dir_lock.sh)
hostile_test(run_dir_resume_quoted run_dir_resume_quoted.sh)
