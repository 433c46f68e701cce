#!/usr/bin/env bash
# e2e_handover_faults — handovers that go wrong (docs/PROTOCOL.md section 5), with the two
# ends in two processes (--role remote, --role local) whose configs differ only in the
# extra ports that the local (dialing) end is given:
#   (a) failed dial: `fail-agg` lists the remote's real extra port and one where nothing
#       listens, `fail-dist` only one where nothing listens; handover_interval 1. During a
#       download through each, `handover failed` is logged (and, for fail-agg, `handover
#       done` too), the downloads complete intact and the aggregated tunnel never drops.
#   (b) stall: `stall-agg` (handover_interval 0) lists only a port where a Python script
#       accepts, reads and never answers. SIGUSR1 starts a handover: the script gets the
#       first flight (v2: 93..1100 bytes), `handover stalled` is logged ~3 s later, the handover connection is
#       closed, the running download through stall-agg ends (no hang), the tunnel comes
#       back (a new `tunnel up`) and serves new downloads; a download through fail-agg
#       across all this is intact (only the stalled tunnel breaks).
#   (c) liveness: with the remote end frozen (SIGSTOP), a user connection to stall-agg
#       makes the dialing end check its tunnel with a handover 10-20 s later.
# Environment: FAULTS_SIZE_MIB (default 64), the file downloaded during (a), at 8 MiB/s.
# Usage: handover_faults.sh PATH/TO/mimicsocks
source "$(dirname "$0")/lib.sh"
e2e_init "$@"

SIZE_MIB=${FAULTS_SIZE_MIB:-64}
[[ "$SIZE_MIB" =~ ^[1-9][0-9]*$ ]] || fail "FAULTS_SIZE_MIB must be a positive integer, not '$SIZE_MIB'"
serve_random big="$((SIZE_MIB * 1024 * 1024))" mid="$((4 * 1024 * 1024))"
KEY=$(wh_key)

# --- the silent acceptor ------------------------------------------------------------------
# Accepts, reads, never sends; one line per event on stdout: "accept MS", "bytes MS N"
# (total so far on that connection), "closed MS N" when the peer closes. MS: epoch ms.
cat >"$E2E_TMP/silent.py" <<'EOF'
import os, socket, sys, threading, time
def ms():
    return int(time.time() * 1000)
def say(line):
    sys.stdout.write(line + "\n")
    sys.stdout.flush()
def serve(conn):
    say("accept %d" % ms())
    total = 0
    conn.settimeout(600)
    try:
        while True:
            chunk = conn.recv(65536)
            if not chunk:
                break
            total += len(chunk)
            say("bytes %d %d" % (ms(), total))
    except OSError:
        pass
    say("closed %d %d" % (ms(), total))
srv = socket.socket()
srv.bind(("127.0.0.1", 0))
srv.listen(16)
srv.settimeout(600)
with open(sys.argv[1] + ".tmp", "w") as f:
    f.write("%d\n" % srv.getsockname()[1])
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
while True:
    try:
        conn, _ = srv.accept()
    except socket.timeout:      # 600 s without a connection: the test is long gone
        sys.exit(0)
    threading.Thread(target=serve, args=(conn,), daemon=True).start()
EOF
bg silent "$PYTHON" "$E2E_TMP/silent.py" "$E2E_TMP/silent.port"
SILENT_PID=$BG_PID
wait_file "$E2E_TMP/silent.port" "$SILENT_PID" || fail "the silent acceptor did not start"
SILENT=$(<"$E2E_TMP/silent.port")

# --- configs: identical but for the local end's extra ports ---------------------------------
# wormhole NAME MODE USERS TUNNEL INTERVAL EXTRA_PORTS
wormhole() {
    cat <<EOF
  - name: $1
    server: 127.0.0.1:$3
    wormhole_remote: 127.0.0.1:$4
    wormhole: $2
    handler: socks
    $E2E_ALLOW_YAML
    key: $KEY
    handover_interval: $5
    extra_ports: [$6]
EOF
}
write_configs() {
    read -r SA TA XA DEAD_A SD TD XD DEAD_D SS TS XS TRACE <<<"$(free_ports 12)"
    {
        echo "wormholes:"
        wormhole fail-agg aggregated "$SA" "$TA" 1 "$XA"
        wormhole fail-dist distributed "$SD" "$TD" 1 "$XD"
        wormhole stall-agg aggregated "$SS" "$TS" 0 "$XS"
    } >"$E2E_TMP/remote.yaml"
    {
        echo "trace: tcp://127.0.0.1:$TRACE"
        echo "wormholes:"
        wormhole fail-agg aggregated "$SA" "$TA" 1 "$XA, $DEAD_A"
        wormhole fail-dist distributed "$SD" "$TD" 1 "$DEAD_D"
        wormhole stall-agg aggregated "$SS" "$TS" 0 "$SILENT"
    } >"$E2E_TMP/local.yaml"
    local f
    for f in remote local; do
        "$MIMICSOCKS" check-config "$E2E_TMP/$f.yaml" >"$E2E_TMP/check-config.txt" 2>&1 \
            || fail "check-config refuses $f.yaml: $(tail -n 3 "$E2E_TMP/check-config.txt")"
    done
}
for attempt in 1 2 3; do
    write_configs
    start_config remote "$E2E_TMP/remote.yaml" "$TA $TD $TS" --role remote && wait_extra remote "$XA $XD $XS" && break
    ((attempt < 3)) || fail "the remote end (--role remote) did not start"
