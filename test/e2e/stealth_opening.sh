#!/usr/bin/env bash
# e2e_stealth_opening — the opening of a wire: tls tunnel connection looks like TLS 1.3
# to nginx (docs/PROTOCOL-v2.md section 9), on a distributed and an aggregated wormhole
# whose local ends dial through timed recording relays. A SOCKS5 user connects, has its
# CONNECT answered, pauses PAUSE s, then sends its request. On the wire, record by record
# and with the relay's arrival times: client to server a ClientHello, a ChangeCipherSpec,
# a Finished-sized record, and then nothing before the user's request (the CONNECT
# leaves with it, not a round trip earlier); server to client the ServerHello, the
# ChangeCipherSpec, records sized as nginx's EncryptedExtensions (42) and Certificate
# (426..429), CertificateVerify and Finished (aggregated: the mux's hello, in the same
# write, and a Certificate as much shorter), two ticket-sized records (298), and then nothing before the request (the SOCKS
# replies leave with the response). The flight leaves at least 0.45 ms after the
# ClientHello came, the Finished at least 0.95 ms after the flight came (a TLS stack's
# pauses while it computes). The download is intact.
# Usage: stealth_opening.sh PATH/TO/mimicsocks
source "$(dirname "$0")/lib.sh"
e2e_init "$@"

PAUSE=0.5
serve_random f=200000
KEY=$(wh_key)
for attempt in 1 2 3; do
    read -r DS DT AS AT CD CA <<<"$(free_ports 6)"
    cat >"$E2E_TMP/remote.yaml" <<EOF2
wormholes:
  - name: dist
    server: 127.0.0.1:$DS
    wormhole_remote: 127.0.0.1:$DT
    wormhole: distributed
    handler: socks
    $E2E_ALLOW_YAML
    key: $KEY
  - name: agg
    server: 127.0.0.1:$AS
    wormhole_remote: 127.0.0.1:$AT
    wormhole: aggregated
    handler: socks
    $E2E_ALLOW_YAML
    key: $KEY
EOF2
    sed -e "s/wormhole_remote: 127.0.0.1:$DT/wormhole_remote: 127.0.0.1:$CD/" \
        -e "s/wormhole_remote: 127.0.0.1:$AT/wormhole_remote: 127.0.0.1:$CA/" \
        "$E2E_TMP/remote.yaml" >"$E2E_TMP/local.yaml"
    start_config remote "$E2E_TMP/remote.yaml" "$DT $AT" --role remote || continue
    REMOTE=$CFG_PID
    break
done
[[ -n "${REMOTE:-}" ]] || fail "the remote end did not start"
for w in d:$CD:$DT a:$CA:$AT; do
    IFS=: read -r tag listen target <<<"$w"
    bg "cap$tag" "$PYTHON" "$E2E_DIR/tools.py" capture-relay "$listen" "$target" --timed \
        --out "$E2E_TMP/cap$tag" --port-file "$E2E_TMP/cap$tag.port"
    wait_file "$E2E_TMP/cap$tag.port" "$BG_PID" || fail "the capture relay $tag did not start"
done
start_config local "$E2E_TMP/local.yaml" "$DS $AS" --role local || fail "the local end did not start"
LOCAL=$CFG_PID
wait_log local "wormhole agg: tunnel up" 1 10 || fail "the aggregated tunnel did not come up"

# user PORT OUT: SOCKS5 CONNECT, PAUSE, then the request; OUT gets the times of the
# connect and of the request.
user() {
    timeout 20 "$PYTHON" - "$1" "$H" "$PAUSE" "$2" <<'EOF2'
import socket, struct, sys, time
port, target, pause, out = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
t0 = time.time()
s = socket.create_connection(("127.0.0.1", port), timeout=10)
s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
def exact(n):
    b = b""
    while len(b) < n:
        c = s.recv(n - len(b))
        if not c:
            sys.exit("closed after %d of %d bytes" % (len(b), n))
        b += c
    return b
s.sendall(b"\x05\x01\x00")
assert exact(2) == b"\x05\x00"
s.sendall(b"\x05\x01\x00\x01" + socket.inet_aton("127.0.0.1") + struct.pack("!H", target))
assert exact(10)[:2] == b"\x05\x00"
time.sleep(pause)
t = time.time()
s.sendall(b"GET /file/f HTTP/1.0\r\nHost: x\r\n\r\n")
got = b""
while True:
    c = s.recv(65536)
    if not c:
        break
    got += c
assert got.startswith(b"HTTP/1.") and got.endswith(b"") and len(got) > 200000, got[:60]
open(out, "w").write("%.6f %.6f\n" % (t0, t))
EOF2
}
user "$DS" "$E2E_TMP/tdist" || fail "the user of the distributed wormhole failed"
ok "distributed: CONNECT, a pause, the request; the download came"
user "$AS" "$E2E_TMP/tagg" || fail "the user of the aggregated wormhole failed"
ok "aggregated: CONNECT, a pause, the request; the download came"

