#!/usr/bin/env bash
# Every config `run` would refuse late (after the teacher
# trained, after labelling, after distillation) is refused by `validate`, and
# by `run` before anything exists: exit 2, one line naming the key and both
# numbers where there are two. The config file itself is read bounded.
source "$(dirname "$0")/common.sh"

# refused REGEX OVERRIDES...: validate and run both exit 2 with REGEX, and
# run leaves no run directory behind.
refused() {
  local regex=$1; shift
  expect 2 "$regex" "$CONDENSER" validate "$TINY" data.path="$DATA" "$@"
  expect 2 "$regex" "$CONDENSER" run "$TINY" data.path="$DATA" --run-dir "$WORK/run" "$@"
  [ ! -e "$WORK/run" ] || fail "run created $WORK/run before refusing: $*"
}

expect 0 "ok \(job 'tiny'\)" "$CONDENSER" validate "$TINY" data.path="$DATA"

refused "soft_labels.top_k = 50 exceeds the 10 classes" soft_labels.format=topk soft_labels.top_k=50
refused "prune.nm_n = 4 must be smaller than prune.nm_m = 2" prune.method=nm prune.nm_n=4 prune.nm_m=2
refused "student.model: unknown model 'resnet18'" student.model=resnet18
refused "teacher.model: unknown model 'vgg'" teacher.model=vgg
refused "runtime.device: 'tpu' is not a device" runtime.device=tpu
if ! "$PYTHON" -c 'import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)' 2>/dev/null; then
  refused "runtime.device: 'cuda'" runtime.device=cuda
fi
refused "data.validation_size = 60000 leaves nothing to train on: the training split has 60000" \
  data.validation_size=60000
refused "data.train_subset = 60000 is larger than the 59800 training samples left after data.validation_size = 200" \
  data.train_subset=60000
refused "data.test_subset = 10001 is larger than the 10000 test samples" data.test_subset=10001
refused "prune.exclude.*conv9" "prune.exclude=[conv9]"
cores=$(nproc)
if [ $((4 * cores + 1)) -le 1024 ]; then
  refused "runtime.threads = $((4 * cores + 1)) is more than 4 x the $cores cores" \
    runtime.threads=$((4 * cores + 1))
fi
refused "runtime.threads=1000000': expected an integer in \[0, 1024\]" runtime.threads=1000000

# The config is read bounded, never /dev/zero until memory runs out.
expect 2 "config file '/dev/zero' is a device" timeout 20 "$CONDENSER" validate /dev/zero
head -c $((2 * 1024 * 1024)) /dev/zero | tr '\0' '#' > "$WORK/huge.yaml"
expect 2 "config file '.*huge.yaml' is larger than 1 MiB" timeout 20 "$CONDENSER" validate "$WORK/huge.yaml"
mkfifo "$WORK/fifo.yaml"
expect 2 "is a pipe" timeout 20 "$CONDENSER" validate "$WORK/fifo.yaml"
echo "all refused up front"
