#!/usr/bin/env bash
# e2e_trace — the message-flow trace: a wormhole with `trace:` set publishes one record
# per hop; `mimicsocks trace ENDPOINT` prints them for a request through the tunnel;
# --wormhole filters by name; --stats counts the user bytes once (two 200,000-byte
# downloads show 400,000 and a few hundred bytes of heads, not one count per hop);
# an unknown --wormhole name and an endpoint where nothing publishes are errors
# (exit 1, with a message); a trace endpoint off loopback is refused without trace_public.
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
bg other "$MIMICSOCKS" trace "tcp://127.0.0.1:$TP" --wormhole nosuchwormhole --seconds 6
OTHER=$BG_PID
DEAD_PORT=$(free_port)
bg dead "$MIMICSOCKS" trace "tcp://127.0.0.1:$DEAD_PORT" --stats --seconds 10
DEAD=$BG_PID
sleep 1      # subscriptions reach the publisher
fetch_check "a request while subscribed" "$F_SHA" 200000 --socks5 "127.0.0.1:$S" "http://127.0.0.1:$H/file/f"
for pid in "$MON" "$STATS"; do
    wait_pid "$pid" 15
    ((WAIT_RC == 0)) || fail "mimicsocks trace exited with $WAIT_RC"
done
wait_pid "$OTHER" 15
((WAIT_RC == 1)) || fail "trace --wormhole nosuchwormhole exited with $WAIT_RC, not 1"
grep -q "has no wormhole or proxy named 'nosuchwormhole' (it has: traced)" "$E2E_TMP/other.log" \
    || fail "no clear message for an unknown name: $(tail -n 2 "$E2E_TMP/other.log")"
ok "an unknown --wormhole name: exit 1, $(tail -n 1 "$E2E_TMP/other.log")"
wait_pid "$DEAD" 15
((WAIT_RC == 1)) || fail "trace on a dead endpoint exited with $WAIT_RC, not 1"
grep -q "nothing publishes a mimicsocks trace at tcp://127.0.0.1:$DEAD_PORT" "$E2E_TMP/dead.log" \
    || fail "no clear message for a dead endpoint: $(tail -n 2 "$E2E_TMP/dead.log")"
ok "a dead endpoint: exit 1 within 10 s, with a message"
OUT="$E2E_TMP/mon.out"
grep -q ' traced tunnel -> stream [0-9]* new 0$\| traced stream [0-9]* -> tunnel new 0$' "$OUT" \
    || fail "no 'new' stream record in the trace: $(head -n 5 "$OUT")"
grep -q ' traced .* data [0-9]*$' "$OUT" || fail "no data record in the trace"
grep -qE ' traced socks -> 127\.0\.0\.1:[0-9]+ connect 0$' "$OUT" || fail "no connect record for the target"
ok "trace records: $(wc -l <"$OUT") lines, e.g. $(grep -m1 ' new ' "$OUT")"
LAST=$(grep '^traced: ' "$E2E_TMP/stats.out" | tail -n 1)
[[ $LAST =~ bytes-up\ ([0-9]+)\ bytes-down\ ([0-9]+)\ up-rate\ [0-9]+\ B/s\ down-rate\ [0-9]+\ B/s\ connections\ [0-9]+\ open\ ([0-9]+)\ total.*records\ ([1-9][0-9]*)$ ]] \
    || fail "--stats printed no counters: $(tail -n 3 "$E2E_TMP/stats.out")"
UP=${BASH_REMATCH[1]} DOWN=${BASH_REMATCH[2]} TOTAL=${BASH_REMATCH[3]}
# Two downloads (warm-up and the one while subscribed): the bodies plus heads and
# SOCKS replies, at most 2 KiB each, counted once and not at every hop.
((DOWN >= 400000 && DOWN <= 400000 + 4096)) || fail "--stats: bytes-down $DOWN for two 200000-byte downloads"
((UP > 0 && UP < 4096)) || fail "--stats: bytes-up $UP for two requests"
((TOTAL >= 2)) || fail "--stats: $TOTAL connections for two requests"
ok "--stats counts user bytes once: $LAST"
[[ ! -s "$E2E_TMP/other.out" ]] || fail "--wormhole nosuchwormhole printed records"
ok "--wormhole filters by name"
stop_mimicsocks "$PID" ms

# A trace endpoint off loopback is refused (exit 2, a clear message) unless trace_public: true.
sed "s|^trace: tcp://127.0.0.1:$TP|trace: tcp://0.0.0.0:$TP|" "$E2E_TMP/trace.yaml" >"$E2E_TMP/public.yaml"
set +e
"$MIMICSOCKS" check-config "$E2E_TMP/public.yaml" >"$E2E_TMP/public.out" 2>&1
RC=$?
set -e
((RC == 2)) || fail "check-config of a trace on 0.0.0.0 exited $RC, not 2"
grep -q "trace: 'tcp://0.0.0.0:$TP' is not on a loopback address.*trace_public: true" "$E2E_TMP/public.out" \
    || fail "no clear refusal of a public trace endpoint: $(cat "$E2E_TMP/public.out")"
ok "trace on 0.0.0.0 refused: $(head -n 1 "$E2E_TMP/public.out")"
printf 'trace_public: true\n' >>"$E2E_TMP/public.yaml"
"$MIMICSOCKS" check-config "$E2E_TMP/public.yaml" >/dev/null 2>&1 || fail "trace_public: true did not allow 0.0.0.0"
set +e
"$MIMICSOCKS" socks --listen 127.0.0.1:1 --trace "tcp://0.0.0.0:$TP" >"$E2E_TMP/cli.out" 2>&1
RC=$?
set -e
((RC == 2)) && grep -q "not on a loopback address.*--trace-public" "$E2E_TMP/cli.out" \
    || fail "--trace tcp://0.0.0.0 was not refused (exit $RC): $(cat "$E2E_TMP/cli.out")"
ok "--trace on 0.0.0.0 refused without --trace-public"