# check CAPS TIMES AGG: the last recorded connection with data, record by record; between
# the user's connect and its request nothing but the handshake (distributed: the
# tunnel's own) may cross.
check() {
    "$PYTHON" - "$1" "$(<"$2")" "$3" <<'EOF2'
import glob, sys
base, (t_user, t_req), agg = sys.argv[1], map(float, sys.argv[2].split()), sys.argv[3] == "1"
conns = sorted(p for p in glob.glob(base + ".[0-9]*") if p.count(".") == base.count(".") + 1)
conns = [p for p in conns if open(p + ".log").read().count("s2c") > 0] if conns else []
assert conns, "no recorded tunnel connection"
path = conns[-1]
def records(d, data):
    # each record with its arrival time: when its last byte came
    chunks, at = [], 0
    for line in open(path + ".log"):
        dd, t, n = line.split()
        if dd == d:
            at += int(n)
            chunks.append((at, float(t)))
    out, i = [], 0
    while i + 5 <= len(data):
        n = int.from_bytes(data[i + 3:i + 5], "big")
        end = i + 5 + n
        t = next((t for a, t in chunks if a >= end), None)
        out.append((data[i], n, t))
        i = end
    return out
c2s = records("c2s", open(path, "rb").read())
s2c = records("s2c", open(path + ".s2c", "rb").read())
print("c2s", [(r[0], r[1], round(r[2] - t_req, 3)) for r in c2s[:9]])
print("s2c", [(r[0], r[1], round(r[2] - t_req, 3)) for r in s2c[:12]])
assert [r[:2] for r in c2s[:3]] == [(0x16, 512), (0x14, 1), (0x17, 69)], "c2s opening %s" % c2s[:3]
early = [r for r in c2s[3:] if t_user <= r[2] < t_req]
assert not early, "client records crossed before the user's request: %s" % early
assert [r[:2] for r in s2c[:3]] == [(0x16, 122), (0x14, 1), (0x17, 42)], "s2c opening %s" % s2c[:3]
# (aggregated: 28 bytes shorter, the mux's hello joins the flight's write)
lo = 426 - (28 if agg else 0)
assert lo <= s2c[3][1] <= lo + 3 and 94 <= s2c[4][1] <= 96 and s2c[5][1] == 69, "s2c flight %s" % s2c[3:6]
i = 6
if agg:
    assert s2c[6][1] == 23 and s2c[6][2] == s2c[5][2], "no mux hello with the flight: %s" % s2c[5:7]
    i = 7
assert [r[1] for r in s2c[i:i + 2]] == [298, 298], "tickets %s" % s2c[i:i + 2]
# TLS's pauses (at least; a busy machine only adds): the server computes before its
# flight, the client checks the flight before its Finished.
ms = lambda a, b: (b - a) * 1000
assert ms(c2s[0][2], s2c[0][2]) >= 0.45, "the flight came %.3f ms after the ClientHello" % ms(c2s[0][2], s2c[0][2])
assert ms(s2c[5][2], c2s[2][2]) >= 0.95, "the Finished came %.3f ms after the flight" % ms(s2c[5][2], c2s[2][2])
early = [r for r in s2c[i + 2:] if t_user <= r[2] < t_req]
assert not early, "server records crossed before the user's request: %s" % early
EOF2
}
check "$E2E_TMP/capd" "$E2E_TMP/tdist" 0 || fail "distributed: the opening is not TLS 1.3's"
ok "distributed: ClientHello, CCS, Finished, then only the request; nginx-sized flight, two tickets, then only the response"
check "$E2E_TMP/capa" "$E2E_TMP/tagg" 1 || fail "aggregated: the opening is not TLS 1.3's"
ok "aggregated: the same, the mux's hello in the flight's write"
stop_mimicsocks "$LOCAL" local
stop_mimicsocks "$REMOTE" remote
