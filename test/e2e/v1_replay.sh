#!/usr/bin/env bash
# e2e_v1_replay — protocol v1 has no time in its hello, but our remote end remembers the
# hellos it took (the replay filter of v2, keyed by the IV) for one to two minutes:
#   1. aggregated: the tunnel goes through a relay that records it; its hello (and what
#      followed) is sent again while the tunnel is up: the replay is refused (silence),
#      and a handover of the live tunnel still succeeds (seen before the filter: the
#      replay took the ID and the live tunnel's next handover failed), downloads intact;
#   2. distributed, probe_close_delay [2, 4]: every refusal is one treatment (issue 15):
#      random bytes, zeros, a replayed recording, a replayed hello alone, a fresh correct
#      hello followed by garbage (seen: an immediate reset), on the main port and random
#      bytes on the extra port: 10 probes of each kind at once, no byte back, closed the
#      same way, at times with the statistics of a uniform [2, 4] s (as e2e_v2_security);
#   3. reverse (the public end accepts the intranet end's tunnel and takes users): a
#      replayed hello must not displace the live tunnel and its users (seen: it did).
# Usage: v1_replay.sh PATH/TO/mimicsocks
source "$(dirname "$0")/lib.sh"
e2e_init "$@"

serve_random f=100000
KEY=$(wh_key)
read -r S T X RELAY S2 T2 X2 RELAY2 S3 T3 RELAY3 <<<"$(free_ports 11)"
wormhole() {   # FILE TUNNEL_PORT DIST_TUNNEL_PORT REVERSE_TUNNEL_PORT
    cat >"$1" <<EOF2
wormholes:
  - name: replayed
    server: 127.0.0.1:$S
    wormhole_remote: 127.0.0.1:$2
    wormhole: aggregated
    handler: socks
    $E2E_ALLOW_YAML
    key: $KEY
    protocol: v1
    extra_ports: [$X]
    handover_interval: 0
  - name: dist
    server: 127.0.0.1:$S2
    wormhole_remote: 127.0.0.1:$3
    wormhole: distributed
    handler: socks
    $E2E_ALLOW_YAML
    key: $KEY
    protocol: v1
    extra_ports: [$X2]
    handover_interval: 0
    probe_close_delay: [2, 4]
  - name: rev
    server: 127.0.0.1:$S3
    wormhole_remote: 127.0.0.1:$4
    wormhole: aggregated
    reverse: true
    handler: relay
    relay: 127.0.0.1:$H
    key: $KEY
    protocol: v1
EOF2
}
wormhole "$E2E_TMP/remote.yaml" "$T" "$T2" "$T3"
wormhole "$E2E_TMP/local.yaml" "$RELAY" "$RELAY2" "$RELAY3"
start_config remote "$E2E_TMP/remote.yaml" "$T $X $T2 $X2 $T3" --role remote || fail "the remote end did not start"
REMOTE=$CFG_PID
bg relay "$PYTHON" "$E2E_DIR/tools.py" capture-relay "$RELAY" "$T" --out "$E2E_TMP/cap" --seconds 90
RELAY_PID=$BG_PID
bg relay2 "$PYTHON" "$E2E_DIR/tools.py" capture-relay "$RELAY2" "$T2" --out "$E2E_TMP/dcap" --seconds 90
RELAY2_PID=$BG_PID
bg relay3 "$PYTHON" "$E2E_DIR/tools.py" capture-relay "$RELAY3" "$T3" --out "$E2E_TMP/rcap" --seconds 90
RELAY3_PID=$BG_PID
wait_port 127.0.0.1 "$RELAY" "$RELAY_PID" || fail "the capture relay did not start"
wait_port 127.0.0.1 "$RELAY2" "$RELAY2_PID" || fail "the second capture relay did not start"
wait_port 127.0.0.1 "$RELAY3" "$RELAY3_PID" || fail "the third capture relay did not start"
start_config local "$E2E_TMP/local.yaml" "$S $S2" --role local || fail "the local end did not start"
LOCAL=$CFG_PID
wait_log local "wormhole replayed: tunnel up" 1 10 || fail "the tunnel did not come up"
fetch_retry 10 "before the replay" "$F_SHA" 100000 --socks5 "127.0.0.1:$S" "http://127.0.0.1:$H/file/f"

