# Hostile tests: integrity (see CMakeLists.txt for hostile_test).
hostile_test(integrity_state_json integrity_state_json.sh)
hostile_test(integrity_nan_teacher integrity_nan_teacher.sh)
hostile_test(integrity_export integrity_export.sh)
hostile_test(integrity_checkpoint_full integrity_checkpoint_full.sh)
hostile_test(integrity_nan_loss integrity_nan_loss.sh)
hostile_test(integrity_label_full integrity_label_full.sh)
