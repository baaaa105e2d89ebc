#!/usr/bin/python3
"""Raw-socket probes of ferry-repod serve for tests/e2e/repod_serve.sh,
for what curl cannot send or hold.  Every socket has a timeout; only
127.0.0.1 is contacted.

    repod_probe.py raw PORT < REQUEST
        Send REQUEST's bytes as they are, print the response's status
        line ("closed" if the server closed without answering).

    repod_probe.py big-header PORT SIZE
        A GET whose one header is SIZE bytes; print the status line.

    repod_probe.py per-ip PORT N
        Hold N connections, each opened once the one before has had a
        request answered (so that the server has surely accepted it),
        then open one more and send a request on it.  Print
        "extra=STATUS" ("extra=closed" when the server refused it), then
        "held=K": how many of the N held connections were answered 200
        again afterwards.
"""
import socket
import sys

TIMEOUT = 10


def status_line(s):
    """The first line of the head the server sends on s (read whole), or
    "closed"."""
    data = b""
    try:
        while b"\r\n\r\n" not in data:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
    except OSError:
        pass
    if not data:
        return "closed"
    return data.split(b"\r\n", 1)[0].decode("latin-1")


def connect(port):
    return socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)


def raw(port):
    s = connect(port)
    s.sendall(sys.stdin.buffer.read())
    print(status_line(s))
    s.close()


def big_header(port, size):
    s = connect(port)
    try:
        s.sendall(b"GET /metadata/timestamp.json HTTP/1.1\r\nHost: x\r\n"
                  b"X-Big: " + b"a" * size + b"\r\n\r\n")
    except OSError:
        pass  # the server may answer and close before reading it all
    print(status_line(s))
    s.close()


def per_ip(port, n):
    # HEAD: the answer is a head only, read whole, and the connection
    # is ready for the next request.
    req = b"HEAD /metadata/timestamp.json HTTP/1.1\r\nHost: x\r\n\r\n"
    held = []
    for _ in range(n):
        s = connect(port)
        s.sendall(req)
        if not status_line(s).startswith("HTTP/1.1 200"):
            sys.exit("a held connection was not served")
        held.append(s)
    extra = connect(port)
    try:
        extra.sendall(req)
        print("extra=" + status_line(extra))
    except OSError:
        print("extra=closed")
    extra.close()
    ok = 0
    for s in held:
        try:
            s.sendall(req)
            if status_line(s).startswith("HTTP/1.1 200"):
                ok += 1
        except OSError:
            pass
        s.close()
    print("held=%d" % ok)


def main():
    cmd, port = sys.argv[1], int(sys.argv[2])
    if cmd == "raw":
        raw(port)
    elif cmd == "big-header":
        big_header(port, int(sys.argv[3]))
    elif cmd == "per-ip":
        per_ip(port, int(sys.argv[3]))
    else:
        sys.exit("unknown command " + cmd)


if __name__ == "__main__":
    main()
