#!/usr/bin/env bash
# e2e_v1_agg_probe — protocol v1, aggregated: what a prober learns from our remote end and
# what a replay can do (issues 13 and 15). probe_close_delay [2, 4] everywhere.
#   1. normal mode: random bytes, a fresh correct hello alone (seen: answered at once with
#      a NOP frame), a fresh correct hello and garbage (seen: an immediate reset), the live
#      tunnel's recorded hello: 10 of each at once, no byte back, closed the same way, at
#      times with the statistics of a uniform [2, 4] s (tools.py probe-stats); the live
#      tunnel is untouched;
#   2. reverse mode (the public end accepts the intranet end's tunnel and takes users): a
#      fresh correct hello, or one and garbage, beside the live tunnel (seen: it displaced
#      the tunnel and its users) waits as the standby and gets the same silence; users
#      are served all along;
#   3. a genuine reconnect still works at once: the intranet end's tunnel cut by a reset
#      relay, then the intranet end killed and started again; users served again (the
#      time is printed, each must be within 10 s);
#   4. the tunnels' recorded hellos and whole recordings, replayed 125 s after the hellos
#      were taken, when a time filter of 60-120 s has forgotten them (seen: accepted;
#      in reverse mode the replay displaced the live tunnel): refused by the count-bounded
#      memory of hellos, with the same silence, and the live tunnels stay.
# Usage: v1_agg_probe.sh PATH/TO/mimicsocks
source "$(dirname "$0")/lib.sh"
e2e_init "$@"

serve_random f=100000
KEY=$(wh_key)
read -r S T X CAP S3 T3 CAP3 RR <<<"$(free_ports 8)"
common() {
    cat <<EOF2
    key: $KEY
    protocol: v1
    probe_close_delay: [2, 4]
EOF2
}
agg() {     # TUNNEL_PORT
    cat <<EOF2
  - name: agg
    server: 127.0.0.1:$S
    wormhole_remote: 127.0.0.1:$1
    wormhole: aggregated
    handler: socks
    $E2E_ALLOW_YAML
    extra_ports: [$X]
    handover_interval: 0
$(common)
EOF2
}
rev() {     # TUNNEL_PORT
    cat <<EOF2
  - name: rev
    server: 127.0.0.1:$S3
    wormhole_remote: 127.0.0.1:$1
    wormhole: aggregated
    reverse: true
    handler: relay
    relay: 127.0.0.1:$H
$(common)
EOF2
}
{ echo "wormholes:"; agg "$T"; rev "$T3"; } >"$E2E_TMP/remote.yaml"
{ echo "wormholes:"; agg "$CAP"; } >"$E2E_TMP/local.yaml"
{ echo "wormholes:"; rev "$RR"; } >"$E2E_TMP/intranet.yaml"
start_config remote "$E2E_TMP/remote.yaml" "$T $X $T3" --role remote || fail "the remote end did not start"
REMOTE=$CFG_PID
bg cap "$PYTHON" "$E2E_DIR/tools.py" capture-relay "$CAP" "$T" --out "$E2E_TMP/cap" --seconds 280
CAP_PID=$BG_PID
bg cap3 "$PYTHON" "$E2E_DIR/tools.py" capture-relay "$CAP3" "$T3" --out "$E2E_TMP/rcap" --seconds 280
CAP3_PID=$BG_PID
bg rr "$PYTHON" "$E2E_DIR/tools.py" reset-relay "$RR" "127.0.0.1:$CAP3"
RR_PID=$BG_PID
wait_port 127.0.0.1 "$CAP" "$CAP_PID" || fail "the capture relay did not start"
wait_port 127.0.0.1 "$CAP3" "$CAP3_PID" || fail "the second capture relay did not start"
wait_port 127.0.0.1 "$RR" "$RR_PID" || fail "the reset relay did not start"
start_config local "$E2E_TMP/local.yaml" "$S" --role local || fail "the local end did not start"
LOCAL=$CFG_PID
start_config intranet "$E2E_TMP/intranet.yaml" "" --role local || fail "the intranet end did not start"
INTRANET=$CFG_PID
wait_log local "wormhole agg: tunnel up" 1 10 || fail "the tunnel did not come up"
wait_log remote "wormhole rev: tunnel from" 1 10 || fail "the reverse tunnel did not come up"
T_HELLO=$(now_ms)
fetch_retry 10 "agg" "$F_SHA" 100000 --socks5 "127.0.0.1:$S" "http://127.0.0.1:$H/file/f"
fetch_retry 10 "rev" "$F_SHA" 100000 "http://127.0.0.1:$S3/file/f"
# The live tunnels' recordings (wait_port's probes of the relays were connections too).
REC=$(ls -S "$E2E_TMP"/cap.* 2>/dev/null | head -n 1)
RREC=$(ls -S "$E2E_TMP"/rcap.* 2>/dev/null | head -n 1)
[[ -s "$REC" && -s "$RREC" ]] || fail "the relays recorded nothing"

N=10
PROBE_N=$N
# stats WHAT: waits for the probes, then the statistics of their closes (lib.sh).
stats() { probe_stats "$1" 2000 4000; }

