# Your own data, teacher and student, with the example scripts a user runs
# (examples/own_data/): an HDF5 image dataset (Fashion-MNIST padded to 32x32
# and tinted) with a residual teacher trained and scripted in PyTorch and a
# declared student; a student scripted in PyTorch; tabular rows with declared
# MLPs; and one refusal per bad input. Included by CMakeLists.txt.
set(OWN_DIR ${E2E_DIR}/own)
set(OWN_EXAMPLES ${PROJECT_SOURCE_DIR}/examples/own_data)
set(OWN_CONFIG ${PROJECT_SOURCE_DIR}/configs/own_hdf5.yaml)
set(OWN_SMALL data.validation_size=500 student.train.epochs=2 prune.finetune.epochs=1
    runtime.threads=1 logging.every_steps=10)

add_test(NAME e2e.own.make
  COMMAND sh -c "set -e; py=${CONDENSER_PYTHON}; ex=${OWN_EXAMPLES}; d=${OWN_DIR}
    $py $ex/make_dataset.py images $d/images.h5 --train 3000 --test 1000 --source ${CONDENSER_TEST_DATA}
    $py $ex/train_teacher.py $d/images.h5 $d/teacher.pt --epochs 2
    $py $ex/make_student.py $d/student.pt
    $py $ex/make_dataset.py tabular $d/tabular.h5 --train 3000
    $py ${CMAKE_CURRENT_SOURCE_DIR}/make_bad_hdf5.py $d/bad")
set_tests_properties(e2e.own.make PROPERTIES FIXTURES_SETUP own_data LABELS "e2e;interop" TIMEOUT 300)

# Images: the PyTorch teacher labels two views, a declared residual student
# is distilled (with its control) and pruned; Python reproduces the accuracy.
add_test(NAME e2e.own.images_run
  COMMAND ${EXPECT} 0 "teacher: loaded .*teacher.pt" -- ${CONDENSER_BIN} run ${OWN_CONFIG}
          data.path=${OWN_DIR}/images.h5 teacher.path=${OWN_DIR}/teacher.pt ${OWN_SMALL}
          --run-dir ${OWN_DIR}/images_run)
add_test(NAME e2e.own.images_check
  COMMAND ${CONDENSER_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/check_own_run.py ${OWN_DIR}/images_run
          ${OWN_DIR}/images.h5)
# A student scripted in PyTorch, distilled and pruned (unstructured) by condenser.
add_test(NAME e2e.own.torchscript_student_run
  COMMAND ${EXPECT} 0 "results: .*ts_student_run/export" -- ${CONDENSER_BIN} run ${OWN_CONFIG}
          data.path=${OWN_DIR}/images.h5 teacher.path=${OWN_DIR}/teacher.pt ${OWN_SMALL}
          student.layers= student.path=${OWN_DIR}/student.pt control.enabled=false
          soft_labels.views_per_sample=1 prune.sparsity=0.6 --run-dir ${OWN_DIR}/ts_student_run)
add_test(NAME e2e.own.torchscript_student_check
  COMMAND ${CONDENSER_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/check_own_run.py ${OWN_DIR}/ts_student_run
          ${OWN_DIR}/images.h5)
# Tabular rows [N, 12], no validation or test group (both carved from train),
# a declared MLP teacher trained by the job and a declared MLP student.
add_test(NAME e2e.own.tabular_run
  COMMAND ${EXPECT} 0 "test carved from train" -- ${CONDENSER_BIN} run ${OWN_CONFIG}
          data.path=${OWN_DIR}/tabular.h5 teacher.path=
          "teacher.layers=[{linear: 64}, relu, {linear: 64}, relu, {linear: 4}]"
          "student.layers=[{linear: 32}, relu, {linear: 16}, relu, {linear: 4}]" teacher.train.epochs=3
          soft_labels.views_per_sample=1 ${OWN_SMALL} --run-dir ${OWN_DIR}/tabular_run)
add_test(NAME e2e.own.tabular_check
  COMMAND ${CONDENSER_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/check_own_run.py ${OWN_DIR}/tabular_run
          ${OWN_DIR}/tabular.h5)
set_tests_properties(e2e.own.images_run e2e.own.torchscript_student_run e2e.own.tabular_run
  PROPERTIES FIXTURES_REQUIRED own_data LABELS "e2e;interop" TIMEOUT 600)
set_tests_properties(e2e.own.images_run PROPERTIES FIXTURES_SETUP own_images_run)
set_tests_properties(e2e.own.torchscript_student_run PROPERTIES FIXTURES_SETUP own_ts_run)
set_tests_properties(e2e.own.tabular_run PROPERTIES FIXTURES_SETUP own_tabular_run)
set_tests_properties(e2e.own.images_check PROPERTIES FIXTURES_REQUIRED own_images_run
  LABELS "e2e;interop")
set_tests_properties(e2e.own.torchscript_student_check PROPERTIES FIXTURES_REQUIRED own_ts_run
  LABELS "e2e;interop")
set_tests_properties(e2e.own.tabular_check PROPERTIES FIXTURES_REQUIRED own_tabular_run
  LABELS "e2e;interop")

# Refusals: exit 2, one line naming the file (and dataset, index) or the key.
function(expect_own_refusal name regex)
  expect_usage_error(own_${name} "${regex}" ${ARGN})
  set_property(TEST e2e.usage.own_${name} APPEND PROPERTY FIXTURES_REQUIRED own_data)
endfunction()
set(OWN_IMAGES data.path=${OWN_DIR}/images.h5 teacher.path=${OWN_DIR}/teacher.pt data.validation_size=500)
expect_own_refusal(label_outside "bad_labels.h5.*/train/labels\\[5\\] = 10 is outside \\[0, 10\\)"
  validate ${OWN_CONFIG} data.path=${OWN_DIR}/bad/bad_labels.h5 teacher.path=)
expect_own_refusal(nan_input "nan.h5.*/train/inputs.*7"
  run ${OWN_CONFIG} data.path=${OWN_DIR}/bad/nan.h5 teacher.path= "teacher.layers=[{linear: 3}]"
  "student.layers=[{linear: 3}]" soft_labels.views_per_sample=1 data.validation_size=5
  prune.enabled=false --run-dir ${OWN_DIR}/nan_run)
expect_own_refusal(no_train "no_train.h5.*train"
  validate ${OWN_CONFIG} data.path=${OWN_DIR}/bad/no_train.h5 teacher.path=)
expect_own_refusal(split_shapes "mismatch.h5.*test"
  validate ${OWN_CONFIG} data.path=${OWN_DIR}/bad/mismatch.h5 teacher.path=)
expect_own_refusal(views_on_tabular "augmentation views .* images .* 12"
  validate ${OWN_CONFIG} data.path=${OWN_DIR}/tabular.h5 teacher.path= data.validation_size=300
  "teacher.layers=[{linear: 4}]" "student.layers=[{linear: 4}]")
expect_own_refusal(structured_torchscript_student "structured needs a student whose layers"
  validate ${OWN_CONFIG} ${OWN_IMAGES} student.layers= student.path=${OWN_DIR}/student.pt
  prune.method=structured)
# Both: the declared student would start from the file's weights, which a
# PyTorch-scripted model with other names does not hold.
expect_own_refusal(path_not_fitting_layers
  "student.path .*student.pt' does not fit student.layers: '.*' is not in the file"
  validate ${OWN_CONFIG} ${OWN_IMAGES} student.path=${OWN_DIR}/student.pt)
expect_own_refusal(student_wrong_classes "student.layers\\[10\\].*4.*10"
  validate ${OWN_CONFIG} ${OWN_IMAGES}
  "student.layers=[{conv: 8}, relu, {max_pool: 2}, {conv: 8}, relu, {max_pool: 2}, {conv: 8}, relu, {max_pool: 2}, global_avg_pool, {linear: 4}]")
# A Fashion-MNIST teacher (1x28x28) on 3x32x32 data: both shapes named.
expect_own_refusal(teacher_wrong_input "python_teacher.pt' fails on \\[4, 3, 32, 32\\] float32 inputs"
  validate ${OWN_CONFIG} data.path=${OWN_DIR}/images.h5 teacher.path=${PY_TEACHER}
  data.validation_size=500)
set_property(TEST e2e.usage.own_teacher_wrong_input APPEND PROPERTY FIXTURES_REQUIRED python_teacher)

# Kill-and-resume with a student scripted in PyTorch: its checkpoints restore
# the same weights as an uninterrupted run (tests/e2e/resume_check.sh).
add_test(NAME e2e.own.torchscript_student_kill_and_resume
  COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/resume_check.sh ${CONDENSER_BIN} ${CONDENSER_PYTHON}
          ${OWN_DIR}/resume ${OWN_CONFIG} ${OWN_IMAGES} student.layers= student.path=${OWN_DIR}/student.pt
          student.alpha=0.6 data.train_subset=1000 data.test_subset=300 student.train.epochs=2
          prune.finetune.epochs=1 checkpoint.every_steps=5 soft_labels.shard_rows=500
          logging.every_steps=1 runtime.threads=1)
set_tests_properties(e2e.own.torchscript_student_kill_and_resume PROPERTIES
  FIXTURES_REQUIRED own_data LABELS "e2e;interop" TIMEOUT 900)
