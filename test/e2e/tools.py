#!/usr/bin/env python3
"""tools — raw-socket helpers for the end-to-end tests (stdlib only; fake-tunnel
also needs python3-cryptography or the openssl command for AES-CTR).

curl covers the well-behaved clients; these subcommands are the clients and
servers curl cannot be: ones that half-close, send garbage, stall, or check
the exact bytes a proxy answers. Each exits 0 on success and 1 with a
one-line reason on stderr otherwise. Every socket has a timeout, so no
subcommand can hang longer than its bound.

    free-ports N [--v6]                  N distinct free loopback ports
    has-ipv6                             exit 0 if ::1 can be bound
    echo-server --port-file F            echoes each connection until EOF, then closes
    halfclose-echo HOST PORT SIZE        send SIZE bytes, SHUT_WR, expect them back, then EOF
    echo-roundtrip HOST PORT SIZE        send SIZE bytes while reading, expect them back, then
                                         close (no half-close: fits an aggregated stream)
    halfclose-http HOST PORT PATH SHA    GET PATH, SHUT_WR, expect 200 with a body of that sha256
    expect-close HOST PORT (--random N | --hex H | --text T | --line N) [--timeout S]
                                         send the bytes, expect the peer to close within S
    expect-status HOST PORT CODE (--hex H | --text T) [--timeout S]
                                         send a request, expect "HTTP/1.x CODE", a complete
                                         head, and the peer to close within S
    stall-socks5 PROXYPORT HOST PORT PATH --ready-file F [--hold S]
                                         open a SOCKS5 tunnel, request PATH, read nothing
    socks5-refused PROXYPORT HOST PORT   CONNECT to a closed port: expect a complete
                                         SOCKS5 reply with REP != 0, then close
    hold HOST PORT --hex H --ready-file F [--hold S]
                                         send a partial handshake and hold the connection
    exec-sigdefault PROG ARGS...         exec PROG with SIGINT/SIGTERM at their defaults
                                         (bash starts background jobs with SIGINT ignored)
    probe HOST PORT [--random N] --silent S [--close-by T]
                                         a prober of a wormhole's tunnel port: send N random
                                         bytes (a wrong hello; none without --random), then
                                         more every 0.5 s; expect no byte back and the
                                         connection open for S s after connecting, and with
                                         --close-by, closed by the peer by T s after it
    fake-tunnel HOST PORT --key HEX [--expect-frame] [--garbage N] [--timeout S]
                                         a fake dialing end with a CORRECT hello (IV, then
                                         HMAC-SHA1(key, IV)[:16]); with --expect-frame the
                                         peer's first bytes must decrypt to a mux frame; then
                                         N bytes that decrypt to garbage (first byte 0xff, no
                                         mux command, no SOCKS version), and the peer must
                                         close within S
    spec-mux-dialer HOST PORT --key HEX --origin PORT [--requests N]
                                         an original aggregated (v1) dialing end: hello, then
                                         per request NEW_SOCKET, SOCKS5 CONNECT to the origin
                                         and a GET with Connection: close in DATA frames; no
                                         credit or FIN extension, and never a CLOSE_SOCKET;
                                         each response must end with the peer's CLOSE_SOCKET
    spec-dialer HOST PORT --extra P[,P] --key HEX [--handovers N] [--bytes B]
                                         a dialing end written from PROTOCOL.md alone, against
                                         a distributed wormhole that relays to an echo server:
                                         N handovers (naive scanner, the four steps), bytes in
                                         flight across each, every byte echoed back intact
    spec-acceptor --port P --extra X --client-port S --key HEX [--seconds T] [--min-handovers N]
                                         an accepting end written from PROTOCOL.md alone, for a
                                         distributed wormhole's dialing end (users on S): checks
                                         the hello and every handover's ID and steps, echoes
                                         the stream; a client of S checks the echo
    capture-relay LISTEN TARGET --out F [--port-file P] [--seconds S]
                                         a relay 127.0.0.1:LISTEN -> TARGET that writes each
                                         connection's client->server bytes to F.1, F.2, ...
    replay FILE HOST PORT [--bytes N] [--wait S]
                                         send a recording again; print JSON: bytes sent and
                                         received, how and when (ms) the peer closed
    v2-probe KIND HOST PORT [--file F --offset O [--bit B]] [--wait S]
                                         (probe is v1's) send random-N, zeros-N, or flipped (a
                                         recording with one bit flipped); print the same JSON
    bitflip-relay LISTEN TARGET OFFSET [--bit B] [--direction s2c|c2s] [--only N]
                  [--port-file P] [--seconds S]
                                         relay both ways, flipping one bit of each connection's
                                         server->client (or client->server) stream at byte
                                         OFFSET; with --only N, of connection N only
    pace FILE RATE                       copy FILE to stdout at RATE bytes/s (64 KiB writes): a
                                         paced upload (curl -T -), as curl 7.88's --limit-rate
                                         does not limit
    reset-relay LISTEN TARGET [--after N [--direction c2s|s2c] [--only K]]
                [--port-file P] [--seconds S]
                                         relay both ways (a FIN is passed on as a FIN, a reset
                                         as a reset); on SIGUSR1 every connection open at that
                                         moment, and with --after the one whose DIRECTION has
                                         carried N bytes (of connection K only, with --only), is
                                         cut: both sides closed with SO_LINGER 0, so both get a
                                         RST. One line per event on stdout: "accept MS N",
                                         "reset MS N C2S S2C WHY", "end MS N C2S S2C" (MS: epoch
                                         ms, C2S/S2C: bytes relayed so far)
    v2-flight HOST PORT --key HEX [--age S] [--kind tunnel|handover] [--expect-server [--socks]]
                                         a client first flight made here from PROTOCOL-v2.md
                                         (python3-cryptography), dated now - S; without
                                         --expect-server print the probes' JSON; with it, the
                                         peer must answer with an authentic server flight
                                         (and, --socks, a SOCKS5 method reply in a DATA record)
    v2-open FILE --key HEX               parse the client first flight at the start of a
                                         recording; print JSON: its length, kind, time, padding
(replay, v2-probe and v2-flight take --parallel N: N connections at once, one JSON line each)
"""
import argparse
import hashlib
import hmac
import os
import select
import signal
import socket
import struct
import subprocess
import sys
import threading
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


# -- subcommands -------------------------------------------------------------

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


def write_ready_port(path, port):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % port)
    os.rename(tmp, path)


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


def split_response(raw):
    end = raw.find(b"\r\n\r\n")
    if end < 0:
        return None, None, raw
    head = raw[:end].decode("latin-1")
    status = head.split("\r\n", 1)[0]
    return status, head, raw[end + 4:]


def cmd_halfclose_http(args):
    sock = connect(args.host, args.port, args.timeout)
    req = ("GET %s HTTP/1.1\r\nHost: %s:%s\r\nConnection: close\r\n\r\n"
           % (args.path, args.host, args.port)).encode()
    sock.sendall(req)
    sock.shutdown(socket.SHUT_WR)
    raw, how = recv_until_eof(sock, time.monotonic() + args.timeout)
    if how != "eof":
        die("expected EOF after the response, got %s after %d bytes" % (how, len(raw)))
    status, head, body = split_response(raw)
    if status is None or " 200 " not in status + " ":
        die("bad response status: %r" % (status or raw[:80]))
    sha = hashlib.sha256(body).hexdigest()
    if sha != args.sha:
        die("body sha256 %s (%d bytes) != expected %s" % (sha, len(body), args.sha))
    print("halfclose-http: %d body bytes after SHUT_WR, sha ok" % len(body))


