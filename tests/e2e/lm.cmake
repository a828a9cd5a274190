# Language models end to end: the King James Bible tokenized by a tokenizer
# the job trains, a tiny transformer teacher, top-k token soft labels from
# workers, the distilled student and its control; Python reproduces the
# student's perplexity from the export; generation; kill-and-resume bitwise
# equal; refusals. Included by CMakeLists.txt. Every test tokenizes into its
# own cache folder under the e2e directory (not the user's ~/.cache).
set(LM_DIR ${E2E_DIR}/lm)
set(LM_CONFIG ${PROJECT_SOURCE_DIR}/configs/lm_tiny.yaml)
set(LM_ENV CONDENSER_CACHE=${LM_DIR}/cache)

# prepare-text writes into an existing folder (it refuses a missing one).
add_test(NAME e2e.lm.prepare_text
  COMMAND sh -c "mkdir -p ${LM_DIR} && exec ${EXPECT} 0 'test: [0-9]+ documents, [0-9]+ tokens' -- ${CONDENSER_BIN} prepare-text --corpus kjv --vocab-size 512 --out ${LM_DIR}/kjv512.h5")
add_test(NAME e2e.lm.run
  COMMAND ${EXPECT} 0 "test perplexity: teacher .*control without the teacher" --
          ${CONDENSER_BIN} run ${LM_CONFIG} runtime.threads=1 --run-dir ${LM_DIR}/run)
