#!/usr/bin/env bash
# e2e_metrics — the Prometheus endpoint (`metrics:`) and `mimicsocks status`. One process
# runs an aggregated and a distributed socks wormhole (both ends here, extra ports,
# handovers on SIGUSR1 only) and a socks proxy that denies loopback targets, with
# `metrics:` on loopback. GET /metrics (HTTP/1.1 and 1.0) answers 200 with
# Content-Type text/plain; version=0.0.4; other paths 404, other methods 405. A partial
# request sent slowly is closed after 5 s; of 65 waiting requests the oldest is closed,
# and a 66th is served. A
# 1,000,000-byte download through each wormhole moves its user bytes down by the file
# and its heads (counted once, at the users' side, not per hop), its connections by one,
# and every connection is closed again afterwards; the tunnels are up; SIGUSR1 counts a
# handover on the aggregated one; a UDP association's datagrams (through each wormhole and
# the standalone proxy) are user bytes each way, counted once; garbage on a tunnel port counts a probe; a loopback target through
# the proxy counts an ACL denial. `mimicsocks status` prints each wormhole (tunnel up
# since, connections, rates), by address and by --config; on a dead port it says so and
# exits 1. A metrics address off loopback is refused (config and --metrics) unless
# metrics_public: true / --metrics-public.
# Usage: metrics.sh PATH/TO/mimicsocks
source "$(dirname "$0")/lib.sh"
e2e_init "$@"

SIZE=1000000
serve_random f=$SIZE big=$((64 * 1024 * 1024))
KEY=$(wh_key)

for attempt in 1 2 3; do
    read -r AS AT AX DS DT DX PS MP <<<"$(free_ports 8)"
    cat >"$E2E_TMP/metrics.yaml" <<YAML
metrics: 127.0.0.1:$MP
proxies:
  - listen: 127.0.0.1:$PS
    handler: socks
wormholes:
  - name: agg
    server: 127.0.0.1:$AS
    wormhole_remote: 127.0.0.1:$AT
    wormhole: aggregated
    handler: socks
    $E2E_ALLOW_YAML
    key: $KEY
    extra_ports: [$AX]
    handover_interval: 0
  - name: dist
    server: 127.0.0.1:$DS
    wormhole_remote: 127.0.0.1:$DT
    wormhole: distributed
    handler: socks
    $E2E_ALLOW_YAML
    key: $KEY
    extra_ports: [$DX]
    handover_interval: 0
YAML
    start_config ms "$E2E_TMP/metrics.yaml" "$AS $AT $DS $DT $PS $MP" && break
    ((attempt < 3)) || fail "mimicsocks with a metrics endpoint did not start"
done
PID=$CFG_PID
URL="http://127.0.0.1:$MP/metrics"

# metric NAME LABELS: the value of NAME{LABELS} (LABELS as written, e.g. name="agg").
metric() {
    local line
    ecurl 5 -o "$E2E_TMP/scrape.txt" "$URL" 2>"$E2E_TMP/scrape.err" \
        || fail "GET /metrics failed: $(cat "$E2E_TMP/scrape.err")"
    line=$(grep -F "$1{$2} " "$E2E_TMP/scrape.txt") || fail "no $1{$2} in /metrics"
    echo "${line##* }"
}
# wait_metric NAME LABELS VALUE: within 10 s.
wait_metric() {
    local i
    for ((i = 0; i < 100; i++)); do
        [[ $(metric "$1" "$2") == "$3" ]] && return 0
        sleep 0.1
    done
    fail "$1{$2} is $(metric "$1" "$2"), not $3, after 10 s"
}

ecurl 5 -D "$E2E_TMP/head.txt" -o "$E2E_TMP/body.txt" "$URL" || fail "GET /metrics failed"
grep -q '^HTTP/1.1 200' "$E2E_TMP/head.txt" || fail "GET /metrics: $(head -n 1 "$E2E_TMP/head.txt")"
grep -qi '^Content-Type: text/plain; version=0.0.4' "$E2E_TMP/head.txt" \
    || fail "GET /metrics: no Prometheus content type: $(cat "$E2E_TMP/head.txt")"