def send_tolerant(sock, data):
    """Send, but a peer that closes on us early is what some tests expect."""
    try:
        sock.sendall(data)
        return None
    except (BrokenPipeError, ConnectionResetError) as e:
        return e


def cmd_expect_close(args):
    data = payload(args)
    try:
        sock = socket.create_connection((args.host, args.port), timeout=args.timeout)
    except ConnectionResetError:
        #  A peer that accepts and aborts at once can reset the connection before
        #  connect() returns (seen under gVisor): that is a close too.
        print("expect-close: reset by peer during connect")
        return
    except OSError as e:
        die("connect to %s:%s failed: %s" % (args.host, args.port, e))
    err = send_tolerant(sock, data)
    got, how = recv_until_eof(sock, time.monotonic() + args.timeout, limit=1 << 20)
    if how not in ("eof", "reset"):
        die("peer kept the connection open (%s after %.1f s, %d bytes received)"
            % (how, args.timeout, len(got)))
    print("expect-close: sent %d bytes %r%s; closed by peer (%s%s), %d bytes received %r"
          % (len(data), data[:12], "..." if len(data) > 12 else "", how,
             ", send: %s" % err if err else "", len(got), got[:24]))


def cmd_expect_status(args):
    sock = connect(args.host, args.port, args.timeout)
    err = send_tolerant(sock, payload(args))
    got, how = recv_until_eof(sock, time.monotonic() + args.timeout, limit=1 << 20)
    status, head, _ = split_response(got)
    if status is None:
        die("no complete response head (%s, send: %s): %r" % (how, err, got[:200]))
    words = status.split()
    if len(words) < 2 or not words[0].startswith("HTTP/1.") or words[1] != str(args.code):
        die("expected status %d, got %r" % (args.code, status))
    if how not in ("eof", "reset"):
        die("got %r but the connection stayed open (%s)" % (status, how))
    print("expect-status: %r then close (%s)" % (status, how))


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


def recv_exact(sock, n, what):
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            die("connection closed during %s after %d bytes" % (what, len(data)))
        data += chunk
    return data


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


def aes_ctr(key, iv, data):
    """AES-CTR over the whole 128-bit counter block, as the wire protocol (and
    OpenSSL's EVP_aes_*_ctr) does it. Not in the stdlib: python3-cryptography,
    or else the openssl command."""
    try:
        from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
        return Cipher(algorithms.AES(key), modes.CTR(iv)).encryptor().update(data)
    except ImportError:
        pass
    try:
        out = subprocess.run(["openssl", "enc", "-aes-%d-ctr" % (len(key) * 8),
                              "-K", key.hex(), "-iv", iv.hex(), "-nosalt"],
                             input=data, capture_output=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired) as e:
        die("AES-CTR needs python3-cryptography or the openssl command: %s" % e)
    if out.returncode != 0 or len(out.stdout) != len(data):
        die("openssl enc failed: %r" % out.stderr[:200])
    return out.stdout


def cmd_fake_tunnel(args):
    key = bytes.fromhex(args.key)
    iv = os.urandom(16)
    hello = iv + hmac.new(key, iv, hashlib.sha1).digest()[:16]
    sock = connect(args.host, args.port, args.timeout)
    sock.sendall(hello)
    report = "fake-tunnel: correct hello sent"
    if args.expect_frame:
        #  The accepting end of an aggregated tunnel speaks first (a NOP frame),
        #  in the tunnel's cipher: the proof that our hello was taken.
        first, how = recv_until_eof(sock, time.monotonic() + args.first, limit=0)
        if not first:
            die("no frame from the peer within %.1f s after a correct hello (%s)" % (args.first, how))
        plain = aes_ctr(key, iv, first)
        if plain[0] > 4:
            die("the peer's first bytes decrypt to %s: not a mux frame (was the hello taken?)"
                % plain[:8].hex())
        report += "; the peer's first frame decrypts to mux command %d" % plain[0]
    garbage = b"\xff" + os.urandom(args.garbage - 1)
    err = send_tolerant(sock, aes_ctr(key, iv, garbage))
    got, how = recv_until_eof(sock, time.monotonic() + args.timeout, limit=1 << 20)
    if how not in ("eof", "reset"):
        die("the peer kept the corrupt tunnel open for %.1f s (%s)" % (args.timeout, how))
    report += "; %d bytes of garbage%s; closed by the peer (%s)" % (
        len(garbage), " (send: %s)" % err if err else "", how)
    print(report)


class CtrStream:
    """One direction of the tunnel's AES-CTR stream (PROTOCOL.md section 3),
    from its first byte: a keystream position that runs on across calls (and
    across a handover's sockets)."""

    def __init__(self, key, iv):
        self.key = key
        self.iv = int.from_bytes(iv, "big")
        self.pos = 0
        self.ks = b""
        self.ks_start = 0

    def apply(self, data):
        out = bytearray()
        i = 0
        while i < len(data):
            if self.pos >= self.ks_start + len(self.ks):
                block = self.pos // 16
                self.ks_start = block * 16
                iv = ((self.iv + block) % (1 << 128)).to_bytes(16, "big")
                self.ks = aes_ctr(self.key, iv, bytes(1 << 16))
            off = self.pos - self.ks_start
            n = min(len(data) - i, len(self.ks) - off)
            a = int.from_bytes(data[i:i + n], "little")
            b = int.from_bytes(self.ks[off:off + n], "little")
            out += (a ^ b).to_bytes(n, "little")
            i += n
            self.pos += n
        return bytes(out)


def mac(key, data, n):
    return hmac.new(key, data, hashlib.sha1).digest()[:n]


def inband_command(key, cmd):
    """MAC(8) || CMD(8), CMD = the command byte, zero-padded (section 4)."""
    body = bytes([cmd]) + bytes(7)
    return mac(key, body, 8) + body



