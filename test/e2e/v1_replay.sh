#!/usr/bin/env bash
# e2e_v1_replay — protocol v1 cannot refuse a replayed hello (it has no salt filter:
# use v2), but a replay must not take the live tunnel's place: an aggregated v1
# wormhole's tunnel goes through a relay that records it; its hello (and what followed)
# is sent again to the remote end while the tunnel is up; then a handover of the live
# tunnel must still succeed (the replay computed the same handover ID; seen: it took
# the ID, and the live tunnel's next handover failed), and downloads stay intact.
# Usage: v1_replay.sh PATH/TO/mimicsocks
source "$(dirname "$0")/lib.sh"
e2e_init "$@"

serve_random f=100000
KEY=$(wh_key)
read -r S T X RELAY <<<"$(free_ports 4)"
wormhole() {   # FILE TUNNEL_PORT
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
EOF2
}
wormhole "$E2E_TMP/remote.yaml" "$T"
wormhole "$E2E_TMP/local.yaml" "$RELAY"
start_config remote "$E2E_TMP/remote.yaml" "$T $X" --role remote || fail "the remote end did not start"
REMOTE=$CFG_PID
bg relay "$PYTHON" "$E2E_DIR/tools.py" capture-relay "$RELAY" "$T" --out "$E2E_TMP/cap" --seconds 60
RELAY_PID=$BG_PID
wait_port 127.0.0.1 "$RELAY" "$RELAY_PID" || fail "the capture relay did not start"
start_config local "$E2E_TMP/local.yaml" "$S" --role local || fail "the local end did not start"
LOCAL=$CFG_PID
wait_log local "wormhole replayed: tunnel up" 1 10 || fail "the tunnel did not come up"
fetch_retry 10 "before the replay" "$F_SHA" 100000 --socks5 "127.0.0.1:$S" "http://127.0.0.1:$H/file/f"
# The tunnel's recording (wait_port's probe of the relay was a connection too).
CAP=$(ls -S "$E2E_TMP"/cap.* 2>/dev/null | head -n 1)
[[ -n "$CAP" && -s "$CAP" ]] || fail "the relay recorded nothing"
# The replay: the whole recording so far, held open for a while.
bg replay "$PYTHON" "$E2E_DIR/tools.py" replay "$CAP" 127.0.0.1 "$T" --wait 6
REPLAY=$BG_PID
wait_log remote "tunnel from" 2 10 || fail "the remote end did not take the replayed hello (v1 cannot tell)"
kill -USR1 "$LOCAL"
wh_wait_count local replayed "handover done" 1 10 \
    || fail "the live tunnel's handover failed after a replayed hello: $(grep -m1 -E 'handover (failed|refused|stalled)' "$E2E_TMP/local.log" "$E2E_TMP/remote.log")"
ok "the live tunnel's handover succeeded beside the replay"
fetch_check "after the replay and the handover" "$F_SHA" 100000 --socks5 "127.0.0.1:$S" "http://127.0.0.1:$H/file/f"
wait_pid "$REPLAY" 15
stop_pid "$RELAY_PID"
stop_mimicsocks "$LOCAL" local
stop_mimicsocks "$REMOTE" remote
