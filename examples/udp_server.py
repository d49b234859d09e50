#!/usr/bin/env python3
"""An ordinary UDP server with no Syrup code: N sockets bound with SO_REUSEPORT to one port.

Usage: udp_server.py PORT [SOCKETS] [--background]

Each socket answers every datagram with "socket K: <datagram>", so a client sees which socket
the kernel (or a Syrup policy deployed on the port) picked. With --background the server
forks once every socket is bound, prints the serving process's pid and returns, so a shell
script can deploy on it right away: SERVER_PID=$(python3 examples/udp_server.py 9000 4 --background).
"""
import os
import selectors
import socket
import sys

args = [a for a in sys.argv[1:] if a != "--background"]
background = "--background" in sys.argv[1:]
if not 1 <= len(args) <= 2:
    sys.exit(__doc__.split("\n\n")[1])
port = int(args[0])
count = int(args[1]) if len(args) > 1 else 4

sockets = []
for _ in range(count):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    s.bind(("127.0.0.1", port))
    s.setblocking(False)
    sockets.append(s)

if background:
    pid = os.fork()
    if pid > 0:
        print(pid, flush=True)
        os._exit(0)
    # The child serves; it lets go of the caller's terminal or $(...) pipe so the caller returns.
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
else:
    print(f"pid {os.getpid()}: {count} sockets on udp port {port}", flush=True)

selector = selectors.DefaultSelector()
for index, s in enumerate(sockets):
    selector.register(s, selectors.EVENT_READ, index)
while True:
    for key, _ in selector.select():
        s = sockets[key.data]
        try:
            data, peer = s.recvfrom(2048)
        except BlockingIOError:
            continue
        s.sendto(b"socket %d: %s" % (key.data, data), peer)
