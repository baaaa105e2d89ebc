#!/usr/bin/python3
"""Send commands to a tor control port, for tests/e2e/tornet.sh.inc.

usage: torctl.py [--hold SECS] 127.0.0.1:PORT COOKIEFILE COMMAND...

Connects to the control port (127.0.0.1 only), authenticates with
"AUTHENTICATE <hex of COOKIEFILE's bytes>", sends each COMMAND in turn
and prints every line of each reply (the CRLF removed, data lines of a
"250+" reply as they are, the closing "." too).  Stops at the first
reply that is not a success, and then exits 1; exits 2 when it cannot
connect or the connection breaks.  Success is 250, or another 2xx: tor
answers ONION_CLIENT_AUTH_ADD with 251 or 252 when it succeeds.  Asynchronous events (6xx) are printed
as they come and are not taken for a reply.

--hold SECS keeps the connection open after the commands for SECS
seconds, printing any events, or until tor closes it or this process is
killed: a service made with ADD_ONION without Flags=Detach lives only
as long as the control connection that made it.  Standard output is
flushed after each line, so a script can read it while this runs in the
background.

Every socket operation has a timeout, and a reply is bounded in size.
Standard library only, for Debian's python3.
"""
import socket
import sys
import time

CONNECT_TIMEOUT = 10
REPLY_TIMEOUT = 60
MAX_LINE = 64 * 1024
MAX_REPLY = 4 * 1024 * 1024


class Broken(Exception):
    pass


class Conn:
    def __init__(self, sock):
        self.sock = sock
        self.buf = b""

    def line(self, deadline):
        """One line without its CRLF, or None at end of file."""
        while b"\n" not in self.buf:
            if len(self.buf) > MAX_LINE:
                raise Broken("a line longer than %d bytes" % MAX_LINE)
            left = deadline - time.monotonic()
            if left <= 0:
                raise socket.timeout("no complete line in time")
            self.sock.settimeout(left)
            chunk = self.sock.recv(65536)
            if not chunk:
                return None
            self.buf += chunk
        raw, self.buf = self.buf.split(b"\n", 1)
        return raw.rstrip(b"\r").decode("utf-8", "replace")

    def reply(self, timeout=REPLY_TIMEOUT):
        """Read one reply, printing its lines; return its status code.
        Events met on the way are printed and skipped."""
        deadline = time.monotonic() + timeout
        size = 0
        while True:
            line = self.line(deadline)
            if line is None:
                raise Broken("tor closed the connection")
            size += len(line)
            if size > MAX_REPLY:
                raise Broken("a reply longer than %d bytes" % MAX_REPLY)
            say(line)
            if len(line) < 4 or not line[:3].isdigit():
                raise Broken("not a reply line: %r" % line)
            code, sep = line[:3], line[3]
            event = code.startswith("6")
            if sep == "+":
                while True:
                    data = self.line(deadline)
                    if data is None:
                        raise Broken("tor closed the connection")
                    size += len(data)
                    if size > MAX_REPLY:
                        raise Broken("a reply longer than %d bytes"
                                     % MAX_REPLY)
                    say(data)
                    if data == ".":
                        break
            elif sep == " ":
                if event:
                    continue
                return int(code)
            elif sep != "-":
                raise Broken("not a reply line: %r" % line)

    def send(self, text):
        if "\r" in text or "\n" in text:
            raise Broken("a command holds a line break")
        self.sock.settimeout(CONNECT_TIMEOUT)
        self.sock.sendall(text.encode("utf-8") + b"\r\n")


def say(line):
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def usage():
    sys.stderr.write("usage: torctl.py [--hold SECS] 127.0.0.1:PORT "
                     "COOKIEFILE COMMAND...\n")
    sys.exit(2)


def hold(conn, secs):
    end = time.monotonic() + secs
    while time.monotonic() < end:
        try:
            line = conn.line(min(end, time.monotonic() + 1))
        except socket.timeout:
            continue
        if line is None:
            return
        say(line)


def main(argv):
    secs = None
    if argv[:1] == ["--hold"]:
        if len(argv) < 2:
            usage()
        try:
            secs = float(argv[1])
        except ValueError:
            usage()
        argv = argv[2:]
    if len(argv) < 2:
        usage()
    host, _, port = argv[0].rpartition(":")
    if host != "127.0.0.1" or not port.isdigit():
        sys.stderr.write("torctl.py: %s is not 127.0.0.1:PORT\n" % argv[0])
        return 2
    try:
        with open(argv[1], "rb") as f:
            cookie = f.read(1024)
    except OSError as e:
        sys.stderr.write("torctl.py: %s\n" % e)
        return 2
    try:
        sock = socket.create_connection((host, int(port)),
                                        timeout=CONNECT_TIMEOUT)
    except OSError as e:
        sys.stderr.write("torctl.py: cannot connect to %s: %s\n"
                         % (argv[0], e))
        return 2
    conn = Conn(sock)
    try:
        for cmd in ["AUTHENTICATE " + cookie.hex()] + argv[2:]:
            conn.send(cmd)
            code = conn.reply()
            if code // 100 != 2:
                word = cmd.split(" ", 1)[0]
                sys.stderr.write("torctl.py: %s: tor answered %d\n"
                                 % (word, code))
                return 1
        if secs is not None:
            hold(conn, secs)
    except (OSError, Broken) as e:
        sys.stderr.write("torctl.py: %s: %s\n" % (argv[0], e))
        return 2
    finally:
        sock.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
