# Hostile tests: workers (see CMakeLists.txt for hostile_test).
