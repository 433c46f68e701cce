#!/usr/bin/env bash
# e2e_wormhole_chain — multi-hop wormholes in one config: A (handler relay, relay: B)
# whose remote end relays into B's local end, B with handler socks, so that SOCKS through
# A's server reaches the origin (aggregated, distributed, mixed, and three hops); and
# wormholes whose dialing end goes through an upstream HTTP proxy (local_proxy: a
# `mimicsocks http` process), whose log shows the CONNECT to the remote end, also for
# the handover connections to the extra ports (SIGUSR1).
# Usage: wormhole_chain.sh PATH/TO/mimicsocks
source "$(dirname "$0")/lib.sh"
e2e_init "$@"

serve_random big="$((16 * 1024 * 1024))" mid="$((2 * 1024 * 1024))"
# The upstream proxy the dialing ends go through.
start_mimicsocks upstream http --log-destinations
PX=$MS_PORT; UPSTREAM=$MS_PID
KEY=$(wh_key)
KEY2=$(wh_key)
CONF="$E2E_TMP/wormholes.yaml"

# wormhole NAME MODE USERS_PORT TUNNEL_PORT KEY YAML_LINE...
wormhole() {
    printf '  - name: %s\n    wormhole: %s\n    server: 127.0.0.1:%s\n' "$1" "$2" "$3"
    printf '    wormhole_remote: 127.0.0.1:%s\n    key: %s\n' "$4" "$5"
    shift 5
    local line
    for line in "$@"; do printf '    %s\n' "$line"; done
}
write_config() {
    read -r SA TA SB TB SC TC SD TD SE TE SF TF SP TP SQ TQ XP XQ <<<"$(free_ports 18)"
    {
        echo "wormholes:"
        # aggregated -> aggregated
        wormhole hop-a aggregated "$SA" "$TA" "$KEY" "handler: relay" "relay: hop-b"
        wormhole hop-b aggregated "$SB" "$TB" "$KEY2" "handler: socks" "$E2E_ALLOW_YAML"
        # distributed -> distributed
        wormhole hop-c distributed "$SC" "$TC" "$KEY2" "remote_handler: relay" "relay: hop-d"
        wormhole hop-d distributed "$SD" "$TD" "$KEY" "handler: socks" "$E2E_ALLOW_YAML"
        # mixed: distributed -> aggregated; and three hops: hop-f -> hop-a -> hop-b
        wormhole hop-e distributed "$SE" "$TE" "$KEY" "handler: relay" "relay: hop-b"
        wormhole hop-f aggregated "$SF" "$TF" "$KEY2" "handler: relay" "relay: hop-a"
        # through the upstream HTTP proxy
        wormhole via-proxy-agg aggregated "$SP" "$TP" "$KEY" "handler: socks" "$E2E_ALLOW_YAML" "local_proxy: 127.0.0.1:$PX" \
            "extra_ports: [$XP]" "handover_interval: 0"
        wormhole via-proxy-dist distributed "$SQ" "$TQ" "$KEY2" "handler: http" "$E2E_ALLOW_YAML" "local_proxy: 127.0.0.1:$PX" \
            "extra_ports: [$XQ]" "handover_interval: 0"
    } >"$CONF"
}
for attempt in 1 2 3; do
    write_config
    start_config ms "$CONF" "$SA $TA $SB $TB $SC $TC $SD $TD $SE $TE $SF $TF $SP $TP $SQ $TQ $XP $XQ" && break
    ((attempt < 3)) || fail "mimicsocks --config did not start"
done
MS=$CFG_PID
log "origin :$H, upstream proxy :$PX; A :$SA -> B :$SB; C :$SC -> D :$SD; E :$SE -> B; F :$SF -> A -> B"
"$MIMICSOCKS" check-config "$CONF" >/dev/null 2>&1 || fail "check-config rejects the chain config"
wait_log ms "tunnel up" 4 || fail "the four aggregated tunnels did not come up"
ok "the aggregated tunnels are up"

BIG="http://127.0.0.1:$H/file/big"
BIG_NAME="http://localhost:$H/file/big"

# --- chains -------------------------------------------------------------------------------
fetch_retry 10 "A -> B (aggregated twice), socks5-hostname" "$BIG_SHA" "$BIG_SIZE" \
    --socks5-hostname "127.0.0.1:$SA" "$BIG_NAME"
fetch_check "A -> B, socks4" "$MID_SHA" "$MID_SIZE" --socks4 "127.0.0.1:$SA" "http://127.0.0.1:$H/file/mid"
fetch_check "C -> D (distributed twice), socks5-hostname" "$BIG_SHA" "$BIG_SIZE" \
    --socks5-hostname "127.0.0.1:$SC" "$BIG_NAME"
fetch_retry 10 "E -> B (distributed, then aggregated), socks5-hostname" "$BIG_SHA" "$BIG_SIZE" \
    --socks5-hostname "127.0.0.1:$SE" "$BIG_NAME"
fetch_retry 10 "F -> A -> B (three hops), socks5-hostname" "$BIG_SHA" "$BIG_SIZE" \
    --socks5-hostname "127.0.0.1:$SF" "$BIG_NAME"
