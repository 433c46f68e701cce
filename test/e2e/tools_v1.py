"""tools_v1 — tools.py's peers of protocol v1 written from PROTOCOL.md alone:
fake-tunnel (a correct hello, then garbage), spec-mux-dialer (an original
aggregated dialing end), spec-dialer and spec-acceptor (the handover's four
steps, the naive in-band scanner), with AES-CTR (CtrStream) and the HMACs
they need. AES-CTR takes python3-cryptography (imported lazily) or the
openssl command."""

import hashlib
import hmac
import os
import select
import socket
import subprocess
import time

from tools_common import (connect, die, payload, recv_exact, recv_until_eof, send_tolerant,
                          write_ready)


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
    iv = orig_iv(key)
    hello = iv + hmac.new(key, iv, hashlib.sha1).digest()[:16]
    up = CtrStream(key, iv)
    sock = connect(args.host, args.port, args.timeout)
    report = "fake-tunnel: correct hello sent"
    if args.expect_frame:
        #  As a C dialing end: the extension's hello (a NOP frame) proves the
        #  tunnel, and the accepting end answers with its own, in the
        #  tunnel's cipher: the proof that our hello was taken.
        sock.sendall(hello + up.apply(bytes([0, 0x6d, 0x78, 2, 1, 1])))
        first, how = recv_until_eof(sock, time.monotonic() + args.first, limit=0)
        if not first:
            die("no frame from the peer within %.1f s after a correct hello (%s)" % (args.first, how))
        plain = CtrStream(key, iv).apply(first)
        if plain[0] > 4:
            die("the peer's first bytes decrypt to %s: not a mux frame (was the hello taken?)"
                % plain[:8].hex())
        report += "; the peer's first frame decrypts to mux command %d" % plain[0]
    else:
        sock.sendall(hello)
    garbage = b"\xff" + os.urandom(args.garbage - 1)
    err = send_tolerant(sock, up.apply(garbage))
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


def orig_iv(key):
    """A hello IV as the original's: random, but never one that carries the C
    dialer's mark by chance (1 in 256 of the original's do: a zero byte 16 of
    HMAC-SHA1(key, iv), docs/PROTOCOL-EXTENSIONS.md), which would make our end
    treat this peer as a C end and the test flaky."""
    while True:
        iv = os.urandom(16)
        if hmac.new(key, iv, hashlib.sha1).digest()[16] != 0:
            return iv


def inband_command(key, cmd):
    """MAC(8) || CMD(8), CMD = the command byte, zero-padded (section 4)."""
    body = bytes([cmd]) + bytes(7)
    return mac(key, body, 8) + body



def cmd_spec_mux_dialer(args):
    """As the original's local end: it sends no extension and no CLOSE_SOCKET."""
    key = bytes.fromhex(args.key)
    iv = orig_iv(key)
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
    iv = orig_iv(key)
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
        if args.orig_handover:
            s_orig_after_complete(args, n, old, tx, sent)
            ident = mac(key, ident, 16)
            read_echo(cur, len(sent))
            if bytes(got[:len(sent)]) != bytes(sent):
                die("handover %d: the echoed bytes differ from the ones sent" % (n + 1))
            continue
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


