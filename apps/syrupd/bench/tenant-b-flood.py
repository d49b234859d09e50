"""Tenant B of the fairness bench (tenant-fairness.ts), run as B's own uid.

Usage: python3 tenant-b-flood.py SOCKET WORKERS IDLE MIX, with one JSON line on stdin:
{"heavy": {fileName, text}, "bomb": {fileName, text}}. B opens two SO_REUSEPORT UDP sockets
on one loopback port (a target it owns), then WORKERS connections that each send, one after
the other, a deploy of "heavy" on that port (the verifier works on it for seconds) or a disasm
of "bomb" (a policy just under the front end's limits: front end and code generation), half
and half with MIX "mixed", only disasms with MIX "disasm", and
finally IDLE connections it only holds (a connection flood; the daemon keeps its cap of them).
Prints {"ready": ...} once everything is open; on end of stdin stops and prints what the
daemon answered, by code.
"""
import json
import os
import resource
import socket
import sys
import threading

path, workers, idle, mix = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
policies = json.loads(sys.stdin.readline())
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))

group = []
port = 0
for _ in range(2):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    s.bind(("127.0.0.1", port))
    port = s.getsockname()[1]
    group.append(s)

stop = threading.Event()
lock = threading.Lock()
answers = {}


def count(key):
    with lock:
        answers[key] = answers.get(key, 0) + 1


def worker(index, conn):
    stream = conn.makefile("rwb")
    n = 0
    while not stop.is_set():
        n += 1
        if mix == "mixed" and index % 2 == 0:
            request = {"v": 1, "id": n, "op": "deploy", "hook": "socket-select", "policy": policies["heavy"], "target": {"port": port, "pid": os.getpid()}}
        else:
            request = {"v": 1, "id": n, "op": "disasm", "hook": "socket-select", "policy": policies["bomb"]}
        try:
            stream.write((json.dumps(request) + "\n").encode())
            stream.flush()
            line = stream.readline()
        except OSError as e:
            count("io " + e.strerror)
            return
        if not line:
            count("closed")
            return
        answer = json.loads(line)
        count(request["op"] + " " + ("ok" if answer.get("ok") else answer.get("error", {}).get("code", "?")))
    conn.close()


# The working connections first, so that they are among those the daemon keeps.
connections = []
for _ in range(workers):
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    conn.connect(path)
    connections.append(conn)
threads = [threading.Thread(target=worker, args=(i, conn), daemon=True) for i, conn in enumerate(connections)]
for t in threads:
    t.start()
held, refused = [], 0
for _ in range(idle):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        s.connect(path)
        held.append(s)
    except OSError:
        refused += 1
        s.close()
print(json.dumps({"ready": True, "port": port, "idleConnected": len(held), "idleRefused": refused}), flush=True)
sys.stdin.readline()
stop.set()
for s in held:
    s.close()
print(json.dumps({"answers": answers}), flush=True)
os._exit(0)
