# Hostile tests: preflight (see CMakeLists.txt for hostile_test).
