#!/usr/bin/python3
"""A repository mirror on 127.0.0.1 that misbehaves on request.

Serves the files under DIR (the directory named on the command line) over
HTTP/1.1 on an ephemeral port of 127.0.0.1, printed alone on the first
line of stdout.  Exits when stdin reaches end of file (so a test that dies
cannot leave it behind), and in any case after 300 s.  Standard library
only, for Debian's python3.  Used by tests/unit/test_updater_http.c
through tests/unit/repo.h (repo_http_start(), repo_attack()).

A URL path maps to the file of the same name under DIR, byte for byte: no
percent-decoding, as a file:// mirror of the same tree would be read (a
role "a/b" is the file "a%2Fb.json", asked for as /metadata/a%2Fb.json).
A query string is ignored.  A path with a segment that starts with "." is
never served (404): DIR/.attacks, DIR/.served and their temporary files
stay private.

DIR/.attacks, re-read on every request, is a JSON object mapping a path
("metadata/timestamp.json", with or without the leading "/") to a mode:
  "endless"     200 with no Content-Length, delimited by closing the
                connection: the file's bytes (if any), then filler bytes
                forever.  The client must stop it.
  "drip"        200 with the file's Content-Length, then 1 byte every 2 s.
  "lie-length"  200 with a Content-Length of half the file's length, then
                the whole file, then the connection is closed.
  "500"         status 500 with a short body.
  "hang"        read the request, send nothing until the client leaves.
A path in no entry is served normally (404 if there is no such file).

DIR/.served is a JSON object mapping each requested path (no leading "/")
to the body bytes sent for it so far.  A path is recorded, with 0 bytes,
before any byte of its response is sent: a client that received anything
for a path finds it listed.

usage: repo_server.py DIR
"""
import http.server
import json
import os
import select
import sys
import threading
import time

CHUNK = 64 * 1024
FILLER = b" " * CHUNK
LIFETIME = 300  # seconds; the server never outlives a stuck test by more


class State:
    def __init__(self, root):
        self.root = os.path.realpath(root)
        self.lock = threading.Lock()
        self.served = {}

    def attacks(self):
        try:
            with open(os.path.join(self.root, ".attacks"), "rb") as f:
                v = json.load(f)
        except (OSError, ValueError):
            return {}
        if not isinstance(v, dict):
            return {}
        return {str(k).lstrip("/"): m for k, m in v.items()}

    def _save(self):
        tmp = os.path.join(self.root, ".served.tmp.%d" % threading.get_ident())
        try:
            with open(tmp, "w") as f:
                json.dump(self.served, f, sort_keys=True)
            os.replace(tmp, os.path.join(self.root, ".served"))
        except OSError:
            pass  # the test removed the directory: nothing to record

    def count(self, rel, n):
        with self.lock:
            self.served[rel] = self.served.get(rel, 0) + n
            self._save()


STATE = None


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def log_message(self, fmt, *args):
        pass  # the test's output is the C test's

    def head(self, status, length=None, close=False):
        self.send_response(status)
        self.send_header("Content-Type", "application/octet-stream")
        if length is not None:
            self.send_header("Content-Length", str(length))
        if close:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()

    def body(self, rel, data):
        self.wfile.write(data)
        STATE.count(rel, len(data))

    def fixed(self, status, rel, data):
        self.head(status, len(data))
        self.body(rel, data)

    def local_file(self, rel):
        """The bytes of DIR/rel, or None (no such file, or not allowed)."""
        parts = rel.split("/")
        if rel == "" or any(p == "" or p.startswith(".") for p in parts):
            return None
        path = os.path.realpath(os.path.join(STATE.root, *parts))
        if not path.startswith(STATE.root + os.sep):
            return None
        try:
            with open(path, "rb") as f:
                return f.read()
        except OSError:  # missing, a directory, unreadable
            return None

    def client_gone(self, timeout):
        """Wait up to timeout s; whether the client closed its end."""
        r, _, _ = select.select([self.connection], [], [], timeout)
        if not r:
            return False
        try:
            return self.connection.recv(4096) == b""
        except OSError:
            return True

    def do_GET(self):
        try:
            self.route()
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            # The client gave up on purpose: that is what is tested.
            self.close_connection = True

    def route(self):
        rel = self.path.split("?", 1)[0].lstrip("/")
        mode = STATE.attacks().get(rel)
        data = self.local_file(rel)
        STATE.count(rel, 0)
        if mode == "500":
            self.fixed(500, rel, b"internal error\n")
        elif mode == "hang":
            deadline = time.monotonic() + LIFETIME
            while time.monotonic() < deadline and not self.client_gone(1):
                pass
            self.close_connection = True
        elif mode == "endless":
            self.head(200, None, close=True)
            if data:
                self.body(rel, data)
            while True:
                self.body(rel, FILLER)
        elif data is None:
            self.fixed(404, rel, b"no such file\n")
        elif mode == "drip":
            self.head(200, len(data))
            for i in range(len(data)):
                self.body(rel, data[i : i + 1])
                self.wfile.flush()
                time.sleep(2)
        elif mode == "lie-length":
            self.head(200, len(data) // 2, close=True)
            self.body(rel, data)
        else:
            self.fixed(200, rel, data)


def main():
    global STATE
    if len(sys.argv) != 2 or not os.path.isdir(sys.argv[1]):
        sys.exit("usage: repo_server.py DIR")
    STATE = State(sys.argv[1])
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True  # a stuck client never delays exit
    print(srv.server_address[1], flush=True)

    def watch_stdin():
        # The parent holds our stdin open; end of file means it is gone.
        while sys.stdin.buffer.read(4096):
            pass
        os._exit(0)

    def lifetime():
        time.sleep(LIFETIME)
        os._exit(0)

    threading.Thread(target=watch_stdin, daemon=True).start()
    threading.Thread(target=lifetime, daemon=True).start()
    srv.serve_forever()


if __name__ == "__main__":
    main()
