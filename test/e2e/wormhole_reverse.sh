#!/usr/bin/env bash
# e2e_wormhole_reverse — reverse wormholes (reverse: true, aggregated): the intranet end
# dials out to the public end, which takes users on `server`. Relays to an HTTP service
# and to an echo service, and a socks handler, first with both ends in one process
# (--role both), then as two processes (--role remote = the public end, --role local =
# the intranet end). The public end refuses users while no intranet end is connected; a
# restarted intranet end brings a new tunnel that the public end takes; a second
# intranet end that arrives while the first one is frozen (SIGSTOP) replaces its tunnel.
# rev-http has an extra port and a fixed mimic model: a handover (SIGUSR1 to the
# intranet end) during a download.
# Usage: wormhole_reverse.sh PATH/TO/mimicsocks
source "$(dirname "$0")/lib.sh"
e2e_init "$@"

serve_random big="$((16 * 1024 * 1024))" mid="$((2 * 1024 * 1024))"
start_echo echo
E=$ECHO_PORT
KEY=$(wh_key)
CONF="$E2E_TMP/wormholes.yaml"

write_config() {
    read -r SH TH SE TE SS TS XH <<<"$(free_ports 7)"
    cat >"$CONF" <<EOF
wormholes:
  - name: rev-http
    server: 127.0.0.1:$SH
    wormhole_remote: 127.0.0.1:$TH
    reverse: true
    handler: relay
    relay: 127.0.0.1:$H
    key: $KEY
    extra_ports: [$XH]
    handover_interval: 0
    mimic: {size: gaussian, delay: exponential}
  - name: rev-echo
    server: 127.0.0.1:$SE
    wormhole_remote: 127.0.0.1:$TE
    wormhole: aggregated
    reverse: yes
    handler: relay
    relay: 127.0.0.1:$E
    key: $KEY
  - name: rev-socks
    server: 127.0.0.1:$SS
    wormhole_remote: 127.0.0.1:$TS
    reverse: true
    handler: socks
    $E2E_ALLOW_YAML
    key: $KEY
EOF
}
PUBLIC_PORTS() { echo "$SH $TH $SE $TE $SS $TS $XH"; }

# A reverse wormhole must be aggregated: check-config says so.
BAD="$E2E_TMP/bad.yaml"
printf 'wormholes:\n  - name: r\n    server: 127.0.0.1:1\n    wormhole_remote: 127.0.0.1:2\n    wormhole: distributed\n    reverse: true\n    key: %s\n' "$KEY" >"$BAD"
rc=0
"$MIMICSOCKS" check-config "$BAD" >/dev/null 2>"$E2E_TMP/check.err" || rc=$?
((rc == 2)) || fail "check-config accepted reverse: true with wormhole: distributed (exit $rc)"
ok "reverse + distributed is refused: $(head -n 1 "$E2E_TMP/check.err")"

# check_all WHAT: every service, reached through the public end's users ports.
check_all() {
    local what=$1 i
    fetch_retry 10 "$what: relay to HTTP, 16 MiB" "$BIG_SHA" "$BIG_SIZE" "http://127.0.0.1:$SH/file/big"
    fetch_retry 10 "$what: socks5-hostname" "$MID_SHA" "$MID_SIZE" \
        --socks5-hostname "127.0.0.1:$SS" "http://localhost:$H/file/mid"
    # A python client and the echo service; a few bounded attempts for the tunnel's start.
    for ((i = 1; i <= 10; i++)); do
        "$PYTHON" "$E2E_DIR/tools.py" echo-roundtrip 127.0.0.1 "$SE" $((4 * 1024 * 1024)) \
            --timeout 30 >"$E2E_TMP/echo.out" 2>&1 && break
        ((i < 10)) || fail "$what: echo through rev-echo: $(<"$E2E_TMP/echo.out")"
        sleep 0.5
    done
    ok "$what: $(<"$E2E_TMP/echo.out") (attempt $i)"
}

# --- one process, both ends -------------------------------------------------------------
for attempt in 1 2 3; do
    write_config
    start_config both "$CONF" "$(PUBLIC_PORTS)" --role both && break
    ((attempt < 3)) || fail "mimicsocks --config --role both did not start"
done
BOTH=$CFG_PID
log "origin :$H, echo :$E; users :$SH :$SE :$SS, tunnels :$TH :$TE :$TS"
wait_log both "tunnel up" 3 || fail "the intranet ends' three tunnels did not come up"
check_all "--role both"
parallel_fetch 20 "--role both: 20 parallel through rev-http" "$MID_SHA" 60 "http://127.0.0.1:$SH/file/mid"
stop_mimicsocks "$BOTH" both

# --- two processes ------------------------------------------------------------------------
start_config public "$CONF" "$(PUBLIC_PORTS)" --role remote || fail "the public end did not start"
PUBLIC=$CFG_PID
# No intranet end yet: users are refused at once, not left hanging.
tool expect-close 127.0.0.1 "$SH" --text "GET /file/mid HTTP/1.1\r\nHost: x\r\n\r\n" --timeout 5
tool expect-close 127.0.0.1 "$SS" --hex 050100 --timeout 5

start_config intranet "$CONF" "" --role local || fail "the intranet end did not start"
INTRANET=$CFG_PID
wait_log intranet "tunnel up" 3 || fail "the intranet end's tunnels did not come up"
check_all "two processes"
# A handover in reverse mode: the intranet end dials it (SIGUSR1), the public end takes
# it on its extra port, while a slow download runs through rev-http.
SLOW="http://127.0.0.1:$SH/slow/2097152?parts=40&ms=100"
fetch_bg rev-ho 30 "$SLOW"
sleep 1
kill -USR1 "$INTRANET"
wait_log intranet "rev-http: handover done" 1 10 || fail "rev-http: the intranet end did no handover"
wait_log public "rev-http: handover done \(accepted" 1 10 || fail "rev-http: the public end took no handover"
fetch_bg_check rev-ho "rev-http: a download across a reverse handover" "$(pattern_sha 2097152)"
n_from=$(log_count public "tunnel from")

# Restart the intranet end (SIGKILL: no goodbye); the public end takes the new tunnels.
kill_hard "$INTRANET"
no_sanitizer_report intranet
start_config intranet2 "$CONF" "" --role local || fail "the restarted intranet end did not start"
INTRANET=$CFG_PID
wait_log intranet2 "tunnel up" 3 || fail "the restarted intranet end's tunnels did not come up"
wait_log public "tunnel from" $((n_from + 3)) || fail "the public end did not log the new tunnels"
check_all "after the intranet end's restart"
kill -0 "$PUBLIC" 2>/dev/null || fail "the public end died"

# A frozen intranet end still holds its tunnels open; a new intranet end arrives: the
# public end must drop the old tunnels and serve through the new ones.
kill -STOP "$INTRANET"
FROZEN=$INTRANET
start_config intranet3 "$CONF" "" --role local || fail "the third intranet end did not start"
INTRANET=$CFG_PID
wait_log intranet3 "tunnel up" 3 || fail "the third intranet end's tunnels did not come up"
wait_log public "a new tunnel replaces the old one" 3 \
    || fail "the public end did not replace the frozen intranet end's tunnels"
ok "the public end replaced the frozen end's tunnels"
check_all "through the replacing intranet end"
kill_hard "$FROZEN"
check_all "with the frozen intranet end gone"

stop_mimicsocks "$INTRANET" intranet3
stop_mimicsocks "$PUBLIC" public
