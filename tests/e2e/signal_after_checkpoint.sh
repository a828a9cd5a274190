#!/usr/bin/env bash
# signal_after_checkpoint.sh SIGNAL PID RUN_DIR
# Waits (up to 60 s) until the job PID has written its first checkpoint in
# RUN_DIR, then sends it SIGNAL. The caller waits for the job's exit code.
set -u
sig=$1; pid=$2; run_dir=$3
for _ in $(seq 1 1200); do
  [ -f "$run_dir/checkpoints/latest" ] && break
  sleep 0.05
done
kill "-$sig" "$pid"
