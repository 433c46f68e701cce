#!/usr/bin/env bash
# e2e_handover — baton handover (docs/PROTOCOL.md section 5) under load, both ends in one
# process with two data-plane workers (so a handover connection often lands on another
# worker than its tunnel): an aggregated and a distributed socks wormhole, each with two
# extra ports and `handover_interval: 1`. One large random file is downloaded through
# each, both at once, while rounds of small parallel requests go through both; every
# download must be intact, and each wormhole must have logged `handover done` meanwhile at
# least once per 3 s of its download (and 3 times). Then wrong handover IDs on the extra
# ports, with `handover refused` logged: both protocols give them the silent treatment
# (no byte back, still open after 3 s; v1 used to close at once, or after 1 s), and so
# is a short ID; the tunnels keep handing over and serving. Then a second process
# with `handover_interval: 0`: no handover until SIGUSR1, and then one on each tunnel,
# a running download going through it intact.
#
# Environment:
#   HANDOVER_SIZE_MIB  size of the large file, default 256.
#   HANDOVER_RATE      curl --limit-rate of each large download, default 24M (0: none).
#                      Unlimited, 256 MiB cross loopback in ~2 s (plain and ASan builds
#                      alike), too short for several handovers at one a second; at 24M
#                      each download lasts ~11 s, in bursts (curl reads at full speed,
#                      then pauses and the tunnel backs up: handovers with full buffers).
#   E2E_PROTOCOL       the wormholes' `protocol:`, v2 (default) or v1.
#   HANDOVER_MIMIC     the `mimic:` value of both wormholes, default random (a new model
#                      at each handover, so the mimic node's queue changes socket too);
#                      ho-agg also pads its model sends with NOP frames (mimic_padding).
# Usage: handover.sh PATH/TO/mimicsocks
source "$(dirname "$0")/lib.sh"
e2e_init "$@"

SIZE_MIB=${HANDOVER_SIZE_MIB:-256}
RATE=${HANDOVER_RATE:-24M}
MIMIC=${HANDOVER_MIMIC:-random}
PROTOCOL=${E2E_PROTOCOL:-v2}
[[ "$SIZE_MIB" =~ ^[1-9][0-9]*$ ]] || fail "HANDOVER_SIZE_MIB must be a positive integer, not '$SIZE_MIB'"
[[ "$RATE" =~ ^[0-9]+[kKmMgG]?$ ]] || fail "HANDOVER_RATE must be a curl --limit-rate value, not '$RATE'"

serve_random big="$((SIZE_MIB * 1024 * 1024))" mid="$((4 * 1024 * 1024))" small="$((64 * 1024))"
KEY=$(wh_key)

# write_config FILE INTERVAL: sets AS AT AX1 AX2 (aggregated: users, tunnel, extra ports)
# and DS DT DX1 DX2 (distributed), PORTS (the users' and tunnel ports) and EXTRA.
write_config() {
    read -r AS AT AX1 AX2 DS DT DX1 DX2 <<<"$(free_ports 8)"
    PORTS="$AS $AT $DS $DT"
    EXTRA="$AX1 $AX2 $DX1 $DX2"
    cat >"$1" <<EOF
workers: 2
wormholes:
  - name: ho-agg
    server: 127.0.0.1:$AS
    wormhole_remote: 127.0.0.1:$AT
    wormhole: aggregated
    handler: socks
    $E2E_ALLOW_YAML
    key: $KEY
    protocol: $PROTOCOL
    extra_ports: [$AX1, $AX2]
    handover_interval: $2
    mimic: $MIMIC
    mimic_padding: true
  - name: ho-dist
    server: 127.0.0.1:$DS
    wormhole_remote: 127.0.0.1:$DT
    wormhole: distributed
    handler: socks
    $E2E_ALLOW_YAML
    key: $KEY
    protocol: $PROTOCOL
    extra_ports: [$DX1, $DX2]
    handover_interval: $2
    mimic: $MIMIC
EOF
    "$MIMICSOCKS" check-config "$1" >"$E2E_TMP/check-config.txt" 2>&1 \
        || fail "check-config refuses $1: $(tail -n 3 "$E2E_TMP/check-config.txt")"
}


