#!/usr/bin/env bash
# e2e_wormhole_probe — a wormhole's tunnel port gives an active prober nothing: random bytes
# (a wrong hello) or no bytes at all get no answer and no prompt close; with
# probe_close_delay [2, 3] the connection is closed 2-3 s after it was made. A fake local
# end with a CORRECT hello followed by garbage gets its tunnel dropped at the probe delay,
# silently (both modes), while the real local end's tunnel is untouched. Users are served all along. Both wormhole modes.
# Usage: wormhole_probe.sh PATH/TO/mimicsocks
source "$(dirname "$0")/lib.sh"
e2e_init "$@"

serve_random mid="$((2 * 1024 * 1024))"
KEY=$(wh_key)
CONF="$E2E_TMP/wormholes.yaml"

# Four wormholes: {aggregated, distributed} x {default probe delay (60-3000 s), [2, 3] s}.
write_config() {
    read -r SA TA SB TB SC TC SD TD <<<"$(free_ports 8)"
    cat >"$CONF" <<EOF
wormholes:
  - name: agg-slow
    server: 127.0.0.1:$SA
    wormhole_remote: 127.0.0.1:$TA
    wormhole: aggregated
    handler: socks
    $E2E_ALLOW_YAML
    key: $KEY
    protocol: v1
  - name: agg-fast
    server: 127.0.0.1:$SB
    wormhole_remote: 127.0.0.1:$TB
    wormhole: aggregated
    handler: socks
    $E2E_ALLOW_YAML
    probe_close_delay: [2, 3]
    key: $KEY
    protocol: v1
  - name: dist-slow
    server: 127.0.0.1:$SC
    wormhole_remote: 127.0.0.1:$TC
    wormhole: distributed
    handler: socks
    $E2E_ALLOW_YAML
    key: $KEY
    protocol: v1
  - name: dist-fast
    server: 127.0.0.1:$SD
    wormhole_remote: 127.0.0.1:$TD
    wormhole: distributed
    handler: socks
    $E2E_ALLOW_YAML
    probe_close_delay: [2, 3]
    key: $KEY
    protocol: v1
EOF
}
for attempt in 1 2 3; do
    write_config
    # No --role: on loopback both ends of every wormhole are this host's.
    start_config ms "$CONF" "$SA $TA $SB $TB $SC $TC $SD $TD" && break
    ((attempt < 3)) || fail "mimicsocks --config did not start"
done
MS=$CFG_PID
log "origin :$H; users :$SA :$SB :$SC :$SD, tunnels :$TA :$TB :$TC :$TD"
wait_log ms "tunnel up" 2 || fail "the two aggregated tunnels did not come up"
ok "both aggregated tunnels are up"

URL="http://127.0.0.1:$H/file/mid"
fetch_retry 10 "agg-slow before the probes" "$MID_SHA" "$MID_SIZE" --socks5 "127.0.0.1:$SA" "$URL"
fetch_retry 10 "agg-fast before the probes" "$MID_SHA" "$MID_SIZE" --socks5 "127.0.0.1:$SB" "$URL"
fetch_check "dist-slow before the probes" "$MID_SHA" "$MID_SIZE" --socks5 "127.0.0.1:$SC" "$URL"
fetch_check "dist-fast before the probes" "$MID_SHA" "$MID_SIZE" --socks5 "127.0.0.1:$SD" "$URL"

# --- probers, all at once, while users download -----------------------------------------
# prober NAME ARGS...: tools.py probe in the background; checked by probers_check.
PROBERS=()
prober() {
    local name=$1; shift
    bg "$name" "$PYTHON" "$E2E_DIR/tools.py" probe "$@"
    PROBERS+=("$name:$BG_PID")
}
# Default delay (at least 60 s): 3 s of silence with the connection open.
prober probe-agg-random   127.0.0.1 "$TA" --random 48 --silent 3.5
prober probe-agg-nothing  127.0.0.1 "$TA" --silent 3.5
prober probe-dist-random  127.0.0.1 "$TC" --random 32 --silent 3.5
prober probe-dist-nothing 127.0.0.1 "$TC" --silent 3.5
# [2, 3]: silent and open for the first 1.8 s, closed (without a word) by 3 s plus a
# generous margin for slow (sanitizer) builds.
prober probe-aggfast-random   127.0.0.1 "$TB" --random 64 --silent 1.8 --close-by 10
prober probe-aggfast-nothing  127.0.0.1 "$TB" --silent 1.8 --close-by 10
prober probe-distfast-random  127.0.0.1 "$TD" --random 33 --silent 1.8 --close-by 10
prober probe-distfast-nothing 127.0.0.1 "$TD" --silent 1.8 --close-by 10
t0=$(now_ms)

