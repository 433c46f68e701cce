#!/usr/bin/env bash
# e2e_idle — idle relayed connections end (--idle-timeout): through a standalone socks
# proxy with --idle-timeout 2, a connection to an echo server that says nothing is
# closed after ~2 s; one that half-closes toward a target that never answers is closed
# after a fifth of that; one that sends a byte every 0.5 s stays open the whole 4 s and is echoed.
# Usage: idle.sh PATH/TO/mimicsocks
source "$(dirname "$0")/lib.sh"
e2e_init "$@"

start_echo echo
start_mimicsocks ms socks --idle-timeout 2
out=$("$PYTHON" - "$MS_PORT" "$ECHO_PORT" 2>&1 <<'EOF2'
import socket, sys, threading, time
proxy, echo = int(sys.argv[1]), int(sys.argv[2])
# A target that takes a connection and never answers nor closes it.
mute = socket.socket()
mute.bind(("127.0.0.1", 0))
mute.listen(8)
held = []
threading.Thread(target=lambda: [held.append(mute.accept()) for _ in range(8)], daemon=True).start()
def tunnel(port=echo):
    s = socket.create_connection(("127.0.0.1", proxy), timeout=10)
    s.sendall(b"\x05\x01\x00\x05\x01\x00\x01\x7f\x00\x00\x01" + port.to_bytes(2, "big"))
    got = b""
    while len(got) < 12:
        chunk = s.recv(12 - len(got))
        if not chunk:
            sys.exit("the proxy closed during the handshake")
        got += chunk
    if got[:2] != b"\x05\x00" or got[3] != 0:
        sys.exit("SOCKS5 refused: %r" % got)
    return s
def closed_after(s, limit):
    t0 = time.monotonic()
    s.settimeout(limit)
    try:
        while s.recv(4096):
            pass
    except socket.timeout:
        return None
    except ConnectionResetError:
        pass
    return time.monotonic() - t0
quiet = tunnel()
dt = closed_after(quiet, 5)
if dt is None or not 1.5 <= dt <= 3.5:
    sys.exit("a quiet connection: closed after %s s (expected ~2 s)" % dt)
print("a quiet connection was closed after %.2f s" % dt)
half = tunnel(mute.getsockname()[1])
half.shutdown(socket.SHUT_WR)
dt = closed_after(half, 5)
if dt is None or not 0.2 <= dt <= 1.5:
    sys.exit("a half-closed quiet connection: closed after %s s (expected ~0.4 s)" % dt)
print("a half-closed quiet connection was closed after %.2f s" % dt)
busy = tunnel()
busy.settimeout(2)
t0 = time.monotonic()
for i in range(8):
    busy.sendall(b"x")
    if busy.recv(1) != b"x":
        sys.exit("a busy connection: no echo at %.1f s" % (time.monotonic() - t0))
    time.sleep(0.5)
print("a connection with a byte every 0.5 s stayed open for %.1f s" % (time.monotonic() - t0))
EOF2
) || fail "$out"
while IFS= read -r line; do ok "$line"; done <<<"$out"
stop_mimicsocks "$MS_PID" ms
