#!/usr/bin/env python3
"""End-to-end checks of the coordinator and its workers.

Usage: coordinator_check.py MODE CONDENSER CONFIG DATA WORKDIR
MODE: kill_worker | restart_coordinator | token | bad_clients | upload

Every mode runs `condenser coordinator` (no local workers) on a small job
whose teacher is a TorchScript CNN heavy enough that a task takes a moment,
starts `condenser worker`s against it, does something nasty, and checks that
the job completes and the manifest lists every (sample, view) exactly once
(read back with h5py), with no attempt files left behind."""
import json
import os
import signal
import socket
import struct
import subprocess
import sys
import time
import urllib.error
import urllib.request

import h5py

MODE, BIN, CONFIG, DATA, WORK = sys.argv[1:6]
RUN = os.path.join(WORK, "run")
TEACHER = os.path.join(WORK, "teacher.pt")
VIEWS = 2
TRAIN = 1200


def fail(msg):
    print("FAIL:", msg)
    sys.exit(1)


def make_teacher():
    import torch
    from torch import nn
    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.Conv2d(32, 32, 3, padding=1), nn.ReLU(),
        nn.MaxPool2d(2), nn.Flatten(), nn.Linear(32 * 14 * 14, 10))
    torch.jit.save(torch.jit.script(model.eval()), TEACHER)


def coordinator(log_name, extra=()):
    args = [BIN, "coordinator", CONFIG, "--run-dir", RUN, f"teacher.path={TEACHER}",
            f"data.path={DATA}", f"data.train_subset={TRAIN}", "data.validation_size=200",
            "data.test_subset=200", "soft_labels.shard_rows=150",
            f"soft_labels.views_per_sample={VIEWS}", "soft_labels.batch_size=100",
            "student.train.epochs=1", "prune.enabled=false", "runtime.threads=1", *extra]
    log = open(os.path.join(WORK, log_name), "w")
    return subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT), log_name


def worker(address, name, token=None, extra=()):
    token = token or os.path.join(RUN, "job.token")
    log = open(os.path.join(WORK, name + ".log"), "w")
    return subprocess.Popen([BIN, "worker", "--coordinator", address, "--token-file", token,
                             "--threads", "1", "--name", name, *extra],
                            stdout=log, stderr=subprocess.STDOUT)


def read(name):
    with open(os.path.join(WORK, name), errors="replace") as f:
        return f.read()


def wait_for(what, predicate, timeout=120):
    end = time.time() + timeout
    while time.time() < end:
        value = predicate()
        if value:
            return value
        time.sleep(0.02)
    fail("timed out waiting for " + what)


def address_of(proc):
    path = os.path.join(RUN, "coordinator.json")

    def ready():
        if proc.poll() is not None:
            fail("coordinator exited early with %s" % proc.returncode)
        try:
            with open(path) as f:
                info = json.load(f)
        except (OSError, ValueError):
            return None
        # The job names its HTTP side from the start; "control" once it labels.
        return info if info.get("pid") == proc.pid and "control" in info else None
    info = wait_for("coordinator.json", ready)
    return info


def finish(proc, log_name, timeout=300):
    try:
        code = proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        fail("coordinator did not finish; log:\n" + read(log_name))
    if code != 0:
        fail("coordinator exited %d; log:\n%s" % (code, read(log_name)))


def check_manifest():
    with open(os.path.join(RUN, "manifest.json")) as f:
        manifest = json.load(f)
    seen = {}
    for shard in manifest["shards"]:
        with h5py.File(os.path.join(RUN, "soft_labels", shard["file"]), "r") as h:
            for s, v in zip(h["sample_index"][:], h["view"][:]):
                seen[(int(s), int(v))] = seen.get((int(s), int(v)), 0) + 1
    files = [s["file"] for s in manifest["shards"]]
    if len(files) != len(set(files)):
        fail("a shard is listed twice: %s" % files)
    dups = [k for k, n in seen.items() if n != 1]
    if dups:
        fail("%d (sample, view) pairs committed more than once, e.g. %s" % (len(dups), dups[:3]))
    if len(seen) != TRAIN * VIEWS or manifest["total_rows"] != TRAIN * VIEWS:
        fail("%d pairs committed, expected %d" % (len(seen), TRAIN * VIEWS))
    if {v for (_, v) in seen} != set(range(VIEWS)):
        fail("views missing")
    leftovers = [f for f in os.listdir(os.path.join(RUN, "soft_labels")) if f.startswith(".attempt")]
    if leftovers:
        fail("attempt files left behind: %s" % leftovers)
    for f in ("coordinator.json", "tasks.journal", "tasks.journal.snapshot"):
        if os.path.exists(os.path.join(RUN, f)):
            fail(f + " left behind after the job")
    print("ok: %d (sample, view) pairs, each committed exactly once, in %d shards"
          % (len(seen), len(files)))