done
REMOTE=$CFG_PID
start_config local "$E2E_TMP/local.yaml" "$SA $SD $SS" --role local || fail "the local end (--role local) did not start"
LOCAL=$CFG_PID
log "origin :$H; fail-agg users :$SA extra :$XA (+dead :$DEAD_A); fail-dist users :$SD (dead :$DEAD_D); stall-agg users :$SS (silent :$SILENT)"
wait_log local "wormhole (fail|stall)-agg: tunnel up" 2 || fail "the aggregated tunnels did not come up"
ok "two processes; the aggregated tunnels are up"

# first_line NAME TEXT: the first line of NAME.log with TEXT, for messages.
first_line() { grep -m1 -F -- "$2" "$E2E_TMP/$1.log" | cut -c1-200; }

fetch_retry 10 "fail-agg works" "$MID_SHA" "$MID_SIZE" --socks5 "127.0.0.1:$SA" "http://127.0.0.1:$H/file/mid"
fetch_retry 10 "fail-dist works" "$MID_SHA" "$MID_SIZE" --socks5 "127.0.0.1:$SD" "http://127.0.0.1:$H/file/mid"
fetch_retry 10 "stall-agg works" "$MID_SHA" "$MID_SIZE" --socks5 "127.0.0.1:$SS" "http://127.0.0.1:$H/file/mid"

# --- (a) handovers to a port where nothing listens ---------------------------------------------
UP_A=$(wh_count local fail-agg "tunnel up")
bg stats "$MIMICSOCKS" trace "tcp://127.0.0.1:$TRACE" --wormhole fail-agg --stats --seconds 8
STATS_PID=$BG_PID
t0=$(now_ms)
A_MAX=$((30 + SIZE_MIB / 2))     # 64 MiB at 8 MiB/s: ~8 s
fetch_bg a-agg "$A_MAX" --limit-rate 8M --socks5 "127.0.0.1:$SA" "http://127.0.0.1:$H/file/big"
fetch_bg a-dist "$A_MAX" --limit-rate 8M --socks5 "127.0.0.1:$SD" "http://127.0.0.1:$H/file/big"
fetch_bg_check a-agg "fail-agg: $SIZE_MIB MiB intact while handovers fail" "$BIG_SHA"
fetch_bg_check a-dist "fail-dist: $SIZE_MIB MiB intact while every handover fails" "$BIG_SHA"
ok "(a): the downloads took $(($(now_ms) - t0)) ms"
n=$(wh_count local fail-dist "handover failed")
((n >= 2)) || fail "fail-dist: $n 'handover failed' during the download (its only extra port is closed)"
ok "fail-dist: $n handovers failed, forwarding went on: $(first_line local "handover failed")"
# fail-agg draws one of its two ports at random each time; it also hands over while idle.
wh_wait_count local fail-agg "handover failed" 1 20 || fail "fail-agg: no 'handover failed' although one of its two extra ports is closed"
wh_wait_count local fail-agg "handover done" 1 20 || fail "fail-agg: no 'handover done' through its real extra port"
ok "fail-agg: $(wh_count local fail-agg "handover failed") failed, $(wh_count local fail-agg "handover done") done"
# The trace monitor counts them too (it ran for the first 8 s of the downloads).
wait_pid "$STATS_PID" 15
STATS=$(grep '^fail-agg:' "$E2E_TMP/stats.out" | tail -n 1)
[[ "$STATS" =~ handovers\ ([0-9]+)\ handover-failures\ ([0-9]+) ]] \
    || fail "mimicsocks trace --stats shows no handover counts: '$STATS'"
((BASH_REMATCH[1] + BASH_REMATCH[2] >= 1)) || fail "mimicsocks trace --stats counted no handover of fail-agg: $STATS"
ok "trace --stats: $(grep -o 'handovers.*' <<<"$STATS")"
n=$(log_count local "handover stalled")
((n == 0)) || fail "a refused handover connection was taken for a stall: $(first_line local "handover stalled")"
(($(wh_count local fail-agg "tunnel up") == UP_A)) || fail "fail-agg: its tunnel went down and up again during (a)"
fetch_check "fail-agg after (a)" "$MID_SHA" "$MID_SIZE" --socks5 "127.0.0.1:$SA" "http://127.0.0.1:$H/file/mid"
fetch_check "fail-dist after (a)" "$MID_SHA" "$MID_SIZE" --socks5 "127.0.0.1:$SD" "http://127.0.0.1:$H/file/mid"