fetch_check "agg-slow during the probes" "$MID_SHA" "$MID_SIZE" --socks5 "127.0.0.1:$SA" "$URL"
fetch_check "agg-fast during the probes" "$MID_SHA" "$MID_SIZE" --socks5-hostname "127.0.0.1:$SB" "http://localhost:$H/file/mid"
fetch_check "dist-slow during the probes" "$MID_SHA" "$MID_SIZE" --socks4 "127.0.0.1:$SC" "$URL"
fetch_check "dist-fast during the probes" "$MID_SHA" "$MID_SIZE" --socks4a "127.0.0.1:$SD" "http://localhost:$H/file/mid"

for entry in "${PROBERS[@]}"; do
    name=${entry%%:*}; pid=${entry##*:}
    wait_pid "$pid" 30
    ((WAIT_RC == 0)) || fail "$name: $(tail -n 3 "$E2E_TMP/$name.log")"
    ok "$name: $(<"$E2E_TMP/$name.out")"
done
ok "all probers done $(($(now_ms) - t0)) ms after they started"
(($(log_count ms "wrong hello") >= 4)) || fail "expected a 'wrong hello' log line per random prober"
ok "the log notes the wrong hellos ($(log_count ms "wrong hello") lines)"

# --- a corrupt tunnel: correct hello, then garbage -----------------------------------------
# Aggregated: the accepting end says nothing before the tunnel has proven itself (the
# original's remote end does not either, and a correct hello may be a replay), and
# garbage before that is a probe's: silence, and the close at the wormhole's probe delay
# (a reset at once before issue 15); only that tunnel goes.
tunnels_before=$(log_count ms "tunnel up")
out=$("$PYTHON" "$E2E_DIR/tools.py" v2-probe v1-garbage-4096 127.0.0.1 "$TA" --key "$KEY" --wait 3) \
    || fail "the agg-slow garbage probe failed: $out"
[[ "$out" == *'"closed_ms": null'* && "$out" == *'"received": 0'* ]] \
    || fail "agg-slow: a correct hello and garbage were not met with silence: $out"
out=$("$PYTHON" "$E2E_DIR/tools.py" v2-probe v1-garbage-100 127.0.0.1 "$TB" --key "$KEY" --wait 10) \
    || fail "the agg-fast garbage probe failed: $out"
[[ "$out" == *'"received": 0'* && "$out" =~ \"closed_ms\":\ ([0-9]+) ]] \
    || fail "agg-fast: a correct hello and garbage were not met with silence and a close: $out"
((BASH_REMATCH[1] >= 1995)) || fail "agg-fast: closed after ${BASH_REMATCH[1]} ms, before the probe delay"
wait_log ms "before the tunnel proved itself" 2 5 || fail "no 'staying silent' log line for the fake tunnels"
ok "aggregated: a correct hello and garbage get silence, agg-fast closed after ${BASH_REMATCH[1]} ms"
# A tunnel that has proven itself (the C ends' extension hello, answered by ours) and then
# sends garbage is a broken tunnel, not a probe: dropped at once, as before.
tool fake-tunnel 127.0.0.1 "$TA" --key "$KEY" --expect-frame --garbage 100 --timeout 10
wait_log ms "corrupt frame" 1 5 || fail "no 'corrupt frame' log line for the proven fake tunnel"
# Distributed: the socks handler refuses the garbage, and the connection gets the wrong
# hello's treatment (v1's hello proves nothing by itself: it may be a replay): silence, and
# the close at the wormhole's probe delay ([2, 3] s for dist-fast, minutes for dist-slow).
out=$("$PYTHON" "$E2E_DIR/tools.py" v2-probe v1-garbage-4096 127.0.0.1 "$TC" --key "$KEY" --wait 3) \
    || fail "the dist-slow garbage probe failed: $out"
[[ "$out" == *'"closed_ms": null'* && "$out" == *'"received": 0'* ]] \
    || fail "dist-slow: a correct hello and garbage were not met with silence: $out"
ok "dist-slow: a correct hello and garbage get 3 s of silence"
tool fake-tunnel 127.0.0.1 "$TD" --key "$KEY" --garbage 1 --timeout 10

fetch_check "agg-slow after the corrupt tunnel" "$MID_SHA" "$MID_SIZE" --socks5 "127.0.0.1:$SA" "$URL"
fetch_check "agg-fast after the corrupt tunnel" "$MID_SHA" "$MID_SIZE" --socks5 "127.0.0.1:$SB" "$URL"
fetch_check "dist-slow after the corrupt tunnel" "$MID_SHA" "$MID_SIZE" --socks5 "127.0.0.1:$SC" "$URL"
fetch_check "dist-fast after the corrupt tunnel" "$MID_SHA" "$MID_SIZE" --socks5 "127.0.0.1:$SD" "$URL"
# The real local ends kept their tunnels: no reconnect happened.
(($(log_count ms "tunnel up") == tunnels_before)) \
    || fail "a real tunnel was re-dialed after the fake one was dropped"
(($(log_count ms "dialing again|the tunnel closed") == 0)) \
    || fail "a real tunnel was dropped: $(grep -E "dialing again|the tunnel closed" "$E2E_TMP/ms.log" | head -n 3)"
ok "the real tunnels stayed up (no reconnect)"

stop_mimicsocks "$MS" ms