# start_both NAME FILE INTERVAL: write the config and start `--role both` on it (new
# ports if one was taken meanwhile); waits for every port, extra ports included, and for
# the aggregated tunnel. Sets PID.
start_both() {
    local name=$1 file=$2 interval=$3 attempt
    for attempt in 1 2 3; do
        write_config "$file" "$interval"
        start_config "$name" "$file" "$PORTS" --role both && wait_extra "$name" "$EXTRA" && break
        ((attempt < 3)) || fail "$name: mimicsocks --config did not start"
    done
    PID=$CFG_PID
    wait_log "$name" "wormhole ho-agg: tunnel up" 1 || fail "$name: the aggregated tunnel did not come up"
}


# If handovers are logged but a count by wormhole name finds none, say so plainly.
explain_counts() {
    local total
    total=$(log_count "$1" "handover done")
    if ((total > 0 && $(wh_count "$1" ho-agg "handover done") + $(wh_count "$1" ho-dist "handover done") == 0)); then
        log "$1 logged $total 'handover done' lines, none naming its wormhole: $(grep -m1 -F 'handover done' "$E2E_TMP/$1.log")"
    fi
}

# wrong_id PORT NBYTES LIMIT: connect to an extra port, send NBYTES random bytes as a
# handover ID, and expect the peer to send nothing and keep the connection open for
# LIMIT seconds (the silent treatment, whose deadline is drawn from probe_close_delay).
wrong_id() {
    local out rc=0
    out=$("$PYTHON" - "$@" "$PROTOCOL" 2>&1 <<'EOF'
import os, socket, sys, time
port, nbytes, limit = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
silent = True           # both protocols (sys.argv[4] says which)
try:
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
except OSError as e:
    sys.exit("connect to the extra port %d failed: %s" % (port, e))
t0 = time.monotonic()
try:
    s.sendall(os.urandom(nbytes))
except (BrokenPipeError, ConnectionResetError) as e:
    pass            # closed before we finished sending: a close too
got, how = b"", "timeout"
while time.monotonic() < t0 + limit:
    s.settimeout(max(0.01, t0 + limit - time.monotonic()))
    try:
        chunk = s.recv(4096)
    except socket.timeout:
        break
    except ConnectionResetError:
        how = "reset"
        break
    if not chunk:
        how = "eof"
        break
    got += chunk
dt = time.monotonic() - t0
if got:
    sys.exit("%d wrong ID bytes on port %d: the peer answered %d bytes %r (%s after %.2f s)"
             % (nbytes, port, len(got), got[:16], how, dt))
if how == "timeout" and silent:
    print("%d wrong ID bytes on port %d: still open after %.1f s, no byte back" % (nbytes, port, limit))
    sys.exit(0)
if silent:
    sys.exit("%d wrong ID bytes on port %d: closed (%s) after %.2f s: v2 keeps a refused "
             "connection open until its deadline" % (nbytes, port, how, dt))
if how == "timeout":
    sys.exit("%d wrong ID bytes on port %d: the connection was still open after %.1f s"
             % (nbytes, port, limit))
print("%d wrong ID bytes on port %d: closed (%s) after %.2f s, no byte back" % (nbytes, port, how, dt))
EOF
) || rc=$?
    ((rc == 0)) || fail "$out"
    ok "$out"
}

# small_round N: 3 requests for the small file through each wormhole, all at once; each
# must be intact (quiet unless one fails).
small_round() {
    local dir="$E2E_TMP/round.$1" i port pids=() failed=0
    mkdir -p "$dir"
    for ((i = 0; i < 6; i++)); do
        if ((i % 2)); then port=$DS; else port=$AS; fi
        ( ecurl 60 -o - --socks5-hostname "127.0.0.1:$port" "http://localhost:$H/file/small" \
              2>"$dir/$i.err" | sha_stdin >"$dir/$i.sha" ) &
        pids+=($!)
        E2E_PIDS+=($!)
    done
    for ((i = 0; i < 6; i++)); do
        wait_pid "${pids[$i]}" 70
        if ((WAIT_RC != 0)); then
            log "round $1 #$i: curl exited $WAIT_RC: $(head -c 200 "$dir/$i.err")"
            failed=$((failed + 1))
        elif [[ "$(<"$dir/$i.sha")" != "$SMALL_SHA" ]]; then
            log "round $1 #$i: wrong sha256"
            failed=$((failed + 1))
        fi
    done
    rm -rf "$dir"
    ((failed == 0)) || fail "round $1 of small requests: $failed of 6 failed (even #: ho-agg, odd #: ho-dist)"
}

