#!/usr/bin/env bash
# e2e_v1_original_socks — our local end of a distributed v1 socks wormhole against the
# original Erlang remote end as it really behaves (tools.py orig-socks-remote; its
# lines in foldl/mimicsocks cited in tools_v1.py): that remote reads a SOCKS5
# greeting and request only from separate reads, so the local end forwards the
# greeting alone, takes the remote's 05 00, and only then sends the request (issue
# 13: greeting and request in one segment left curl waiting until it timed out).
#   - downloads via --socks5 and --socks5-hostname, intact, with the CONNECT answered
#     at the local end (optimistic, the default) and with optimistic: false;
#   - a target the remote cannot reach: it answers REP 1 and closes; the user sees a
#     reset after the local answer (curl exit 56), or, with optimistic: false, the
#     remote's own SOCKS error (curl exit 97).
# Usage: v1_original_socks.sh PATH/TO/mimicsocks
source "$(dirname "$0")/lib.sh"
e2e_init "$@"

serve_random f=400000
KEY=$(wh_key)
CLOSED=$(free_port)         # nothing listens there

# Two original-like remote ends, one per wormhole (two wormholes cannot share a
# remote port).
start_orig() {   # NAME: sets ORIG_PORT
    local attempt
    for attempt in 1 2 3; do
        ORIG_PORT=$(free_port)
        bg "$1" "$PYTHON" "$E2E_DIR/tools.py" orig-socks-remote "$ORIG_PORT" --key "$KEY" \
            --ready-file "$E2E_TMP/$1.ready"
        wait_file "$E2E_TMP/$1.ready" "$BG_PID" && return 0
        ((attempt < 3)) || fail "the original-like remote end did not start: $(tail -n 3 "$E2E_TMP/$1.log")"
    done
}
start_orig orig
T=$ORIG_PORT
start_orig orig-rt
T2=$ORIG_PORT
read -r S1 S2 <<<"$(free_ports 2)"
cat >"$E2E_TMP/local.yaml" <<EOF2
wormholes:
  - name: orig
    server: 127.0.0.1:$S1
    wormhole_remote: 127.0.0.1:$T
    wormhole: distributed
    handler: socks
    key: $KEY
    protocol: v1
    mimic: off
  - name: orig-rt
    server: 127.0.0.1:$S2
    wormhole_remote: 127.0.0.1:$T2
    wormhole: distributed
    handler: socks
    key: $KEY
    protocol: v1
    mimic: off
    optimistic: false
EOF2
start_config local "$E2E_TMP/local.yaml" "$S1 $S2" --role local || fail "the local end did not start"

URL="http://127.0.0.1:$H/file/f"
FETCH_MAX=20
for S in "$S1" "$S2"; do
    what=$([[ $S == "$S1" ]] && echo optimistic || echo "optimistic: false")
    fetch_check "$what: socks5 via the original remote" "$F_SHA" "$F_SIZE" --socks5 "127.0.0.1:$S" "$URL"
    fetch_check "$what: socks5-hostname via the original remote" "$F_SHA" "$F_SIZE" \
        --socks5-hostname "127.0.0.1:$S" "$URL"
done

# refused_with WHAT CODE PORT: curl through the wormhole to the closed port exits CODE.
refused_with() {
    local what=$1 want=$2 port=$3 rc=0
    ecurl 20 -o /dev/null --socks5 "127.0.0.1:$port" "http://127.0.0.1:$CLOSED/" 2>"$E2E_TMP/curl.err" || rc=$?
    [[ " $want " == *" $rc "* ]] || fail "$what: curl exited $rc, expected $want: $(head -c 300 "$E2E_TMP/curl.err")"
    ok "$what: curl exit $rc ($(head -c 120 "$E2E_TMP/curl.err"))"
}
refused_with "optimistic: the remote's REP 1 resets the user" "55 56" "$S1"
tool socks5-optimistic "$S1" 127.0.0.1 "$CLOSED" --expect reset
refused_with "optimistic: false: the remote's REP 1 reaches the user" 97 "$S2"
((  $(log_count local "orig: the far end refused \(SOCKS5 reply 1\)") >= 1 )) \
    || fail "no log line for the remote's refusal"
ok "the refusal is logged with the remote's REP"