def expect_exit(proc, code, name):
    got = proc.wait(120)
    if got != code:
        fail("%s exited %d, expected %d; log:\n%s" % (name, got, code, read(name + ".log")))


def kill_worker():
    coord, log = coordinator("coordinator.log")
    address = address_of(coord)["control"]
    workers = [worker(address, "w%d" % i) for i in range(3)]
    wait_for("w0 to start a task", lambda: "labelling" in read("w0.log"))
    workers[0].send_signal(signal.SIGKILL)
    finish(coord, log)
    expect_exit(workers[1], 0, "w1")
    expect_exit(workers[2], 0, "w2")
    if "disconnected holding 1 lease" not in read(log):
        fail("the killed worker held no lease:\n" + read(log))
    check_manifest()


def restart_coordinator():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    listen = ["--listen", "127.0.0.1:%d" % port, "--lease-ms", "6000"]
    coord, log = coordinator("coordinator1.log", listen)
    address = address_of(coord)["control"]
    w = worker(address, "w0")
    wait_for("a first commit", lambda: "committed shard" in read(log))
    coord.send_signal(signal.SIGKILL)
    coord.wait()
    if not os.path.exists(os.path.join(RUN, "tasks.journal")):
        fail("no tasks.journal after the first commit")
    time.sleep(0.5)  # the worker notices and starts reconnecting
    coord2, log2 = coordinator("coordinator2.log", listen)
    finish(coord2, log2)
    expect_exit(w, 0, "w0")
    if "reusing 1 verified shard" not in read(log2) and "reusing" not in read(log2):
        fail("the restarted coordinator did not reuse the committed shards:\n" + read(log2))
    check_manifest()


def token():
    coord, log = coordinator("coordinator.log")
    address = address_of(coord)["control"]
    good = worker(address, "good")
    wrong = os.path.join(WORK, "wrong.token")
    with open(wrong, "w") as f:
        f.write("0" * 64 + "\n")
    bad = worker(address, "bad", token=wrong)
    missing = worker(address, "missing", token=os.path.join(WORK, "no_such.token"))
    expect_exit(bad, 2, "bad")
    expect_exit(missing, 2, "missing")
    if "refused" not in read("bad.log"):
        fail("the wrong-token worker does not say it was refused:\n" + read("bad.log"))
    if "not found" not in read("missing.log"):
        fail("the missing-token worker does not name the file:\n" + read("missing.log"))
    finish(coord, log)
    expect_exit(good, 0, "good")
    if "wrong job token" not in read(log):
        fail("the refusal is not logged by the coordinator")
    check_manifest()


def frame(version, kind, body):
    payload = json.dumps(body).encode()
    return struct.pack(">IBB", len(payload) + 2, version, kind) + payload


def closed_within(sock, seconds):
    """True when the server closes `sock` within `seconds`."""
    sock.settimeout(seconds)
    try:
        while True:
            data = sock.recv(4096)
            if not data:
                return True
    except (ConnectionResetError, BrokenPipeError):
        return True
    except socket.timeout:
        return False


def http_get(address, path):
    try:
        with urllib.request.urlopen("http://%s%s" % (address, path), timeout=10) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, ""


