#!/usr/bin/env bash
# e2e_wrong_key — a dialing end whose key differs from the remote end's (protocol v2):
# the remote end stays silent, so the local end must not claim the tunnel is up; it
# says within 10 s that nobody answered and why that may be, resets the users waiting
# on the tunnel, and dials again. A distributed wormhole's user is reset within 10 s
# too (not left to the idle timeout). With the right key the same ends work at once.
# Usage: wrong_key.sh PATH/TO/mimicsocks
source "$(dirname "$0")/lib.sh"
e2e_init "$@"

serve_random f=100000
read -r S T DS DT <<<"$(free_ports 4)"
wormhole() {   # FILE KEY
    cat >"$1" <<EOF2
wormholes:
  - name: keyed
    server: 127.0.0.1:$S
    wormhole_remote: 127.0.0.1:$T
    wormhole: aggregated
    handler: socks
    $E2E_ALLOW_YAML
    key: $2
  - name: dkeyed
    server: 127.0.0.1:$DS
    wormhole_remote: 127.0.0.1:$DT
    wormhole: distributed
    handler: socks
    $E2E_ALLOW_YAML
    key: $2
EOF2
}
wormhole "$E2E_TMP/remote.yaml" "$(wh_key)"
wormhole "$E2E_TMP/local.yaml" "$(wh_key)"
start_config remote "$E2E_TMP/remote.yaml" "$T $DT" --role remote || fail "the remote end did not start"
REMOTE=$CFG_PID
start_config local "$E2E_TMP/local.yaml" "$S $DS" --role local || fail "the local end did not start"
LOCAL=$CFG_PID
t0=$(now_ms)
bg dwaiting curl -s --max-time 30 -o /dev/null --socks5 "127.0.0.1:$DS" "http://127.0.0.1:$H/file/f"
DWAITING=$BG_PID
bg waiting curl -s --max-time 30 -o /dev/null --socks5 "127.0.0.1:$S" "http://127.0.0.1:$H/file/f"
WAITING=$BG_PID
wait_log local "no answer from the remote end 127.0.0.1:$T within 10 s: a wrong key" 1 15 \
    || fail "no 'no answer' line within 15 s: $(tail -n 3 "$E2E_TMP/local.log")"
ok "after $(($(now_ms) - t0)) ms: $(grep -m1 -o 'no answer from.*' "$E2E_TMP/local.log")"
(($(log_count local "tunnel up") == 0)) || fail "the local end said 'tunnel up' to a remote end that never answered"
wait_pid "$WAITING" 10
((WAIT_RC != 0 && WAIT_RC != 124)) || fail "the user waiting on the silent tunnel was not told (curl: $WAIT_RC)"
ok "the user waiting on the silent tunnel got an error (curl exit $WAIT_RC), not a hang"
wait_log local "dialing again" 1 5 || fail "the local end did not dial again"
wait_pid "$DWAITING" 10
((WAIT_RC != 0 && WAIT_RC != 124)) || fail "the distributed user was not told within 20 s (curl: $WAIT_RC)"
wait_log local "no answer from the tunnel's far end within 10 s" 1 5 \
    || fail "no 'no answer' line for the distributed wormhole"
ok "distributed: the user got an error (curl exit $WAIT_RC) after $(($(now_ms) - t0)) ms, and the log says why"
stop_mimicsocks "$LOCAL" local
# The right key: up at once.
cp "$E2E_TMP/remote.yaml" "$E2E_TMP/local.yaml"
start_config local2 "$E2E_TMP/local.yaml" "$S $DS" --role local || fail "the local end did not restart"
LOCAL=$CFG_PID
wait_log local2 "wormhole keyed: tunnel up" 1 5 || fail "no 'tunnel up' with the right key"
fetch_check "with the right key" "$F_SHA" 100000 --socks5 "127.0.0.1:$S" "http://127.0.0.1:$H/file/f"
fetch_check "distributed, with the right key" "$F_SHA" 100000 --socks5 "127.0.0.1:$DS" "http://127.0.0.1:$H/file/f"
stop_mimicsocks "$LOCAL" local2
stop_mimicsocks "$REMOTE" remote