def s_orig_after_complete(args, n, old, tx, sent):
    """What the original local end does after its HO_COMPLETE_L2R
    (mimicsocks_wormhole_local.erl): it moves on only once the command has
    come back through its process pipeline as a flush (ho_sending_complete,
    145-156), and an end of the old connection before that kills it
    (handle_info 199-200: remote_down), here 300 ms; then (ho_wait_close,
    158-170) it writes to the OLD connection until it sees that end, and its
    socket closes when it does."""
    old.settimeout(0.3)
    try:
        d = old.recv(65536)
        if not d:
            die("handover %d: the old connection ended before the original's flush came back "
                "(it dies: remote_down in ho_sending_complete)" % (n + 1))
        die("handover %d: %d bytes on the old connection after HO_R2L" % (n + 1, len(d)))
    except socket.timeout:
        pass
    chunk = os.urandom(args.bytes // 4 + 1)
    sent += chunk
    old.sendall(tx.apply(chunk))                # ho_wait_close: still the old socket
    d, how = recv_until_eof(old, time.monotonic() + args.timeout, limit=0)
    if d or how not in ("eof", "reset"):
        die("handover %d: the old connection gave %d more bytes and then %s" % (n + 1, len(d), how))
    old.close()


def cmd_spec_acceptor(args):
    """An accepting end written from PROTOCOL.md alone, for a distributed
    wormhole's dialing end under test: it checks the hello, echoes the
    stream, and takes every handover the dialer makes (the ID it must
    present, HO_R2L, the switch of writes, S2's bytes held until
    HO_COMPLETE_L2R, the old socket closed). A client of the dialer's users
    port sends random bytes meanwhile and checks the echo.
    With --orig-hold MS it also behaves as the original's accepting end in
    one respect: what its tunnel is given during the MS after HO_R2L left
    is lost (mimicsocks_inband_send.erl:59-65: `continue` feeds the held
    bytes back into the hold list and drops it), so echoing anything then
    fails at once. With --burst B the client sends only for B s at the
    start and after each handover's hold, then stays quiet."""
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

    hold_until = [0.0]
    burst_until = [time.monotonic() + args.burst]

    def echo(data):
        if data and time.monotonic() < hold_until[0]:
            die("handover %d: %d bytes to send back while HO_R2L was on its way: the "
                "original's accepting end loses them (its hold window)"
                % (st["handovers"] + 1, len(data)))
        if data:
            st["w"].sendall(st["tx"].apply(data))

    while True:
        now = time.monotonic()
        if now > hard_end:
            die("spec-acceptor: %d of %d bytes echoed, %d handovers, when time ran out"
                % (len(echoed), len(sent), st["handovers"]))
        sending = (now < end or st["handovers"] < args.min_handovers) and not st["client_done"]
        in_gap = args.burst and (now >= burst_until[0] or st["tap"] is not None
                                 or now < hold_until[0])
        if sending and not in_gap and not pending and st["s1"] is not None and len(sent) - len(echoed) < (1 << 20):
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
                hold_until[0] = time.monotonic() + args.orig_hold / 1000
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
                burst_until[0] = max(time.monotonic(), hold_until[0]) + args.burst
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


def cmd_orig_socks_remote(args):
    """The original Erlang remote end of a distributed v1 wormhole with
    handler socks, as it really behaves (github foldl/mimicsocks):
      - mimicsocks_wormhole_remote.erl:76-90, 172-173 and
        mimicsocks_remote.erl:63-64: after the hello, every TCP read of the
        tunnel, decrypted, is one message to the handler (the hello's own
        read included, for the bytes behind the hello);
      - mimicsocks_remote_socks.erl:101-108: wait_auth decodes the greeting
        from the buffer and the message, answers 05 00 and keeps what follows
        (Rest) as the buffer for wait_req, but does not decode it until the
        next message comes: a greeting and request in one message leave the
        request unread; 186-188: 1 s without a message in wait_req ends the
        connection (?TIMEOUT, line 16);
      - 150-181: wait_req connects to the target, sends it what follows the
        request, answers 05 00 00 + the requested address (ATYP, ADDR, PORT),
        or 05 01 00 + that address and closes when the connect fails;
      - 191-197: then relays both ways; 211-216: either side's close ends it.
    Serves connections until killed; --ready-file once listening."""
    key = bytes.fromhex(args.key)
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", args.port))
    listener.listen(64)
    if args.ready_file:
        write_ready(args.ready_file)
    import threading
    while True:
        conn, _ = listener.accept()
        threading.Thread(target=s_orig_socks_conn, args=(conn, key), daemon=True).start()


def s_orig_socks_request(buf):
    """decode_socks5_req (mimicsocks_remote_socks.erl:267-287): (target bytes,
    host, port, rest), None if incomplete; dies on what the original rejects."""
    if len(buf) < 4:
        return None
    if buf[0] != 5 or buf[1] != 1:
        raise ValueError("not a SOCKS5 CONNECT: %s" % buf[:4].hex())
    atyp = buf[3]
    if atyp == 1:
        end = 4 + 4 + 2
        host = socket.inet_ntoa(buf[4:8]) if len(buf) >= end else None
    elif atyp == 4:
        end = 4 + 16 + 2
        host = socket.inet_ntop(socket.AF_INET6, buf[4:20]) if len(buf) >= end else None
    elif atyp == 3:
        if len(buf) < 5:
            return None
        end = 5 + buf[4] + 2
        host = buf[5:5 + buf[4]].decode("latin-1") if len(buf) >= end else None
    else:
        raise ValueError("bad atype %d" % atyp)
    if len(buf) < end:
        return None
    port = int.from_bytes(buf[end - 2:end], "big")
    return buf[3:end], host, port, buf[end:]


def s_orig_socks_conn(conn, key):
    import select
    target = None
    try:
        conn.settimeout(10)
        first = conn.recv(65536)
        while len(first) < 32:
            more = conn.recv(65536)
            if not more:
                return
            first += more
        iv = first[:16]
        if mac(key, iv, 16) != first[16:32]:
            return                      # a wrong hello: the original goes silent (bad_key)
        rx, tx = CtrStream(key, iv), CtrStream(key, iv)
        messages = [rx.apply(first[32:])] if len(first) > 32 else []
        state, buf, deadline = "wait_auth", b"", None
        while True:
            if not messages:
                socks = [conn] + ([target] if target else [])
                wait = 30 if deadline is None else max(0, deadline - time.monotonic())
                r, _, _ = select.select(socks, [], [], wait)
                if not r:
                    return              # wait_req's timeout (or an idle test): stop
                if target in r:
                    d = target.recv(65536)
                    if not d:
                        return
                    conn.sendall(tx.apply(d))
                if conn in r:
                    d = conn.recv(65536)
                    if not d:
                        return
                    messages.append(rx.apply(d))
                continue
            msg = messages.pop(0)
            if state == "data":
                target.sendall(msg)
                continue
            buf += msg
            if state == "wait_auth":
                if len(buf) < 2 or len(buf) < 2 + buf[1]:
                    continue
                if buf[0] != 5:
                    return
                conn.sendall(tx.apply(b"\x05\x00"))
                buf = buf[2 + buf[1]:]      # Rest: kept, not decoded until the next message
                state, deadline = "wait_req", time.monotonic() + 1.0
                continue
            req = s_orig_socks_request(buf)
            if req is None:
                deadline = time.monotonic() + 1.0
                continue
            addr, host, port, rest = req
            try:
                target = socket.create_connection((host, port), timeout=5)
            except OSError:
                conn.sendall(tx.apply(b"\x05\x01\x00" + addr))
                return
            if rest:
                target.sendall(rest)
            conn.sendall(tx.apply(b"\x05\x00\x00" + addr))
            state, buf, deadline = "data", b"", None
    except (OSError, ValueError):
        return
    finally:
        conn.close()
        if target:
            target.close()


def s_orig_dialer_one(args, key, n, results):
    """One user connection through an original distributed local end
    (mimicsocks_local.erl + mimicsocks_wormhole_local.erl): hello, the SOCKS5
    greeting and CONNECT, a GET. Its socket is read at once (active mode,
    wormhole_local.erl:290) into a pipeline of processes that delivers at
    most --rate bytes/s to the user here; on the tunnel's FIN the pipeline
    stops (wormhole_local.erl:199, {tcp_closed, RSocket} -> stop, which takes
    mimicsocks_local and the user's socket with it), so what it had read but
    not delivered is lost. The user closes (and so the tunnel) once the body
    has its Content-Length (mimicsocks_local.erl:67-68, 73-76: its close
    stops the pipeline, which closes the tunnel); a body without one (--path
    /noclen/N) ends only with the tunnel's FIN, and is whole if the pipeline
    had delivered it all by then."""
    iv = orig_iv(key)
    up, down = CtrStream(key, iv), CtrStream(key, iv)
    try:
        sock = socket.create_connection((args.host, args.port), timeout=args.timeout)
        request = (b"\x05\x01\x00" + b"\x05\x01\x00\x01\x7f\x00\x00\x01"
                   + args.origin.to_bytes(2, "big")
                   + b"GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
                   % (args.path or "/file/" + args.file).encode())
        sock.sendall(iv + mac(key, iv, 16) + up.apply(request))
        plain = bytearray()
        first = None
        done_at = None      # when the pipeline will have delivered the whole response
        whole = 0
        deadline = time.monotonic() + args.timeout
        how = "timeout"
        end = None
        while True:
            now = time.monotonic()
            if done_at is not None and now >= done_at and len(plain) >= whole:
                how, end = "whole", now      # the user has it all and closes
                break
            if now >= deadline:
                break
            wait = (done_at if done_at is not None and done_at > now else deadline) - now
            sock.settimeout(max(0.001, wait))
            try:
                data = sock.recv(1 << 16)
            except socket.timeout:
                continue
            except ConnectionResetError:
                how = "reset"
                break
            now = time.monotonic()
            if first is None:
                first = now
            if not data:
                how = "eof"
                break
            plain += down.apply(data)
            head = plain.find(b"\r\n\r\n", 12)
            if head > 0 and done_at is None:
                for line in bytes(plain[12:head]).split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        whole = head + 4 + int(line.split(b":")[1])
                        done_at = first + whole / args.rate
        end = end if end is not None else time.monotonic()
        delivered = min(len(plain), int((end - first) * args.rate)) if first is not None else 0
        sock.close()
        body = bytes(plain[:delivered])
        head = body.find(b"\r\n\r\n", 12)
        body = body[head + 4:] if head > 0 else b""
        results[n] = (how, len(plain), delivered, hashlib.sha256(body).hexdigest())
    except OSError as e:
        results[n] = ("error %s" % e, 0, 0, "")


def cmd_orig_dialer(args):
    import threading
    key = bytes.fromhex(args.key)
    results = {}
    threads = [threading.Thread(target=s_orig_dialer_one, args=(args, key, n, results))
               for n in range(args.parallel)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    bad = 0
    for n in range(args.parallel):
        how, got, delivered, sha = results.get(n, ("missing", 0, 0, ""))
        ok = sha == args.sha
        bad += not ok
        print("orig-dialer %d: %s, %d bytes read, %d delivered before the end, body %s"
              % (n, how, got, delivered, "intact" if ok else "WRONG"))
    if bad:
        die("%d of %d downloads through an original-like local end were not whole"
            % (bad, args.parallel))


def cmd_orig_mux_acceptor(args):
    """An original aggregated accepting end (mimicsocks_remote_agg.erl) with
    the relay handler: checks the hello, sends nothing first, starts one
    connection to --relay per NEW_SOCKET, carries DATA both ways (SMALL_DATA
    under 256 bytes, as mimicsocks_remote_agg.erl send_data), closes the
    target on CLOSE_SOCKET, and when a target closes it only forgets the id:
    no CLOSE_SOCKET ('DOWN' of the handler). Runs --seconds."""
    import select
    key = bytes.fromhex(args.key)
    lst = socket.socket()
    lst.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    lst.bind(("127.0.0.1", args.port))
    lst.listen(8)
    if args.ready_file:
        write_ready(args.ready_file)
    end = time.monotonic() + args.seconds
    tun, up, down, buf = None, None, None, b""
    targets = {}                # id -> socket
    by_sock = {}
    while time.monotonic() < end:
        rs = [lst] + ([tun] if tun else []) + list(targets.values())
        r, _, _ = select.select(rs, [], [], 0.1)
        for s in r:
            if s is lst:
                c, _ = lst.accept()
                if tun is not None:
                    c.close()
                    continue
                c.settimeout(5)
                hello = recv_exact(c, 32, "the hello")
                if mac(key, hello[:16], 16) != hello[16:]:
                    die("orig-mux-acceptor: a wrong hello")
                tun, up, down = c, CtrStream(key, hello[:16]), CtrStream(key, hello[:16])
            elif s is tun:
                d = tun.recv(1 << 16)
                if not d:
                    print("orig-mux-acceptor: the tunnel closed")
                    return
                buf += up.apply(d)
                while buf:
                    cmd = buf[0]
                    if cmd in (1, 2):
                        if len(buf) < 3:
                            break
                        sid = int.from_bytes(buf[1:3], "big")
                        buf = buf[3:]
                        if cmd == 1:
                            t = socket.create_connection(("127.0.0.1", args.relay), timeout=5)
                            targets[sid] = t
                            by_sock[t] = sid
                        elif sid in targets:
                            t = targets.pop(sid)
                            del by_sock[t]
                            t.close()
                    elif cmd in (0, 4):
                        if len(buf) < 4 or len(buf) < 4 + buf[3]:
                            break
                        sid, n = int.from_bytes(buf[1:3], "big"), buf[3]
                        if cmd == 4 and sid in targets:
                            targets[sid].sendall(buf[4:4 + n])
                        buf = buf[4 + n:]
                    elif cmd == 3:
                        if len(buf) < 5:
                            break
                        sid, n = int.from_bytes(buf[1:3], "big"), int.from_bytes(buf[3:5], "big")
                        if len(buf) < 5 + n:
                            break
                        if sid in targets:
                            targets[sid].sendall(buf[5:5 + n])
                        buf = buf[5 + n:]
                    else:
                        die("orig-mux-acceptor: mux command %d" % cmd)
            else:
                sid = by_sock[s]
                d = s.recv(65535)
                if not d:
                    del targets[sid]        # forgotten, and nothing said
                    del by_sock[s]
                    s.close()
                    continue
                head = (bytes([4]) + sid.to_bytes(2, "big") + bytes([len(d)]) if len(d) < 256
                        else bytes([3]) + sid.to_bytes(2, "big") + len(d).to_bytes(2, "big"))
                tun.sendall(down.apply(head + d))
    print("orig-mux-acceptor: done")
