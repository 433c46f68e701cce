#!/usr/bin/env python3
"""flows.py — run the stealth bench's workloads (run in the client network namespace).

For every class in the classes file (JSON list), run N flows of one workload, one
connection per flow, and write one JSON line per flow to --out:

  {"cls", "workload", "i", "t0", "t1", "ok", "bytes", "dur", "mbps", "lat": [...], "err"}

t0/t1 bracket the flow in wall-clock time (the same clock as tcpdump's timestamps), so
that analyze.py can find the flow's connection on the wire by its server port and SYN
time. A class is either {"kind": "tls", "addr": [host, port]} (TLS straight to nginx)
or {"kind": "socks", "addr": [host, port], "target": [host, port]} (SOCKS5 CONNECT,
then plain HTTP). A socks class with "restart": [argv...] runs that command (a
mimicsocks aggregated local end) for each flow and waits for its "tunnel up" log line,
so that each flow gets a tunnel connection of its own, first flight included; it is
stopped after the flow.

Workloads, all HTTP/1.1 keep-alive on one connection (curl cannot put think times or
ssh-like gaps between requests of one connection, so this client does it itself, the
same code for every class):
  web          5-20 objects of 1-200 KiB (log-uniform), 50-500 ms think time before each
               but the first
  bulk         one download of 2-10 MiB
  interactive  10-30 small request/response pairs (64-1024 byte bodies), 50-300 ms apart
               (the first at once)

Every socket operation has a timeout and every flow a deadline; classes run in parallel
threads (--parallel), the flows of one class one after another. Seeds are fixed: flow i
of every class makes the same requests, so the classes differ only by their transport.
"""
import argparse
import json
import os
import random
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time

IO_TIMEOUT = 20.0
FLOW_DEADLINE = 60.0
CHILDREN = set()
CHILDREN_LOCK = threading.Lock()
STOP = threading.Event()


class FlowError(Exception):
    pass


def recv_exact(sock, n, deadline):
    chunks = []
    while n > 0:
        if time.time() > deadline:
            raise FlowError("flow deadline")
        b = sock.recv(min(n, 1 << 18))
        if not b:
            raise FlowError("connection closed")
        chunks.append(b)
        n -= len(b)
    return b"".join(chunks)


def socks5_connect(sock, host, port, deadline):
    sock.sendall(b"\x05\x01\x00")
    if recv_exact(sock, 2, deadline) != b"\x05\x00":
        raise FlowError("socks5 greeting refused")
    sock.sendall(b"\x05\x01\x00\x01" + socket.inet_aton(host) + port.to_bytes(2, "big"))
    rep = recv_exact(sock, 4, deadline)
    if rep[1] != 0:
        raise FlowError("socks5 connect failed: %d" % rep[1])
    atyp = rep[3]
    n = {1: 4, 4: 16}.get(atyp)
    if n is None:
        n = recv_exact(sock, 1, deadline)[0]
    recv_exact(sock, n + 2, deadline)


class Http:
    """Minimal HTTP/1.1 keep-alive client on a connected (TLS or plain) socket."""

    def __init__(self, sock, host, deadline):
        self.sock, self.host, self.deadline, self.buf = sock, host, deadline, b""

    def _fill(self):
        if time.time() > self.deadline:
            raise FlowError("flow deadline")
        b = self.sock.recv(1 << 18)
        if not b:
            raise FlowError("connection closed")
        self.buf += b

    def get(self, path):
        self.sock.sendall(("GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: curl/7.88.1\r\n"
                           "Accept: */*\r\n\r\n" % (path, self.host)).encode())
        while b"\r\n\r\n" not in self.buf:
            self._fill()
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        if " 200 " not in lines[0] + " ":
            raise FlowError("status: " + lines[0])
        length = None
        for line in lines[1:]:
            k, _, v = line.partition(":")
            if k.strip().lower() == "content-length":
                length = int(v.strip())
        if length is None:
            raise FlowError("no Content-Length")
        got = min(length, len(self.buf))
        self.buf = self.buf[got:]
        while got < length:
            if time.time() > self.deadline:
                raise FlowError("flow deadline")
            b = self.sock.recv(min(1 << 18, length - got))
            if not b:
                raise FlowError("connection closed")
            got += len(b)
        return length


def pick(manifest, kind, rng, lo, hi):
    files = [f for f in manifest[kind] if lo <= f[1] <= hi]
    return rng.choice(files)


def plan(workload, manifest, rng):
    """[(think_s, path, size)] for one flow. The first request goes at once: a browser
    or curl opens a connection because it has a request to make (a pause before it
    would leave the server's tickets unread, and the kernel's tail-loss probe would
    resend one: a packet no real client's flow has)."""
    if workload == "web":
        steps = [(rng.uniform(0.05, 0.5), *pick(manifest, "web", rng, 0, 1 << 30))
                 for _ in range(rng.randint(5, 20))]
    elif workload == "bulk":
        steps = [(0.0, *pick(manifest, "bulk", rng, 0, 1 << 40))]
    else:
        steps = [(rng.uniform(0.05, 0.3), *pick(manifest, "inter", rng, 0, 1 << 30))
                 for _ in range(rng.randint(10, 30))]
    steps[0] = (0.0,) + steps[0][1:]
    return steps


