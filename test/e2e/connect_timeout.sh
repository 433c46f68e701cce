#!/usr/bin/env bash
# e2e_connect_timeout — a wormhole's connect_timeout: bounds its dials. A blackhole on
# loopback (a listener that never accepts, its queue full: connects neither succeed
# nor fail) stands for an unroutable address. With connect_timeout: 2 (the default is
# 10 s), a target that is a blackhole gets the user a SOCKS failure after about 2 s, and
# so does a wormhole whose far end is one (the local end's dial of the tunnel), each
# logged as a timeout; a target that answers still works.
# Usage: connect_timeout.sh PATH/TO/mimicsocks
source "$(dirname "$0")/lib.sh"
e2e_init "$@"

serve_random f=100000
KEY=$(wh_key)
bg blackhole "$PYTHON" "$E2E_DIR/tools.py" blackhole --port-file "$E2E_TMP/blackhole.port" --hold 300
wait_file "$E2E_TMP/blackhole.port" "$BG_PID" || fail "the blackhole did not start: $(cat "$E2E_TMP/blackhole.log")"
BH=$(<"$E2E_TMP/blackhole.port")

# wormhole ENTRY-NAME SERVER REMOTE: a distributed socks wormhole with connect_timeout: 2.
wormhole() {
    cat <<YAML
  - name: $1
    server: 127.0.0.1:$2
    wormhole_remote: 127.0.0.1:$3
    wormhole: distributed
    handler: socks
    $E2E_ALLOW_YAML
    key: $KEY
    optimistic: false
    connect_timeout: 2
YAML
}
for attempt in 1 2 3; do
    read -r S1 T1 S2 <<<"$(free_ports 3)"
    { echo "wormholes:"; wormhole tgt "$S1" "$T1"; } >"$E2E_TMP/tgt.yaml"
    { echo "wormholes:"; wormhole far "$S2" "$BH"; } >"$E2E_TMP/far.yaml"
    start_config tgt "$E2E_TMP/tgt.yaml" "$S1 $T1" || { ((attempt < 3)) && continue; fail "tgt did not start"; }
    TGT_PID=$CFG_PID
    # Only the users' end: the far end would be the blackhole's own port.
    start_config far "$E2E_TMP/far.yaml" "$S2" --role local && break
    stop_mimicsocks "$TGT_PID" tgt
    ((attempt < 3)) || fail "far did not start"
done
FAR_PID=$CFG_PID

fetch_check "tgt: a download to a target that answers" "$F_SHA" 100000 --socks5 "127.0.0.1:$S1" \
    "http://127.0.0.1:$H/file/f"

# try NAME PORT: a SOCKS5 CONNECT to the blackhole through PORT; sets DT (ms) and CURL_RC.
try() {
    local t0
    t0=$(now_ms)
    CURL_RC=0
    ecurl 30 --socks5 "127.0.0.1:$2" -o /dev/null "http://127.0.0.1:$BH/" 2>"$E2E_TMP/$1.curl" || CURL_RC=$?
    DT=$(($(now_ms) - t0))
}
try tgt "$S1"
((CURL_RC == 97)) || fail "tgt: a blackholed target: curl exited $CURL_RC, expected 97: $(cat "$E2E_TMP/tgt.curl")"
# More than the 2 s asked for, less than the 10 s default (no speed is measured here).
((DT >= 1500 && DT < 8000)) || fail "tgt: a blackholed target failed after $DT ms, not about 2 s"
wait_log tgt "timed out" 1 5 || fail "tgt: no timeout logged: $(tail -n 3 "$E2E_TMP/tgt.log")"
ok "tgt: a blackholed target: a SOCKS failure after $DT ms ($(head -c 120 "$E2E_TMP/tgt.curl"))"

try far "$S2"
((CURL_RC != 0)) || fail "far: a download through a blackholed far end succeeded"
((DT >= 1500 && DT < 8000)) || fail "far: a blackholed far end failed after $DT ms, not about 2 s"
wait_log far "timed out" 1 5 || fail "far: no timeout logged: $(tail -n 3 "$E2E_TMP/far.log")"
ok "far: a blackholed far end: curl exit $CURL_RC after $DT ms ($(head -c 120 "$E2E_TMP/far.curl"))"

stop_mimicsocks "$FAR_PID" far
stop_mimicsocks "$TGT_PID" tgt
