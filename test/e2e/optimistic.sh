#!/usr/bin/env bash
# e2e_optimistic — the local end's own answer to a CONNECT (docs: "Optimistic CONNECT"),
# in one process (--role both), aggregated and distributed, v2 and v1:
#   - SOCKS5 (address and name), SOCKS4, SOCKS4a and HTTP CONNECT downloads are intact;
#     a plain HTTP proxy request (absolute URI) goes through as before;
#   - the answer is the local end's (REP 0 with BND 0.0.0.0:0) and, when the far end
#     refuses (its ACL denies loopback), the user's connection is reset: curl exit 56
#     (55 if its request met the reset) for SOCKS5, SOCKS4 and HTTP CONNECT, in both
#     modes; the refusal is logged with the far end's code;
#   - optimistic: false: the far end's own SOCKS error (curl exit 97);
#   - a far handler with users: the round trip stays: the right password downloads,
#     a wrong one gets the far end's authentication failure (curl exit 97);
#   - a handshake cut short by the user's EOF is passed on and closed; one that stalls
#     is closed by the local end after 10 s.
# Usage: optimistic.sh PATH/TO/mimicsocks
source "$(dirname "$0")/lib.sh"
e2e_init "$@"

serve_random f=300000
KEY=$(wh_key)
CONF="$E2E_TMP/optimistic.yaml"
NAMES=(agg2 dist2 agg1 dist1 http closed closed-dist closed-http closed-rt auth)
declare -A PORT=()

# wormhole NAME MODE PROTOCOL HANDLER [EXTRA YAML LINES...]
wormhole() {
    local name=$1 mode=$2 protocol=$3 handler=$4 line; shift 4
    read -r user tunnel <<<"$(free_ports 2)"
    PORT[$name]=$user
    printf '  - name: %s\n    server: 127.0.0.1:%s\n    wormhole_remote: 127.0.0.1:%s\n' "$name" "$user" "$tunnel"
    printf '    wormhole: %s\n    protocol: %s\n    handler: %s\n    key: %s\n    mimic: off\n' \
        "$mode" "$protocol" "$handler" "$KEY"
    for line in "$@"; do printf '    %s\n' "$line"; done
}
write_config() {
    {
        echo "wormholes:"
        wormhole agg2 aggregated v2 socks "$E2E_ALLOW_YAML"
        wormhole dist2 distributed v2 socks "$E2E_ALLOW_YAML"
        wormhole agg1 aggregated v1 socks "$E2E_ALLOW_YAML"
        wormhole dist1 distributed v1 socks "$E2E_ALLOW_YAML"
        wormhole http aggregated v2 http "$E2E_ALLOW_YAML"
        wormhole closed aggregated v2 socks
        wormhole closed-dist distributed v2 socks
        wormhole closed-http distributed v2 http
        wormhole closed-rt aggregated v2 socks "optimistic: false"
        wormhole auth aggregated v2 socks5 "$E2E_ALLOW_YAML" "users: [{name: alice, password: s3cret}]"
    } >"$CONF"
}
for attempt in 1 2 3; do
    write_config
    ports=""
    for n in "${NAMES[@]}"; do ports+=" ${PORT[$n]}"; done
    start_config ms "$CONF" "$ports" --role both && break
    ((attempt < 3)) || fail "mimicsocks --config did not start"
done
wait_log ms "tunnel up" 6 15 || fail "the aggregated tunnels did not come up"

URL="http://127.0.0.1:$H/file/f"
BYNAME="http://localhost:$H/file/f"
FETCH_MAX=20
for n in agg2 dist2 agg1 dist1; do
    P=${PORT[$n]}
    fetch_retry 10 "$n: socks5"          "$F_SHA" "$F_SIZE" --socks5 "127.0.0.1:$P" "$URL"
    fetch_check    "$n: socks5-hostname" "$F_SHA" "$F_SIZE" --socks5-hostname "127.0.0.1:$P" "$BYNAME"
    fetch_check    "$n: socks4"          "$F_SHA" "$F_SIZE" --socks4 "127.0.0.1:$P" "$URL"
    fetch_check    "$n: socks4a"         "$F_SHA" "$F_SIZE" --socks4a "127.0.0.1:$P" "$BYNAME"
    tool socks5-optimistic "$P" 127.0.0.1 "$H" --expect data