def start_restart(cls, deadline):
    """Start the class's per-flow local end; wait for 'tunnel up'. Returns the Popen."""
    p = subprocess.Popen(cls["restart"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                         stdin=subprocess.DEVNULL, start_new_session=True)
    with CHILDREN_LOCK:
        CHILDREN.add(p)
    up = threading.Event()
    log = []

    def reader():
        for line in p.stderr:
            log.append(line)
            if b"tunnel up" in line:
                up.set()
    threading.Thread(target=reader, daemon=True).start()
    if not up.wait(max(0.1, min(10.0, deadline - time.time()))):
        stop_child(p)
        raise FlowError("local end: no 'tunnel up' in 10 s: %r" % b"".join(log[-3:]))
    return p


def stop_child(p):
    if p.poll() is None:
        p.terminate()
        try:
            p.wait(3)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(3)
    with CHILDREN_LOCK:
        CHILDREN.discard(p)


def one_flow(cls, workload, i, manifest, seed):
    rng = random.Random("%d/%s/%d" % (seed, workload, i))
    steps = plan(workload, manifest, rng)
    rec = {"cls": cls["name"], "workload": workload, "i": i, "t0": time.time(), "ok": False,
           "bytes": 0, "dur": 0.0, "mbps": None, "lat": [], "err": None}
    deadline = rec["t0"] + FLOW_DEADLINE
    child = None
    sock = None
    try:
        if cls.get("restart"):
            child = start_restart(cls, deadline)
        host, port = cls["addr"]
        sock = socket.create_connection((host, port), timeout=IO_TIMEOUT)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if cls["kind"] == "tls":
            ctx = ssl.create_default_context()
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
            ctx.set_alpn_protocols(["http/1.1"])
            sock = ctx.wrap_socket(sock, server_hostname=cls.get("sni", "www.example.com"))
            hosthdr = cls.get("sni", "www.example.com")
        else:
            socks5_connect(sock, cls["target"][0], cls["target"][1], deadline)
            hosthdr = "%s:%d" % tuple(cls["target"])
        http = Http(sock, hosthdr, deadline)
        t_start = time.time()
        busy = 0.0
        for think, path, size in steps:
            if think:
                time.sleep(think)
            t = time.time()
            n = http.get(path)
            dt = time.time() - t
            busy += dt
            if n != size:
                raise FlowError("%s: %d bytes, expected %d" % (path, n, size))
            rec["bytes"] += n
            rec["lat"].append(dt)
        rec["dur"] = time.time() - t_start
        if workload == "bulk":
            rec["mbps"] = rec["bytes"] / busy / 1e6
        rec["ok"] = True
    except (OSError, FlowError, ssl.SSLError, ValueError) as e:
        rec["err"] = "%s: %s" % (type(e).__name__, e)
    finally:
        if sock is not None:
            try:
                # A TLS client ends with a close_notify, as curl (SSL_shutdown) and
                # browsers do; nginx answers with its own.
                if isinstance(sock, ssl.SSLSocket) and rec["ok"]:
                    sock.settimeout(2.0)
                    sock.unwrap()
            except (OSError, ssl.SSLError, ValueError):
                pass
            try:
                sock.close()
            except OSError:
                pass
        # Let the last packets (FIN, END record) reach the wire before the local end goes.
        if child is not None:
            time.sleep(0.2)
            stop_child(child)
        rec["t1"] = time.time()
    return rec


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--classes", required=True)
    ap.add_argument("--manifest", required=True)
    ap.add_argument("--workload", required=True, choices=["web", "bulk", "interactive"])
    ap.add_argument("-n", type=int, default=40)
    ap.add_argument("--parallel", type=int, default=4)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--gap", type=float, default=0.3, help="seconds between flows of a class")
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    classes = json.load(open(a.classes))
    manifest = json.load(open(a.manifest))
    out = open(a.out, "a")
    out_lock = threading.Lock()
    sem = threading.Semaphore(a.parallel)

    def on_signal(signum, frame):
        STOP.set()
        raise SystemExit(128 + signum)
    signal.signal(signal.SIGTERM, on_signal)

    def run_class(cls):
        with sem:
            fails = 0
            for i in range(a.n):
                if STOP.is_set():
                    return
                rec = one_flow(cls, a.workload, i, manifest, a.seed)
                with out_lock:
                    out.write(json.dumps(rec) + "\n")
                    out.flush()
                if not rec["ok"]:
                    fails += 1
                    print("flows: %s %s flow %d failed: %s" % (cls["name"], a.workload, i, rec["err"]),
                          file=sys.stderr, flush=True)
                    if fails > max(3, a.n // 4):
                        print("flows: %s: too many failures, giving up on it" % cls["name"],
                              file=sys.stderr, flush=True)
                        return
                time.sleep(a.gap)
            print("flows: %s %s: %d flows done" % (cls["name"], a.workload, a.n), file=sys.stderr, flush=True)

    threads = [threading.Thread(target=run_class, args=(c,), daemon=True) for c in classes]
    try:
        for t in threads:
            t.start()
        for t in threads:
            while t.is_alive():
                t.join(0.5)
    finally:
        STOP.set()
        with CHILDREN_LOCK:
            kids = list(CHILDREN)
        for p in kids:
            stop_child(p)
        out.close()


if __name__ == "__main__":
    main()
