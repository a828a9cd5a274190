# Hostile tests: run_dir (see CMakeLists.txt for hostile_test).