# --- 1. aggregated: a replay beside the live tunnel ------------------------------------------
# The tunnel's recording (wait_port's probe of the relay was a connection too).
CAP=$(ls -S "$E2E_TMP"/cap.* 2>/dev/null | head -n 1)
[[ -n "$CAP" && -s "$CAP" ]] || fail "the relay recorded nothing"
bg replay "$PYTHON" "$E2E_DIR/tools.py" replay "$CAP" 127.0.0.1 "$T" --wait 6
REPLAY=$BG_PID
wait_log remote "wormhole replayed: a replayed hello from" 1 10 \
    || fail "the remote end did not refuse the replayed hello: $(grep -c "tunnel from" "$E2E_TMP/remote.log") tunnels taken"
ok "1. the replayed hello is refused"
kill -USR1 "$LOCAL"
wh_wait_count local replayed "handover done" 1 10 \
    || fail "the live tunnel's handover failed after a replayed hello: $(grep -m1 -E 'handover (failed|refused|stalled)' "$E2E_TMP/local.log" "$E2E_TMP/remote.log")"
ok "1. the live tunnel's handover succeeded beside the replay"
fetch_check "after the replay and the handover" "$F_SHA" 100000 --socks5 "127.0.0.1:$S" "http://127.0.0.1:$H/file/f"
wait_pid "$REPLAY" 15
grep -q '"received": 0' "$E2E_TMP/replay.out" || fail "1. bytes came back to the replay: $(<"$E2E_TMP/replay.out")"

# --- 2. distributed: one treatment for every refusal -----------------------------------------
fetch_check "dist, recorded" "$F_SHA" 100000 --socks5 "127.0.0.1:$S2" "http://127.0.0.1:$H/file/f"
DCAP=$(ls -S "$E2E_TMP"/dcap.* 2>/dev/null | head -n 1)
[[ -n "$DCAP" && -s "$DCAP" ]] || fail "the second relay recorded nothing"
N=10
PROBE_N=$N
for k in random-1 random-100 random-5000 zeros-100; do
    probe_start "$k" v2-probe "$k" 127.0.0.1 "$T2"
done
probe_start v1-garbage-1   v2-probe v1-garbage-1 127.0.0.1 "$T2" --key "$KEY"
probe_start v1-garbage-500 v2-probe v1-garbage-500 127.0.0.1 "$T2" --key "$KEY"
probe_start replay         replay "$DCAP" 127.0.0.1 "$T2"
probe_start replay-hello   replay "$DCAP" 127.0.0.1 "$T2" --bytes 32
probe_start x-random-100   v2-probe random-100 127.0.0.1 "$X2"
# The rule and its odds are e2e_v2_security's: each deadline uniform in [2000, 4000] ms,
# drawn at accept; per kind every close in [1995, 5000] ms (a second's margin for a loaded
# machine), no byte back, one way of closing for all kinds (tools.py probe-stats).
probe_stats "2." 2000 4000
n=$(log_count remote "dist: a replayed hello")
((n >= 2 * N)) || fail "2. the remote end logged $n replayed hellos, expected >= $((2 * N))"
ok "2. the remote end logged $n replayed hellos"
fetch_check "dist after the probes" "$F_SHA" 100000 --socks5 "127.0.0.1:$S2" "http://127.0.0.1:$H/file/f"

# --- 3. reverse: a replayed hello beside the live tunnel --------------------------------------
wait_log remote "wormhole rev: tunnel up|rev: tunnel from" 1 10 || true
fetch_retry 10 "rev before the replay" "$F_SHA" 100000 "http://127.0.0.1:$S3/file/f"
RCAP=$(ls -S "$E2E_TMP"/rcap.* 2>/dev/null | head -n 1)
[[ -n "$RCAP" && -s "$RCAP" ]] || fail "the third relay recorded nothing"
bg rreplay "$PYTHON" "$E2E_DIR/tools.py" replay "$RCAP" 127.0.0.1 "$T3" --wait 3
RREPLAY=$BG_PID
wait_log remote "wormhole rev: a replayed hello from" 1 10 \
    || fail "3. the public end did not refuse the replayed hello"
wait_pid "$RREPLAY" 10
(($(log_count remote "rev: a new tunnel replaces the old one") == 0)) \
    || fail "3. the replayed hello displaced the live tunnel"
fetch_check "rev after the replay" "$F_SHA" 100000 "http://127.0.0.1:$S3/file/f"
ok "3. the replayed hello is refused; the live tunnel and its users stay"

stop_pid "$RELAY_PID"
stop_pid "$RELAY2_PID"
stop_pid "$RELAY3_PID"
stop_mimicsocks "$LOCAL" local
stop_mimicsocks "$REMOTE" remote
