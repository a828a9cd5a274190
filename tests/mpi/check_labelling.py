"""check_labelling.py MODE RUN_DIR [REFERENCE_RUN_DIR | EXTERNAL_WORKER_NAME]

Checks a 3-rank `condenser run` with labelling spread over the ranks:
- every (sample, view) of the plan is in exactly one shard (h5py);
- the shards name (attrs["producer"]) more than one worker;
- RUN_DIR/timeline/rank-R.json of every rank.
MODE phased: every rank trained only after every rank stopped labelling, and
against REFERENCE_RUN_DIR (one process, the same teacher file, the global
batch): the same soft labels bit for bit and the same student within 1e-4.
MODE pipelined: the last rank labelled only, the two others started training
before labelling ended, RUN_DIR/shard_order.json lists every shard once, and
the external worker EXTERNAL_WORKER_NAME labelled at least one of them.
MODE resumed (a pipelined run stopped and resumed, one worker): coverage and
shard_order.json as above, the job finished."""
import collections
import glob
import json
import os
import sys

import h5py
import numpy as np
import torch

mode, run_dir, extra = sys.argv[1], sys.argv[2], sys.argv[3]
manifest = json.load(open(os.path.join(run_dir, "manifest.json")))
labels_dir = os.path.join(run_dir, "soft_labels")

pairs = collections.Counter()
producers = {}
for entry in manifest["shards"]:
    with h5py.File(os.path.join(labels_dir, entry["file"]), "r") as f:
        pairs.update(zip(f["sample_index"][:].tolist(), f["view"][:].tolist()))
        producers[entry["file"]] = f.attrs["producer"]
        producers[entry["file"]] = producers[entry["file"]].decode() if isinstance(
            producers[entry["file"]], bytes) else str(producers[entry["file"]])
twice = [p for p, n in pairs.items() if n != 1]
assert not twice, f"(sample, view) pairs labelled more than once: {twice[:5]}"
assert len(pairs) == manifest["total_rows"], f"{len(pairs)} pairs labelled, plan has {manifest['total_rows']}"
workers = collections.Counter(producers.values())
assert len(workers) > 1 or mode == "resumed", f"every shard from one worker: {dict(workers)}"
print(f"ok: {len(pairs)} (sample, view) pairs, each once, in {len(producers)} shards by {dict(workers)}")
if mode == "resumed":
    order = json.load(open(os.path.join(run_dir, "shard_order.json")))["order"]
    assert sorted(order) == sorted(producers) and len(set(order)) == len(order), order
    assert json.load(open(os.path.join(run_dir, "summary.json")))["finished"]
    print(f"ok: resumed run finished; order of {len(order)} shards: {order}")
    sys.exit(0)

timeline = {}
for path in glob.glob(os.path.join(run_dir, "timeline", "rank-*.json")):
    t = json.load(open(path))
    timeline[t["rank"]] = t
assert sorted(timeline) == [0, 1, 2], f"timeline files of ranks {sorted(timeline)}"
start = min(t["label_start"] for t in timeline.values() if t["label_start"] > 0)
for r, t in sorted(timeline.items()):
    label = (f"labels {t['label_start'] - start:6.2f} .. {t['label_end'] - start:6.2f} s"
             if t["label_start"] > 0 else "labels nothing        ")
    train = f"trains from {t['train_start'] - start:6.2f} s" if t["train_start"] > 0 else "trains nothing"
    print(f"  rank {r} {t['role']:8s} {label}  {train}")

if mode == "phased":
    last_label = max(t["label_end"] for t in timeline.values())
    for r, t in timeline.items():
        assert t["label_end"] > 0 and t["train_start"] >= last_label, f"rank {r} trained before labelling ended"
    reference = extra
    for entry in manifest["shards"]:
        with h5py.File(os.path.join(labels_dir, entry["file"]), "r") as a, \
             h5py.File(os.path.join(reference, "soft_labels", entry["file"]), "r") as b:
            assert np.array_equal(a["logits"][:], b["logits"][:]), f"{entry['file']}: logits differ"
            assert np.array_equal(a["sample_index"][:], b["sample_index"][:]), entry["file"]
    ours = torch.jit.load(os.path.join(run_dir, "models", "student_final.pt")).state_dict()
    theirs = torch.jit.load(os.path.join(reference, "models", "student_final.pt")).state_dict()
    diff = max((ours[k].float() - theirs[k].float()).abs().max().item() for k in ours)
    assert diff <= 1e-4, f"3-rank student differs from the single-process one by {diff:.3g}"
    print(f"ok: soft labels equal the single-process run's bit for bit; student weights within {diff:.3g}")
else:
    assert timeline[2]["role"] == "teacher" and timeline[2]["train_start"] < 0, timeline[2]
    label_end = timeline[0]["label_end"]
    for r in (0, 1):
        assert timeline[r]["role"] == "student", timeline[r]
        assert 0 < timeline[r]["train_start"] < label_end, f"rank {r} did not train while labelling"
    order = json.load(open(os.path.join(run_dir, "shard_order.json")))["order"]
    assert sorted(order) == sorted(producers), f"shard_order.json {order} vs shards {sorted(producers)}"
    external = [f for f in order if producers[f] == "condenser worker " + extra]
    assert external, f"the external worker '{extra}' labelled no shard: {dict(workers)}"
    summary = json.load(open(os.path.join(run_dir, "summary.json")))
    assert summary["finished"] and summary["teacher_forward_samples"] == manifest["total_rows"]
    print(f"ok: students trained {label_end - timeline[0]['train_start']:.2f} s while labelling; "
          f"order {len(order)} shards, {len(external)} by the external worker")
