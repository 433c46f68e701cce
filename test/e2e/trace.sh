#!/usr/bin/env bash
# e2e_trace — the message-flow trace: a wormhole with `trace:` set publishes one record
# per hop; `mimicsocks trace ENDPOINT` prints them (and --stats counts them) for a
# request through the tunnel; --wormhole filters by name.
# Usage: trace.sh PATH/TO/mimicsocks
source "$(dirname "$0")/lib.sh"
e2e_init "$@"

serve_random f=200000
KEY=$(wh_key)

for attempt in 1 2 3; do
    read -r S R TP <<<"$(free_ports 3)"
    cat >"$E2E_TMP/trace.yaml" <<YAML
trace: tcp://127.0.0.1:$TP
wormholes:
  - name: traced
    server: 127.0.0.1:$S
    wormhole_remote: 127.0.0.1:$R
    wormhole: aggregated
    handler: socks
    $E2E_ALLOW_YAML
    key: $KEY
YAML
    start_config ms "$E2E_TMP/trace.yaml" "$S $R" && break
    ((attempt < 3)) || fail "mimicsocks with a trace endpoint did not start"
done
PID=$CFG_PID
wait_log ms 'trace: publishing' 1 10 || fail "no trace publisher started"
fetch_retry 10 "warm-up through the traced wormhole" "$F_SHA" 200000 --socks5 "127.0.0.1:$S" "http://127.0.0.1:$H/file/f"

bg mon "$MIMICSOCKS" trace "tcp://127.0.0.1:$TP" --wormhole traced --seconds 4
MON=$BG_PID
bg stats "$MIMICSOCKS" trace "tcp://127.0.0.1:$TP" --stats --seconds 4
STATS=$BG_PID
bg other "$MIMICSOCKS" trace "tcp://127.0.0.1:$TP" --wormhole nosuchwormhole --seconds 4
OTHER=$BG_PID
sleep 1      # subscriptions reach the publisher
fetch_check "a request while subscribed" "$F_SHA" 200000 --socks5 "127.0.0.1:$S" "http://127.0.0.1:$H/file/f"
for pid in "$MON" "$STATS" "$OTHER"; do
    wait_pid "$pid" 15
    ((WAIT_RC == 0)) || fail "mimicsocks trace exited with $WAIT_RC"
done
OUT="$E2E_TMP/mon.out"
grep -q ' traced tunnel -> stream [0-9]* new 0$\| traced stream [0-9]* -> tunnel new 0$' "$OUT" \
    || fail "no 'new' stream record in the trace: $(head -n 5 "$OUT")"
grep -q ' traced .* data [0-9]*$' "$OUT" || fail "no data record in the trace"
grep -qE ' traced socks -> 127\.0\.0\.1:[0-9]+ connect 0$' "$OUT" || fail "no connect record for the target"
ok "trace records: $(wc -l <"$OUT") lines, e.g. $(grep -m1 ' new ' "$OUT")"
grep -qE '^traced: records [1-9][0-9]* bytes-up [1-9][0-9]* bytes-down [1-9][0-9]* connections [1-9]' "$E2E_TMP/stats.out" \
    || fail "--stats printed no counters: $(tail -n 3 "$E2E_TMP/stats.out")"
ok "--stats: $(tail -n 1 "$E2E_TMP/stats.out")"
[[ ! -s "$E2E_TMP/other.out" ]] || fail "--wormhole nosuchwormhole printed records"
ok "--wormhole filters by name"
stop_mimicsocks "$PID" ms
