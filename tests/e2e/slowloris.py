#!/usr/bin/python3
"""A bounded slowloris client for tests/e2e/repod_serve.sh.

    slowloris.py PORT CONNECTIONS INTERVAL DEADLINE READYFILE

Opens CONNECTIONS connections to 127.0.0.1:PORT and on each sends a
request line, then one header byte every INTERVAL seconds, never
finishing the head: an idle timeout alone never fires.  Every other
connection first has a whole HEAD request answered, so that the
deadline of a kept-alive connection's next request is tried too.  READYFILE is
created once every connection is open.  Each connection must be closed
by the server within DEADLINE seconds of its opening; the script gives
up at DEADLINE plus a little, whatever happens.  Prints one line
"closed N of M, slowest S s, answered A" and exits 0 when all were
closed in time without ever being answered 2xx, 1 otherwise.
"""
import select
import socket
import sys
import time


def keep_alive_first(s):
    """One whole request on s, its answer read: s stays open."""
    s.sendall(b"HEAD /metadata/timestamp.json HTTP/1.1\r\nHost: x\r\n\r\n")
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = s.recv(4096)
        if not chunk:
            raise SystemExit("the server closed a kept-alive connection")
        data += chunk
    if not data.startswith(b"HTTP/1.1 200"):
        raise SystemExit("HEAD was answered " + repr(data[:40]))


def main():
    port, n = int(sys.argv[1]), int(sys.argv[2])
    interval, deadline = float(sys.argv[3]), float(sys.argv[4])
    ready = sys.argv[5]
    conns = {}  # socket -> time opened
    closed = {}  # socket -> seconds it lived
    answered = 0
    for i in range(n):
        s = socket.create_connection(("127.0.0.1", port), timeout=5)
        if i % 2 == 1:
            keep_alive_first(s)
        s.setblocking(False)
        s.send(b"GET /metadata/timestamp.json HTTP/1.1\r\nHost: x\r\nX-A: ")
        conns[s] = time.monotonic()
    open(ready, "w").close()
    start = time.monotonic()
    next_byte = start + interval
    while conns and time.monotonic() < start + deadline + 5:
        wait = max(0.0, min(next_byte - time.monotonic(), 0.5))
        readable, _, _ = select.select(list(conns), [], [], wait)
        for s in readable:
            try:
                data = s.recv(4096)
            except OSError:
                data = b""
            if data.startswith(b"HTTP/1.1 2") or data.startswith(
                    b"HTTP/1.0 2"):
                answered += 1
            if not data or data.startswith(b"HTTP/"):
                closed[s] = time.monotonic() - conns.pop(s)
                s.close()
        if time.monotonic() >= next_byte:
            next_byte += interval
            for s in list(conns):
                try:
                    s.send(b"a")
                except OSError:
                    closed[s] = time.monotonic() - conns.pop(s)
                    s.close()
    slowest = max(closed.values()) if closed else 0.0
    print("closed %d of %d, slowest %.1f s, answered %d"
          % (len(closed), n, slowest, answered))
    for s in conns:
        s.close()
    ok = len(closed) == n and slowest <= deadline and answered == 0
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