set_tests_properties(e2e.lm.run PROPERTIES FIXTURES_SETUP lm_run)
add_test(NAME e2e.lm.check
  COMMAND ${CONDENSER_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/check_lm_run.py ${LM_DIR}/run)
add_test(NAME e2e.lm.generate
  COMMAND ${EXPECT} 0 "^And God said" -- ${CONDENSER_BIN} generate ${LM_DIR}/run/export/student.pt
          --prompt "And God said" --tokens 12)
add_test(NAME e2e.lm.inspect_shards
  COMMAND ${EXPECT} 0 "bytes/token" -- ${CONDENSER_BIN} inspect shards ${LM_DIR}/run)
set_tests_properties(e2e.lm.check e2e.lm.generate e2e.lm.inspect_shards PROPERTIES
  FIXTURES_REQUIRED lm_run)
# A teacher file trained with another tokenizer (the run's student carries
# its 512-piece tokenizer inside) against a 640-piece tokenization: refused.
expect_usage_error(lm_tokenizer_mismatch "was trained with the tokenizer [0-9a-f]+ .*tokenized with"
  validate ${LM_CONFIG} data.vocab_size=640 teacher.layers= teacher.path=${LM_DIR}/run/export/student.pt)
set_tests_properties(e2e.usage.lm_tokenizer_mismatch PROPERTIES FIXTURES_REQUIRED lm_run)
expect_usage_error(lm_full_soft_labels "soft_labels.format: full would store 512 logits"
  validate ${LM_CONFIG} soft_labels.format=full)
expect_usage_error(lm_prune "prune.method: global_magnitude does not apply to a language model; use width"
  validate ${LM_CONFIG} prune.enabled=true)
expect_usage_error(lm_prune_too_far "50.00% of the parameters is more than width pruning can remove"
  validate ${LM_CONFIG} prune.enabled=true prune.method=width prune.sparsity=0.5)
expect_usage_error(lm_width_targets_on_depth "prune.width_targets is for prune.method: width, not depth"
  validate ${LM_CONFIG} prune.enabled=true prune.method=depth "prune.width_targets={heads: 0.5}")
expect_usage_error(perplexity_budget_on_images "budget.metric: perplexity is for language models"
  validate ${PROJECT_SOURCE_DIR}/configs/quick.yaml prune.enabled=true budget.metric=perplexity)
expect_usage_error(lm_zoo_student "student.*embedding"
  validate ${LM_CONFIG} student.layers=)

# A teacher written and trained in PyTorch (examples/lm/python_teacher.py),
# scripted with the token file's tokenizer inside, on a token file made by
# prepare-text: distilled like a declared one.
add_test(NAME e2e.lm.python_teacher
  COMMAND ${CONDENSER_PYTHON} ${PROJECT_SOURCE_DIR}/examples/lm/python_teacher.py
          ${LM_DIR}/kjv512.h5 ${LM_DIR}/python_teacher.pt --steps 100)
set_tests_properties(e2e.lm.prepare_text PROPERTIES FIXTURES_SETUP lm_tokens)
set_tests_properties(e2e.lm.python_teacher PROPERTIES FIXTURES_REQUIRED lm_tokens
  FIXTURES_SETUP lm_python_teacher)
add_test(NAME e2e.lm.python_teacher_run
  COMMAND ${EXPECT} 0 "teacher: loaded .*python_teacher.pt" -- ${CONDENSER_BIN} run ${LM_CONFIG}
          data.dataset=tokens data.path=${LM_DIR}/kjv512.h5 teacher.layers=
          teacher.path=${LM_DIR}/python_teacher.pt runtime.threads=1 --run-dir ${LM_DIR}/python_run)
set_tests_properties(e2e.lm.python_teacher_run PROPERTIES FIXTURES_REQUIRED lm_python_teacher)

# Width pruning of a three-block student under a perplexity budget: the
# export is the compacted model, Python reproduces its perplexity.
set(LM_PRUNE "student.layers=[{embedding: 32, positions: learned}, {block: 2, mlp: 64, repeat: 3}, layer_norm, lm_head]"
    prune.enabled=true prune.method=width prune.sparsity=0.2 prune.finetune.epochs=1
    budget.metric=perplexity budget.max_drop=50)
# Heads, MLP neurons and embedding channels share the cut.
set(LM_WIDTH_AXES "prune.width_targets={heads: auto, mlp: auto, embedding: auto}")
add_test(NAME e2e.lm.prune_width
  COMMAND ${EXPECT} 0 "prune: compacted to [0-9]+ parameters" -- ${CONDENSER_BIN} run ${LM_CONFIG}
          ${LM_PRUNE} ${LM_WIDTH_AXES} runtime.threads=1 --run-dir ${LM_DIR}/prune_width)
set_tests_properties(e2e.lm.prune_width PROPERTIES FIXTURES_SETUP lm_prune_width)
add_test(NAME e2e.lm.prune_width_check
  COMMAND ${CONDENSER_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/check_lm_run.py ${LM_DIR}/prune_width)
set_tests_properties(e2e.lm.prune_width_check PROPERTIES FIXTURES_REQUIRED lm_prune_width)
# Depth cuts (blocks ranked by the perplexity with each skipped) without
# recovery against a zero budget: every try is rolled back and the dense
# student is kept (exit 3: the budget was missed).
add_test(NAME e2e.lm.prune_depth_rolled_back
  COMMAND ${EXPECT} 3 "prune.1.2: validation perplexity .* % above the reference .*rolled back" --
          ${CONDENSER_BIN} run ${LM_CONFIG} ${LM_PRUNE} prune.method=depth prune.sparsity=0.35
          prune.block_importance=perplexity
          prune.finetune.epochs=0 budget.max_drop=0 runtime.threads=1 --run-dir ${LM_DIR}/prune_depth)

# Kill-and-resume with width pruning: the compacted export is bitwise the same.
add_test(NAME e2e.lm.kill_and_resume
  COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/resume_check.sh ${CONDENSER_BIN} ${CONDENSER_PYTHON}
          ${LM_DIR}/resume ${LM_CONFIG} teacher.train.epochs=2 data.train_subset=320 student.alpha=0.6
          checkpoint.every_steps=1 logging.every_steps=1 runtime.threads=1 ${LM_PRUNE}
          ${LM_WIDTH_AXES})
set_tests_properties(e2e.lm.prepare_text e2e.lm.run e2e.lm.check e2e.lm.generate
  e2e.lm.python_teacher e2e.lm.python_teacher_run
  e2e.lm.inspect_shards e2e.lm.kill_and_resume e2e.usage.lm_tokenizer_mismatch
  e2e.lm.prune_width e2e.lm.prune_width_check e2e.lm.prune_depth_rolled_back
  e2e.usage.lm_full_soft_labels e2e.usage.lm_prune e2e.usage.lm_prune_too_far
  e2e.usage.lm_width_targets_on_depth
  e2e.usage.perplexity_budget_on_images e2e.usage.lm_zoo_student
  PROPERTIES ENVIRONMENT "${LM_ENV}" LABELS "e2e;interop" TIMEOUT 900)