grep -q '^# TYPE mimicsocks_user_bytes_total counter$' "$E2E_TMP/body.txt" || fail "no TYPE line for user bytes"
ecurl 5 --http1.0 -o /dev/null -w '%{http_code}' "$URL" | grep -q 200 || fail "HTTP/1.0 GET /metrics is not 200"
[[ $(ecurl 5 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$MP/other") == 404 ]] || fail "GET /other is not 404"
[[ $(ecurl 5 -o /dev/null -w '%{http_code}' -X POST "$URL") == 405 ]] || fail "POST /metrics is not 405"
ok "GET /metrics: 200, text/plain; version=0.0.4 (HTTP/1.1 and 1.0); 404 and 405 otherwise"
# Half a request (sent slowly, a byte at a time) is closed after 5 s, not before 4 s; 64
# requests may wait: a 65th closes the oldest, and a scrape past 65 idle ones is served.
"$PYTHON" - "$MP" >"$E2E_TMP/idle.out" 2>&1 <<'PY' || fail "slow and idle clients: $(cat "$E2E_TMP/idle.out")"
import socket, sys, time, urllib.request
port = int(sys.argv[1])
def closed(sock, wait):
    sock.settimeout(wait)
    try:
        return sock.recv(1) == b""
    except socket.timeout:
        return False
    except ConnectionResetError:
        return True
slow = socket.create_connection(("127.0.0.1", port), timeout=5)
start = time.monotonic()
for byte in b"GET /metrics HTTP/1.1\r\n":
    if closed(slow, 0.15):
        break
    try:
        slow.sendall(bytes([byte]))
    except OSError:
        break
assert closed(slow, 10), "a slow partial request stayed open for 10 s"
took = time.monotonic() - start
assert took >= 4, "a slow partial request closed after %.1f s, before its 5 s" % took
print("slow partial request closed after %.1f s" % took)
idle = []
for _ in range(65):
    idle.append(socket.create_connection(("127.0.0.1", port), timeout=5))
    idle[-1].sendall(b"G")
    time.sleep(0.01)        # accepted in this order
assert closed(idle[0], 5), "the oldest of 65 waiting requests was not closed"
assert not closed(idle[1], 0.5), "the second oldest of 65 waiting requests was closed"
with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port, timeout=5) as reply:
    assert reply.status == 200 and b"mimicsocks_connections_open" in reply.read()
assert closed(idle[1], 5), "the 66th did not close the oldest waiting request"
assert not closed(idle[64], 0.5), "the newest waiting request was closed"
for sock in idle:
    sock.close()
PY
ok "$(head -n 1 "$E2E_TMP/idle.out"); 65 waiting: the oldest closed; a 66th served"

for wh in agg dist; do
    [[ $wh == agg ]] && USERS=$AS || USERS=$DS
    # The aggregated tunnel dials at start; a distributed one with each user connection.
    [[ $wh == agg ]] && wait_metric mimicsocks_tunnel_up "name=\"$wh\"" 1
    wait_metric mimicsocks_connections_open "name=\"$wh\"" 0
    DOWN0=$(metric mimicsocks_user_bytes_total "name=\"$wh\",direction=\"down\"")
    UP0=$(metric mimicsocks_user_bytes_total "name=\"$wh\",direction=\"up\"")
    CONNS0=$(metric mimicsocks_connections_total "name=\"$wh\"")
    fetch_check "$wh: a $SIZE-byte download" "$F_SHA" $SIZE --socks5-hostname "127.0.0.1:$USERS" \
        "http://127.0.0.1:$H/file/f"
    wait_metric mimicsocks_connections_open "name=\"$wh\"" 0
    DOWN=$(($(metric mimicsocks_user_bytes_total "name=\"$wh\",direction=\"down\"") - DOWN0))
    UP=$(($(metric mimicsocks_user_bytes_total "name=\"$wh\",direction=\"up\"") - UP0))
    CONNS=$(($(metric mimicsocks_connections_total "name=\"$wh\"") - CONNS0))
    # The body, the response head and the SOCKS replies: counted once, not per hop.
    ((DOWN >= SIZE && DOWN <= SIZE + 2048)) || fail "$wh: user bytes down moved by $DOWN for $SIZE"
    ((UP > 0 && UP <= 2048)) || fail "$wh: user bytes up moved by $UP for one request"
    ((CONNS == 1)) || fail "$wh: connections_total moved by $CONNS for one download"
    ok "$wh: one download moved bytes down by $DOWN, up by $UP, connections by 1; none left open"
done
[[ $(metric mimicsocks_tunnels_total 'name="dist"') -ge 2 ]] || fail "dist: no tunnel counted"

# udp_moved LABEL NAME PORT: 20 DNS queries through a UDP association at PORT move NAME's
# user bytes by the datagrams each way (SOCKS headers included), plus the control
# connection's few bytes (up: greeting and request; down: the replies; a wormhole's
# local end counts its stream's frames as the datagrams they carry, not twice).
udp_moved() {
    local down0 up0 down up sent received
    down0=$(metric mimicsocks_user_bytes_total "name=\"$2\",direction=\"down\"")
    up0=$(metric mimicsocks_user_bytes_total "name=\"$2\",direction=\"up\"")
    "$PYTHON" "$E2E_DIR/tools_udp.py" udp-dns "$3" 127.0.0.1 "$DNS" --queries 20 \
        --bytes-file "$E2E_TMP/udp.bytes" >"$E2E_TMP/udp.out" 2>&1 || fail "$1: UDP: $(cat "$E2E_TMP/udp.out")"
    read -r sent received <"$E2E_TMP/udp.bytes"
    wait_metric mimicsocks_connections_open "name=\"$2\"" 0
    down=$(($(metric mimicsocks_user_bytes_total "name=\"$2\",direction=\"down\"") - down0))
    up=$(($(metric mimicsocks_user_bytes_total "name=\"$2\",direction=\"up\"") - up0))
    ((up >= sent && up <= sent + 64)) || fail "$1: user bytes up moved by $up for $sent datagram bytes"
    ((down >= received && down <= received + 64)) \
        || fail "$1: user bytes down moved by $down for $received datagram bytes"
    ok "$1: a UDP association of $sent/$received datagram bytes moved user bytes up by $up, down by $down"
}
bg dns "$PYTHON" "$E2E_DIR/tools_udp.py" dns-server --port-file "$E2E_TMP/dns.port"
wait_file "$E2E_TMP/dns.port" "$BG_PID" || fail "the DNS responder did not start"
DNS=$(<"$E2E_TMP/dns.port")
udp_moved agg agg "$AS"
udp_moved dist dist "$DS"

# A handover: SIGUSR1 hands every dialed tunnel over (agg's is there without users).
AGG_HO0=$(metric mimicsocks_handovers_total 'name="agg",result="ok"')
kill -USR1 "$PID"
wait_metric mimicsocks_handovers_total 'name="agg",result="ok"' $((AGG_HO0 + 1))
ok "SIGUSR1: agg's handover counted"

# A probe: garbage on the distributed wormhole's tunnel port gets the silent treatment.
PROBES0=$(metric mimicsocks_probes_total 'name="dist"')
"$PYTHON" "$E2E_DIR/tools.py" probe 127.0.0.1 "$DT" --random 48 --silent 1 >"$E2E_TMP/probe.out" 2>&1 || fail "the prober: $(cat "$E2E_TMP/probe.out")"
wait_metric mimicsocks_probes_total 'name="dist"' $((PROBES0 + 1))
ok "a probe on dist's tunnel port counted"

# An ACL denial: the proxy keeps the default rules, which deny loopback targets.
DENIED0=$(metric mimicsocks_acl_denials_total 'handler="socks"')
ecurl 10 -o /dev/null --socks5 "127.0.0.1:$PS" "http://127.0.0.1:$H/file/f" 2>/dev/null && fail "a loopback target was allowed"
wait_metric mimicsocks_acl_denials_total 'handler="socks"' $((DENIED0 + 1))
ok "a denied loopback target counted"

# status, by address and by the config's metrics:, while a download at 10 MB/s runs (the
# first seconds fill the socket buffers and the credit window at once)
bg slow curl -q --silent --max-time 60 --limit-rate 10M -o /dev/null --socks5 "127.0.0.1:$AS" \
    "http://127.0.0.1:$H/file/big"
SLOW=$BG_PID
sleep 2
"$MIMICSOCKS" status "127.0.0.1:$MP" >"$E2E_TMP/status.out" 2>&1 || fail "status exited $?: $(cat "$E2E_TMP/status.out")"
stop_pid "$SLOW"
grep -A3 "^agg$" "$E2E_TMP/status.out" | grep -qE "^  rates:       up [0-9.]+ [KMG]?i?B/s, down [1-9][0-9.]* [KMG]?i?B/s" \
    || fail "status shows no rate for agg's running download: $(cat "$E2E_TMP/status.out")"
grep -q "^agg$" "$E2E_TMP/status.out" && grep -q "^dist$" "$E2E_TMP/status.out" \
    || fail "status names no wormhole: $(cat "$E2E_TMP/status.out")"
grep -q "^  tunnel:      up since 20[0-9-]* [0-9:]* UTC" "$E2E_TMP/status.out" \
    || fail "status shows no tunnel up: $(cat "$E2E_TMP/status.out")"
grep -qE "^  connections: [01] open, [1-9][0-9]* in all$" "$E2E_TMP/status.out" \
    && grep -q "^  rates:       up [0-9.]* [KMG]*i*B/s, down " "$E2E_TMP/status.out" \
    || fail "status shows no connections or rates: $(cat "$E2E_TMP/status.out")"
ok "status: $(tr '\n' ' ' <"$E2E_TMP/status.out" | head -c 300)"
"$MIMICSOCKS" status --config "$E2E_TMP/metrics.yaml" >"$E2E_TMP/status2.out" 2>&1 \
    || fail "status --config exited $?: $(cat "$E2E_TMP/status2.out")"
grep -q "^agg$" "$E2E_TMP/status2.out" || fail "status --config: $(cat "$E2E_TMP/status2.out")"
ok "status --config FILE reads the config's metrics: address"
DEAD=$(free_port)
set +e
"$MIMICSOCKS" status "127.0.0.1:$DEAD" >"$E2E_TMP/dead.out" 2>&1
RC=$?
set -e
((RC == 1)) && grep -q "nothing answers at 127.0.0.1:$DEAD" "$E2E_TMP/dead.out" \
    || fail "status on a dead port: exit $RC, $(cat "$E2E_TMP/dead.out")"
ok "status on a dead port: exit 1, $(cat "$E2E_TMP/dead.out")"
stop_mimicsocks "$PID" ms

# A metrics address off loopback is refused unless allowed.
sed "s|^metrics: 127.0.0.1:$MP|metrics: 0.0.0.0:$MP|" "$E2E_TMP/metrics.yaml" >"$E2E_TMP/public.yaml"
set +e
"$MIMICSOCKS" check-config "$E2E_TMP/public.yaml" >"$E2E_TMP/public.out" 2>&1
RC=$?
set -e
((RC == 2)) && grep -q "metrics: '0.0.0.0' is not a loopback address.*metrics_public: true" "$E2E_TMP/public.out" \
    || fail "metrics: 0.0.0.0 not refused (exit $RC): $(cat "$E2E_TMP/public.out")"
printf 'metrics_public: true\n' >>"$E2E_TMP/public.yaml"
"$MIMICSOCKS" check-config "$E2E_TMP/public.yaml" >/dev/null 2>&1 || fail "metrics_public: true did not allow 0.0.0.0"
set +e
"$MIMICSOCKS" socks --listen 127.0.0.1:1 --metrics "0.0.0.0:$MP" >"$E2E_TMP/cli.out" 2>&1
RC=$?
set -e
((RC == 2)) && grep -q "not a loopback address.*--metrics-public" "$E2E_TMP/cli.out" \
    || fail "--metrics 0.0.0.0 not refused (exit $RC): $(cat "$E2E_TMP/cli.out")"
ok "metrics on 0.0.0.0 refused (config and --metrics) unless metrics_public: true"

# The standalone proxy's --metrics.
start_mimicsocks px socks --metrics "127.0.0.1:$MP"
wait_log px 'metrics: serving' 1 10 || fail "socks --metrics: no endpoint"
fetch_check "socks --metrics: a download" "$F_SHA" $SIZE --socks5 "127.0.0.1:$MS_PORT" "http://127.0.0.1:$H/file/f"
DOWN=$(metric mimicsocks_user_bytes_total 'name="socks",direction="down"')
((DOWN >= SIZE && DOWN <= SIZE + 1024)) || fail "socks --metrics: $DOWN bytes down for $SIZE"
ok "socks --metrics: $DOWN bytes down for one $SIZE-byte download"
udp_moved "socks --metrics" socks "$MS_PORT"
stop_mimicsocks "$MS_PID" px
