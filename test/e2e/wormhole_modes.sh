#!/usr/bin/env bash
# e2e_wormhole_modes — every handler through both kinds of wormhole (aggregated and
# distributed), both ends in one process: curl's SOCKS4, SOCKS4a, SOCKS5 and
# SOCKS5-hostname clients (handler socks), absolute-URI and CONNECT requests (handler
# http) and a relay to the origin, each fetching a 16 MiB random file intact; then 200
# parallel small and medium downloads through the aggregated socks wormhole; then a slow
# reader and a reader that never reads, while 10 other downloads through the SAME
# aggregated tunnel finish in time. E2E_PROTOCOL: the wormholes' protocol, v2 (default)
# or v1.
# Usage: wormhole_modes.sh PATH/TO/mimicsocks
source "$(dirname "$0")/lib.sh"
e2e_init "$@"

serve_random big="$((16 * 1024 * 1024))" mid="$((2 * 1024 * 1024))" medium="$((256 * 1024))" small="$((8 * 1024))"
KEY=$(wh_key)
CONF="$E2E_TMP/wormholes.yaml"

# wormhole NAME MODE HANDLER USERS_PORT TUNNEL_PORT [EXTRA YAML LINE]
wormhole() {
    printf '  - name: %s\n    server: 127.0.0.1:%s\n    wormhole_remote: 127.0.0.1:%s\n' "$1" "$4" "$5"
    printf '    wormhole: %s\n    handler: %s\n    key: %s\n' "$2" "$3" "$KEY"
    printf '    protocol: %s\n' "${E2E_PROTOCOL:-v2}"
    [[ $3 == relay ]] || printf '    %s\n' "$E2E_ALLOW_YAML"
    [[ -z "${6:-}" ]] || printf '    %s\n' "$6"
}
write_config() {
    read -r AS AT AH AHT AR ART DS DT DH DHT DR DRT <<<"$(free_ports 12)"
    {
        echo "wormholes:"
        wormhole agg-socks aggregated socks "$AS" "$AT"
        wormhole agg-http aggregated http "$AH" "$AHT"
        wormhole agg-relay aggregated relay "$AR" "$ART" "relay: 127.0.0.1:$H"
        wormhole dist-socks distributed socks "$DS" "$DT"
        wormhole dist-http distributed http "$DH" "$DHT"
        wormhole dist-relay distributed relay "$DR" "$DRT" "relay: 127.0.0.1:$H"
    } >"$CONF"
}
for attempt in 1 2 3; do
    write_config
    start_config ms "$CONF" "$AS $AT $AH $AHT $AR $ART $DS $DT $DH $DHT $DR $DRT" --role both && break
    ((attempt < 3)) || fail "mimicsocks --config did not start"
done
MS=$CFG_PID
log "origin :$H; aggregated socks :$AS http :$AH relay :$AR; distributed socks :$DS http :$DH relay :$DR"
wait_log ms "tunnel up" 3 || fail "the three aggregated tunnels did not come up"
ok "the three aggregated tunnels are up"

# Guard against a curl that would bypass the proxy: nothing listens on this port.
CLOSED=$(free_port)
rc=0
ecurl 10 --socks5 "127.0.0.1:$CLOSED" -o /dev/null "http://127.0.0.1:$H/file/small" 2>/dev/null || rc=$?
((rc != 0)) || fail "curl fetched through a closed proxy port: proxies are being bypassed"

