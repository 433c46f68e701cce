#!/usr/bin/env bash
# e2e_v1_original — our ends against peers that behave like the original Erlang
# mimicsocks' real code (test/e2e/tools_v1.py, its lines cited there), issue 13:
#   (a) 20 users at once through an original-like distributed local end toward our
#       remote end: that end reads its tunnel at once whatever its user takes and drops
#       what it has read but not yet delivered when the tunnel closes (its pipeline of
#       processes stops on tcp_closed), so our end's FIN must wait as long as a slow
#       user needs for what it was sent (the user closing first ends the wait); seen:
#       every download lost its tail, at 4 MB/s with a FIN right after the last byte,
#       at 400 kB/s with one 1 s after it; and bodies that end by their close (no
#       Content-Length), which only our FIN ends;
#   (d) a C local end toward the same remote end: its hello carries the C mark
#       (docs/PROTOCOL-EXTENSIONS.md), the remote does not pace its FIN, and a
#       close-delimited body ends for the user as soon as it has it.
#   (b) our distributed dialing end (a handover every second) toward an original-like
#       accepting end, which loses what its tunnel is given while HO_R2L is on its way:
#       a timed handover must wait for a quiet moment (the client sends in bursts);
#       seen: a download lacking 1,460 bytes in the middle;
#   (c) our aggregated dialing end toward an original-like accepting end (relay handler),
#       which sends no CLOSE_SOCKET when a target closes: a reply that ends by its close
#       (no Content-Length) must still end for the user, by our stream's idle close
#       (20 s after the last byte); seen: the transfer hung for the 300 s idle timeout.
# Usage: v1_original.sh PATH/TO/mimicsocks
source "$(dirname "$0")/lib.sh"
e2e_init "$@"

serve_random f=1000000
KEY=$(wh_key)

# --- (a) parallel downloads through an original-like local end ------------------------------
for attempt in 1 2 3; do
    read -r S T X <<<"$(free_ports 3)"
    cat >"$E2E_TMP/remote.yaml" <<EOF2
wormholes:
  - name: orig-local
    server: 127.0.0.1:$S
    wormhole_remote: 127.0.0.1:$T
    wormhole: distributed
    handler: socks
    $E2E_ALLOW_YAML
    extra_ports: [$X]
    key: $KEY
    protocol: v1
EOF2
    start_config remote "$E2E_TMP/remote.yaml" "$T $X" --role remote --log-level debug && break
    ((attempt < 3)) || fail "the remote end did not start"
done
REMOTE=$CFG_PID
# Its pipeline delivers 400 kB/s: a 1 MB download needs 2.5 s after its first byte.
tool orig-dialer 127.0.0.1 "$T" --key "$KEY" --origin "$H" --file f --sha "$F_SHA" \
    --parallel 20 --rate 4e5
ok "(a) 20 parallel downloads through an original-like local end are whole"
tool orig-dialer 127.0.0.1 "$T" --key "$KEY" --origin "$H" --path /noclen/1000000 \
    --sha "$(pattern_sha 1000000)" --parallel 4 --rate 4e5
ok "(a) 4 close-delimited downloads through it are whole"
paced=$(log_count remote "the FIN waits [0-9]+ ms")
((paced >= 4)) || fail "(a) the remote end paced $paced FINs"

# --- (d) a C local end toward the same remote end: no pacing --------------------------------
cat >"$E2E_TMP/clocal.yaml" <<EOF2
wormholes:
  - name: c-local
    server: 127.0.0.1:$S
    wormhole_remote: 127.0.0.1:$T
    wormhole: distributed
    handler: socks
    extra_ports: [$X]
    key: $KEY
    protocol: v1
EOF2
start_config clocal "$E2E_TMP/clocal.yaml" "$S" --role local || fail "the C local end did not start"
CLOCAL=$CFG_PID
FETCH_MAX=30 fetch_check "(d) a close-delimited body through a C local end" "$(pattern_sha 4000000)" \
    4000000 --socks5-hostname "127.0.0.1:$S" "http://127.0.0.1:$H/noclen/4000000"
((paced == $(log_count remote "the FIN waits [0-9]+ ms"))) \
    || fail "(d) the remote end paced the FIN toward a C local end"
ok "(d) toward a C local end the FIN is not paced"
stop_mimicsocks "$CLOCAL" clocal
stop_mimicsocks "$REMOTE" remote

# --- (b) timed handovers toward an original-like accepting end ------------------------------
start_echo echo
read -r S T X <<<"$(free_ports 3)"
cat >"$E2E_TMP/local.yaml" <<EOF2
wormholes:
  - name: orig-remote
    server: 127.0.0.1:$S
    wormhole_remote: 127.0.0.1:$T
    wormhole: distributed
    handler: relay
    relay: 127.0.0.1:9
    extra_ports: [$X]
    handover_interval: 1
    key: $KEY
    protocol: v1
EOF2
start_config local "$E2E_TMP/local.yaml" "$S" --role local || fail "the dialing end did not start"
LOCAL=$CFG_PID
# A 1.5 s burst at the start and after each handover, then quiet (a timed handover that
# does not wait comes within the burst); anything echoed within 300 ms of a HO_R2L fails.
tool spec-acceptor --port "$T" --extra "$X" --client-port "$S" --key "$KEY" --seconds 6 \
    --min-handovers 3 --orig-hold 300 --burst 1.5
n=$(log_count local "orig-remote: handover done \(port $X")
((n >= 3)) || fail "(b) our dialing end logged $n handovers, the acceptor took at least 3"
ok "(b) $n timed handovers, each in a quiet moment"
stop_mimicsocks "$LOCAL" local

# --- (c) a close-delimited reply through an original-like aggregated accepting end ---------
read -r S T <<<"$(free_ports 2)"
cat >"$E2E_TMP/agg.yaml" <<EOF2
wormholes:
  - name: orig-agg
    server: 127.0.0.1:$S
    wormhole_remote: 127.0.0.1:$T
    wormhole: aggregated
    handler: relay
    relay: 127.0.0.1:9
    handover_interval: 0
    key: $KEY
    protocol: v1
EOF2
bg origmux "$PYTHON" "$E2E_DIR/tools.py" orig-mux-acceptor --port "$T" --key "$KEY" --relay "$H" \
    --seconds 90 --ready-file "$E2E_TMP/origmux.ready"
ORIGMUX=$BG_PID
for ((i = 0; i < 50; i++)); do [[ -f "$E2E_TMP/origmux.ready" ]] && break; sleep 0.1; done
start_config agg "$E2E_TMP/agg.yaml" "$S" --role local || fail "the dialing end did not start"
AGG=$CFG_PID
wait_log agg "wormhole orig-agg: tunnel up" 1 10 || fail "(c) the tunnel did not come up"
t0=$(now_ms)
FETCH_MAX=45 fetch_check "(c) a close-delimited reply" "$(pattern_sha 300000)" 300000 \
    "http://127.0.0.1:$S/noclen/300000"
ok "(c) it ended for the user after $(($(now_ms) - t0)) ms"
stop_mimicsocks "$AGG" agg
stop_pid "$ORIGMUX"
