#!/usr/bin/env bash
# Damaged or foreign IDX dataset files (no samples, a header
# announcing 10^12 bytes, a header whose size wraps to 0 in 64 bits, 10x10
# images, images and labels that disagree, labels past the 10 classes) are
# refused by validate and run with exit 2 and one line naming the file,
# before anything is allocated or created; before, they gave bad_alloc or a
# raw LibTorch error with exit 1.
source "$(dirname "$0")/common.sh"

# damaged NAME FILE DIMS...: a copy of the dataset (links) whose FILE is a
# gzipped IDX header with DIMS and 100 data bytes, or for a labels file
# (one dimension) all of its labels, i mod $CLASSES (default 10).
damaged() {
  local dir=$WORK/$1 file=$2; shift 2
  mkdir -p "$dir"
  ln -sf "$DATA"/*-ubyte.gz "$dir"/
  rm -f "$dir/$file"
  CLASSES=${CLASSES:-10} "$PYTHON" - "$dir/$file" "$@" <<'PY'
import gzip, os, struct, sys
dims = [int(d) for d in sys.argv[2:]]
classes = int(os.environ["CLASSES"])
with gzip.open(sys.argv[1], "wb") as f:
    f.write(bytes([0, 0, 8, len(dims)]) + b"".join(struct.pack(">I", d) for d in dims))
    f.write(bytes(i % classes for i in range(dims[0])) if len(dims) == 1 else bytes(100))
PY
}

refused() {
  local dir=$WORK/$1 regex=$2
  expect 2 "$regex" timeout 60 "$CONDENSER" validate "$TINY" data.path="$dir"
  expect 2 "$regex" timeout 60 "$CONDENSER" run "$TINY" data.path="$dir" --run-dir "$WORK/run"
  [ ! -e "$WORK/run" ] || fail "run created $WORK/run before refusing data $1"
}

damaged empty t10k-images-idx3-ubyte.gz 0 28 28
refused empty "t10k-images-idx3-ubyte.gz' holds no samples"
damaged huge train-images-idx3-ubyte.gz 1000000 1000 1000  # 10^12 bytes
refused huge "train-images-idx3-ubyte.gz' announces 1000000x1000x1000 bytes in its header, more than the 1 GiB"
damaged wraps t10k-images-idx3-ubyte.gz 2147483648 2147483648 4  # 2^64 = 0 in 64 bits
refused wraps "t10k-images-idx3-ubyte.gz' announces 2147483648x2147483648x4 bytes"
damaged small t10k-images-idx3-ubyte.gz 10000 10 10
refused small "t10k-images-idx3-ubyte.gz' holds 10x10 images; Fashion-MNIST images are 28x28"
damaged labels t10k-labels-idx1-ubyte.gz 9000
refused labels "holds 10000 images but '.*t10k-labels-idx1-ubyte.gz' holds 9000 labels"
CLASSES=13 damaged classes train-labels-idx1-ubyte.gz 60000
refused classes "train-labels-idx1-ubyte.gz' has 13 classes \(labels 0..12\); Fashion-MNIST has 10"
echo "every damaged dataset refused up front"
