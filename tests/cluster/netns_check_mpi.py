#!/usr/bin/env python3
"""Checks a data-parallel `condenser run` of WORLD ranks on emulated nodes,
resumed or not: rank 0 alone wrote the run directory (each stage's epochs
recorded once each, in order, none twice after a resume), every epoch took
ceil(train / (WORLD x batch)) steps, the job finished having run the teacher
once over the training set, and the export is complete.
Usage: netns_check_mpi.py RUN_DIR WORLD"""
import json
import math
import os
import sys

import yaml


def main():
    run, world = sys.argv[1], int(sys.argv[2])
    config = yaml.safe_load(open(os.path.join(run, "config.resolved.yaml")))
    train = config["data"]["train_subset"]
    sections = {"teacher": config["teacher"]["train"], "control": config["student"]["train"],
                "distill": config["student"]["train"], "prune": config["prune"]["finetune"]}
    records = [json.loads(line) for line in open(os.path.join(run, "metrics.jsonl"))]
    epochs = [r for r in records if "train_loss" in r]
    got = [(r["stage"], r["epoch"]) for r in epochs]
    want = [(stage, e + 1) for stage, s in sections.items() for e in range(s["epochs"])]
    if got != want:
        sys.exit("FAIL: epoch records %s, expected %s (written by more than rank 0, "
                 "or twice after a resume?)" % (got, want))
    for r in epochs:  # "step" counts the stage's steps so far
        steps = math.ceil(train / (world * sections[r["stage"]]["batch_size"]))
        if r["step"] != r["epoch"] * steps:
            sys.exit("FAIL: %s epoch %d ends at step %d, expected %d (%d per epoch at world %d)"
                     % (r["stage"], r["epoch"], r["step"], r["epoch"] * steps, steps, world))
    summary = json.load(open(os.path.join(run, "summary.json")))
    if not summary["finished"] or summary["teacher_forward_samples"] != train:
        sys.exit("FAIL: summary.json: finished %s, %s teacher forward samples (expected %d)"
                 % (summary["finished"], summary["teacher_forward_samples"], train))
    for name in ("student.pt", "metrics.json", "README.md", "report.html"):
        if os.path.getsize(os.path.join(run, "export", name)) == 0:
            sys.exit("FAIL: export/%s is empty" % name)
    print("ok: world %d, %d epoch records (one per epoch), steps per epoch as at world %d, "
          "job finished and exported" % (world, len(epochs), world))


if __name__ == "__main__":
    main()
