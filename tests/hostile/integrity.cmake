# Hostile tests: integrity (see CMakeLists.txt for hostile_test).
