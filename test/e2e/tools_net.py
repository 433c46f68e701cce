"""tools_net — tools.py's plain servers and clients: free ports, IPv6, echo
servers and round trips, SOCKS5 clients that stall or expect a refusal, a
held partial handshake, exec with default signals, and the v1 tunnel port
prober."""

import os
import signal
import socket
import struct
import threading
import time

from tools_common import (connect, die, recv_exact, recv_until_eof, send_tolerant, write_ready,
                          write_ready_port)


def cmd_free_ports(args):
    family = socket.AF_INET6 if args.v6 else socket.AF_INET
    host = "::1" if args.v6 else "127.0.0.1"
    socks = []
    for _ in range(args.n):
        s = socket.socket(family, socket.SOCK_STREAM)
        s.bind((host, 0))
        socks.append(s)
    print(" ".join(str(s.getsockname()[1]) for s in socks))
    for s in socks:
        s.close()


def cmd_has_ipv6(args):
    try:
        s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
        s.bind(("::1", 0))
        s.listen(1)
        c = socket.create_connection(("::1", s.getsockname()[1]), timeout=2)
        c.close()
        s.close()
    except OSError as e:
        die("no usable ::1: %s" % e)


def cmd_echo_server(args):
    family = socket.AF_INET6 if ":" in args.bind else socket.AF_INET
    srv = socket.socket(family, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind((args.bind, 0))
    srv.listen(64)
    write_ready_port(args.port_file, srv.getsockname()[1])

    def serve(conn):
        with conn:
            conn.settimeout(60)
            try:
                while True:
                    chunk = conn.recv(65536)
                    if not chunk:
                        break
                    conn.sendall(chunk)
                #  Only after the client's EOF do we end our side: that is
                #  the half-close a relay must carry in each direction.
                conn.shutdown(socket.SHUT_WR)
            except OSError:
                pass

    while True:
        conn, _ = srv.accept()
        threading.Thread(target=serve, args=(conn,), daemon=True).start()


def cmd_halfclose_echo(args):
    data = os.urandom(args.size)
    sock = connect(args.host, args.port, args.timeout)
    errors = []

    def sender():
        #  Send from a thread: the echo comes back while we are still
        #  sending, and nobody reading it would deadlock the pipe.
        try:
            sock.sendall(data)
            sock.shutdown(socket.SHUT_WR)
        except OSError as e:
            errors.append(e)

    t = threading.Thread(target=sender, daemon=True)
    t.start()
    got, how = recv_until_eof(sock, time.monotonic() + args.timeout, limit=args.size + 1)
    t.join(args.timeout)
    if errors:
        die("sending failed: %s" % errors[0])
    if how != "eof":
        die("expected EOF after the echo, got %s after %d of %d bytes" % (how, len(got), args.size))
    if got != data:
        die("echo differs: got %d bytes, sent %d" % (len(got), len(data)))
    print("halfclose-echo: %d bytes echoed, then EOF" % len(got))


def cmd_echo_roundtrip(args):
    data = os.urandom(args.size)
    sock = connect(args.host, args.port, args.timeout)
    errors = []

    def sender():
        try:
            sock.sendall(data)
        except OSError as e:
            errors.append(e)

    t = threading.Thread(target=sender, daemon=True)
    t.start()
    got = bytearray()
    deadline = time.monotonic() + args.timeout
    while len(got) < len(data):
        left = deadline - time.monotonic()
        if left <= 0:
            die("timed out after %d of %d echoed bytes" % (len(got), len(data)))
        sock.settimeout(left)
        try:
            chunk = sock.recv(65536)
        except socket.timeout:
            continue
        if not chunk:
            die("EOF after %d of %d echoed bytes%s"
                % (len(got), len(data), " (send: %s)" % errors[0] if errors else ""))
        got += chunk
    t.join(args.timeout)
    sock.close()
    if errors:
        die("sending failed: %s" % errors[0])
    if bytes(got) != data:
        die("echo differs from what was sent (%d bytes)" % len(data))
    print("echo-roundtrip: %d bytes echoed" % len(got))


def cmd_stall_socks5(args):
    sock = connect("127.0.0.1", args.proxy_port, 10)
    #  A small receive buffer makes the stall reach the proxy sooner.
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    rep = socks5_handshake(sock, args.host, args.port)
    if rep != 0:
        die("SOCKS5 CONNECT refused (REP=%d)" % rep)
    sock.sendall(("GET %s HTTP/1.1\r\nHost: %s:%d\r\n\r\n"
                  % (args.path, args.host, args.port)).encode())
    write_ready(args.ready_file)
    time.sleep(args.hold)   # read nothing; the test kills us before this ends


def socks5_handshake(sock, host, port):
    """Method negotiation and CONNECT to an IPv4 literal; returns REP."""
    sock.sendall(b"\x05\x01\x00")
    method = recv_exact(sock, 2, "the SOCKS5 method reply")
    if method != b"\x05\x00":
        die("SOCKS5 method negotiation failed: %s" % method.hex())
    sock.sendall(b"\x05\x01\x00\x01" + socket.inet_aton(host) + struct.pack("!H", port))
    head = recv_exact(sock, 4, "the SOCKS5 reply")
    if head[0] != 5:
        die("malformed SOCKS5 reply %s" % head.hex())
    if head[3] == 1:
        rest = 4 + 2
    elif head[3] == 4:
        rest = 16 + 2
    elif head[3] == 3:
        rest = recv_exact(sock, 1, "the SOCKS5 reply")[0] + 2
    else:
        die("SOCKS5 reply with ATYP %d" % head[3])
    recv_exact(sock, rest, "the SOCKS5 reply")
    return head[1]


def cmd_socks5_refused(args):
    sock = connect("127.0.0.1", args.proxy_port, args.timeout)
    rep = socks5_handshake(sock, args.host, args.port)
    if rep == 0:
        die("SOCKS5 CONNECT to the closed port %s:%d succeeded" % (args.host, args.port))
    _, how = recv_until_eof(sock, time.monotonic() + args.timeout)
    if how not in ("eof", "reset"):
        die("REP=%d but the proxy kept the connection open (%s)" % (rep, how))
    print("socks5-refused: REP=%d, then close" % rep)


def cmd_hold(args):
    sock = connect(args.host, args.port, 10)
    send_tolerant(sock, bytes.fromhex(args.hex))
    write_ready(args.ready_file)
    time.sleep(args.hold)


def cmd_blackhole(args):
    #  A listener that never accepts, its queue (backlog 0) filled: the kernel
    #  drops further SYNs, so a connect to it neither succeeds nor fails.
    lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    lsock.bind(("127.0.0.1", 0))
    lsock.listen(0)
    port = lsock.getsockname()[1]
    fillers = []
    for _ in range(4):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setblocking(False)
        s.connect_ex(("127.0.0.1", port))
        fillers.append(s)
    time.sleep(0.3)
    probe = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    probe.settimeout(1)
    try:
        probe.connect(("127.0.0.1", port))
        die("the blackhole on port %d took a connection: its queue is not full" % port)
    except socket.timeout:
        pass
    probe.close()
    write_ready_port(args.port_file, port)
    time.sleep(args.hold)


def cmd_exec_sigdefault(args):
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    os.execv(args.prog, [args.prog] + args.args)


def cmd_probe(args):
    start = time.monotonic()
    sock = connect(args.host, args.port, 10)
    sent = 0

    def trickle():
        nonlocal sent
        if args.random:
            err = send_tolerant(sock, os.urandom(args.random if sent == 0 else 64))
            if err:
                die("the peer refused the prober's bytes after %.1f s (%s)"
                    % (time.monotonic() - start, err))
            sent += args.random if sent == 0 else 64

    #  Silence: no byte back, no close, while the prober keeps talking.
    trickle()
    while time.monotonic() < start + args.silent:
        step = min(start + args.silent, time.monotonic() + 0.5)
        got, how = recv_until_eof(sock, step, limit=0)
        elapsed = time.monotonic() - start
        if got:
            die("the peer answered the prober after %.1f s: %r" % (elapsed, got[:32]))
        if how != "timeout":
            die("the peer closed the prober's connection after %.1f s (%s), expected "
                "silence for %.1f s" % (elapsed, how, args.silent))
        trickle()
    report = "probe: sent %d bytes; silence, connection open for %.1f s" % (sent, args.silent)
    if args.close_by is not None:
        got, how = recv_until_eof(sock, start + args.close_by, limit=0)
        elapsed = time.monotonic() - start
        if got:
            die("the peer answered the prober after %.1f s: %r" % (elapsed, got[:32]))
        if how not in ("eof", "reset"):
            die("the peer kept the prober's connection open for %.1f s (expected a close "
                "by then)" % elapsed)
        report += "; then closed by the peer (%s) %.1f s after connecting" % (how, elapsed)
    print(report)


def cmd_socks5_optimistic(args):
    """A SOCKS5 CONNECT answered at once by a wormhole's local end: REP 0
    with BND 0.0.0.0:0 (the local end's own answer, not the far end's), then
    a request; --expect reset: the far end refuses, and the connection must
    end with a reset (not a FIN, not silence); --expect data: an answer."""
    sock = connect("127.0.0.1", args.proxy_port, args.timeout)
    sock.sendall(b"\x05\x01\x00")
    if recv_exact(sock, 2, "the SOCKS5 method reply") != b"\x05\x00":
        die("SOCKS5 method negotiation failed")
    sock.sendall(b"\x05\x01\x00\x01" + socket.inet_aton(args.host) + struct.pack("!H", args.port))
    reply = recv_exact(sock, 10, "the SOCKS5 reply")
    if reply != b"\x05\x00\x00\x01" + bytes(6):
        die("the SOCKS5 reply is %s, not the local end's 05 00 00 01 0.0.0.0:0" % reply.hex())
    err = send_tolerant(sock, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    got, how = recv_until_eof(sock, time.monotonic() + args.timeout, limit=0)
    if args.expect == "reset":
        if got or (how != "reset" and not isinstance(err, ConnectionResetError)):
            die("expected a reset after the far end's refusal, got %d bytes and %s" % (len(got), how))
        print("socks5-optimistic: REP 0 at once, then a reset")
    else:
        if not got:
            die("no answer through the optimistic CONNECT (%s)" % how)
        print("socks5-optimistic: REP 0 at once, then %d bytes" % len(got))


def cmd_slow_socks_get(args):
    """A slow user: GET PATH through a SOCKS5 proxy, reading at most --rate
    bytes/s (a small receive buffer, so the proxy feels it); the body (after
    the head; up to Content-Length if there is one, else until the end)
    must have sha256 SHA. Closes once it has the whole body, as curl does."""
    import hashlib
    sock = connect("127.0.0.1", args.proxy_port, args.timeout)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16384)
    rep = socks5_handshake(sock, args.host, args.port)
    if rep != 0:
        die("SOCKS5 CONNECT refused (REP=%d)" % rep)
    sock.sendall(("GET %s HTTP/1.1\r\nHost: %s:%d\r\nConnection: close\r\n\r\n"
                  % (args.path, args.host, args.port)).encode())
    got, whole, how = bytearray(), None, "timeout"
    start = time.monotonic()
    deadline = start + args.timeout
    step = max(1024, int(args.rate / 20))
    while time.monotonic() < deadline:
        due = start + len(got) / args.rate
        if due > time.monotonic():
            time.sleep(min(0.05, due - time.monotonic()))
            continue
        sock.settimeout(max(0.1, deadline - time.monotonic()))
        try:
            d = sock.recv(step)
        except socket.timeout:
            continue
        except ConnectionResetError:
            how = "reset"
            break
        if not d:
            how = "eof"
            break
        got += d
        head = got.find(b"\r\n\r\n")
        if whole is None and head > 0:
            whole = -1
            for line in bytes(got[:head]).split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    whole = head + 4 + int(line.split(b":")[1])
        if whole is not None and whole > 0 and len(got) >= whole:
            how = "whole"
            break
    sock.close()
    head = got.find(b"\r\n\r\n")
    body = bytes(got[head + 4:]) if head > 0 else b""
    if hashlib.sha256(body).hexdigest() != args.sha:
        die("slow-socks-get: %s after %.1f s with %d body bytes: not the body sent"
            % (how, time.monotonic() - start, len(body)))
    print("slow-socks-get: %d body bytes intact in %.1f s (%s)"
          % (len(body), time.monotonic() - start, how))
