#!/usr/bin/env bash
# e2e_drain — SIGTERM drains: the listeners close at once (new connections are
# refused), a transfer in progress finishes intact, then the process exits 0; with a
# connection that never ends, the process still exits when --drain-seconds is over;
# a second SIGTERM stops at once.
# Usage: drain.sh PATH/TO/mimicsocks
source "$(dirname "$0")/lib.sh"
e2e_init "$@"

serve_random big="$((8 * 1024 * 1024))" f=100000

# 1. A transfer in progress finishes; new connections are refused meanwhile.
start_mimicsocks d1 socks --drain-seconds 20 --log-destinations
P=$MS_PORT
fetch_bg long 30 --limit-rate 4M --socks5 "127.0.0.1:$P" "http://127.0.0.1:$H/file/big"
wait_log d1 "socks5 .* -> 127\.0\.0\.1:$H" 1 10 || fail "the transfer did not start"
sleep 0.3
kill -TERM "$MS_PID"
wait_log d1 "draining" 1 5 || fail "no drain after SIGTERM"
for ((i = 0; i < 30; i++)); do port_open 127.0.0.1 "$P" || break; sleep 0.1; done
! port_open 127.0.0.1 "$P" || fail "still accepting while draining"
ok "the listener closed at once"
fetch_bg_check long "the transfer in progress finished during the drain" "$BIG_SHA"
wait_pid "$MS_PID" 10
((WAIT_RC == 0)) || fail "exit status $WAIT_RC after the drain (expected 0)"
ok "exit 0 once drained"

# 2. A connection that never ends: the drain time bounds the stop.
start_mimicsocks d2 socks --drain-seconds 1
bg stall "$PYTHON" "$E2E_DIR/tools.py" stall-socks5 "$MS_PORT" 127.0.0.1 "$H" /file/big \
    --ready-file "$E2E_TMP/stall.ready" --hold 30
wait_file "$E2E_TMP/stall.ready" "$BG_PID" || fail "the stalled client did not connect"
t0=$(now_ms)
kill -TERM "$MS_PID"
wait_pid "$MS_PID" 10
((WAIT_RC == 0)) || fail "exit status $WAIT_RC after the drain time (expected 0)"
ok "a stalled connection does not hold the stop past --drain-seconds ($(( $(now_ms) - t0 )) ms)"

# 3. A second SIGTERM does not wait (a connection that never ends holds the drain).
start_mimicsocks d3 socks --drain-seconds 60
bg stall3 "$PYTHON" "$E2E_DIR/tools.py" stall-socks5 "$MS_PORT" 127.0.0.1 "$H" /file/big \
    --ready-file "$E2E_TMP/stall3.ready" --hold 30
wait_file "$E2E_TMP/stall3.ready" "$BG_PID" || fail "the stalled client did not connect"
kill -TERM "$MS_PID"
wait_log d3 "draining" 1 5 || fail "no drain after SIGTERM"
kill -0 "$MS_PID" 2>/dev/null || fail "stopped before the drain time with a connection open"
kill -TERM "$MS_PID"
wait_pid "$MS_PID" 10
((WAIT_RC == 0)) || fail "exit status $WAIT_RC after a second SIGTERM (expected 0)"
ok "a second SIGTERM stops at once"
