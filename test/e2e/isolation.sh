#!/usr/bin/env bash
# e2e_isolation — two wormholes share the local process; the remote end of one is
# killed mid-transfer: the other wormhole's transfer and new requests are unaffected,
# the killed one reconnects once its remote end is back, and the trace counters
# (`mimicsocks trace --stats`) show the tunnel going down and up.
# Usage: isolation.sh PATH/TO/mimicsocks
source "$(dirname "$0")/lib.sh"
e2e_init "$@"

serve_random big="$((8 * 1024 * 1024))" f=100000
K1=$(wh_key); K2=$(wh_key)

read -r S1 R1 S2 R2 TP <<<"$(free_ports 5)"
W1="  - {name: one, server: 127.0.0.1:$S1, wormhole_remote: 127.0.0.1:$R1, handler: socks, $E2E_ALLOW_YAML, key: $K1}"
W2="  - {name: two, server: 127.0.0.1:$S2, wormhole_remote: 127.0.0.1:$R2, handler: socks, $E2E_ALLOW_YAML, key: $K2}"
printf 'trace: tcp://127.0.0.1:%s\nwormholes:\n%s\n%s\n' "$TP" "$W1" "$W2" >"$E2E_TMP/local.yaml"
printf 'wormholes:\n%s\n' "$W1" >"$E2E_TMP/remote1.yaml"
printf 'wormholes:\n%s\n' "$W2" >"$E2E_TMP/remote2.yaml"

start_config remote1 "$E2E_TMP/remote1.yaml" "$R1" --role remote || fail "remote1 did not start"
REMOTE1=$CFG_PID
start_config remote2 "$E2E_TMP/remote2.yaml" "$R2" --role remote || fail "remote2 did not start"
REMOTE2=$CFG_PID
start_config local "$E2E_TMP/local.yaml" "$S1 $S2" --role local || fail "the local ends did not start"
LOCAL=$CFG_PID
wait_log local "wormhole (one|two): tunnel up" 2 10 || fail "the tunnels did not come up"
bg stats "$MIMICSOCKS" trace "tcp://127.0.0.1:$TP" --stats --seconds 8
STATS=$BG_PID
sleep 0.5
fetch_retry 10 "one works" "$F_SHA" 100000 --socks5 "127.0.0.1:$S1" "http://127.0.0.1:$H/file/f"
fetch_retry 10 "two works" "$F_SHA" 100000 --socks5 "127.0.0.1:$S2" "http://127.0.0.1:$H/file/f"

# A transfer through `two` runs while `one`'s remote end dies.
fetch_bg long 30 --limit-rate 4M --socks5 "127.0.0.1:$S2" "http://127.0.0.1:$H/file/big"
sleep 0.5
kill_hard "$REMOTE1"
wait_log local "wormhole one: the tunnel closed" 1 10 || fail "the local end did not notice one's tunnel dying"
fetch_check "two still serves new requests" "$F_SHA" 100000 --socks5 "127.0.0.1:$S2" "http://127.0.0.1:$H/file/f"
fetch_bg_check long "two's running transfer is unaffected" "$BIG_SHA"

start_config remote1b "$E2E_TMP/remote1.yaml" "$R1" --role remote || fail "remote1 did not restart"
REMOTE1=$CFG_PID
fetch_retry 20 "one is back after its remote end restarted" "$F_SHA" 100000 --socks5 "127.0.0.1:$S1" "http://127.0.0.1:$H/file/f"
kill -0 "$LOCAL" || fail "the local process died"

wait_pid "$STATS" 15
((WAIT_RC == 0)) || fail "mimicsocks trace --stats exited $WAIT_RC"
LAST_ONE=$(grep '^one:' "$E2E_TMP/stats.out" | tail -n 1)
[[ "$LAST_ONE" =~ tunnels-down\ ([1-9][0-9]*) ]] || fail "--stats did not count one's tunnel going down: $LAST_ONE"
ok "--stats: $LAST_ONE"
stop_mimicsocks "$LOCAL" local
stop_mimicsocks "$REMOTE1" remote1b
stop_mimicsocks "$REMOTE2" remote2
