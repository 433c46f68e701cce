#!/usr/bin/env bash
# e2e_handshake — the handshake timeout (--handshake-timeout, `handshake_timeout:`): a
# SOCKS or HTTP client that connects and never completes its request is closed after
# that long (2 s here; the defaults before were 10 s for SOCKS and 30 s for HTTP), on a
# standalone proxy and through a wormhole (its local end, which answers the handshake
# itself, times a client that stops halfway or says nothing; so does the far end's
# socks handler where the local end passes the handshake on),
# and counted in mimicsocks_handshake_timeouts_total; a client that completes its
# request in time is served.
# Usage: handshake.sh PATH/TO/mimicsocks
source "$(dirname "$0")/lib.sh"
e2e_init "$@"

serve_random f=100000

# closed_within WHAT HOST PORT MIN MAX TOOL_ARGS...: the peer closes between MIN and MAX s.
closed_within() {
    local what=$1 host=$2 port=$3 min=$4 max=$5; shift 5
    local start end
    start=$(date +%s.%N)
    "$PYTHON" "$E2E_DIR/tools.py" expect-close "$host" "$port" "$@" --timeout "$max" \
        >"$E2E_TMP/close.out" 2>&1 || fail "$what: not closed within $max s: $(cat "$E2E_TMP/close.out")"
    end=$(date +%s.%N)
    awk -v s="$start" -v e="$end" -v m="$min" 'BEGIN { exit !(e - s >= m) }' \
        || fail "$what: closed after $(awk -v s="$start" -v e="$end" 'BEGIN { print e - s }') s, before $min s"
    ok "$what: closed after $(awk -v s="$start" -v e="$end" 'BEGIN { printf "%.1f", e - s }') s"
}

read -r MP <<<"$(free_ports 1)"
# (--idle-timeout first: it used to swallow the option after it)
start_mimicsocks sx socks --idle-timeout 300 --handshake-timeout 2 --metrics "127.0.0.1:$MP"
closed_within "socks: half a SOCKS5 greeting" 127.0.0.1 "$MS_PORT" 1.5 6 --hex 05
closed_within "socks: nothing at all" 127.0.0.1 "$MS_PORT" 1.5 6 --hex ""
fetch_check "socks: a complete request is served" "$F_SHA" 100000 --socks5 "127.0.0.1:$MS_PORT" \
    "http://127.0.0.1:$H/file/f"
COUNT=$(ecurl 5 "http://127.0.0.1:$MP/metrics" | grep -F 'mimicsocks_handshake_timeouts_total{name="socks"} ')
[[ ${COUNT##* } == 2 ]] || fail "handshake timeouts counted: '$COUNT', not 2"
ok "two handshake timeouts counted"
stop_mimicsocks "$MS_PID" sx

start_mimicsocks hx http --handshake-timeout 2
closed_within "http: half a request head" 127.0.0.1 "$MS_PORT" 1.5 6 --text 'GET http://127.0.0.1/ HTTP/1.1\r\n'
fetch_check "http: a complete request is served" "$F_SHA" 100000 --proxy "http://127.0.0.1:$MS_PORT" \
    "http://127.0.0.1:$H/file/f"
stop_mimicsocks "$MS_PID" hx

# A wormhole: its local end times the user out (the far end's handler would too).
KEY=$(wh_key)
for attempt in 1 2 3; do
    read -r S R <<<"$(free_ports 2)"
    cat >"$E2E_TMP/wh.yaml" <<YAML
handshake_timeout: 2
wormholes:
  - name: hs
    server: 127.0.0.1:$S
    wormhole_remote: 127.0.0.1:$R
    wormhole: aggregated
    handler: socks
    $E2E_ALLOW_YAML
    key: $KEY
YAML
    start_config wh "$E2E_TMP/wh.yaml" "$S $R" && break
    ((attempt < 3)) || fail "the wormhole did not start"
done
closed_within "wormhole: half a SOCKS5 greeting" 127.0.0.1 "$S" 1.5 6 --hex 05
closed_within "wormhole: nothing at all" 127.0.0.1 "$S" 1.5 6 --hex ""
fetch_check "wormhole: a complete request is served" "$F_SHA" 100000 --socks5 "127.0.0.1:$S" \
    "http://127.0.0.1:$H/file/f"
stop_mimicsocks "$CFG_PID" wh
