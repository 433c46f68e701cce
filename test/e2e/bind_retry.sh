#!/usr/bin/env bash
# e2e_bind_retry — with several wormholes in one config, a port that is taken does not
# stop the others: it is reported and bound again with backoff once it is free.
# Usage: bind_retry.sh PATH/TO/mimicsocks
source "$(dirname "$0")/lib.sh"
e2e_init "$@"

serve_random f=100000

read -r BUSY R1 S2 R2 <<<"$(free_ports 4)"
# Something else holds BUSY for 3 s.
bg blocker "$PYTHON" -c "
import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(('127.0.0.1', $BUSY)); s.listen(1); print('ready', flush=True); time.sleep(3)"
BLOCKER=$BG_PID
for ((i = 0; i < 50; i++)); do grep -q ready "$E2E_TMP/blocker.out" && break; sleep 0.1; done
grep -q ready "$E2E_TMP/blocker.out" || fail "the blocker did not start"

cat >"$E2E_TMP/two.yaml" <<YAML
wormholes:
  - name: blocked
    server: 127.0.0.1:$BUSY
    wormhole_remote: 127.0.0.1:$R1
    wormhole: distributed
    handler: socks
    $E2E_ALLOW_YAML
    key: $(wh_key)
  - name: free
    server: 127.0.0.1:$S2
    wormhole_remote: 127.0.0.1:$R2
    wormhole: distributed
    handler: socks
    $E2E_ALLOW_YAML
    key: $(wh_key)
YAML
bg ms "$MIMICSOCKS" --config "$E2E_TMP/two.yaml"
PID=$BG_PID
wait_port 127.0.0.1 "$S2" "$PID" || fail "the free wormhole never listened"
fetch_check "the free wormhole works while the other's port is taken" "$F_SHA" 100000 \
    --socks5 "127.0.0.1:$S2" "http://127.0.0.1:$H/file/f"
wait_log ms "cannot listen on 127.0.0.1:$BUSY: .*trying again" 1 5 || fail "the taken port was not reported"
ok "reported: $(grep -m1 "cannot listen on 127.0.0.1:$BUSY" "$E2E_TMP/ms.log" | cut -d' ' -f4-)"
wait_pid "$BLOCKER" 10
wait_log ms "wormhole 'blocked' users listening on 127.0.0.1:$BUSY" 1 15 || fail "the port was not bound again once free"
fetch_retry 10 "the blocked wormhole works once its port is free" "$F_SHA" 100000 \
    --socks5 "127.0.0.1:$BUSY" "http://127.0.0.1:$H/file/f"
stop_mimicsocks "$PID" ms