done
fetch_retry 10 "http: CONNECT"       "$F_SHA" "$F_SIZE" -p -x "http://127.0.0.1:${PORT[http]}" "$URL"
fetch_check    "http: absolute URI"  "$F_SHA" "$F_SIZE" -x "http://127.0.0.1:${PORT[http]}" "$URL"

# reset_seen WHAT CURL_ARGS...: curl is answered, then reset (exit 56, or 55).
reset_seen() {
    local what=$1 rc=0; shift
    ecurl 20 -o /dev/null "$@" 2>"$E2E_TMP/curl.err" || rc=$?
    ((rc == 56 || rc == 55)) || fail "$what: curl exited $rc, expected 56 (reset): $(head -c 300 "$E2E_TMP/curl.err")"
    ok "$what: reset, curl exit $rc ($(head -c 120 "$E2E_TMP/curl.err"))"
}
for try in 1 2 3 4 5 6 7 8 9 10; do        # the first stream may meet a tunnel still coming up
    rc=0
    ecurl 5 -o /dev/null --socks5 "127.0.0.1:${PORT[closed]}" "$URL" 2>/dev/null || rc=$?
    ((rc == 56 || rc == 55)) && break
    sleep 0.5
done
reset_seen "closed (aggregated): socks5 to a denied target"     --socks5 "127.0.0.1:${PORT[closed]}" "$URL"
reset_seen "closed (aggregated): socks5-hostname"               --socks5-hostname "127.0.0.1:${PORT[closed]}" "$BYNAME"
reset_seen "closed (aggregated): socks4"                        --socks4 "127.0.0.1:${PORT[closed]}" "$URL"
reset_seen "closed-dist (distributed): socks5"                  --socks5 "127.0.0.1:${PORT[closed-dist]}" "$URL"
reset_seen "closed-http (distributed): CONNECT"                 -p -x "http://127.0.0.1:${PORT[closed-http]}" "$URL"
tool socks5-optimistic "${PORT[closed]}" 127.0.0.1 "$H" --expect reset
tool socks5-optimistic "${PORT[closed-dist]}" 127.0.0.1 "$H" --expect reset
((  $(log_count ms "closed: the far end refused \(SOCKS5 reply 2\)") >= 1 )) \
    || fail "no log line for the far end's refusal with its REP"
((  $(log_count ms "closed-http: the far end refused \(HTTP status 403\)") >= 1 )) \
    || fail "no log line for the far end's 403"
ok "refusals logged with the far end's code"

# socks_error WHAT CURL_ARGS...: the far end's own SOCKS error reaches curl (exit 97).
socks_error() {
    local what=$1 rc=0; shift
    ecurl 20 -o /dev/null "$@" 2>"$E2E_TMP/curl.err" || rc=$?
    ((rc == 97)) || fail "$what: curl exited $rc, expected 97 (SOCKS error): $(head -c 300 "$E2E_TMP/curl.err")"
    ok "$what: curl exit 97 ($(head -c 120 "$E2E_TMP/curl.err"))"
}
socks_error "closed-rt (optimistic: false): socks5" --socks5 "127.0.0.1:${PORT[closed-rt]}" "$URL"
socks_error "closed-rt (optimistic: false): socks4" --socks4 "127.0.0.1:${PORT[closed-rt]}" "$URL"

fetch_retry 10 "auth: socks5 with the right password" "$F_SHA" "$F_SIZE" \
    --socks5 "127.0.0.1:${PORT[auth]}" --proxy-user alice:s3cret "$URL"
socks_error "auth: a wrong password" --socks5 "127.0.0.1:${PORT[auth]}" --proxy-user alice:wrong "$URL"
# A handshake cut short by the user's EOF passes on as it is (the far end closes); one
# that stalls is closed by the local end's handshake timer (10 s), not kept forever.
tool expect-close 127.0.0.1 "${PORT[agg2]}" --hex 050100050100 --shut --timeout 5
tool expect-close 127.0.0.1 "${PORT[dist1]}" --hex 050100050100 --shut --timeout 5
tool expect-close 127.0.0.1 "${PORT[agg2]}" --hex 0501 --timeout 15
no_sanitizer_report ms