# --- every client protocol and handler, 16 MiB, both modes -----------------------------
BIG="http://127.0.0.1:$H/file/big"
BIG_NAME="http://localhost:$H/file/big"
for mode in agg dist; do
    if [[ $mode == agg ]]; then S=$AS; HP=$AH; R=$AR; else S=$DS; HP=$DH; R=$DR; fi
    # The first request through an aggregated tunnel may race its start: retried (bounded).
    fetch_retry 10 "$mode: socks4"        "$BIG_SHA" "$BIG_SIZE" --socks4 "127.0.0.1:$S" "$BIG"
    fetch_check "$mode: socks4a"          "$BIG_SHA" "$BIG_SIZE" --socks4a "127.0.0.1:$S" "$BIG_NAME"
    fetch_check "$mode: socks5"           "$BIG_SHA" "$BIG_SIZE" --socks5 "127.0.0.1:$S" "$BIG"
    fetch_check "$mode: socks5-hostname"  "$BIG_SHA" "$BIG_SIZE" --socks5-hostname "127.0.0.1:$S" "$BIG_NAME"
    fetch_retry 10 "$mode: http absolute-URI" "$BIG_SHA" "$BIG_SIZE" -x "http://127.0.0.1:$HP" "$BIG"
    fetch_check "$mode: http CONNECT"     "$BIG_SHA" "$BIG_SIZE" -p -x "http://127.0.0.1:$HP" "$BIG_NAME"
    # The relay's target is the origin itself: a plain request to the users' port.
    fetch_retry 10 "$mode: relay"         "$BIG_SHA" "$BIG_SIZE" "http://127.0.0.1:$R/file/big"
done
# A half-close crosses the wormhole: a client that sends its request and then SHUT_WR
# still gets the whole response. Distributed mode carries it as TCP does; aggregated mode
# as the FIN extension between two C ends (docs/PROTOCOL-EXTENSIONS.md).
tool halfclose-http 127.0.0.1 "$DR" /file/mid "$MID_SHA"
tool halfclose-http 127.0.0.1 "$AR" /file/mid "$MID_SHA"

# --- 200 at once through the aggregated socks tunnel ------------------------------------
LIST="$E2E_TMP/list"
: >"$LIST"
for ((i = 0; i < 200; i++)); do
    if ((i % 4 == 0)); then
        echo "$MEDIUM_SHA http://127.0.0.1:$H/file/medium" >>"$LIST"
    elif ((i % 4 == 1)); then
        echo "$SMALL_SHA http://localhost:$H/file/small" >>"$LIST"
    else
        echo "$SMALL_SHA http://127.0.0.1:$H/file/small" >>"$LIST"
    fi
done
t0=$(now_ms)
parallel_fetch_list "agg socks5-hostname, 200 small/medium" 90 "$LIST" --socks5-hostname "127.0.0.1:$AS"
ok "200 parallel downloads took $(($(now_ms) - t0)) ms"
parallel_fetch 50 "dist socks5, 50 medium" "$MEDIUM_SHA" 90 --socks5 "127.0.0.1:$DS" "http://127.0.0.1:$H/file/medium"

# --- a slow reader and a stalled reader do not block the shared tunnel ------------------
# 16 MiB at 1 MiB/s keeps its stream busy for ~16 s; the stalled client opens a stream to
# the same file and never reads it, so its window fills and stays full.
fetch_bg slow 90 --limit-rate 1M --socks5 "127.0.0.1:$AS" "$BIG"
bg stall "$PYTHON" "$E2E_DIR/tools.py" stall-socks5 "$AS" 127.0.0.1 "$H" /file/big \
    --ready-file "$E2E_TMP/stall.ready" --hold 120
STALL_PID=$BG_PID
wait_file "$E2E_TMP/stall.ready" "$STALL_PID" || fail "the stalled client could not open its stream"
sleep 1     # let both streams fill whatever buffers they can
t0=$(now_ms)
parallel_fetch 10 "agg: 10 downloads beside a slow and a stalled reader" "$MID_SHA" 20 \
    --socks5 "127.0.0.1:$AS" "http://127.0.0.1:$H/file/mid"
dt=$(($(now_ms) - t0))
kill -0 "$STALL_PID" 2>/dev/null || fail "the stalled client's connection ended early"
[[ ! -s "$E2E_TMP/slow.sha" ]] || fail "the slow reader finished before the others (not slow)"
ok "10 downloads of 2 MiB beside a slow and a stalled reader took $dt ms"
fetch_check "agg http beside a slow and a stalled reader" "$MID_SHA" "$MID_SIZE" \
    -x "http://127.0.0.1:$AH" "http://127.0.0.1:$H/file/mid"
stop_pid "$STALL_PID"
fetch_bg_check slow "agg: the slow reader (1 MiB/s) got its 16 MiB intact" "$BIG_SHA"

stop_mimicsocks "$MS" ms
