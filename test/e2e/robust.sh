#!/usr/bin/env bash
# e2e_robust — hostile and stuck clients must not hurt anyone else: garbage into the
# socks and http ports is answered by a close while 16 MiB downloads through the same
# proxies stay intact; stalled readers and half-finished handshakes do not stop 20 other
# downloads; the proxies are still alive (and exit 0 on SIGTERM) at the end.
# Usage: robust.sh PATH/TO/mimicsocks
source "$(dirname "$0")/lib.sh"
e2e_init "$@"

serve_random big="$((16 * 1024 * 1024))" small="$((1024 * 1024))"
start_mimicsocks socks socks
PS=$MS_PORT; SOCKS_PID=$MS_PID
start_mimicsocks http http
PH=$MS_PORT; HTTP_PID=$MS_PID
log "origin :$H, mimicsocks socks :$PS, http :$PH"

# --- garbage, while real downloads run through the same proxies ----------------------
# The rate limit stretches each download over the whole garbage phase.
fetch_bg dl-socks 120 --limit-rate 4M --socks5 "127.0.0.1:$PS" "http://127.0.0.1:$H/file/big"
fetch_bg dl-http 120 --limit-rate 4M -x "http://127.0.0.1:$PH" "http://127.0.0.1:$H/file/big"
fetch_bg dl-connect 120 --limit-rate 4M -p -x "http://127.0.0.1:$PH" "http://127.0.0.1:$H/file/big"

for i in 1 2 3; do
    tool expect-close 127.0.0.1 "$PS" --random 4096
    tool expect-close 127.0.0.1 "$PH" --random 4096
done
tool expect-close 127.0.0.1 "$PS" --random 1
tool expect-close 127.0.0.1 "$PS" --text "GET http://127.0.0.1:$H/file/small HTTP/1.1\r\nHost: 127.0.0.1:$H\r\n\r\n"
tool expect-close 127.0.0.1 "$PS" --text "CONNECT 127.0.0.1:$H HTTP/1.1\r\n\r\n"
# A 10 KiB request line; and 64 KiB with no line end at all, beyond any head limit. (An
# unfinished line that is still within the limit is only a slow client: the proxy's head
# timeout ends it, later than this test wants to wait.)
tool expect-close 127.0.0.1 "$PH" --line 10240
tool expect-close 127.0.0.1 "$PH" --text "$(head -c 65536 /dev/zero | tr '\0' a)"
tool expect-close 127.0.0.1 "$PH" --hex 050100
# SOCKS requests that are well formed but cannot be served.
tool expect-close 127.0.0.1 "$PS" --hex 050102                          # only user/password offered
tool expect-close 127.0.0.1 "$PS" --hex 0500                            # no methods at all
tool expect-close 127.0.0.1 "$PS" --hex "05010005020001$(printf '7f000001%04x' "$H")"   # BIND
tool expect-close 127.0.0.1 "$PS" --hex "05010005010009$(printf '7f000001%04x' "$H")"   # bad ATYP
tool expect-close 127.0.0.1 "$PS" --hex "0402$(printf '%04x' "$H")7f00000100"           # SOCKS4 BIND

fetch_bg_check dl-socks "16 MiB via socks during the garbage" "$BIG_SHA"
fetch_bg_check dl-http "16 MiB via http (absolute-URI) during the garbage" "$BIG_SHA"
fetch_bg_check dl-connect "16 MiB via http (CONNECT) during the garbage" "$BIG_SHA"

# --- stalled clients ---------------------------------------------------------------------
# Two readers that never read (tunnels to the 16 MiB file, so the proxy's buffers fill
# and its writes would block), plus connections stuck in the middle of a handshake.
stalled=()
for i in 1 2; do
    bg "stall$i" "$PYTHON" "$E2E_DIR/tools.py" stall-socks5 "$PS" 127.0.0.1 "$H" /file/big \
        --ready-file "$E2E_TMP/stall$i.ready" --hold 150
    stalled+=("$BG_PID")
    wait_file "$E2E_TMP/stall$i.ready" "$BG_PID" || fail "stalled client $i could not open its tunnel"
done
i=0
for spec in "$PS 05" "$PS 0501" "$PS 050100" "$PS 05010005010001" "$PS 0401" \
            "$PH $(printf 'GET http://127.0.0.1:%d/ HTTP/1.1\r\n' "$H" | od -An -tx1 | tr -d ' \n')" \
            "$PH $(printf 'CONNECT 127.0.0.1:%d HTTP/1.1\r\n' "$H" | od -An -tx1 | tr -d ' \n')"; do
    i=$((i + 1))
    read -r port hex <<<"$spec"
    bg "hold$i" "$PYTHON" "$E2E_DIR/tools.py" hold 127.0.0.1 "$port" --hex "$hex" \
        --ready-file "$E2E_TMP/hold$i.ready" --hold 150
    stalled+=("$BG_PID")
    wait_file "$E2E_TMP/hold$i.ready" "$BG_PID" || fail "holding client $i could not connect"
done
sleep 1     # let the stalled tunnels fill every buffer on the way

parallel_fetch 20 "socks5 downloads beside stalled clients" "$SMALL_SHA" 60 \
    --socks5 "127.0.0.1:$PS" "http://127.0.0.1:$H/file/small"
parallel_fetch 10 "http downloads beside stalled clients" "$SMALL_SHA" 60 \
    -x "http://127.0.0.1:$PH" "http://127.0.0.1:$H/file/small"

for pid in "${stalled[@]}"; do
    stop_pid "$pid"
done
ok "stalled clients released"

kill -0 "$SOCKS_PID" 2>/dev/null || fail "mimicsocks socks died"
kill -0 "$HTTP_PID" 2>/dev/null || fail "mimicsocks http died"
fetch_check "socks still serves afterwards" "$SMALL_SHA" "$SMALL_SIZE" --socks5 "127.0.0.1:$PS" "http://127.0.0.1:$H/file/small"
fetch_check "http still serves afterwards" "$SMALL_SHA" "$SMALL_SIZE" -x "http://127.0.0.1:$PH" "http://127.0.0.1:$H/file/small"

stop_mimicsocks "$SOCKS_PID" socks
stop_mimicsocks "$HTTP_PID" http
