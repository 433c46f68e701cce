"""tools_common — what every tools.py subcommand shares: dying with a
one-line reason, connecting and reading with deadlines, ready files, the
payloads given on the command line, and loopback-only targets."""

import os
import socket
import sys
import time


def die(msg):
    sys.stderr.write("tools: " + msg + "\n")
    sys.exit(1)


def connect(host, port, timeout):
    try:
        return socket.create_connection((host, int(port)), timeout=timeout)
    except OSError as e:
        die("connect to %s:%s failed: %s" % (host, port, e))


def recv_until_eof(sock, deadline, limit=1 << 30):
    """Read until EOF. Returns (data, how) with how in eof|reset|timeout|limit."""
    data = bytearray()
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return bytes(data), "timeout"
        sock.settimeout(left)
        try:
            chunk = sock.recv(65536)
        except socket.timeout:
            return bytes(data), "timeout"
        except ConnectionResetError:
            return bytes(data), "reset"
        if not chunk:
            return bytes(data), "eof"
        data += chunk
        if len(data) > limit:
            return bytes(data), "limit"


def write_ready(path):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % os.getpid())
    os.rename(tmp, path)


def payload(args):
    if getattr(args, "random", None) is not None:
        data = os.urandom(args.random)
        #  Never a SOCKS version byte: random bytes read as a SOCKS request
        #  could make the proxy dial a random address off this machine.
        if data and data[0] in (4, 5):
            data = b"\xff" + data[1:]
        return data
    if getattr(args, "line", None) is not None:
        return b"GET /" + b"a" * args.line + b" HTTP/1.1\r\n"
    if args.hex is not None:
        return bytes.fromhex(args.hex)
    if args.text is not None:
        return args.text.encode("latin-1").decode("unicode_escape").encode("latin-1")
    die("no payload given")


def write_ready_port(path, port):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % port)
    os.rename(tmp, path)


def send_tolerant(sock, data):
    """Send, but a peer that closes on us early is what some tests expect."""
    try:
        sock.sendall(data)
        return None
    except (BrokenPipeError, ConnectionResetError) as e:
        return e


def recv_exact(sock, n, what):
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            die("connection closed during %s after %d bytes" % (what, len(data)))
        data += chunk
    return data


def loopback_target(target):
    """TARGET is PORT or 127.0.0.1:PORT (localhost too): (host, port)."""
    host, _, port = target.rpartition(":")
    if host not in ("", "127.0.0.1", "localhost"):
        die("target %r: loopback only (127.0.0.1)" % target)
    try:
        return "127.0.0.1", int(port)
    except ValueError:
        die("target %r: not PORT or 127.0.0.1:PORT" % target)
