#!/usr/bin/env bash
# e2e_handover_paused — a handover while the accepting end's handler does not read
# the tunnel: the http handler pauses its client (the tunnel) until the origin's
# response is complete. A slow download (8 s) through a distributed wormhole with
# handler http (the handler runs on the tunnel's own session, which it pauses), and
# for comparison one through an aggregated wormhole (the handler runs on a stream
# session; the tunnel is never paused), each handed over (SIGUSR1) after 1 s: the
# tapped tunnel is read ahead of the paused handler, so HO_COMPLETE_L2R is found
# within the protocol's 3 s and the handover completes; the downloads arrive intact
# and no handover stalls. (Before the read-ahead held bytes for a paused handler,
# the distributed handover stalled and the download was reset.)
# Usage: handover_paused.sh PATH/TO/mimicsocks
source "$(dirname "$0")/lib.sh"
e2e_init "$@"

www="$E2E_TMP/www"
mkdir -p "$www"
start_httpd origin "$www"
H=$HTTPD_PORT
KEY=$(wh_key)
CONF="$E2E_TMP/wormholes.yaml"
write_config() {
    read -r SD TD XD SA TA XA <<<"$(free_ports 6)"
    cat >"$CONF" <<YAML
wormholes:
  - name: paused-dist
    wormhole: distributed
    server: 127.0.0.1:$SD
    wormhole_remote: 127.0.0.1:$TD
    key: $KEY
    handler: http
    $E2E_ALLOW_YAML
    extra_ports: [$XD]
    handover_interval: 0
  - name: paused-agg
    wormhole: aggregated
    server: 127.0.0.1:$SA
    wormhole_remote: 127.0.0.1:$TA
    key: $KEY
    handler: http
    $E2E_ALLOW_YAML
    extra_ports: [$XA]
    handover_interval: 0
YAML
}
for attempt in 1 2 3; do
    write_config
    start_config ms "$CONF" "$SD $TD $XD $SA $TA $XA" && break
    ((attempt < 3)) || fail "mimicsocks --config did not start"
done
MS=$CFG_PID

# 2 MiB in 80 parts 100 ms apart: the response lasts 8 s, well past the 3 s limit.
SLOW="http://127.0.0.1:$H/slow/2097152?parts=80&ms=100"
SLOW_SHA=$(pattern_sha 2097152)
fetch_bg dist 40 -x "http://127.0.0.1:$SD" "$SLOW"
fetch_bg agg 40 -x "http://127.0.0.1:$SA" "$SLOW"
sleep 1
kill -USR1 "$MS"
wait_log ms "paused-dist: handover done" 1 10 || fail "paused-dist: no handover"
wait_log ms "paused-agg: handover done" 1 10 || fail "paused-agg: no handover"
fetch_bg_check dist "distributed, handler http: a slow download across a handover" "$SLOW_SHA"
fetch_bg_check agg "aggregated, handler http: a slow download across a handover" "$SLOW_SHA"
n=$(log_count ms "handover stalled")
((n == 0)) || fail "$n handovers stalled: $(grep -m1 'handover stalled' "$E2E_TMP/ms.log")"
ok "no handover stalled while the handlers paused their tunnels"
no_sanitizer_report ms
stop_mimicsocks "$MS" ms
