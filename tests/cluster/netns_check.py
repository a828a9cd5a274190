#!/usr/bin/env python3
"""Checks a run directory labelled by workers on several emulated nodes: the
manifest's task ranges (of samples; a shard holds all views of its samples)
tile [0, total_rows / views) with no gap and no overlap, every
(sample, view) pair is in exactly one shard, every shard's rows and SHA-256
match the manifest, no attempt file is left in soft_labels/, and optionally
that shard FILE was written by the worker named PRODUCER (the node its task
was reassigned to). Usage: netns_check.py RUN_DIR [FILE PRODUCER]"""
import hashlib
import json
import os
import sys

import h5py


def main():
    run = sys.argv[1]
    soft = os.path.join(run, "soft_labels")
    manifest = json.load(open(os.path.join(run, "manifest.json")))
    total = manifest["total_rows"]
    samples = total // manifest["views"]
    ranges = sorted((s["task_begin"], s["task_end"], s["file"]) for s in manifest["shards"])
    at = 0
    for begin, end, name in ranges:
        if begin != at:
            sys.exit("FAIL: %s starts at sample %d, expected %d (%s)"
                     % (name, begin, at, "overlap" if begin < at else "gap"))
        at = end
    if at != samples:
        sys.exit("FAIL: the shards end at sample %d of %d" % (at, samples))
    seen = {}
    for shard in manifest["shards"]:
        path = os.path.join(soft, shard["file"])
        if hashlib.sha256(open(path, "rb").read()).hexdigest() != shard["sha256"]:
            sys.exit("FAIL: %s does not match its manifest SHA-256" % shard["file"])
        with h5py.File(path, "r") as h:
            pairs = list(zip(h["sample_index"][:].tolist(), h["view"][:].tolist()))
        expected = (shard["task_end"] - shard["task_begin"]) * shard["views"]
        if len(pairs) != shard["rows"] or len(pairs) != expected:
            sys.exit("FAIL: %s holds %d rows, the manifest says %d (%d for its range)"
                     % (shard["file"], len(pairs), shard["rows"], expected))
        for pair in pairs:
            seen[pair] = seen.get(pair, 0) + 1
    twice = [p for p, n in seen.items() if n != 1]
    if twice or len(seen) != total:
        sys.exit("FAIL: %d (sample, view) pairs labelled, %d expected, %d more than once"
                 % (len(seen), total, len(twice)))
    left = [f for f in os.listdir(soft) if f.startswith(".attempt")]
    if left:
        sys.exit("FAIL: attempt files left in soft_labels/: %s" % left)
    if len(sys.argv) > 3:
        name, producer = sys.argv[2], sys.argv[3]
        with h5py.File(os.path.join(soft, name), "r") as h:
            got = h.attrs["producer"]
        got = got.decode() if isinstance(got, bytes) else str(got)
        if not got.endswith(producer):
            sys.exit("FAIL: %s was written by '%s', expected the worker %s" % (name, got, producer))
        print("ok: %s written by %s" % (name, got))
    print("ok: %d shards tile samples [0, %d); %d (sample, view) pairs, each labelled exactly once; "
          "no attempt file left" % (len(ranges), samples, len(seen)))


if __name__ == "__main__":
    main()
