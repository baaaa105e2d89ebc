#!/usr/bin/python3
"""A SOCKS5 proxy on 127.0.0.1 that stands in for Tor's SOCKS port.

usage: socks5h_server.py LOG NAME=PORT...

Binds an ephemeral port, prints it alone on the first line of stdout, and
serves until stdin reaches end of file (so a test that dies cannot leave
it behind) or it is killed.  Standard library only, for Debian's python3.

Only CONNECT requests that carry a host name (address type 3, as a
socks5h:// client sends them: the name is never resolved by the client)
for one of the NAMEs are served, each relayed to 127.0.0.1:PORT; any
other request (another name, an IP address, another command, an
authentication method other than none) is refused with the matching
SOCKS5 reply.  Each request is appended to LOG as one line:
"CONNECT NAME:PORT ok" or "REFUSED WHAT".  Nothing leaves the loopback
interface.
"""
import os
import socket
import socketserver
import struct
import sys
import threading

LOG_LOCK = threading.Lock()


def log(path, line):
    with LOG_LOCK, open(path, "a") as f:
        f.write(line + "\n")


def read_exact(sock, n):
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise ConnectionError("short read")
        buf += chunk
    return buf


def pipe(src, dst):
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            dst.sendall(data)
    except OSError:
        pass
    finally:
        try:
            dst.shutdown(socket.SHUT_WR)
        except OSError:
            pass


class Handler(socketserver.BaseRequestHandler):
    def reply(self, code):
        # VER REP RSV ATYP=1 BND.ADDR=0.0.0.0 BND.PORT=0
        self.request.sendall(struct.pack("!BBBB4sH", 5, code, 0, 1,
                                         b"\0\0\0\0", 0))

    def handle(self):
        s = self.request
        srv = self.server
        try:
            ver, n = read_exact(s, 2)
            methods = read_exact(s, n)
            if ver != 5 or 0 not in methods:
                s.sendall(b"\x05\xff")
                log(srv.log, "REFUSED methods %r" % (methods,))
                return
            s.sendall(b"\x05\x00")
            ver, cmd, _, atyp = read_exact(s, 4)
            if atyp == 3:
                host = read_exact(s, read_exact(s, 1)[0]).decode("ascii",
                                                                 "replace")
            elif atyp == 1:
                host = socket.inet_ntop(socket.AF_INET, read_exact(s, 4))
            elif atyp == 4:
                host = socket.inet_ntop(socket.AF_INET6, read_exact(s, 16))
            else:
                self.reply(8)
                log(srv.log, "REFUSED address type %d" % atyp)
                return
            port = struct.unpack("!H", read_exact(s, 2))[0]
            if cmd != 1:
                self.reply(7)
                log(srv.log, "REFUSED command %d" % cmd)
                return
            if atyp != 3 or host not in srv.names:
                self.reply(2)
                log(srv.log, "REFUSED %s:%d (address type %d)" %
                    (host, port, atyp))
                return
            up = socket.create_connection(("127.0.0.1", srv.names[host]),
                                          timeout=30)
        except (OSError, ValueError, ConnectionError):
            return
        up.settimeout(None)
        self.reply(0)
        log(srv.log, "CONNECT %s:%d ok" % (host, port))
        t = threading.Thread(target=pipe, args=(up, s), daemon=True)
        t.start()
        pipe(s, up)
        t.join(60)
        up.close()


class Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


def main():
    if len(sys.argv) < 3:
        sys.exit("usage: socks5h_server.py LOG NAME=PORT...")
    srv = Server(("127.0.0.1", 0), Handler)
    srv.log = sys.argv[1]
    srv.names = {}
    for arg in sys.argv[2:]:
        name, _, port = arg.rpartition("=")
        srv.names[name] = int(port)
    print(srv.server_address[1], flush=True)

    def watch_stdin():
        while sys.stdin.buffer.read(4096):
            pass
        os._exit(0)

    threading.Thread(target=watch_stdin, daemon=True).start()
    srv.serve_forever()


if __name__ == "__main__":
    main()
