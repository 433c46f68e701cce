"""tools_v2 — tools.py's protocol v2 probers and flights: replay and v2-probe
(inputs a v2 server must treat alike, and the treatment measured), v2-flight
and v2-open (client first flights made and opened from PROTOCOL-v2.md, with
python3-cryptography, imported lazily)."""

import os
import socket
import struct
import sys
import threading
import time

from tools_common import connect, die, loopback_target, recv_until_eof, send_tolerant


# -- v2 prober / replayer (docs/PROTOCOL-v2.md sections 1 and 6) ------------
#
# A v2 server must treat every input that is not a fresh, authentic client
# flight alike: no byte back, the connection closed at a deadline drawn at
# accept. These tools make such inputs and measure the treatment: bytes back
# and the time to the close. Loopback only.


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


def cmd_probe_stats(args):
    """Reads DIR/p-KIND.json (the reports of replay / v2-probe --parallel N)
    for each KIND: every probe must get no byte back and be closed within
    the delay window [LO, HI] ms (--late ms of margin above, a second by
    default, for a loaded machine), all kinds the same way (FIN or reset), the closes spread as a
    uniform [LO, HI] would be (not all in the first quarter nor all in the
    last eighth, the mean within [LO + 10%, HI]). Prints a table; exits 1
    with the reasons on stderr if the probes can be told apart."""
    import json
    lo, hi, span = args.lo, args.hi, args.hi - args.lo
    bad, hows = [], set()
    print("%-16s %3s %6s %6s %6s %4s %5s" % ("kind", "n", "min", "mean", "max", "fin", "reset"))
    for kind in args.kinds:
        with open("%s/p-%s.json" % (args.dir, kind)) as f:
            rows = [json.loads(l) for l in f if l.strip()]
        errs = [r["error"] for r in rows if "error" in r]
        rows = [r for r in rows if "error" not in r]
        if errs:
            bad.append("%s: %s" % (kind, errs[0]))
        if len(rows) != args.n:
            bad.append("%s: %d reports, expected %d" % (kind, len(rows), args.n))
            continue
        for r in rows:
            if r["received"]:
                bad.append("%s: %d bytes came back (%s...)" % (kind, r["received"], r["first_bytes"]))
            if r["closed_ms"] is None:
                bad.append("%s: the connection stayed open (%s)" % (kind, r["how"]))
        t = [r["closed_ms"] for r in rows if r["closed_ms"] is not None]
        hows.update(r["how"] for r in rows)
        if not t:
            continue
        mean = sum(t) / len(t)
        print("%-16s %3d %6.3f %6.3f %6.3f %4d %5d" % (
            kind, len(t), min(t) / 1e3, mean / 1e3, max(t) / 1e3,
            sum(r["how"] == "eof" for r in rows), sum(r["how"] == "reset" for r in rows)))
        if min(t) < lo - 5 or max(t) > hi + args.late:
            bad.append("%s: a close outside %d..%d ms (min %d, max %d)" % (kind, lo, hi + args.late, min(t), max(t)))
        if max(t) < lo + span / 4 or min(t) > lo + span * 7 / 8:
            bad.append("%s: all %d closes at one end of the window" % (kind, len(t)))
        if not lo + span / 10 <= mean <= hi + 50:
            bad.append("%s: mean close %.0f ms outside %d..%d" % (kind, mean, lo + span / 10, hi + 50))
    if len(hows) > 1:
        bad.append("the kinds are closed in different ways: %s" % sorted(hows))
    for b in bad:
        sys.stderr.write(b + "\n")
    sys.exit(1 if bad else 0)


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
    if kind == "v1-hello":
        #  A fresh, correct v1 hello and nothing more (an original peer that
        #  waits for the other end to speak; a prober that made one).
        from tools_v1 import mac
        if not args.key:
            die("probe %s needs --key" % kind)
        key = bytes.fromhex(args.key)
        iv = os.urandom(16)
        return iv + mac(key, iv, 16)
    if kind.startswith("v1-garbage-"):
        #  A fresh, correct v1 hello, then N bytes that decrypt to garbage
        #  (first byte 0xff: no SOCKS version, no mux command).
        from tools_v1 import aes_ctr, mac
        if not args.key:
            die("probe %s needs --key" % kind)
        key = bytes.fromhex(args.key)
        iv = os.urandom(16)
        garbage = b"\xff" + os.urandom(int(kind[len("v1-garbage-"):]) - 1)
        return iv + mac(key, iv, 16) + aes_ctr(key, iv, garbage)
    die("unknown probe kind %r (random-N, zeros-N, flipped, v1-hello, v1-garbage-N)" % kind)


def cmd_v2_probe(args):
    """Sends one kind of non-client input to HOST PORT and prints the report
    as one JSON line: random-N (N random bytes), zeros-N (N zero bytes),
    flipped (FILE's bytes with bit --bit of byte --offset flipped),
    v1-hello (a fresh, correct v1 hello made with --key, alone), v1-garbage-N
    (the same hello, then N bytes of garbage in its cipher)."""
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
