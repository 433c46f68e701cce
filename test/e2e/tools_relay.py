"""tools_relay — tools.py's loopback relays: capture-relay (records each
connection's client->server bytes), bitflip-relay (flips one bit of a
stream), reset-relay (cuts connections with a RST on SIGUSR1), and pace (a
paced upload on stdout)."""

import os
import select
import signal
import socket
import struct
import sys
import threading
import time

from tools_common import loopback_target, write_ready_port


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
    so a test can replay a flight while its tunnel is still up. --timed:
    also the server->client bytes (OUT.N.s2c) and one line per chunk of
    either direction in OUT.N.log: "c2s|s2c TIME LEN" (time.time())."""
    def hooks_for(n):
        path = "%s.%d" % (args.out, n)
        open(path, "wb").close()        # the connection is there, bytes or not
        lock = threading.Lock()

        def note(d, chunk):
            with lock, open(path + ".log", "a") as f:
                f.write("%s %.6f %d\n" % (d, time.time(), len(chunk)))

        def c2s(chunk):
            if getattr(args, "timed", False):
                note("c2s", chunk)
            with open(path, "ab") as f:
                f.write(chunk)
            return chunk

        def s2c(chunk):
            if getattr(args, "timed", False):
                note("s2c", chunk)
                with open(path + ".s2c", "ab") as f:
                    f.write(chunk)
            return chunk
        return c2s, s2c

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
