#!/usr/bin/env python3
"""A stand-in worker for the netns tests that holds one lease open, so the
coordinator keeps labelling (and keeps its control port open) for as long as
the test needs, whatever the machine's speed. It speaks the real protocol
(protocol/frame.h: u32 big-endian length, u8 version, u8 type, JSON body):
hello with the job token, get_task until it is given a task, then a heartbeat
for that lease every heartbeat_ms until RELEASE_FILE exists, then task_failed
(the task goes back to pending and a real worker labels it) and exit 0.

Usage: netns_lease_holder.py HOST:PORT TOKEN_FILE RELEASE_FILE
Prints "holding lease L of task T" once it holds one."""
import json
import os
import socket
import struct
import sys
import time

HELLO, WELCOME, GET_TASK, TASK, WAIT, NO_MORE_WORK, HEARTBEAT, TASK_FAILED = 1, 2, 4, 5, 6, 7, 8, 12
VERSION = 1


def send(sock, kind, body):
    payload = json.dumps(body).encode()
    sock.sendall(struct.pack(">IBB", len(payload) + 2, VERSION, kind) + payload)


def receive_exact(sock, n):
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            sys.exit("lease holder: the coordinator closed the connection")
        data += chunk
    return data


def receive(sock):
    (length,) = struct.unpack(">I", receive_exact(sock, 4))
    data = receive_exact(sock, length)
    return data[1], json.loads(data[2:])


def main():
    host, port = sys.argv[1].rsplit(":", 1)
    token = open(sys.argv[2]).read().strip()
    release = sys.argv[3]
    sock = socket.create_connection((host, int(port)), timeout=30)
    send(sock, HELLO, {"token": token, "name": "lease-holder", "pid": os.getpid()})
    kind, welcome = receive(sock)
    if kind != WELCOME:
        sys.exit("lease holder: not welcomed: %s" % welcome)
    period = min(welcome["heartbeat_ms"], 300) / 1000.0
    while True:
        send(sock, GET_TASK, {})
        kind, body = receive(sock)
        if kind == TASK:
            break
        if kind != WAIT:
            sys.exit("lease holder: no task to hold (message type %d: %s)" % (kind, body))
        time.sleep(body["retry_ms"] / 1000.0)
    lease = body["lease"]
    print("holding lease %d of task %d" % (lease, body["task"]), flush=True)
    while not os.path.exists(release):
        send(sock, HEARTBEAT, {"leases": [lease]})
        time.sleep(period)
    send(sock, TASK_FAILED, {"lease": lease, "message": "released by the test"})
    sock.close()
    print("released lease %d" % lease, flush=True)


if __name__ == "__main__":
    main()
