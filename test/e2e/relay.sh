#!/usr/bin/env bash
# e2e_relay — `mimicsocks relay`: curl straight at the relay port gets the origin's 16 MiB
# intact; half-close is carried both ways (a client that shuts down its write side still
# receives everything); a close-delimited response ends; a dead target closes the client.
# Usage: relay.sh PATH/TO/mimicsocks
source "$(dirname "$0")/lib.sh"
e2e_init "$@"

serve_random big="$((16 * 1024 * 1024))" small="$((256 * 1024))"
start_echo echo
E=$ECHO_PORT

start_mimicsocks relay relay --to "127.0.0.1:$H"
P=$MS_PORT; RELAY_PID=$MS_PID
start_mimicsocks relay-echo relay --to "127.0.0.1:$E"
PE=$MS_PORT; RELAY_ECHO_PID=$MS_PID
start_mimicsocks relay-name relay --to "localhost:$H"
PN=$MS_PORT; RELAY_NAME_PID=$MS_PID
log "origin :$H, echo :$E; relays :$P -> origin, :$PE -> echo, :$PN -> localhost:$H"

# --- plain downloads ---------------------------------------------------------------
fetch_check "16 MiB through the relay" "$BIG_SHA" "$BIG_SIZE" "http://127.0.0.1:$P/file/big"

K="$E2E_TMP/ka"
mkdir -p "$K"
ecurl 60 -w '%{num_connects}\n' -o "$K/1" "http://127.0.0.1:$P/file/small" \
    -o "$K/2" "http://127.0.0.1:$P/file/big" -o "$K/3" "http://127.0.0.1:$P/file/small" \
    >"$K/connects" 2>"$E2E_TMP/curl.err" || fail "keep-alive curl through the relay failed: $(head -c 300 "$E2E_TMP/curl.err")"
expect_file "$K/1" "$SMALL_SHA" "$SMALL_SIZE" "relay keep-alive #1"
expect_file "$K/2" "$BIG_SHA" "$BIG_SIZE" "relay keep-alive #2"
expect_file "$K/3" "$SMALL_SHA" "$SMALL_SIZE" "relay keep-alive #3"
connects=$(awk '{ n += $1 } END { print n + 0 }' "$K/connects")
((connects == 1)) || fail "relay keep-alive: $connects connections for 3 URLs"
ok "relay keep-alive: 3 URLs over 1 connection"

N=2000000
fetch_check "close-delimited response through the relay" "$(pattern_sha $N)" "$N" "http://127.0.0.1:$P/noclen/$N"

# --- half-close ----------------------------------------------------------------------
# Request, then SHUT_WR: the relay must pass the FIN on and keep delivering the response.
tool halfclose-http 127.0.0.1 "$P" /file/big "$BIG_SHA"
# Echo until EOF: our FIN must reach the echo server, and its FIN must come back after
# every byte; the payload is larger than the socket buffers so both directions are busy.
tool halfclose-echo 127.0.0.1 "$PE" 1
tool halfclose-echo 127.0.0.1 "$PE" $((8 * 1024 * 1024))
tool halfclose-echo 127.0.0.1 "$PE" 0

# --- concurrency ---------------------------------------------------------------------
parallel_fetch 20 "relay parallel" "$BIG_SHA" 90 "http://127.0.0.1:$P/file/big"

# --- a target given by name: curl sends its request at once, while the relay is still
# resolving the name and connecting; those early bytes must wait, not get lost.
FETCH_MAX=20 fetch_check "through a relay to a host name" "$SMALL_SHA" "$SMALL_SIZE" "http://127.0.0.1:$PN/file/small"

# --- a target that is not there: the relay closes the client --------------------------
CLOSED=$(free_port)
start_mimicsocks relay-dead relay --to "127.0.0.1:$CLOSED"
PD=$MS_PORT; RELAY_DEAD_PID=$MS_PID
tool expect-close 127.0.0.1 "$PD" --text 'GET / HTTP/1.1\r\n\r\n' --timeout 10

stop_mimicsocks "$RELAY_DEAD_PID" relay-dead
stop_mimicsocks "$RELAY_NAME_PID" relay-name
stop_mimicsocks "$RELAY_ECHO_PID" relay-echo
stop_mimicsocks "$RELAY_PID" relay