# --- 1. handovers every second under load ---------------------------------------------------
start_both ms "$E2E_TMP/ho.yaml" 1
MS=$PID
log "origin :$H; ho-agg users :$AS tunnel :$AT extra :$AX1,$AX2; ho-dist users :$DS tunnel :$DT extra :$DX1,$DX2; mimic $MIMIC"

# Guard against a curl that would bypass the proxy: nothing listens on this port.
CLOSED=$(free_port)
rc=0
ecurl 10 --socks5 "127.0.0.1:$CLOSED" -o /dev/null "http://127.0.0.1:$H/file/small" 2>/dev/null || rc=$?
((rc != 0)) || fail "curl fetched through a closed proxy port: proxies are being bypassed"

fetch_retry 10 "ho-agg works" "$SMALL_SHA" "$SMALL_SIZE" --socks5-hostname "127.0.0.1:$AS" "http://localhost:$H/file/small"
fetch_retry 10 "ho-dist works" "$SMALL_SHA" "$SMALL_SIZE" --socks5-hostname "127.0.0.1:$DS" "http://localhost:$H/file/small"

A0=$(wh_count ms ho-agg "handover done")
D0=$(wh_count ms ho-dist "handover done")
# 256 MiB take ~11 s at the default rate; the limit (124 s for 256 MiB) leaves room for
# a tunnel 10 times slower, and keeps the whole test under ctest's 300 s.
BIG_MAX=$((60 + SIZE_MIB / 4))
t0=$(now_ms)
fetch_bg big-agg "$BIG_MAX" --limit-rate "$RATE" --socks5-hostname "127.0.0.1:$AS" "http://localhost:$H/file/big"
fetch_bg big-dist "$BIG_MAX" --limit-rate "$RATE" --socks5-hostname "127.0.0.1:$DS" "http://localhost:$H/file/big"
read -r AGG_BIG_PID _ <"$E2E_TMP/big-agg.bg"
read -r DIST_BIG_PID _ <"$E2E_TMP/big-dist.bg"

# Meanwhile, rounds of 6 small requests (3 through each wormhole, all at once), at most
# 40 rounds; then only wait. Each big download's end is noted to the round.
AGG_MS=""; DIST_MS=""; rounds=0
while [[ -z "$AGG_MS" || -z "$DIST_MS" ]]; do
    (($(now_ms) - t0 < (BIG_MAX + 10) * 1000)) || break
    if ((rounds < 40)); then
        rounds=$((rounds + 1))
        small_round "$rounds"
    fi
    sleep 0.2
    if [[ -z "$AGG_MS" ]] && ! kill -0 "$AGG_BIG_PID" 2>/dev/null; then AGG_MS=$(($(now_ms) - t0)); fi
    if [[ -z "$DIST_MS" ]] && ! kill -0 "$DIST_BIG_PID" 2>/dev/null; then DIST_MS=$(($(now_ms) - t0)); fi
done
ok "$rounds rounds of 6 small requests (64 KiB) beside the large downloads, all intact"
fetch_bg_check big-agg "ho-agg: $SIZE_MIB MiB intact through handovers" "$BIG_SHA"
fetch_bg_check big-dist "ho-dist: $SIZE_MIB MiB intact through handovers" "$BIG_SHA"
log "the large downloads took ${AGG_MS:-?} ms (ho-agg) and ${DIST_MS:-?} ms (ho-dist) (--limit-rate $RATE)"

# About one handover a second per tunnel; asked for: a third of that, and at least 3.
explain_counts ms
for spec in "ho-agg $A0 ${AGG_MS:-0}" "ho-dist $D0 ${DIST_MS:-0}"; do
    read -r wh before ms <<<"$spec"
    want=$((ms / 3000))
    ((want >= 3)) || want=3
    got=$(($(wh_count ms "$wh" "handover done") - before))
    if ((got < want)); then
        # A short transfer may end before the third handover: the aggregated tunnel
        # keeps handing over while idle, so give it a few more seconds.
        if [[ $wh == ho-agg ]] && wh_wait_count ms "$wh" "handover done" $((before + want)) 10; then
            got=$(($(wh_count ms "$wh" "handover done") - before))
        else
            fail "$wh: $got 'handover done' during a $ms ms transfer with handover_interval 1 (expected >= $want)"
        fi
    fi
    ok "$wh: $got handovers done during the $ms ms transfer"