# --- (b) a handover to a peer that never answers ------------------------------------------------
UP_S=$(wh_count local stall-agg "tunnel up")
UP_A=$(wh_count local fail-agg "tunnel up")
((UP_S >= 1)) || fail "stall-agg: no 'tunnel up' line naming it: $(first_line local "tunnel up")"
SLOW="http://127.0.0.1:$H/slow/4194304?parts=100&ms=100"
SLOW_SHA=$(pattern_sha 4194304)
fetch_bg b-stall 60 --socks5 "127.0.0.1:$SS" "$SLOW"       # ~10 s, across the stall
fetch_bg b-other 60 --socks5 "127.0.0.1:$SA" "$SLOW"       # the same through fail-agg
sleep 1
t_sig=$(now_ms)
kill -USR1 "$LOCAL"
# The ID arrives in a v2 first flight of kind HANDOVER (salt, record 0 with 16..1023
# bytes of padding: 93..1100 bytes), then silence.
for ((i = 0; i < 50; i++)); do
    grep -q '^bytes ' "$E2E_TMP/silent.out" && break
    sleep 0.1
done
grep -q '^accept ' "$E2E_TMP/silent.out" || fail "stall-agg: SIGUSR1 made no handover connection to the silent port within 5 s"
sleep 0.3
got=$(awk '$1 == "bytes" { n = $3 } END { print n + 0 }' "$E2E_TMP/silent.out")
((got >= 93 && got <= 1100)) \
    || fail "stall-agg: the handover connection carried $got bytes before any answer (expected a 93..1100-byte first flight)"
t_acc=$(awk '$1 == "accept" { print $2; exit }' "$E2E_TMP/silent.out")
ok "stall-agg: the silent port got a $got-byte first flight $((t_acc - t_sig)) ms after SIGUSR1"
wh_wait_count local stall-agg "handover stalled" 1 10 || fail "stall-agg: no 'handover stalled' within 10 s of the silent handover"
dt=$(($(now_ms) - t_acc))
((dt <= 7000)) || fail "stall-agg: 'handover stalled' only $dt ms after the handover connection (expected ~3 s)"
ok "stall-agg: $(first_line local "handover stalled") (at most $dt ms after the handover connection)"
# The stalled tunnel's user connection ends instead of hanging (or, if it had finished
# in time, is intact).
read -r pid _ <"$E2E_TMP/b-stall.bg"
wait_pid "$pid" 20
((WAIT_RC != 124)) || fail "stall-agg: the download on the stalled tunnel still ran 20 s after the stall"
if ((WAIT_RC == 0)); then
    [[ "$(<"$E2E_TMP/b-stall.sha")" == "$SLOW_SHA" ]] || fail "stall-agg: the download across the stall 'succeeded' with the wrong content"
    ok "stall-agg: the download on the stalled tunnel completed intact"
else
    ok "stall-agg: the download on the stalled tunnel ended (curl exit $WAIT_RC)"
fi
wh_wait_count local stall-agg "tunnel up" $((UP_S + 1)) 20 || fail "stall-agg: no new 'tunnel up' within 20 s of the stall"
ok "stall-agg: the tunnel is back"
fetch_retry 10 "stall-agg: a new download after the stall" "$MID_SHA" "$MID_SIZE" --socks5 "127.0.0.1:$SS" "http://127.0.0.1:$H/file/mid"
fetch_bg_check b-other "fail-agg: a download across the other tunnel's stall intact" "$SLOW_SHA"
(($(wh_count local fail-agg "tunnel up") == UP_A)) || fail "fail-agg: its tunnel went down too when stall-agg's stalled"
# The dialing end gave up on the handover connection: it must not stay open (fd leak).
for ((i = 0; i < 100; i++)); do
    grep -q '^closed ' "$E2E_TMP/silent.out" && break
    sleep 0.1
done
grep -q '^closed ' "$E2E_TMP/silent.out" || fail "stall-agg: the stalled handover connection is still open 10 s after the stall"
ok "stall-agg: the stalled handover connection was closed"

kill -0 "$SILENT_PID" 2>/dev/null || fail "the silent acceptor died"

# --- (c) the aggregated liveness check ----------------------------------------------------------
# The remote end freezes (SIGSTOP: its sockets stay open, nothing comes back) and a user
# connects to stall-agg (handover_interval: 0): 10-20 s later the dialing end checks its
# tunnel with a handover (section 5). (A live remote end answers even a silent user:
# its socks handler gives up on the missing request and closes the stream.)
N0=$(wh_count local stall-agg "nothing heard since a user connected")
kill -STOP "$REMOTE"
exec 7<>"/dev/tcp/127.0.0.1/$SS"
rc=0
wh_wait_count local stall-agg "nothing heard since a user connected" $((N0 + 1)) 25 || rc=1
exec 7<&-
kill -CONT "$REMOTE"
((rc == 0)) || fail "stall-agg: no liveness handover within 25 s of a user connection the frozen remote end never answered"
ok "stall-agg: $(first_line local "nothing heard since a user connected")"
fetch_retry 20 "fail-agg: a download after the remote end thawed" "$MID_SHA" "$MID_SIZE" \
    --socks5 "127.0.0.1:$SA" "http://127.0.0.1:$H/file/mid"

stop_mimicsocks "$LOCAL" local
stop_mimicsocks "$REMOTE" remote