def cmd_spec_mux_dialer(args):
    """As the original's local end: it sends no extension and no CLOSE_SOCKET."""
    key = bytes.fromhex(args.key)
    iv = os.urandom(16)
    sock = connect(args.host, args.port, 10)
    sock.sendall(iv + mac(key, iv, 16))
    up, down = CtrStream(key, iv), CtrStream(key, iv)
    buf = b""
    closed = set()
    got = {}
    def frames():
        nonlocal buf
        while True:
            if len(buf) < 3:
                return
            cmd = buf[0]
            if cmd in (1, 2):
                yield cmd, int.from_bytes(buf[1:3], "big"), b""
                buf = buf[3:]
            elif cmd == 0 or cmd == 4:
                if len(buf) < 4 or len(buf) < 4 + buf[3]:
                    return
                n = buf[3]
                yield cmd, int.from_bytes(buf[1:3], "big"), buf[4:4 + n]
                buf = buf[4 + n:]
            elif cmd == 3:
                if len(buf) < 5:
                    return
                n = int.from_bytes(buf[3:5], "big")
                if len(buf) < 5 + n:
                    return
                yield cmd, int.from_bytes(buf[1:3], "big"), buf[5:5 + n]
                buf = buf[5 + n:]
            else:
                die("the peer sent mux command %d" % cmd)
    def frame(cmd, sid, payload=b""):
        head = bytes([cmd]) + sid.to_bytes(2, "big")
        if cmd == 3:
            head += len(payload).to_bytes(2, "big")
        return head + payload
    for i in range(args.requests):
        sid = 100 + i
        request = (b"\x05\x01\x00" + b"\x05\x01\x00\x01\x7f\x00\x00\x01" + args.origin.to_bytes(2, "big")
                   + b"GET /file/f HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        sock.sendall(up.apply(frame(1, sid) + frame(3, sid, request)))
        got[sid] = b""
        deadline = time.monotonic() + 10
        while sid not in closed:
            sock.settimeout(max(0.05, deadline - time.monotonic()))
            try:
                data = sock.recv(65536)
            except socket.timeout:
                die("request %d: no CLOSE_SOCKET from the peer within 10 s after %d bytes"
                    % (i, len(got[sid])))
            if not data:
                die("the peer closed the tunnel")
            buf += down.apply(data)
            for cmd, fid, payload in frames():
                if cmd in (3, 4) and fid in got:
                    got[fid] += payload
                elif cmd == 2:
                    closed.add(fid)
        if b"HTTP/1." not in got[sid][:64]:
            die("request %d: no HTTP response in the stream: %r" % (i, got[sid][:32]))
    print("spec-mux-dialer: %d requests, each answered and ended by the peer's CLOSE_SOCKET"
          % args.requests)
    if args.hold:
        time.sleep(args.hold)       # the tunnel stays up while the caller looks
    sock.close()


def tap_scan(key, buf):
    """The naive scanner of section 4: at each offset, is [i, i+8) the MAC of
    [i+8, i+16)? Returns (data before, command CMD, rest) or None, and then
    how many leading bytes are decided data."""
    i = 0
    while i + 16 <= len(buf):
        if mac(key, bytes(buf[i + 8:i + 16]), 8) == bytes(buf[i:i + 8]):
            return (bytes(buf[:i]), bytes(buf[i + 8:i + 16]), bytes(buf[i + 16:])), i
        i += 1
    return None, i


def cmd_spec_dialer(args):
    """A dialing end written from PROTOCOL.md alone (hello, AES-CTR, the four
    handover steps with the naive scanner), against a distributed wormhole
    whose remote end relays to an echo server."""
    key = bytes.fromhex(args.key)
    extras = [int(p) for p in args.extra.split(",")]
    iv = os.urandom(16)
    ident = mac(key, iv, 16)                    # ID0
    cur = connect(args.host, args.port, args.timeout)
    cur.sendall(iv + ident)
    tx, rx = CtrStream(key, iv), CtrStream(key, iv)
    ident = mac(key, ident, 16)                 # ID1: presented at the first handover
    sent, got = bytearray(), bytearray()

    def read_echo(sock, want):
        deadline = time.monotonic() + args.timeout
        while len(got) < want:
            sock.settimeout(max(0.1, deadline - time.monotonic()))
            d = sock.recv(65536)
            if not d:
                die("the tunnel closed with %d of %d echoed bytes back" % (len(got), want))
            got.extend(rx.apply(d))

    for n in range(args.handovers):
        chunk = os.urandom(args.bytes)
        sent += chunk
        cur.sendall(tx.apply(chunk))            # in flight across the handover
        # Step 1: a new socket to an extra port, the ID in clear; tap the old one.
        s2 = connect(args.host, extras[n % len(extras)], args.timeout)
        s2.sendall(ident)
        tap = bytearray()
        deadline = time.monotonic() + args.timeout
        while True:
            cur.settimeout(max(0.1, deadline - time.monotonic()))
            d = cur.recv(65536)
            if not d:
                die("handover %d: the old connection closed before HO_R2L" % (n + 1))
            tap += rx.apply(d)
            found, decided = tap_scan(key, tap)
            if found:
                break
            got += tap[:decided]
            del tap[:decided]
        before, command, rest = found
        got += before
        if command != bytes([2]) + bytes(7):
            die("handover %d: expected HO_R2L, got the command %s" % (n + 1, command.hex()))
        if rest:
            die("handover %d: %d bytes after HO_R2L on the old connection" % (n + 1, len(rest)))
        # Step 3: HO_COMPLETE_L2R on the old socket, then everything on the new one.
        cur.sendall(tx.apply(inband_command(key, 4)))
        old, cur = cur, s2
        chunk = os.urandom(args.bytes // 4 + 1)
        sent += chunk
        cur.sendall(tx.apply(chunk))            # the acceptor holds these until step 4
        # Step 4 at the acceptor: it closes the old socket, which carries nothing more.
        d, how = recv_until_eof(old, time.monotonic() + args.timeout, limit=0)
        if d or how not in ("eof", "reset"):
            die("handover %d: the old connection gave %d more bytes and then %s" % (n + 1, len(d), how))
        old.close()
        ident = mac(key, ident, 16)
        read_echo(cur, len(sent))
        if bytes(got[:len(sent)]) != bytes(sent):
            die("handover %d: the echoed bytes differ from the ones sent" % (n + 1))
    chunk = os.urandom(args.bytes)
    sent += chunk
    cur.sendall(tx.apply(chunk))
    read_echo(cur, len(sent))
    if bytes(got) != bytes(sent):
        die("after %d handovers the echoed bytes differ" % args.handovers)
    print("spec-dialer: %d handovers, %d bytes echoed intact" % (args.handovers, len(sent)))


def cmd_spec_acceptor(args):
    """An accepting end written from PROTOCOL.md alone, for a distributed
    wormhole's dialing end under test: it checks the hello, echoes the
    stream, and takes every handover the dialer makes (the ID it must
    present, HO_R2L, the switch of writes, S2's bytes held until
    HO_COMPLETE_L2R, the old socket closed). A client of the dialer's users
    port sends random bytes meanwhile and checks the echo."""
    import select
    key = bytes.fromhex(args.key)
    listeners = []
    for port in (args.port, args.extra):
        l = socket.socket()
        l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        l.bind(("127.0.0.1", port))
        l.listen(8)
        listeners.append(l)
    main_l, extra_l = listeners
    if args.ready_file:
        write_ready(args.ready_file)
    client = connect("127.0.0.1", args.client_port, args.timeout)
    client.setblocking(False)
    end = time.monotonic() + args.seconds
    hard_end = end + args.timeout
    st = {"s1": None, "s2": None, "w": None, "tx": None, "rx": None, "id": None,
          "tap": None, "held": bytearray(), "handovers": 0, "held_eof": False,
          "client_done": False, "client_eof": False}
    sent, echoed = bytearray(), bytearray()
    pending = b""

    def echo(data):
        if data:
            st["w"].sendall(st["tx"].apply(data))

    while True:
        now = time.monotonic()
        if now > hard_end:
            die("spec-acceptor: %d of %d bytes echoed, %d handovers, when time ran out"
                % (len(echoed), len(sent), st["handovers"]))
        sending = (now < end or st["handovers"] < args.min_handovers) and not st["client_done"]
        if sending and not pending and st["s1"] is not None and len(sent) - len(echoed) < (1 << 20):
            pending = os.urandom(16384)
            sent += pending
        if (not sending and not pending and len(echoed) == len(sent) and st["tap"] is None
                and (st["client_eof"] or not args.fin_during_handover)):
            break
        rs = [main_l, extra_l, client] + [x for x in (st["s1"], st["s2"]) if x is not None]
        ws = [client] if pending else []
        r, w, _ = select.select(rs, ws, [], 0.05)
        if client in w and pending:
            try:
                n = client.send(pending)
                pending = pending[n:]
            except BlockingIOError:
                pass
        for sock in r:
            if sock is main_l:
                s1, _ = main_l.accept()
                if st["s1"] is not None:
                    die("a second tunnel connection on the main port")
                s1.settimeout(args.timeout)
                hello = recv_exact(s1, 32, "the dialer's hello")
                iv, id0 = hello[:16], hello[16:]
                if mac(key, iv, 16) != id0:
                    die("the dialer's hello carries a wrong ID0")
                st.update(s1=s1, w=s1, tx=CtrStream(key, iv), rx=CtrStream(key, iv),
                          id=mac(key, id0, 16))
            elif sock is extra_l:
                s2, _ = extra_l.accept()
                s2.settimeout(1)
                got = recv_exact(s2, 16, "a handover connection's 16-byte ID")
                if got != st["id"] or st["tap"] is not None:
                    die("handover %d: the dialer presented %s, expected %s"
                        % (st["handovers"] + 1, got.hex(), st["id"].hex()))
                if args.fin_during_handover and st["handovers"] + 1 == args.min_handovers:
                    # The user ends its side while the dialer waits for HO_R2L: the
                    # dialer owes a FIN, which must not end the old connection.
                    client.setblocking(True)
                    client.sendall(pending)
                    pending = b""
                    client.shutdown(socket.SHUT_WR)
                    client.setblocking(False)
                    st["client_done"] = True
                    time.sleep(0.3)
                # Step 2: tap S1, HO_R2L on S1, writes to S2, the next ID.
                st["tap"] = bytearray()
                st["s1"].sendall(st["tx"].apply(inband_command(key, 2)))
                st.update(s2=s2, w=s2, id=mac(key, st["id"], 16))
                st["held"] = bytearray()
            elif sock is client:
                try:
                    d = client.recv(65536)
                except BlockingIOError:
                    continue
                if not d:
                    if not st["client_done"]:
                        die("the dialer's users port closed the client")
                    st["client_eof"] = True
                    continue
                echoed += d
            elif sock is st["s2"] and st["tap"] is not None:
                d = sock.recv(65536)
                if not d:
                    st["held_eof"] = True       # the stream's end, behind the held bytes
                    continue
                st["held"] += d                 # held, undecrypted, until step 4
            elif sock is st["s1"]:
                d = sock.recv(65536)
                if not d:
                    if st["tap"] is not None or not st["client_done"]:
                        die("the tunnel closed%s" % (" during a handover" if st["tap"] is not None else ""))
                    st["s1"].shutdown(socket.SHUT_WR)     # the echo's end too
                    st["s1"] = None
                    continue
                plain = st["rx"].apply(d)
                if st["tap"] is None:
                    echo(plain)
                    continue
                st["tap"] += plain
                found, decided = tap_scan(key, st["tap"])
                if not found:
                    echo(bytes(st["tap"][:decided]))
                    del st["tap"][:decided]
                    continue
                before, command, rest = found
                echo(before)
                if command != bytes([4]) + bytes(7):
                    die("expected HO_COMPLETE_L2R, got the command %s" % command.hex())
                if rest:
                    die("%d bytes after HO_COMPLETE_L2R on the old connection" % len(rest))
                # Step 4: close S1, the held S2 bytes into the stream, S2 from now on.
                st["s1"].close()
                st.update(s1=st["s2"], s2=None, tap=None)
                echo(st["rx"].apply(bytes(st["held"])))
                st["handovers"] += 1
                if st["held_eof"]:
                    if not st["client_done"]:
                        die("the new connection ended although the user did not")
                    st["s1"].shutdown(socket.SHUT_WR)
                    st["s1"] = None
            elif sock is st["s2"]:
                pass
        if len(echoed) > len(sent) or bytes(echoed) != bytes(sent[:len(echoed)]):
            die("the echoed bytes differ from the ones sent (after %d handovers)" % st["handovers"])
    print("spec-acceptor: %d handovers, %d bytes echoed intact" % (st["handovers"], len(sent)))


# -- v2 prober / replayer (docs/PROTOCOL-v2.md sections 1 and 6) ------------
#
# A v2 server must treat every input that is not a fresh, authentic client
# flight alike: no byte back, the connection closed at a deadline drawn at
# accept. These tools make such inputs and measure the treatment: bytes back
# and the time to the close. Loopback only.

def loopback_target(target):
    """TARGET is PORT or 127.0.0.1:PORT (localhost too): (host, port)."""
    host, _, port = target.rpartition(":")
    if host not in ("", "127.0.0.1", "localhost"):
        die("target %r: loopback only (127.0.0.1)" % target)
    try:
        return "127.0.0.1", int(port)
    except ValueError:
        die("target %r: not PORT or 127.0.0.1:PORT" % target)


def relay_listener(port, port_file):
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", port))
    srv.listen(64)
    if port_file:
        write_ready_port(port_file, srv.getsockname()[1])
    return srv


def pump(src, dst, hook):
    """Copies src to dst until EOF, each chunk through hook(chunk) -> bytes;
    then half-closes dst (so a relay carries each direction's end). An
    error ends both."""
    try:
        while True:
            chunk = src.recv(65536)
            if not chunk:
                break
            chunk = hook(chunk)
            if chunk:
                dst.sendall(chunk)
        dst.shutdown(socket.SHUT_WR)
    except OSError:
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def run_relay(args, hooks_for):
    """Accepts on 127.0.0.1:LISTEN and relays each connection to TARGET;
    hooks_for(n) gives connection n's (client->server, server->client)
    chunk hooks. Runs until --seconds pass (or forever)."""
    host, port = loopback_target(args.target)
    srv = relay_listener(args.listen, args.port_file)
    end = time.monotonic() + args.seconds if args.seconds else None
    n = 0

    def serve(conn, n):
        try:
            up = socket.create_connection((host, port), timeout=10)
        except OSError:
            conn.close()
            return
        up.settimeout(None)
        conn.settimeout(None)
        c2s, s2c = hooks_for(n)
        t = threading.Thread(target=pump, args=(up, conn, s2c), daemon=True)
        t.start()
        pump(conn, up, c2s)
        t.join()
        conn.close()
        up.close()

    while end is None or time.monotonic() < end:
        srv.settimeout(0.2 if end is None else max(0.01, min(0.2, end - time.monotonic())))
        try:
            conn, _ = srv.accept()
        except socket.timeout:
            continue
        n += 1
        threading.Thread(target=serve, args=(conn, n), daemon=True).start()


def cmd_capture_relay(args):
    """Relays LISTEN -> TARGET and writes each connection's client->server
    bytes to OUT.N (N = 1, 2, ... in accept order), flushed chunk by chunk,
    so a test can replay a flight while its tunnel is still up."""
    def hooks_for(n):
        path = "%s.%d" % (args.out, n)
        open(path, "wb").close()        # the connection is there, bytes or not

        def c2s(chunk):
            with open(path, "ab") as f:
                f.write(chunk)
            return chunk
        return c2s, lambda chunk: chunk

    run_relay(args, hooks_for)


def bitflip_hook(offset, bit):
    """A hook that flips bit `bit` of the stream's byte at `offset` (counted
    from the first byte of the connection's direction it is on)."""
    state = {"at": 0}

    def hook(chunk):
        start = state["at"]
        state["at"] += len(chunk)
        if start <= offset < state["at"]:
            chunk = bytearray(chunk)
            chunk[offset - start] ^= 1 << bit
            chunk = bytes(chunk)
        return chunk
    return hook


def cmd_bitflip_relay(args):
    """Relays LISTEN <-> TARGET both ways, flipping one bit of each
    connection's server->client stream (--direction c2s: client->server) at
    byte OFFSET; with --only N, only connection N's (in accept order)."""
    def hooks_for(n):
        same = lambda chunk: chunk                          # noqa: E731
        if args.only and n != args.only:
            return same, same
        flip = bitflip_hook(args.offset, args.bit)
        return (flip, same) if args.direction == "c2s" else (same, flip)
    run_relay(args, hooks_for)


class ResetRelay:
    """The state of reset-relay: the SIGUSR1 generation and the event log."""

    def __init__(self, args):
        self.args = args
        self.generation = 0
        self.lock = threading.Lock()

    def say(self, *fields):
        with self.lock:
            sys.stdout.write(" ".join(str(f) for f in fields) + "\n")
            sys.stdout.flush()


def hard_close(*socks):
    """Closes with SO_LINGER 0: the peer gets a RST, not a FIN."""
    for s in socks:
        try:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass
        s.close()


def reset_relay_serve(state, conn, up, n):
    """One connection of reset-relay: both directions in one select loop over
    non-blocking sockets (so that a cut never waits for a blocked send)."""
    args = state.args
    gen = state.generation
    ends = {"c2s": (conn, up), "s2c": (up, conn)}
    buf = {"c2s": bytearray(), "s2c": bytearray()}
    count = {"c2s": 0, "s2c": 0}
    eof = {"c2s": False, "s2c": False}
    shut = {"c2s": False, "s2c": False}
    for s in (conn, up):
        s.setblocking(False)
    state.say("accept", int(time.time() * 1000), n)

    def cut(why):
        hard_close(conn, up)
        state.say("reset", int(time.time() * 1000), n, count["c2s"], count["s2c"], why)

    while True:
        if state.generation != gen:
            return cut("signal")
        if args.after and (not args.only or args.only == n) and count[args.direction] >= args.after:
            return cut("after")
        if shut["c2s"] and shut["s2c"]:
            conn.close()
            up.close()
            state.say("end", int(time.time() * 1000), n, count["c2s"], count["s2c"])
            return
        rl = [ends[d][0] for d in ends if not eof[d] and len(buf[d]) < (256 << 10)]
        wl = [ends[d][1] for d in ends if buf[d]]
        try:
            r, w, _ = select.select(rl, wl, [], 0.1)
        except (OSError, ValueError):
            return cut("select")
        for d, (src, dst) in ends.items():
            if src in r:
                try:
                    chunk = src.recv(65536)
                except (BlockingIOError, InterruptedError):
                    chunk = None
                except OSError:
                    return cut("peer-reset")        # a reset is passed on as a reset
                if chunk == b"":
                    eof[d] = True
                elif chunk:
                    buf[d] += chunk
                    count[d] += len(chunk)
            if dst in w and buf[d]:
                try:
                    sent = dst.send(buf[d])
                    del buf[d][:sent]
                except (BlockingIOError, InterruptedError):
                    pass
                except OSError:
                    return cut("peer-reset")
            if eof[d] and not buf[d] and not shut[d]:
                try:
                    dst.shutdown(socket.SHUT_WR)    # a FIN is passed on as a FIN
                except OSError:
                    pass
                shut[d] = True


def cmd_reset_relay(args):
    """Relays LISTEN <-> TARGET; cuts connections with a RST to both sides on
    SIGUSR1 (all those open) or after --after bytes in --direction."""
    host, port = loopback_target(args.target)
    state = ResetRelay(args)

    def on_usr1(signum, frame):
        state.generation += 1
    signal.signal(signal.SIGUSR1, on_usr1)
    srv = relay_listener(args.listen, args.port_file)
    end = time.monotonic() + args.seconds if args.seconds else None
    n = 0

    def serve(conn, n):
        try:
            up = socket.create_connection((host, port), timeout=10)
        except OSError:
            hard_close(conn)
            state.say("refused", int(time.time() * 1000), n)
            return
        reset_relay_serve(state, conn, up, n)

    while end is None or time.monotonic() < end:
        srv.settimeout(0.2 if end is None else max(0.01, min(0.2, end - time.monotonic())))
        try:
            conn, _ = srv.accept()
        except socket.timeout:
            continue
        except InterruptedError:
            continue
        n += 1
        threading.Thread(target=serve, args=(conn, n), daemon=True).start()


def cmd_pace(args):
    """FILE to stdout at RATE bytes/s; a reader that goes away ends it quietly."""
    start, sent = time.monotonic(), 0
    out = sys.stdout.buffer
    with open(args.file, "rb") as f:
        while True:
            chunk = f.read(65536)
            if not chunk:
                break
            try:
                out.write(chunk)
                out.flush()
            except BrokenPipeError:
                os._exit(0)
            sent += len(chunk)
            time.sleep(max(0.0, start + sent / args.rate - time.monotonic()))


def send_and_watch(host, port, data, wait):
    """Connects, sends data (a peer that closes early is part of what we
    measure), reads until the peer closes or `wait` seconds pass. Returns the
    report: bytes sent and received, how the connection ended, and when
    (ms after connect() was called, so never less than the server's delay
    from its accept; null if the peer kept it open)."""
    start = time.monotonic()
    try:
        sock = socket.create_connection((host, port), timeout=10)
    except ConnectionResetError:
        return {"sent": 0, "received": 0, "how": "reset", "closed_ms": 0}
    except OSError as e:
        die("connect to %s:%s failed: %s" % (host, port, e))
    err = send_tolerant(sock, data)
    got, how = recv_until_eof(sock, start + wait, limit=1 << 24)
    elapsed = int((time.monotonic() - start) * 1000)
    sock.close()
    return {"sent": 0 if err else len(data), "received": len(got), "how": how,
            "closed_ms": elapsed if how in ("eof", "reset") else None,
            "first_bytes": got[:16].hex(), "send_error": str(err) if err else None}


def cmd_replay(args):
    """Sends FILE's bytes (a capture-relay recording; --bytes N: its first N)
    to HOST PORT again; prints the report as one JSON line."""
    import json
    with open(args.file, "rb") as f:
        data = f.read()
    if args.bytes is not None:
        data = data[:args.bytes]
    host, port = loopback_target("%s:%d" % (args.host, args.port))

    def one():
        report = send_and_watch(host, port, data, args.wait)
        report["cmd"] = "replay"
        return report
    run_parallel(args.parallel, one)


def probe_payload(kind, args):
    name, _, n = kind.partition("-")
    if name in ("random", "zeros"):
        try:
            size = int(n)
        except ValueError:
            die("probe kind %r: random-N or zeros-N" % kind)
        if name == "zeros":
            return bytes(size)
        data = os.urandom(size)
        #  As payload() does: never a SOCKS version byte first.
        if data and data[0] in (4, 5):
            data = b"\xff" + data[1:]
        return data
    if kind == "flipped":
        if args.file is None or args.offset is None:
            die("probe flipped needs --file F --offset O")
        with open(args.file, "rb") as f:
            data = bytearray(f.read())
        if args.bytes is not None:
            data = data[:args.bytes]
        if not 0 <= args.offset < len(data):
            die("offset %d outside the %d recorded bytes" % (args.offset, len(data)))
        data[args.offset] ^= 1 << args.bit
        return bytes(data)
    die("unknown probe kind %r (random-N, zeros-N, flipped)" % kind)


def cmd_v2_probe(args):
    """Sends one kind of non-client input to HOST PORT and prints the report
    as one JSON line: random-N (N random bytes), zeros-N (N zero bytes),
    flipped (FILE's bytes with bit --bit of byte --offset flipped)."""
    host, port = loopback_target("%s:%d" % (args.host, args.port))

    def one():
        #  A payload per connection: random-N differs every time.
        report = send_and_watch(host, port, probe_payload(args.kind, args), args.wait)
        report["cmd"] = "v2-probe"
        report["kind"] = args.kind
        return report
    run_parallel(args.parallel, one)


def run_parallel(n, one):
    """Runs one() on n connections at once (threads) and prints each report
    as a JSON line, in completion order. A connection that fails to connect
    prints {"error": ...} rather than ending the others."""
    import json
    lock = threading.Lock()

    def runner():
        try:
            report = one()
        except BaseException as e:          # die() in a thread is SystemExit
            report = {"error": "%s: %s" % (type(e).__name__, e)}
        with lock:
            sys.stdout.write(json.dumps(report, sort_keys=True) + "\n")
            sys.stdout.flush()
    if n <= 1:
        runner()
        return
    threads = [threading.Thread(target=runner, daemon=True) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


# -- v2 first flights, made and opened here (docs/PROTOCOL-v2.md 2-4) -------
#
# Written from the spec, as test/vectors/gen_v2_vectors.py is (which checks
# the same primitives against published vectors): so a test can send an
# authentic flight with any time (a stale one, a future one) or key, and tell
# a server's real answer from silence.

V2_HELLO, V2_DATA, V2_PADDING = 1, 0, 2
V2_KINDS = {"tunnel": 1, "handover": 2, "server": 3}


def v2_crypto():
    try:
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM, ChaCha20Poly1305
        from cryptography.hazmat.primitives.kdf.hkdf import HKDF
    except ImportError:
        die("v2 flights need python3-cryptography")
    return hashes, Cipher, algorithms, modes, AESGCM, ChaCha20Poly1305, HKDF


class V2Dir:
    """One direction's records (section 3): 64-byte key, record counter."""

    def __init__(self, suite, key64):
        _, Cipher, algorithms, modes, AESGCM, ChaCha20Poly1305, _ = v2_crypto()
        self.suite, self.i = suite, 0
        self.mask_key = key64[32:]
        self.aead = (AESGCM if suite == "aes-256-gcm" else ChaCha20Poly1305)(key64[:32])
        self._cipher, self._alg, self._modes = Cipher, algorithms, modes

    @staticmethod
    def nonce(i):
        return bytes(4) + struct.pack(">Q", i)

    def mask(self, i):
        if self.suite == "aes-256-gcm":
            enc = self._cipher(self._alg.AES(self.mask_key), self._modes.ECB()).encryptor()
            return (enc.update(self.nonce(i) + bytes(4)) + enc.finalize())[:2]
        enc = self._cipher(self._alg.ChaCha20(self.mask_key, bytes(4) + self.nonce(i)),
                           mode=None).encryptor()
        return enc.update(bytes(2))

    def seal(self, rtype, body):
        plain = bytes([rtype]) + body
        m = self.mask(self.i)
        ml = bytes(a ^ b for a, b in zip(struct.pack(">H", len(plain)), m))
        out = ml + self.aead.encrypt(self.nonce(self.i), plain, ml)
        self.i += 1
        return out

    def record_len(self, buf):
        """The wire length of the record at the start of buf (None: need 2 bytes)."""
        if len(buf) < 2:
            return None
        m = self.mask(self.i)
        length = ((buf[0] ^ m[0]) << 8) | (buf[1] ^ m[1])
        if not 1 <= length <= 16384:
            raise ValueError("record %d: length %d out of range" % (self.i, length))
        return 2 + length + 16

    def open(self, wire):
        """Opens the next record, the whole of wire: (type, body)."""
        plain = self.aead.decrypt(self.nonce(self.i), bytes(wire[2:]), bytes(wire[:2]))
        self.i += 1
        return plain[0], plain[1:]


def v2_hkdf(ikm, salt, info, length=64):
    hashes, _, _, _, _, _, HKDF = v2_crypto()
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=salt, info=info).derive(ikm)


def v2_c2s(suite, key, cs):
    return V2Dir(suite, v2_hkdf(key, cs, b"mimicsocks v2 c2s"))


def v2_s2c(suite, key, ss, cs):
    return V2Dir(suite, v2_hkdf(key, ss, b"mimicsocks v2 s2c" + cs))


def v2_client_flight(suite, key, kind, when, pad, ident=None):
    """(cs, c2s direction after record 0, the flight's bytes)."""
    cs = os.urandom(32)
    body = bytes([2, V2_KINDS[kind]]) + struct.pack(">Q", when)
    if kind == "handover":
        body += ident if ident is not None else os.urandom(16)
    tx = v2_c2s(suite, key, cs)
    return cs, tx, cs + tx.seal(V2_HELLO, body + bytes(pad))


def v2_key(args):
    try:
        key = bytes.fromhex(args.key)
    except ValueError:
        die("--key: not hex")
    if len(key) not in (16, 24, 32):
        die("--key: %d bytes, not 16, 24 or 32" % len(key))
    return key


def recv_n(sock, buf, n, deadline):
    """Reads into buf until it holds n bytes; False on EOF or timeout."""
    while len(buf) < n:
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        sock.settimeout(left)
        try:
            chunk = sock.recv(65536)
        except (socket.timeout, ConnectionResetError):
            return False
        if not chunk:
            return False
        buf += chunk
    return True


def v2_serve_check(host, port, key, args, data, cs, tx):
    """Sends a flight that should be served; the peer's first bytes must be
    ss || a server HELLO (kind 3, version 2) under s2c(ss, cs). Returns the
    report, with server_flight (its length on the wire), or dies."""
    sock = connect(host, port, 10)
    start = time.monotonic()
    deadline = start + args.wait
    sock.sendall(data)
    buf = bytearray()
    if not recv_n(sock, buf, 34, deadline):
        die("no server flight: %d bytes, then EOF or %.1f s of silence" % (len(buf), args.wait))
    ss = bytes(buf[:32])
    rx = v2_s2c(args.suite, key, ss, cs)
    try:
        n = rx.record_len(buf[32:])
        if not recv_n(sock, buf, 32 + n, deadline):
            die("the server flight was cut after %d of %d bytes" % (len(buf), 32 + n))
        rtype, body = rx.open(buf[32:32 + n])
    except ValueError as e:
        die("the server's first bytes are no server flight of this key: %s" % e)
    except Exception as e:                    # cryptography's InvalidTag
        die("the server's record 0 does not open (%s)" % type(e).__name__)
    if rtype != V2_HELLO or len(body) < 10 or body[0] != 2 or body[1] != V2_KINDS["server"]:
        die("the server's record 0 is no server HELLO (type %d, body %s...)"
            % (rtype, body[:10].hex()))
    report = {"cmd": "v2-flight", "sent": len(data), "server_flight": 32 + n,
              "server_time_skew": struct.unpack(">Q", body[2:10])[0] - int(time.time()),
              "server_pad": len(body) - 10, "ms": int((time.monotonic() - start) * 1000)}
    if args.socks:
        #  Service, not just a hello: a SOCKS5 greeting in a DATA record gets
        #  the method reply in one (PADDING records may come first).
        sock.sendall(tx.seal(V2_DATA, b"\x05\x01\x00"))
        rest = buf[32 + n:]
        got = b""
        while len(got) < 2:
            n = rx.record_len(rest) if len(rest) >= 2 else None
            if n is None or len(rest) < n:
                if not recv_n(sock, rest, n or 2, deadline):
                    die("no SOCKS5 reply record after the server flight")
                continue
            rtype, body = rx.open(rest[:n])
            del rest[:n]
            if rtype == V2_DATA:
                got += body
            elif rtype != V2_PADDING:
                die("record type %d after the server flight" % rtype)
        if got[:2] != b"\x05\x00":
            die("the SOCKS5 method reply is %s, not 0500" % got.hex())
        report["socks_reply"] = got.hex()
    sock.close()
    return report


def cmd_v2_flight(args):
    """Sends a client first flight made here: the wormhole's --key (or any
    other: a wrong-key flight), dated now - --age seconds, of --kind; then
    as v2-probe (the JSON of bytes back and the close), or with
    --expect-server, checks that the server answers with its flight."""
    key = v2_key(args)
    host, port = loopback_target("%s:%d" % (args.host, args.port))

    def one():
        pad = args.pad if args.pad is not None else 16 + int.from_bytes(os.urandom(2), "big") % 1008
        cs, tx, data = v2_client_flight(args.suite, key, args.kind, int(time.time()) - args.age, pad)
        if args.expect_server:
            return v2_serve_check(host, port, key, args, data, cs, tx)
        report = send_and_watch(host, port, data, args.wait)
        report.update(cmd="v2-flight", age=args.age, flight_kind=args.kind)
        return report
    run_parallel(args.parallel, one)


def cmd_v2_open(args):
    """Parses the client flight at the start of FILE (a capture-relay
    recording) with --key: one JSON line, its length on the wire etc."""
    import json
    key = v2_key(args)
    with open(args.file, "rb") as f:
        data = f.read()
    if len(data) < 34:
        die("%s: %d bytes, too short for a flight" % (args.file, len(data)))
    rx = v2_c2s(args.suite, key, data[:32])
    try:
        n = rx.record_len(data[32:])
        if len(data) < 32 + n:
            die("%s: the flight is cut (%d of %d bytes)" % (args.file, len(data), 32 + n))
        rtype, body = rx.open(data[32:32 + n])
    except ValueError as e:
        die("%s: not a v2 flight of this key: %s" % (args.file, e))
    except Exception as e:
        die("%s: record 0 does not open (%s)" % (args.file, type(e).__name__))
    if rtype != V2_HELLO or len(body) < 10 or body[0] != 2:
        die("%s: record 0 is no HELLO" % args.file)
    kind = {v: k for k, v in V2_KINDS.items()}.get(body[1], str(body[1]))
    fixed = 10 + (16 if kind == "handover" else 0)
    print(json.dumps({"flight_len": 32 + n, "kind": kind, "total": len(data),
                      "time": struct.unpack(">Q", body[2:10])[0], "pad": len(body) - fixed},
                     sort_keys=True))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)

    p = sub.add_parser("free-ports")
    p.add_argument("n", type=int)
    p.add_argument("--v6", action="store_true")
    p.set_defaults(fn=cmd_free_ports)

    p = sub.add_parser("has-ipv6")
    p.set_defaults(fn=cmd_has_ipv6)

    p = sub.add_parser("echo-server")
    p.add_argument("--bind", default="127.0.0.1")
    p.add_argument("--port-file", required=True)
    p.set_defaults(fn=cmd_echo_server)

    p = sub.add_parser("halfclose-echo")
    p.add_argument("host")
    p.add_argument("port", type=int)
    p.add_argument("size", type=int)
    p.add_argument("--timeout", type=float, default=30)
    p.set_defaults(fn=cmd_halfclose_echo)

    p = sub.add_parser("echo-roundtrip")
    p.add_argument("host")
    p.add_argument("port", type=int)
    p.add_argument("size", type=int)
    p.add_argument("--timeout", type=float, default=30)
    p.set_defaults(fn=cmd_echo_roundtrip)

    p = sub.add_parser("halfclose-http")
    p.add_argument("host")
    p.add_argument("port", type=int)
    p.add_argument("path")
    p.add_argument("sha")
    p.add_argument("--timeout", type=float, default=30)
    p.set_defaults(fn=cmd_halfclose_http)

    for name, fn in (("expect-close", cmd_expect_close), ("expect-status", cmd_expect_status)):
        p = sub.add_parser(name)
        p.add_argument("host")
        p.add_argument("port", type=int)
        if name == "expect-status":
            p.add_argument("code", type=int)
        g = p.add_mutually_exclusive_group(required=True)
        g.add_argument("--hex")
        g.add_argument("--text", help="backslash escapes allowed, e.g. \\r\\n")
        if name == "expect-close":
            g.add_argument("--random", type=int, metavar="N")
            g.add_argument("--line", type=int, metavar="N",
                           help="a request line with an N-byte path and no end of head")
        p.add_argument("--timeout", type=float, default=10)
        p.set_defaults(fn=fn)

    p = sub.add_parser("stall-socks5")
    p.add_argument("proxy_port", type=int)
    p.add_argument("host")
    p.add_argument("port", type=int)
    p.add_argument("path")
    p.add_argument("--ready-file", required=True)
    p.add_argument("--hold", type=float, default=120)
    p.set_defaults(fn=cmd_stall_socks5)

    p = sub.add_parser("socks5-refused")
    p.add_argument("proxy_port", type=int)
    p.add_argument("host")
    p.add_argument("port", type=int)
    p.add_argument("--timeout", type=float, default=10)
    p.set_defaults(fn=cmd_socks5_refused)

    p = sub.add_parser("hold")
    p.add_argument("host")
    p.add_argument("port", type=int)
    p.add_argument("--hex", required=True)
    p.add_argument("--ready-file", required=True)
    p.add_argument("--hold", type=float, default=120)
    p.set_defaults(fn=cmd_hold)

    p = sub.add_parser("exec-sigdefault")
    p.add_argument("prog")
    p.add_argument("args", nargs=argparse.REMAINDER)
    p.set_defaults(fn=cmd_exec_sigdefault)

    p = sub.add_parser("probe")
    p.add_argument("host")
    p.add_argument("port", type=int)
    p.add_argument("--random", type=int, metavar="N", default=0)
    p.add_argument("--silent", type=float, required=True)
    p.add_argument("--close-by", type=float)
    p.set_defaults(fn=cmd_probe)

    p = sub.add_parser("fake-tunnel")
    p.add_argument("host")
    p.add_argument("port", type=int)
    p.add_argument("--key", required=True, help="the wormhole key in hex")
    p.add_argument("--expect-frame", action="store_true")
    p.add_argument("--first", type=float, default=5, help="seconds to wait for that frame")
    p.add_argument("--garbage", type=int, default=4096)
    p.add_argument("--timeout", type=float, default=10)
    p.set_defaults(fn=cmd_fake_tunnel)

    p = sub.add_parser("spec-mux-dialer")
    p.add_argument("host")
    p.add_argument("port", type=int)
    p.add_argument("--key", required=True)
    p.add_argument("--origin", type=int, required=True, help="the origin's port on 127.0.0.1")
    p.add_argument("--requests", type=int, default=20)
    p.add_argument("--hold", type=float, default=0, help="keep the tunnel open S s after")
    p.set_defaults(fn=cmd_spec_mux_dialer)

    p = sub.add_parser("spec-dialer")
    p.add_argument("host")
    p.add_argument("port", type=int)
    p.add_argument("--extra", required=True, help="the extra ports, comma-separated")
    p.add_argument("--key", required=True, help="the wormhole key in hex")
    p.add_argument("--handovers", type=int, default=5)
    p.add_argument("--bytes", type=int, default=65536, help="bytes in flight at each handover")
    p.add_argument("--timeout", type=float, default=10)
    p.set_defaults(fn=cmd_spec_dialer)

    p = sub.add_parser("spec-acceptor")
    p.add_argument("--port", type=int, required=True, help="the main port (wormhole_remote)")
    p.add_argument("--extra", type=int, required=True, help="the extra port")
    p.add_argument("--client-port", type=int, required=True, help="the dialer's users port")
    p.add_argument("--key", required=True, help="the wormhole key in hex")
    p.add_argument("--seconds", type=float, default=5, help="how long the client sends")
    p.add_argument("--min-handovers", type=int, default=3)
    p.add_argument("--fin-during-handover", action="store_true",
                   help="the client half-closes while the dialer waits for the last HO_R2L")
    p.add_argument("--ready-file")
    p.add_argument("--timeout", type=float, default=15)
    p.set_defaults(fn=cmd_spec_acceptor)

    for name, fn in (("capture-relay", cmd_capture_relay), ("bitflip-relay", cmd_bitflip_relay)):
        p = sub.add_parser(name)
        p.add_argument("listen", type=int, help="the port to listen on (0: any, see --port-file)")
        p.add_argument("target", help="PORT or 127.0.0.1:PORT to relay to")
        if name == "capture-relay":
            p.add_argument("--out", required=True, help="connection N's client bytes go to OUT.N")
        else:
            p.add_argument("offset", type=int, help="the byte to change")
            p.add_argument("--bit", type=int, default=0, choices=range(8))
            p.add_argument("--direction", choices=("s2c", "c2s"), default="s2c",
                           help="the stream to change: server->client (default) or back")
            p.add_argument("--only", type=int, default=0,
                           help="change only connection N (1, 2, ... in accept order; 0: all)")
        p.add_argument("--port-file", help="where to write the listening port once ready")
        p.add_argument("--seconds", type=float, default=0, help="stop after S s (0: never)")
        p.set_defaults(fn=fn)

    p = sub.add_parser("pace")
    p.add_argument("file")
    p.add_argument("rate", type=float, help="bytes per second")
    p.set_defaults(fn=cmd_pace)

    p = sub.add_parser("reset-relay")
    p.add_argument("listen", type=int, help="the port to listen on (0: any, see --port-file)")
    p.add_argument("target", help="PORT or 127.0.0.1:PORT to relay to")
    p.add_argument("--after", type=int, default=0,
                   help="cut a connection once its DIRECTION carried N bytes (0: only on SIGUSR1)")
    p.add_argument("--direction", choices=("s2c", "c2s"), default="s2c")
    p.add_argument("--only", type=int, default=0,
                   help="--after applies to connection N only (1, 2, ... in accept order; 0: all)")
    p.add_argument("--port-file", help="where to write the listening port once ready")
    p.add_argument("--seconds", type=float, default=0, help="stop after S s (0: never)")
    p.set_defaults(fn=cmd_reset_relay)

    p = sub.add_parser("replay")
    p.add_argument("file")
    p.add_argument("host")
    p.add_argument("port", type=int)
    p.add_argument("--bytes", type=int, help="only the first N recorded bytes")
    p.add_argument("--wait", type=float, default=10, help="how long to wait for a close")
    p.add_argument("--parallel", type=int, default=1, help="N connections at once")
    p.set_defaults(fn=cmd_replay)

    p = sub.add_parser("v2-probe")
    p.add_argument("kind", help="random-N, zeros-N or flipped")
    p.add_argument("host")
    p.add_argument("port", type=int)
    p.add_argument("--file", help="flipped: the recorded flight")
    p.add_argument("--bytes", type=int, help="flipped: only the first N recorded bytes")
    p.add_argument("--offset", type=int, help="flipped: the byte to change")
    p.add_argument("--bit", type=int, default=0, choices=range(8))
    p.add_argument("--wait", type=float, default=10, help="how long to wait for a close")
    p.add_argument("--parallel", type=int, default=1, help="N connections at once")
    p.set_defaults(fn=cmd_v2_probe)

    p = sub.add_parser("v2-flight")
    p.add_argument("host")
    p.add_argument("port", type=int)
    p.add_argument("--key", required=True, help="the key in hex (any other: a wrong-key flight)")
    p.add_argument("--suite", choices=("aes-256-gcm", "chacha20-poly1305"), default="aes-256-gcm")
    p.add_argument("--kind", choices=("tunnel", "handover"), default="tunnel",
                   help="handover: with a random (unregistered) ID")
    p.add_argument("--age", type=int, default=0,
                   help="date the flight S seconds ago (negative: in the future)")
    p.add_argument("--pad", type=int, help="padding bytes (default: random 16..1023)")
    p.add_argument("--expect-server", action="store_true",
                   help="the peer must answer with an authentic server flight")
    p.add_argument("--socks", action="store_true",
                   help="with --expect-server: then a SOCKS5 greeting must get 05 00")
    p.add_argument("--wait", type=float, default=10, help="how long to wait for a close")
    p.add_argument("--parallel", type=int, default=1, help="N connections at once")
    p.set_defaults(fn=cmd_v2_flight)

    p = sub.add_parser("v2-open")
    p.add_argument("file")
    p.add_argument("--key", required=True)
    p.add_argument("--suite", choices=("aes-256-gcm", "chacha20-poly1305"), default="aes-256-gcm")
    p.set_defaults(fn=cmd_v2_open)

    args = ap.parse_args()
    try:
        args.fn(args)
    except socket.timeout:
        die("%s: timed out" % args.cmd)
    except OSError as e:
        die("%s: %s" % (args.cmd, e))
    return 0


if __name__ == "__main__":
    sys.exit(main())