parallel_fetch 20 "A -> B, 20 parallel" "$MID_SHA" 60 --socks5-hostname "127.0.0.1:$SA" "http://localhost:$H/file/mid"
parallel_fetch 20 "C -> D, 20 parallel" "$MID_SHA" 60 --socks5 "127.0.0.1:$SC" "http://127.0.0.1:$H/file/mid"
# The first hop's users port relays, it does not speak SOCKS itself: only the last hop
# does, so a SOCKS answer there proves the bytes crossed the chain. Plain HTTP sent to A
# reaches B's socks handler, which must refuse it.
rc=0
ecurl 10 -o /dev/null "http://127.0.0.1:$SA/file/mid" 2>/dev/null || rc=$?
((rc != 0)) || fail "plain HTTP to A's server got an answer: A does not relay into B's socks handler"
ok "plain HTTP into A's server is refused by B's socks handler (curl exit $rc)"

# --- through the upstream HTTP proxy --------------------------------------------------------
fetch_retry 10 "aggregated via local_proxy, socks5" "$BIG_SHA" "$BIG_SIZE" --socks5 "127.0.0.1:$SP" "$BIG"
fetch_check "distributed via local_proxy, http absolute-URI" "$BIG_SHA" "$BIG_SIZE" \
    -x "http://127.0.0.1:$SQ" "$BIG"
fetch_check "distributed via local_proxy, http CONNECT" "$MID_SHA" "$MID_SIZE" \
    -p -x "http://127.0.0.1:$SQ" "http://localhost:$H/file/mid"
grep -qE "CONNECT 127\.0\.0\.1:$TP\b" "$E2E_TMP/upstream.log" \
    || fail "the upstream proxy's log shows no CONNECT to the aggregated tunnel's port $TP"
n=$(log_count upstream "CONNECT 127\.0\.0\.1:$TQ\b")
((n >= 2)) || fail "the upstream proxy's log shows $n CONNECTs to the distributed tunnel's port $TQ, expected one per user connection (2)"
ok "the upstream proxy carried the tunnels: $(grep -m1 -E "CONNECT 127\.0\.0\.1:$TP\b" "$E2E_TMP/upstream.log" | cut -c1-140)"
grep -qE "via-proxy-agg: tunnel up to the proxy 127\.0\.0\.1:$PX" "$E2E_TMP/ms.log" \
    || fail "no 'tunnel up to the proxy' line for via-proxy-agg"
# Not one of the direct tunnels went through the proxy.
for port in "$TA" "$TB" "$TC" "$TD" "$TE" "$TF"; do
    ! grep -qE "CONNECT 127\.0\.0\.1:$port\b" "$E2E_TMP/upstream.log" \
        || fail "a wormhole without local_proxy went through the proxy (port $port)"
done

# Handovers go through the proxy too: SIGUSR1 while a slow download runs through each
# proxied wormhole; the new connections are CONNECTs to the extra ports.
SLOW="http://127.0.0.1:$H/slow/2097152?parts=40&ms=100"
SLOW_SHA=$(pattern_sha 2097152)
fetch_bg ho-agg 30 --socks5 "127.0.0.1:$SP" "$SLOW"
fetch_bg ho-dist 30 -x "http://127.0.0.1:$SQ" "$SLOW"
sleep 1
kill -USR1 "$MS"
wait_log ms "via-proxy-agg: handover done" 1 10 || fail "via-proxy-agg: no handover through the proxy"
wait_log ms "via-proxy-dist: handover done" 1 10 || fail "via-proxy-dist: no handover through the proxy"
grep -qE "CONNECT 127\.0\.0\.1:$XP\b" "$E2E_TMP/upstream.log" \
    || fail "the upstream proxy's log shows no CONNECT to via-proxy-agg's extra port $XP"
grep -qE "CONNECT 127\.0\.0\.1:$XQ\b" "$E2E_TMP/upstream.log" \
    || fail "the upstream proxy's log shows no CONNECT to via-proxy-dist's extra port $XQ"
fetch_bg_check ho-agg "via-proxy-agg: a download across a handover through the proxy" "$SLOW_SHA"
fetch_bg_check ho-dist "via-proxy-dist: a download across a handover through the proxy" "$SLOW_SHA"
ok "handovers through the upstream proxy: $(grep -m1 'via-proxy-agg: handover done' "$E2E_TMP/ms.log" | cut -c1-120)"

# Without the proxy, the distributed wormhole's users are refused promptly.
stop_mimicsocks "$UPSTREAM" upstream
t0=$(now_ms); rc=0
ecurl 20 -x "http://127.0.0.1:$SQ" -o /dev/null "$BIG" 2>/dev/null || rc=$?
dt=$(($(now_ms) - t0))
((rc != 0)) || fail "a download through via-proxy-dist succeeded with its proxy gone"
((rc != 28 && dt < 10000)) || fail "via-proxy-dist with its proxy gone: curl hung ($dt ms, exit $rc)"
ok "with the upstream proxy gone, via-proxy-dist refuses in $dt ms (curl exit $rc)"

stop_mimicsocks "$MS" ms