# --- 1. normal mode --------------------------------------------------------------------------
probe_start random-100      v2-probe random-100 127.0.0.1 "$T"
probe_start v1-hello        v2-probe v1-hello 127.0.0.1 "$T" --key "$KEY"
probe_start v1-garbage-1    v2-probe v1-garbage-1 127.0.0.1 "$T" --key "$KEY"
probe_start v1-garbage-500  v2-probe v1-garbage-500 127.0.0.1 "$T" --key "$KEY"
probe_start replay-hello    replay "$REC" 127.0.0.1 "$T" --bytes 32
fetch_check "agg during the probes" "$F_SHA" 100000 --socks5 "127.0.0.1:$S" "http://127.0.0.1:$H/file/f"
stats "1. normal mode"
n=$(log_count remote "agg: .*before the tunnel proved itself")
((n >= 2 * N)) || fail "1. $n tunnels logged as silenced probes, expected >= $((2 * N))"
(($(log_count remote "corrupt frame") == 0)) || fail "1. a probe was taken for a broken tunnel"
fetch_check "agg after the probes" "$F_SHA" 100000 --socks5 "127.0.0.1:$S" "http://127.0.0.1:$H/file/f"

# --- 2. reverse mode: newcomers beside the live tunnel ----------------------------------------
probe_start r-v1-hello       v2-probe v1-hello 127.0.0.1 "$T3" --key "$KEY"
probe_start r-v1-garbage-100 v2-probe v1-garbage-100 127.0.0.1 "$T3" --key "$KEY"
fetch_check "rev during the newcomers" "$F_SHA" 100000 "http://127.0.0.1:$S3/file/f"
stats "2. reverse mode"
wait_log remote "rev: a new tunnel from .* waits as the standby" 1 5 || fail "2. no newcomer waited as the standby"
(($(log_count remote "rev: (a new tunnel replaces the old one|.*takes over)") == 0)) \
    || fail "2. a newcomer displaced the live tunnel: $(grep -m1 -E "replaces the old|takes over" "$E2E_TMP/remote.log")"
fetch_check "rev after the newcomers" "$F_SHA" 100000 "http://127.0.0.1:$S3/file/f"
ok "2. the live tunnel and its users stayed"

# --- 3. genuine reconnects ------------------------------------------------------------------------
FETCH_MAX=10
kill -USR1 "$RR_PID"
t0=$(now_ms)
for ((i = 0; i < 50; i++)); do
    grep -q "^reset " "$E2E_TMP/rr.out" && break
    sleep 0.1
done
grep -q "^reset " "$E2E_TMP/rr.out" || fail "3. the reset relay cut nothing"
fetch_retry 20 "rev after a reset of its tunnel" "$F_SHA" 100000 "http://127.0.0.1:$S3/file/f"
dt=$(($(now_ms) - t0))
((dt < 10000)) || fail "3. users waited $dt ms after a reset of the tunnel"
ok "3. users served again $dt ms after the tunnel was reset"
kill_hard "$INTRANET"
no_sanitizer_report intranet
start_config intranet2 "$E2E_TMP/intranet.yaml" "" --role local || fail "the intranet end did not start again"
INTRANET=$CFG_PID
t0=$(now_ms)
fetch_retry 20 "rev after a restart of the intranet end" "$F_SHA" 100000 "http://127.0.0.1:$S3/file/f"
dt=$(($(now_ms) - t0))
((dt < 10000)) || fail "3. users waited $dt ms after the intranet end started again"
ok "3. users served again $dt ms after the intranet end started again"
unset FETCH_MAX

# --- 4. replays after a time window would have forgotten the hellos ------------------------
left=$((T_HELLO + 125000 - $(now_ms)))
if ((left > 0)); then
    log "waiting $((left / 1000)) s: the hellos were taken 125 s before the replays"
    sleep "$((left / 1000)).$(printf '%03d' $((left % 1000)))"
fi
tunnels=$(log_count remote "tunnel from")
standbys=$(log_count remote "rev: (a new tunnel replaces the old one|.*takes over|.*waits as the standby)")
probe_start replay         replay "$REC" 127.0.0.1 "$T"
probe_start replay-hello2  replay "$REC" 127.0.0.1 "$T" --bytes 32
probe_start r-replay       replay "$RREC" 127.0.0.1 "$T3"
probe_start r-replay-hello replay "$RREC" 127.0.0.1 "$T3" --bytes 32
fetch_check "rev during the replays" "$F_SHA" 100000 "http://127.0.0.1:$S3/file/f"
stats "4. replays after 125 s"
(($(log_count remote "tunnel from") == tunnels)) \
    || fail "4. $(($(log_count remote "tunnel from") - tunnels)) replays were taken for tunnels"
n=$(log_count remote "a replayed hello")
((n >= 5 * N)) || fail "4. the remote end logged $n replayed hellos, expected >= $((5 * N))"
(($(log_count remote "rev: (a new tunnel replaces the old one|.*takes over|.*waits as the standby)") == standbys)) \
    || fail "4. a replay displaced or waited behind the live reverse tunnel"
fetch_check "agg after the replays" "$F_SHA" 100000 --socks5 "127.0.0.1:$S" "http://127.0.0.1:$H/file/f"
fetch_check "rev after the replays" "$F_SHA" 100000 "http://127.0.0.1:$S3/file/f"
(($(log_count local "tunnel up") == 1)) || fail "the normal mode's tunnel was dialed again"
ok "4. replays refused ($n replayed hellos logged); the live tunnels and their users stayed"

stop_mimicsocks "$INTRANET" intranet2
stop_mimicsocks "$LOCAL" local
stop_mimicsocks "$REMOTE" remote
