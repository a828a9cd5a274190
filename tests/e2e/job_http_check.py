#!/usr/bin/env python3
"""The job's HTTP side, end to end.

Usage: job_http_check.py CONDENSER CONFIG DATA WORKDIR

1. A busy --http address is refused with exit 2 naming it, before anything
   is trained (no run directory made).
2. A short job run with --http 127.0.0.1:PORT answers GET /status, /metrics
   and / during teacher training and the student stages (not only while
   labelling): the stage and a step count that increases within a training
   stage, the Prometheus gauges, checkpoints once the teacher is done;
   RUN_DIR/coordinator.json names the address ("control" only while
   labelling).
3. After the job ends the port answers nothing and coordinator.json is gone.

Polls with deadlines; pass/fail never depends on timing beyond them."""
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

BIN, CONFIG, DATA, WORK = sys.argv[1:5]
RUN = os.path.join(WORK, "run")
TRAINING = ("teacher", "control", "distill", "prune")
JOB = [BIN, "run", CONFIG, f"data.path={DATA}", "data.train_subset=3000",
       "data.validation_size=300", "data.test_subset=300", "teacher.train.epochs=2",
       "student.train.epochs=2", "prune.finetune.epochs=1", "soft_labels.shard_rows=1000",
       "logging.every_steps=1", "runtime.threads=1"]


def fail(msg):
    print("FAIL:", msg)
    sys.exit(1)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


LATENCY = {}  # path -> seconds of each answered GET


def get(address, path):
    """(status code, body) or (None, reason) when nothing answers."""
    try:
        start = time.perf_counter()
        with urllib.request.urlopen("http://%s%s" % (address, path), timeout=5) as r:
            body = r.read().decode()
            LATENCY.setdefault(path, []).append(time.perf_counter() - start)
            return r.status, body
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()
    except (urllib.error.URLError, ConnectionError, socket.timeout) as e:
        return None, str(e)


def busy_port_refused():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(1)
        address = "127.0.0.1:%d" % s.getsockname()[1]
        run = os.path.join(WORK, "busy_run")
        p = subprocess.run(JOB + ["--run-dir", run, "--http", address],
                           capture_output=True, text=True, timeout=300)
    out = p.stdout + p.stderr
    if p.returncode != 2:
        fail("busy --http %s: exit %d, expected 2:\n%s" % (address, p.returncode, out))
    if "--http" not in out or address not in out:
        fail("the refusal does not name --http %s:\n%s" % (address, out))
    if "teacher" in out and "epoch" in out:
        fail("training started before the refusal:\n" + out)
    if os.path.exists(run):
        fail("a refused run left " + run)
    print("ok: busy --http %s refused with exit 2 before training" % address)


def status_of(address):
    code, body = get(address, "/status")
    if code is None:
        return None
    if code != 200:
        fail("/status answered %s: %s" % (code, body))
    return json.loads(body)


def training(status):
    """The training stage a status shows outside labelling, else None."""
    if status is None or "labelling" in status or status["stage"] not in TRAINING:
        return None
    return status["stage"]


def sample(address, seen):
    """One look at /status, coordinator.json, /status again and /metrics."""
    status = status_of(address)
    if status is None:
        return
    stage, step = status["stage"], status["step"]
    if status["job"] != "quick":
        fail("/status names job %r" % status["job"])
    if stage in ("distill", "prune") and status["checkpoints"]["written"] < 1:
        fail("stage %s and no checkpoint counted: %s" % (stage, status))
    if "labelling" in status:
        seen["labelling"] = status["tasks"]
    if stage in TRAINING:
        seen.setdefault(stage, []).append(step)
    try:
        with open(os.path.join(RUN, "coordinator.json")) as f:
            info = json.load(f)
    except (OSError, ValueError):
        info = None  # not written yet, or being replaced
    if info is not None and info.get("http") != address:
        fail("coordinator.json names %s, not %s" % (info, address))
    # "control" only while labelling: the same training stage before and
    # after reading the file (labelling lies between two training stages).
    again = status_of(address)
    if info is not None and "control" in info and training(status) and \
            training(status) == training(again):
        fail("coordinator.json names a control address during %s: %s" % (stage, info))
    code, metrics = get(address, "/metrics")
    if code is None:
        return
    if code != 200 or "condenser_job_stage_info{stage=" not in metrics or \
            "condenser_job_step " not in metrics or "condenser_job_elapsed_seconds " not in metrics:
        fail("/metrics lacks the job's gauges (%s):\n%s" % (code, metrics))
    if stage in TRAINING:
        seen["metrics"] = seen.get("metrics", 0) + 1
    if "labelling" in status and "condenser_tasks{" in metrics:
        seen["labelling_metrics"] = True


def job_serves_throughout():
    port = free_port()
    address = "127.0.0.1:%d" % port
    log = open(os.path.join(WORK, "job.log"), "w")
    job = subprocess.Popen(JOB + ["--run-dir", RUN, "--http", address], stdout=log,
                           stderr=subprocess.STDOUT)
    seen = {}
    deadline = time.time() + 500
    try:
        while job.poll() is None and time.time() < deadline:
            sample(address, seen)
            time.sleep(0.05)
    finally:
        if job.poll() is None:
            job.kill()
            job.wait()
            fail("the job did not end within the deadline")
    log.close()
    with open(os.path.join(WORK, "job.log")) as f:
        text = f.read()
    if job.returncode != 0:
        fail("job exited %d:\n%s" % (job.returncode, text[-3000:]))
    increasing = [s for s, steps in seen.items() if s in TRAINING and len(set(steps)) >= 2
                  and steps == sorted(steps)]
    if not increasing:
        fail("no training stage seen with a step that increases: %s" %
             {k: v for k, v in seen.items() if k in TRAINING})
    if not seen.get("metrics"):
        fail("/metrics never answered during training")
    print("ok: /status during %s, steps %s; labelling seen: %s" %
          (", ".join(increasing), {s: (min(seen[s]), max(seen[s])) for s in increasing},
           seen.get("labelling")))
    code, reason = get(address, "/status")
    if code is not None:
        fail("the port still answers after the job: %s" % code)
    with socket.socket() as s:
        s.settimeout(2)
        if s.connect_ex(("127.0.0.1", port)) == 0:
            fail("the port still accepts connections after the job")
    if os.path.exists(os.path.join(RUN, "coordinator.json")):
        fail("coordinator.json left behind after the job")
    print("ok: after the job %s answers nothing, coordinator.json removed" % address)
    for path, times in sorted(LATENCY.items()):
        times.sort()
        print("GET %s during the job: %d answered, p50 %.2f ms, p99 %.2f ms, max %.2f ms" %
              (path, len(times), 1e3 * times[len(times) // 2],
               1e3 * times[min(len(times) - 1, int(len(times) * 0.99))], 1e3 * times[-1]))


if os.path.exists(WORK):
    shutil.rmtree(WORK)
os.makedirs(WORK)
busy_port_refused()
job_serves_throughout()
print("ok: job http")
