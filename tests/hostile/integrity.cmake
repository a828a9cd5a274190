# Hostile tests: integrity (see CMakeLists.txt for hostile_test).
hostile_test(integrity_state_json integrity_state_json.sh)  # defect 4
hostile_test(integrity_nan_teacher integrity_nan_teacher.sh)  # defect 5
hostile_test(integrity_export integrity_export.sh)  # defects 6, 16 (kill during export)
hostile_test(integrity_checkpoint_full integrity_checkpoint_full.sh)  # defect 16 (ENOSPC cause)
hostile_test(integrity_nan_loss integrity_nan_loss.sh)  # defect 5 (training loss)
hostile_test(integrity_label_full integrity_label_full.sh)  # defect 16 (ENOSPC while labelling)
