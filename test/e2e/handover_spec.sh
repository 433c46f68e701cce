#!/usr/bin/env bash
# e2e_handover_spec — our ends against ends written from docs/PROTOCOL.md alone
# (test/e2e/tools.py spec-dialer / spec-acceptor: Python, the naive in-band scanner,
# the four handover steps as the text says), which stand in for an original peer:
#   (a) a spec dialer against our accepting end of a distributed wormhole that relays to
#       an echo server: 6 handovers with bytes in flight both ways across each (some of
#       them sent on the new connection before our end has switched), every byte echoed
#       back intact, the IDs chained from the hello as the spec says; and 3 more as the
#       original makes them (it must not see the old connection end for a while after its
#       HO_COMPLETE_L2R, and it writes to it until it does);
#   (b) our dialing end (a handover each second by SIGUSR1: a timed v1 handover waits
#       for a quiet moment, e2e_v1_original; a fixed mimic model) against a spec
#       acceptor that checks the hello, each presented ID, HO_COMPLETE_L2R and the
#       switch, and echoes the stream while a client of our users port checks it; at the
#       last handover the client half-closes while our end waits for HO_R2L: the FIN it
#       then owes must come on the new connection, after the switch, and the echo's end
#       must reach the client.
# Usage: handover_spec.sh PATH/TO/mimicsocks
source "$(dirname "$0")/lib.sh"
e2e_init "$@"

start_echo echo
E=$ECHO_PORT
KEY=$(wh_key)

# --- (a) a spec dialer against our accepting end ---------------------------------------------
for attempt in 1 2 3; do
    read -r S T X1 X2 <<<"$(free_ports 4)"
    cat >"$E2E_TMP/remote.yaml" <<EOF2
wormholes:
  - name: spec-remote
    server: 127.0.0.1:$S
    wormhole_remote: 127.0.0.1:$T
    wormhole: distributed
    handler: relay
    relay: 127.0.0.1:$E
    extra_ports: [$X1, $X2]
    key: $KEY
    protocol: v1
EOF2
    start_config remote "$E2E_TMP/remote.yaml" "$T $X1 $X2" --role remote && break
    ((attempt < 3)) || fail "the accepting end did not start"
done
REMOTE=$CFG_PID
tool spec-dialer 127.0.0.1 "$T" --extra "$X1,$X2" --key "$KEY" --handovers 6 --bytes 65536
n=$(log_count remote "spec-remote: handover done \(accepted")
((n == 6)) || fail "(a) our accepting end logged $n handovers, the spec dialer made 6"
# The same dialer as the original behaves after its HO_COMPLETE_L2R (tools_v1.py
# s_orig_after_complete): it dies if the old connection ends within 300 ms, and then
# writes to the old connection until it does. Seen: remote_down, every time.
tool spec-dialer 127.0.0.1 "$T" --extra "$X1,$X2" --key "$KEY" --handovers 3 --bytes 65536 \
    --orig-handover
stop_mimicsocks "$REMOTE" remote

# --- (b) our dialing end against a spec acceptor ---------------------------------------------
read -r S T X <<<"$(free_ports 3)"
cat >"$E2E_TMP/local.yaml" <<EOF2
wormholes:
  - name: spec-local
    server: 127.0.0.1:$S
    wormhole_remote: 127.0.0.1:$T
    wormhole: distributed
    handler: relay
    relay: 127.0.0.1:9
    extra_ports: [$X]
    handover_interval: 0
    mimic: {size: uniform, delay: gaussian}
    key: $KEY
    protocol: v1
EOF2
start_config local "$E2E_TMP/local.yaml" "$S" --role local || fail "the dialing end did not start"
LOCAL=$CFG_PID
bg triggers bash -c 'for ((i = 0; i < 30; i++)); do sleep 1; kill -USR1 "$1" || exit 0; done' _ "$LOCAL"
TRIGGERS=$BG_PID
tool spec-acceptor --port "$T" --extra "$X" --client-port "$S" --key "$KEY" --seconds 4 \
    --min-handovers 3 --fin-during-handover
stop_pid "$TRIGGERS"
n=$(log_count local "spec-local: handover done \(port $X")
((n >= 3)) || fail "(b) our dialing end logged $n handovers, the spec acceptor took at least 3"
stop_mimicsocks "$LOCAL" local

# --- (c) an original-like aggregated dialing end against our accepting end ------------------
# It speaks no extension and never sends CLOSE_SOCKET; every target here closes first
# (Connection: close). Our end must close its side of each target connection once it
# has sent CLOSE_SOCKET: none may stay in CLOSE-WAIT (seen: all 20 did, for minutes).
serve_random f=100000
read -r S T <<<"$(free_ports 2)"
cat >"$E2E_TMP/mux.yaml" <<EOF2
wormholes:
  - name: spec-mux
    server: 127.0.0.1:$S
    wormhole_remote: 127.0.0.1:$T
    wormhole: aggregated
    handler: socks
    $E2E_ALLOW_YAML
    key: $KEY
    protocol: v1
EOF2
start_config mux "$E2E_TMP/mux.yaml" "$T" --role remote || fail "the accepting end did not start"
MUX=$CFG_PID
bg muxdialer "$PYTHON" "$E2E_DIR/tools.py" spec-mux-dialer 127.0.0.1 "$T" --key "$KEY" \
    --origin "$H" --requests 20 --hold 8
MUXDIALER=$BG_PID
for ((i = 0; i < 100; i++)); do
    grep -q '^spec-mux-dialer: ' "$E2E_TMP/muxdialer.out" && break
    kill -0 "$MUXDIALER" 2>/dev/null || break
    sleep 0.1
done
grep -q '^spec-mux-dialer: ' "$E2E_TMP/muxdialer.out" \
    || fail "(c) $(tail -n 2 "$E2E_TMP/muxdialer.log")"
ok "(c) $(<"$E2E_TMP/muxdialer.out")"
waiting=-1
for ((i = 0; i < 30; i++)); do
    waiting=$(ss -Htanp state close-wait "( dport = :$H )" 2>/dev/null | grep -c "pid=$MUX," || true)
    ((waiting == 0)) && break
    sleep 0.1
done
((waiting == 0)) || fail "(c) $waiting target connections of our accepting end stay in CLOSE-WAIT"
ok "(c) no target connection left in CLOSE-WAIT while the tunnel stays up"
stop_pid "$MUXDIALER"
stop_mimicsocks "$MUX" mux
