"""The fallback of bench/udp-flood.c for machines without a C compiler: the same two roles,
arguments and stdin/stdout protocol (see udp-flood.c), with sendto/recv loops instead of
sendmmsg/recvmmsg. The interpreter adds its own cost to every datagram on both sides, so a
program's relative cost at socket-select shows smaller in its figures than with the C tool.

Usage: udp-flood.py recv SOCKETS CPU MAX_SECONDS NICE
       udp-flood.py send PORT FLOWS CPU BATCH PAYLOAD MAX_SECONDS
"""
import json
import os
import select
import socket
import sys
import time


def pin(cpu):
    if cpu >= 0:
        try:
            os.sched_setaffinity(0, {cpu})
        except OSError:
            pass


def answer(value):
    sys.stdout.write(json.dumps(value) + "\n")
    sys.stdout.flush()


def command(wait):
    """The next line on stdin if one is there within `wait` seconds; None when not; '' on EOF."""
    if not select.select([sys.stdin], [], [], wait)[0]:
        return None
    line = sys.stdin.readline()
    return line.strip() if line else ""


def receive(count, cpu, max_seconds, nice):
    pin(cpu)
    if nice != 0:
        try:
            os.setpriority(os.PRIO_PROCESS, 0, nice)
        except OSError:
            pass
    sockets = []
    port = 0
    for _ in range(count):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        s.bind(("127.0.0.1", port))
        port = s.getsockname()[1]
        s.setblocking(False)
        sockets.append(s)
    answer({"port": port, "pid": os.getpid(), "fds": [s.fileno() for s in sockets]})
    received = [0] * count
    deadline = time.monotonic() + max_seconds
    while time.monotonic() < deadline:
        readable, _, _ = select.select(sockets + [sys.stdin], [], [], 0.1)
        for index, s in enumerate(sockets):
            if s not in readable:
                continue
            for _ in range(256):
                try:
                    s.recv(2048)
                except BlockingIOError:
                    break
                received[index] += 1
        if sys.stdin in readable:
            line = command(0)
            if line == "":
                return 0
            if line == "sample":
                answer({"t": time.monotonic_ns(), "cpu": time.process_time_ns(), "received": received})
    return 3


def send(port, flows, cpu, batch, payload, max_seconds):
    pin(cpu)
    senders = []
    for _ in range(flows):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(("127.0.0.1", 0))
        s.connect(("127.0.0.1", port))
        senders.append(s)
    data = b"\x5a" * payload
    answer({"ready": True})
    sent = errors = 0
    running = False
    deadline = time.monotonic() + max_seconds
    call = 0
    while time.monotonic() < deadline:
        if running:
            s = senders[call % flows]
            for _ in range(batch):
                try:
                    s.send(data)
                    sent += 1
                except OSError:
                    errors += 1
            call += 1
            if call % 16 != 0:
                continue
        line = command(0 if running else 0.1)
        if line is None:
            continue
        if line == "":
            return 0
        if line == "run":
            running = True
            answer({"ok": True})
        elif line == "pause":
            running = False
            answer({"ok": True})
        elif line == "sample":
            answer({"t": time.monotonic_ns(), "cpu": time.process_time_ns(), "sent": sent, "errors": errors})
    return 3


if __name__ == "__main__":
    try:
        # PR_SET_PDEATHSIG, SIGKILL: die with the benchmark, as the C version does.
        import ctypes
        ctypes.CDLL(None).prctl(1, 9)
    except (OSError, AttributeError):
        pass
    args = sys.argv[1:]
    if len(args) == 5 and args[0] == "recv":
        sys.exit(receive(*(int(a) for a in args[1:])))
    if len(args) == 7 and args[0] == "send":
        sys.exit(send(*(int(a) for a in args[1:])))
    sys.stderr.write(__doc__)
    sys.exit(2)
