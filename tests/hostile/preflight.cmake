# Hostile tests: preflight (see CMakeLists.txt for hostile_test).
# Everything `run` would refuse late is refused by `validate` and by `run`
# before the run directory exists: config values against the data and the
# machine, unfit TorchScript teachers and damaged IDX
# files.
hostile_test(preflight_config preflight_config.sh)
hostile_test(preflight_teacher preflight_teacher.sh)
hostile_test(preflight_idx preflight_idx.sh)
