#!/usr/bin/env bash
# e2e_heart — `mimicsocks --supervise`: the service runs in a child process that is
# started again when it crashes (SIGABRT, SIGKILL), the port serves again afterwards,
# and SIGTERM to the parent stops both with exit 0.
# Usage: heart.sh PATH/TO/mimicsocks
source "$(dirname "$0")/lib.sh"
e2e_init "$@"

serve_random f=100000

start_mimicsocks heart socks --supervise
P=$MS_PORT
PARENT=$MS_PID

# child_of PID: the one child process of PID (bounded wait for it to appear).
child_of() {
    local i c
    for ((i = 0; i < 50; i++)); do
        c=$(pgrep -P "$1" | head -n 1 || true)
        [[ -n "$c" ]] && { echo "$c"; return 0; }
        sleep 0.1
    done
    return 1
}

fetch_check "through the supervised service" "$F_SHA" 100000 --socks5 "127.0.0.1:$P" "http://127.0.0.1:$H/file/f"
for sig in ABRT KILL; do
    CHILD=$(child_of "$PARENT") || fail "no service process under the heart (PID $PARENT)"
    kill -"$sig" "$CHILD"
    NEW=""
    for ((i = 0; i < 100; i++)); do
        NEW=$(pgrep -P "$PARENT" | head -n 1 || true)
        [[ -n "$NEW" && "$NEW" != "$CHILD" ]] && break
        sleep 0.1
    done
    [[ -n "$NEW" && "$NEW" != "$CHILD" ]] || fail "SIG$sig: no new service process within 10 s"
    wait_port 127.0.0.1 "$P" "$PARENT" || fail "SIG$sig: the new service never listened on $P"
    fetch_retry 20 "after SIG$sig, a new service serves" "$F_SHA" 100000 --socks5 "127.0.0.1:$P" "http://127.0.0.1:$H/file/f"
done
grep -q "died of signal" "$E2E_TMP/heart.log" || fail "the heart did not log the crash"
stop_mimicsocks "$PARENT" heart
[[ -z "$(pgrep -P "$PARENT" || true)" ]] || fail "a service process outlived the heart"
ok "all done"