def upload():
    """A worker that does not see the run directory: it writes its shards in
    its own directory, with its own copy of the teacher, and sends them over
    its connection. The coordinator is killed after its first commit; the
    worker reconnects to the restarted one and the job finishes."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    listen = ["--listen", "127.0.0.1:%d" % port, "--lease-ms", "6000"]
    own = os.path.join(WORK, "node")
    os.makedirs(own, exist_ok=True)
    subprocess.run(["cp", TEACHER, os.path.join(own, "teacher.pt")], check=True)
    coord, log = coordinator("coordinator1.log", listen)
    info = address_of(coord)
    address = info["control"]
    w = worker(address, "up", extra=["--upload", os.path.join(own, "shards"),
                                     "--teacher", os.path.join(own, "teacher.pt")])
    wait_for("a first uploaded commit", lambda: "committed shard" in read(log))
    if "uploading its shards" not in read(log) or "worker: uploaded .attempt-" not in read("up.log"):
        fail("no upload seen:\n" + read(log) + read("up.log"))
    code, metrics = http_get(info["http"], "/metrics")
    uploaded = [l for l in metrics.splitlines() if l.startswith("condenser_uploaded_bytes_total ")]
    if code != 200 or not uploaded or int(float(uploaded[0].split()[1])) <= 0:
        fail("/metrics does not count the uploaded bytes: %s" % uploaded)
    coord.send_signal(signal.SIGKILL)
    coord.wait()
    coord2, log2 = coordinator("coordinator2.log", listen)
    finish(coord2, log2)
    expect_exit(w, 0, "up")
    check_manifest()
    left = os.listdir(os.path.join(own, "shards"))
    if left:
        fail("the uploading worker left files behind: %s" % left)
    with open(os.path.join(RUN, "manifest.json")) as f:
        shards = json.load(f)["shards"]
    for shard in shards:
        with h5py.File(os.path.join(RUN, "soft_labels", shard["file"]), "r") as h:
            producer = h.attrs["producer"]
            producer = producer.decode() if isinstance(producer, bytes) else producer
            if producer != "condenser worker up":
                fail("%s was labelled by %r" % (shard["file"], producer))
    print("ok: %d shards uploaded by the worker without the run directory" % len(shards))


def bad_clients():
    coord, log = coordinator("coordinator.log", ["--read-timeout-ms", "1500"])
    info = address_of(coord)
    host, port = info["control"].rsplit(":", 1)
    # A slow client: a valid hello, one byte a second. Dropped by the deadline.
    slow = socket.create_connection((host, int(port)))
    hello = frame(1, 1, {"token": "x" * 64, "name": "slow"})
    start = time.time()
    for b in hello[:3]:
        slow.sendall(bytes([b]))
        time.sleep(1.0)
        if time.time() - start > 5:
            break
    if not closed_within(slow, 4.0):
        fail("a client sending one byte a second was not dropped")
    print("ok: slow client dropped after %.1f s" % (time.time() - start))
    # Garbage, an oversized length, a bad version, a truncated frame.
    cases = {"garbage": b"GET / HTTP/1.1\r\n\r\n", "oversized": struct.pack(">I", 1 << 30),
             "bad version": frame(9, 1, {}), "truncated": frame(1, 1, {"token": "t"})[:-3]}
    for name, data in cases.items():
        with socket.create_connection((host, int(port))) as s:
            s.sendall(data)
            if not closed_within(s, 5.0):
                fail(name + ": connection not dropped")
        print("ok: " + name + " dropped")
    # The server keeps serving: HTTP answers, a real worker finishes the job.
    code, body = http_get(info["http"], "/status")
    status = json.loads(body)
    if code != 200 or status["stage"] != "label" or status["tasks"]["total"] != 8:
        fail("bad /status: %s %s" % (code, body))
    code, metrics = http_get(info["http"], "/metrics")
    if code != 200 or "condenser_protocol_errors_total" not in metrics:
        fail("bad /metrics: %s %s" % (code, metrics))
    if http_get(info["http"], "/nope")[0] != 404:
        fail("/nope is not 404")
    code, page = http_get(info["http"], "/")
    if code != 200 or "<html" not in page:
        fail("GET / is not an HTML page")
    w = worker(info["control"], "w0")
    wait_for("a committed shard", lambda: "committed shard" in read(log))
    code, body = http_get(info["http"], "/status")
    status = json.loads(body)
    if status["tasks"]["done"] < 1 or not status["workers"] or status["progress"] <= 0:
        fail("/status does not show progress: " + body)
    if not any(w_["name"] == "w0" and w_["last_heartbeat_unix_ms"] > 0 for w_ in status["workers"]):
        fail("/status does not list the worker: " + body)
    print("ok: /status", json.dumps(status["tasks"]), "eta", status["eta_seconds"])
    finish(coord, log)
    expect_exit(w, 0, "w0")
    check_manifest()


os.makedirs(WORK, exist_ok=True)
if os.path.exists(RUN):
    subprocess.run(["rm", "-rf", RUN], check=True)
make_teacher()
{"kill_worker": kill_worker, "restart_coordinator": restart_coordinator, "token": token,
 "bad_clients": bad_clients, "upload": upload}[MODE]()
print("ok:", MODE)
