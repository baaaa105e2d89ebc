#!/usr/bin/python3
"""A hostile-ish HTTP server on 127.0.0.1 for the lib/fetch.c tests.

Binds an ephemeral port, prints it alone on the first line of stdout, and
serves until stdin reaches end of file (so a test that dies cannot leave
it behind) or it is killed.  Standard library only, for Debian's python3.

Paths (ok_body() below is the one definition of /ok's bytes):
  /ok             1000 bytes, with Content-Length
  /big            10 MiB, with Content-Length
  /big-nolen      10 MiB, chunked, no Content-Length
  /big-close      10 MiB, delimited by closing the connection
  /big-404        a 404 whose body is 10 MiB, with Content-Length
  /slow           1 byte a second, for at most 120 s
  /404 /403 /500  that status, with a short body
  /redirect       302 to /ok (a relative Location)
  /redirect-file  302 to file:///etc/passwd
  /redirect-onion 302 to http://example.onion/x
  /redirect-loop  302 to itself
  /lying-length   Content-Length: 10, then 1000 bytes
  /short          Content-Length: 1000, then 10 bytes and a close
  /empty          200 with an empty body
  /gzip           a gzip stream sent as Content-Encoding: gzip, unasked
  /ua             the request's User-Agent as the body
  /together/G/N   /ok once N requests of group G are in flight at once,
                  a 500 if they are not within 5 s (parallel transfers)
usage: fetch_server.py
"""
import gzip
import http.server
import os
import sys
import threading
import time

MIB = 1024 * 1024
CHUNK = 64 * 1024


def ok_body():
    """The 1000 bytes of /ok; test_fetch.c computes the same formula."""
    return bytes((i * 31 + 7) & 0xFF for i in range(1000))


OK = ok_body()
BLOCK = bytes(range(256)) * (CHUNK // 256)
GZ = gzip.compress(b"ferry " * 200, mtime=0)
BARRIERS = {}
BARRIERS_LOCK = threading.Lock()


def barrier(group, n):
    with BARRIERS_LOCK:
        if group not in BARRIERS:
            BARRIERS[group] = threading.Barrier(n, timeout=5)
        return BARRIERS[group]


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out at once

    def log_message(self, fmt, *args):
        pass  # the test's output is the C test's

    def head(self, status, length=None, extra=()):
        self.send_response(status)
        self.send_header("Content-Type", "application/octet-stream")
        if length is not None:
            self.send_header("Content-Length", str(length))
        for k, v in extra:
            self.send_header(k, v)
        self.end_headers()

    def fixed(self, status, body, extra=()):
        self.head(status, len(body), extra)
        self.wfile.write(body)

    def stream(self, total, chunked=False):
        sent = 0
        while sent < total:
            block = BLOCK[: min(CHUNK, total - sent)]
            if chunked:
                self.wfile.write(b"%x\r\n%s\r\n" % (len(block), block))
            else:
                self.wfile.write(block)
            sent += len(block)
        if chunked:
            self.wfile.write(b"0\r\n\r\n")

    def redirect(self, where):
        self.fixed(302, b"moved\n", [("Location", where)])

    def do_GET(self):
        try:
            self.route()
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            # The client gave up on purpose: that is what is tested.
            self.close_connection = True

    def route(self):
        p = self.path
        if p == "/ok":
            self.fixed(200, OK)
        elif p == "/big":
            self.head(200, 10 * MIB)
            self.stream(10 * MIB)
        elif p == "/big-nolen":
            self.head(200, None, [("Transfer-Encoding", "chunked")])
            self.stream(10 * MIB, chunked=True)
        elif p == "/big-close":
            self.head(200, None, [("Connection", "close")])
            self.close_connection = True
            self.stream(10 * MIB)
        elif p == "/big-404":
            self.head(404, 10 * MIB)
            self.stream(10 * MIB)
        elif p == "/slow":
            self.head(200, 120)
            for _ in range(120):
                self.wfile.write(b"s")
                self.wfile.flush()
                time.sleep(1)
        elif p in ("/404", "/403", "/500"):
            self.fixed(int(p[1:]), b"status " + p[1:].encode() + b"\n")
        elif p == "/redirect":
            self.redirect("/ok")
        elif p == "/redirect-file":
            self.redirect("file:///etc/passwd")
        elif p == "/redirect-onion":
            self.redirect("http://example.onion/x")
        elif p == "/redirect-loop":
            self.redirect("/redirect-loop")
        elif p == "/lying-length":
            self.head(200, 10)
            self.wfile.write(OK)
        elif p == "/short":
            self.head(200, 1000, [("Connection", "close")])
            self.close_connection = True
            self.wfile.write(OK[:10])
        elif p == "/empty":
            self.fixed(200, b"")
        elif p == "/gzip":
            self.fixed(200, GZ, [("Content-Encoding", "gzip")])
        elif p in ("/range", "/range-ignored", "/range-wrong"):
            # /ok with byte ranges ("bytes=N-" only); -ignored answers
            # 200 whatever was asked, -wrong sends the range after.
            rng = self.headers.get("Range", "")
            if p == "/range-ignored" or not rng.startswith("bytes="):
                self.fixed(200, OK)
                return
            start = int(rng[6:].split("-")[0])
            if start >= len(OK):
                self.fixed(416, b"", [("Content-Range", "bytes */%d" %
                                       len(OK))])
                return
            if p == "/range-wrong":
                start += 1
            self.fixed(206, OK[start:], [("Content-Range", "bytes %d-%d/%d"
                                          % (start, len(OK) - 1, len(OK)))])
        elif p.startswith("/together/"):
            _, _, group, n = p.split("/")
            try:
                barrier(group, int(n)).wait()
            except threading.BrokenBarrierError:
                self.fixed(500, b"not together\n")
                return
            self.fixed(200, OK)
        elif p == "/ua":
            self.fixed(200, self.headers.get("User-Agent", "").encode())
        else:
            self.fixed(404, b"no such path\n")


def main():
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True  # a stuck client never delays exit
    print(srv.server_address[1], flush=True)

    def watch_stdin():
        # The parent holds our stdin open; end of file means it is gone.
        while sys.stdin.buffer.read(4096):
            pass
        os._exit(0)

    threading.Thread(target=watch_stdin, daemon=True).start()
    srv.serve_forever()


if __name__ == "__main__":
    main()