done
if (($(log_count ms "handover (failed|stalled)") > 0)); then
    fail "handovers failed or stalled on loopback: $(grep -m1 -E 'handover (failed|stalled)' "$E2E_TMP/ms.log")"
fi

# --- 2. wrong IDs on the extra ports ---------------------------------------------------------
R0=$(log_count ms "handover refused")
# v2 decides once a whole first record is there (at most 16,434 bytes).
if [[ $PROTOCOL == v2 ]]; then WRONG=20000; else WRONG=16; fi
wrong_id "$AX1" $WRONG 3
wait_log ms "handover refused" $((R0 + 1)) 5 || fail "no 'handover refused' line after a wrong ID on $AX1"
wrong_id "$DX2" $WRONG 3
wait_log ms "handover refused" $((R0 + 2)) 5 || fail "no 'handover refused' line after a wrong ID on $DX2"
ok "$(grep -F 'handover refused' "$E2E_TMP/ms.log" | tail -n 1 | cut -c1-160)"
# An ID cut short: silence as well, until the deadline.
wrong_id "$AX2" 5 4
# The extra-port listeners still take the real tunnels' handovers, and both wormholes serve.
A1=$(wh_count ms ho-agg "handover done")
wh_wait_count ms ho-agg "handover done" $((A1 + 2)) 10 || fail "ho-agg: no more handovers after the wrong IDs"
ok "ho-agg: handovers go on after the wrong IDs"
fetch_check "ho-agg after the wrong IDs" "$MID_SHA" "$MID_SIZE" --socks5-hostname "127.0.0.1:$AS" "http://localhost:$H/file/mid"
fetch_check "ho-dist after the wrong IDs" "$MID_SHA" "$MID_SIZE" --socks5-hostname "127.0.0.1:$DS" "http://localhost:$H/file/mid"
parallel_fetch 10 "ho-agg after the wrong IDs" "$SMALL_SHA" 60 --socks5 "127.0.0.1:$AS" "http://127.0.0.1:$H/file/small"
stop_mimicsocks "$MS" ms

# --- 3. handover_interval: 0, and SIGUSR1 ------------------------------------------------------
start_both usr1 "$E2E_TMP/usr1.yaml" 0
US=$PID
fetch_retry 10 "usr1: ho-agg works" "$MID_SHA" "$MID_SIZE" --socks5-hostname "127.0.0.1:$AS" "http://localhost:$H/file/mid"
# A distributed tunnel lives as long as its user connection: a slow download (4 MiB in
# about 8 s) keeps one open across the signal, and must come through it intact.
SLOW="http://localhost:$H/slow/4194304?parts=80&ms=100"
fetch_bg slow-dist 60 --socks5-hostname "127.0.0.1:$DS" "$SLOW"
fetch_bg slow-agg 60 --socks5-hostname "127.0.0.1:$AS" "$SLOW"
sleep 3
n=$(log_count usr1 "handover done")
((n == 0)) || fail "usr1: $n handovers with handover_interval 0 before any SIGUSR1"
ok "usr1: no handover in 3 s with handover_interval 0"
kill -USR1 "$US"
wh_wait_count usr1 ho-agg "handover done" 1 10 || { explain_counts usr1; fail "usr1: ho-agg did not hand over after SIGUSR1"; }
wh_wait_count usr1 ho-dist "handover done" 1 10 || { explain_counts usr1; fail "usr1: ho-dist did not hand over after SIGUSR1"; }
ok "usr1: SIGUSR1 made both tunnels hand over ($(log_count usr1 "handover done") 'handover done')"
SLOW_SHA=$(pattern_sha 4194304)
fetch_bg_check slow-dist "usr1: ho-dist's download across the SIGUSR1 handover intact" "$SLOW_SHA"
fetch_bg_check slow-agg "usr1: ho-agg's download across the SIGUSR1 handover intact" "$SLOW_SHA"
fetch_check "usr1: ho-agg after the handover" "$MID_SHA" "$MID_SIZE" --socks5-hostname "127.0.0.1:$AS" "http://localhost:$H/file/mid"
fetch_check "usr1: ho-dist after the handover" "$MID_SHA" "$MID_SIZE" --socks5-hostname "127.0.0.1:$DS" "http://localhost:$H/file/mid"
stop_mimicsocks "$US" usr1
