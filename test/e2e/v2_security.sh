#!/usr/bin/env bash
# e2e_v2_security — wire protocol v2's promises (docs/PROTOCOL-v2.md sections 1, 4, 6, 7)
# against real processes: a local end and a remote end (--role local / --role remote, two
# config files) whose tunnels go through relays from tools.py.
#   1. Replay: a distributed socks wormhole through capture-relay serves one download;
#      the recorded client bytes of that tunnel connection, replayed whole or only their
#      first flight, get nothing back, reach no target (a counting relay in front of the
#      origin sees no new connection) and the remote end logs "a replayed first flight".
#      Flights made by tools.py v2-flight tell service from silence: the right key and a
#      fresh time get an authentic server flight (77..1084 bytes) and a SOCKS5 answer;
#      a stale time (now - 60), a future one (now + 60) or another key get silence.
#   2. Probes are indistinguishable: with probe_close_delay [2, 4] on the remote end, 22
#      kinds of input (random-N, zeros-N, nothing, a captured flight with one bit flipped
#      in its salt, length, ciphertext or tag, replays, stale/future/wrong-key flights,
#      and on the extra port: garbage, a HANDOVER flight with an unknown ID, a TUNNEL
#      flight, a replay), 10 connections of each at once: every one gets 0 bytes and
#      is closed 2-4.5 s after its connect, by FIN or reset alike for all kinds, with
#      close-time statistics that a uniform [2, 4] s deadline explains (rule below).
#   3. Bit flips: one bit flipped by bitflip-relay in a tunnel's stream, server->client
#      4 MiB into a 16 MiB download, client->server 1 MiB into a 4 MiB upload, through
#      an aggregated and a distributed wormhole: no wrong byte is ever delivered (curl
#      fails, or has the right sha256), the receiving end logs the tunnel's stream was
#      not understood; aggregated: the local end dials again ("tunnel up") and a fresh
#      transfer through the same wormhole is intact; distributed: the next, smaller
#      transfer (the flip offset lies past its end) is intact. An aggregated wormhole
#      that does not come back is recorded, the other checks go on, and the test fails at
#      its end naming every such defect.
# Usage: v2_security.sh PATH/TO/mimicsocks
source "$(dirname "$0")/lib.sh"
e2e_init "$@"
"$PYTHON" -c 'import cryptography' 2>/dev/null \
    || { skip "python3-cryptography is not installed (tools.py v2-flight needs it)"; exit 0; }

T0=$(now_ms)
serve_random big=$((16 * 1024 * 1024)) small=$((1024 * 1024)) up=$((4 * 1024 * 1024)) \
    upsmall=$((100 * 1024))
KEY=$(wh_key)
OTHER_KEY=$(wh_key)
TOOLS=("$PYTHON" "$E2E_DIR/tools.py")

# A counting relay in front of the origin: one file counted.N per connection it accepted.
bg counter "${TOOLS[@]}" capture-relay 0 "127.0.0.1:$H" --out "$E2E_TMP/counted" \
    --port-file "$E2E_TMP/counter.port"
wait_file "$E2E_TMP/counter.port" "$BG_PID" || fail "the counting relay did not start"
C=$(<"$E2E_TMP/counter.port")
origin_conns() { find "$E2E_TMP" -maxdepth 1 -name 'counted.*' | wc -l; }

# --- the two ends ------------------------------------------------------------------------
# Five wormholes; the remote end listens on T1..T5 (and X1, dist-cap's extra port), the
# local end's users on S1..S5, and each local wormhole_remote is a relay in front of Ti.
# The local end has no extra_ports: no handover splits the captured connection.
# wire: raw, the layout tools.py makes and reads (e2e_stealth covers wire: tls).
NAMES=(dist-cap agg-s2c dist-s2c agg-c2s dist-c2s)
MODES=(distributed aggregated distributed aggregated distributed)
wormhole_yaml() {   # NAME MODE USERS_PORT TUNNEL_PORT EXTRA...
    cat <<EOF
  - name: $1
    server: 127.0.0.1:$3
    wormhole_remote: 127.0.0.1:$4
    wormhole: $2
    handler: socks
    $E2E_ALLOW_YAML
    probe_close_delay: [2, 4]
    key: $KEY
    protocol: v2
    wire: raw
$5
EOF
}
for attempt in 1 2 3; do
    read -r S1 S2 S3 S4 S5 T1 T2 T3 T4 T5 X1 <<<"$(free_ports 11)"
    S=("$S1" "$S2" "$S3" "$S4" "$S5"); T=("$T1" "$T2" "$T3" "$T4" "$T5")
    {
        echo "wormholes:"
        for i in 0 1 2 3 4; do
            extra=""; ((i == 0)) && extra="    extra_ports: [$X1]"
            wormhole_yaml "${NAMES[$i]}" "${MODES[$i]}" "${S[$i]}" "${T[$i]}" "$extra"
        done
    } >"$E2E_TMP/remote.yaml"
    start_config remote "$E2E_TMP/remote.yaml" "${T[*]}" --role remote && wait_extra remote "$X1" && break
    ((attempt < 3)) || fail "the remote end did not start"
done
REMOTE=$CFG_PID

# The relays, on ports they pick themselves (--port-file).
relay() {   # NAME TOOL-ARGS...: sets R
    local name=$1; shift
    bg "$name" "${TOOLS[@]}" "$@" --port-file "$E2E_TMP/$name.port"
    wait_file "$E2E_TMP/$name.port" "$BG_PID" || fail "relay $name did not start"
    R=$(<"$E2E_TMP/$name.port")
}
MIB=$((1024 * 1024))
relay cap capture-relay 0 "127.0.0.1:$T1" --out "$E2E_TMP/cap";                          R1=$R
relay flip-agg-s2c  bitflip-relay 0 "127.0.0.1:$T2" $((4 * MIB)) --bit 2 --only 1;         R2=$R
relay flip-dist-s2c bitflip-relay 0 "127.0.0.1:$T3" $((4 * MIB)) --bit 5;                  R3=$R
relay flip-agg-c2s  bitflip-relay 0 "127.0.0.1:$T4" $((1 * MIB)) --bit 0 --direction c2s --only 1; R4=$R
relay flip-dist-c2s bitflip-relay 0 "127.0.0.1:$T5" $((1 * MIB)) --bit 7 --direction c2s;  R5=$R
RR=("$R1" "$R2" "$R3" "$R4" "$R5")

for attempt in 1 2 3; do
    {
        echo "wormholes:"
        for i in 0 1 2 3 4; do
            # (dist-cap: one tunnel connection per download, none dialed ahead, so that
            # the capture holds just the download's)
            extra=""; ((i == 0)) && extra="    preconnect: false"
            wormhole_yaml "${NAMES[$i]}" "${MODES[$i]}" "${S[$i]}" "${RR[$i]}" "$extra"
        done
    } >"$E2E_TMP/local.yaml"
    # (debug: the log then names a failed write to the tunnel, if one ends it)
    start_config local "$E2E_TMP/local.yaml" "${S[*]}" --role local --log-level debug && break
    ((attempt < 3)) || fail "the local end did not start"
    read -r S1 S2 S3 S4 S5 <<<"$(free_ports 5)"
    S=("$S1" "$S2" "$S3" "$S4" "$S5")
done
LOCAL=$CFG_PID
log "origin :$H (counted :$C); users :${S[*]}; relays :${RR[*]} -> tunnels :${T[*]}, extra :$X1"

# --- 1. replay -----------------------------------------------------------------------------
# (start_config's check of the users port already made a tunnel connection: its flight is
# cap.1. The download's is the next one.)
caps() { find "$E2E_TMP" -maxdepth 1 -name 'cap.[0-9]*' | wc -l; }
n0=$(caps)
fetch_check "dist-cap: a download through capture-relay" "$SMALL_SHA" "$SMALL_SIZE" \
    --socks5 "127.0.0.1:$S1" "http://127.0.0.1:$C/file/small"
(($(caps) == n0 + 1)) || fail "capture-relay saw $(($(caps) - n0)) tunnel connections for one download"
CAP="$E2E_TMP/cap.$((n0 + 1))"
[[ -s "$CAP" ]] || fail "capture-relay recorded nothing of the tunnel connection"
(($(origin_conns) == 1)) || fail "the counting relay saw $(origin_conns) connections, expected 1"
opened=$("${TOOLS[@]}" v2-open "$CAP" --key "$KEY") || fail "the recording is no v2 flight: $opened"
read -r FL FKIND FPAD FTOTAL < <("$PYTHON" -c 'import json,sys; d=json.loads(sys.argv[1]);
print(d["flight_len"], d["kind"], d["pad"], d["total"])' "$opened")
[[ "$FKIND" == tunnel ]] || fail "the recorded flight is of kind $FKIND"
((FPAD >= 16 && FPAD <= 1023 && FTOTAL > FL)) \
    || fail "the recorded flight: padding $FPAD (expected 16..1023), $FTOTAL bytes recorded, flight $FL"
ok "recorded: a $FL-byte TUNNEL flight (padding $FPAD), then $((FTOTAL - FL)) bytes of records"

# Service versus silence: a flight made here with the right key and a fresh time is served.
served=$("${TOOLS[@]}" v2-flight 127.0.0.1 "$T1" --key "$KEY" --expect-server --socks --wait 10 2>&1) \
    || fail "a fresh flight with the right key was not served: $served"
sf=$("$PYTHON" -c 'import json,sys; print(json.loads(sys.argv[1])["server_flight"])' "$served")
((sf >= 77 && sf <= 1084)) || fail "the server flight is $sf bytes, outside 32+2+1+10+16..1023+16 = 77..1084"
ok "a fresh flight with the right key is served: $served"

# --- 2. probes, all at once, 10 of each kind -----------------------------------------------
N=10
PROBE_N=$N
for k in random-0 random-1 random-50 random-59 random-100 random-5000 random-20000 zeros-100 zeros-20000; do
    probe_start "$k" v2-probe "$k" 127.0.0.1 "$T1"
done
probe_start flip-salt v2-probe flipped 127.0.0.1 "$T1" --file "$CAP" --offset 7 --bit 3
probe_start flip-len  v2-probe flipped 127.0.0.1 "$T1" --file "$CAP" --offset 32 --bit 0
probe_start flip-ct   v2-probe flipped 127.0.0.1 "$T1" --file "$CAP" --offset 40 --bit 6 --bytes "$FL"
probe_start flip-tag  v2-probe flipped 127.0.0.1 "$T1" --file "$CAP" --offset $((FL - 5)) --bit 1
probe_start replay        replay "$CAP" 127.0.0.1 "$T1"
probe_start replay-flight replay "$CAP" 127.0.0.1 "$T1" --bytes "$FL"
probe_start stale     v2-flight 127.0.0.1 "$T1" --key "$KEY" --age 60
probe_start future    v2-flight 127.0.0.1 "$T1" --key "$KEY" --age -60
probe_start wrong-key v2-flight 127.0.0.1 "$T1" --key "$OTHER_KEY"
probe_start x-random-100 v2-probe random-100 127.0.0.1 "$X1"
probe_start x-unknown-id v2-flight 127.0.0.1 "$X1" --key "$KEY" --kind handover
probe_start x-tunnel-kind v2-flight 127.0.0.1 "$X1" --key "$KEY"
probe_start x-replay     replay "$CAP" 127.0.0.1 "$X1"
# The rule. Each connection's deadline D is uniform in [2000, 4000] ms, drawn at accept
# and independent of the others; the measured close T = D + e, with e >= 0 the accept
# and wake-up latency (T is measured from the prober's connect() call), assumed < 250 ms.
# Per kind, with n = 10 (tools.py probe-stats, through lib.sh's probe_stats):
#   (a) every T in [1995, 4500] ms (5 ms under 2 s for the server's ms clock), no byte
#       back, and the same way of closing (FIN or reset) for every kind;
#   (b) not all T < 2500 and not all T > 3750: each has probability <= (1/4)^10 < 9.6e-7;
#   (c) the mean in [2200, 4050]: P(mean of 10 U[2000,4000] < 2200) = P(Irwin-Hall(10)
#       <= 1) = 1/10! < 2.8e-7, and the same for a mean of D above 3800.
# So a correct server fails this with probability < 22 kinds x 2 sides x (9.6e-7 + 2.8e-7)
# < 5.5e-5 per run; a kind treated apart (closed at once, at a fixed time, never, or with
# a byte) fails it.
probe_stats "probes" 2000 4000 --late 500

# What the remote end made of them (logs), and that nothing reached a target.
(($(origin_conns) == 1)) || fail "a probe reached the origin: the counting relay saw $(origin_conns) connections"
ok "the origin saw no connection but the download's"
n=$(log_count remote "dist-cap: a replayed first flight")
((n >= 2 * N)) || fail "the remote end logged $n replayed first flights, expected >= $((2 * N))"
ok "the remote end logged $n replayed first flights"
n=$(log_count remote "dist-cap: a first flight out of the time window")
((n >= 2 * N)) || fail "the remote end logged $n flights out of the time window, expected >= $((2 * N))"
ok "the remote end logged $n stale or future flights"
n=$(log_count remote "dist-cap: handover refused")
((n >= 3 * N)) || fail "the remote end logged $n refused handovers, expected >= $((3 * N))"
(($(log_count remote "dist-cap: handover refused.*unknown ID") >= N)) \
    || fail "no 'unknown ID' for the HANDOVER flights with an unregistered ID"
ok "the extra port refused $n handover connections"
fetch_check "dist-cap after the probes" "$SMALL_SHA" "$SMALL_SIZE" \
    --socks5 "127.0.0.1:$S1" "http://127.0.0.1:$H/file/small"

# --- 3. bit flips --------------------------------------------------------------------------
not_understood() { log_count "$1" "the tunnel's stream is not understood"; }
tunnels_up() { log_count local "wormhole $1: tunnel up"; }
wait_log local "wormhole agg-s2c: tunnel up" 1 || fail "agg-s2c: no tunnel up"
wait_log local "wormhole agg-c2s: tunnel up" 1 || fail "agg-c2s: no tunnel up"

# broken_transfer WHAT FILE END CURL_ARGS...: a transfer of FILE's bytes through a flipping
# relay: curl must fail, or succeed with FILE's sha256; what it wrote before failing must be
# a prefix of FILE (no wrong byte delivered); END's log must note a stream not understood.
broken_transfer() {
    local what=$1 file=$2 end=$3 out="$E2E_TMP/broken.out" rc=0 before got=0; shift 3
    before=$(not_understood "$end")
    rm -f "$out"
    ecurl 40 -o "$out" "$@" 2>"$E2E_TMP/curl.err" || rc=$?
    [[ -f "$out" ]] && got=$(size_of "$out")
    if ((rc == 0)); then
        [[ "$(sha_of "$out")" == "$(sha_of "$file")" ]] \
            || fail "$what: curl completed with a WRONG sha256 ($got bytes)"
        log "$what: curl completed intact (the flip was elsewhere)"
    else
        ((got == 0)) || cmp -s -n "$got" "$out" "$file" \
            || fail "$what: curl failed (exit $rc), but the $got bytes it got are not the file's first ones"
        ok "$what: curl failed (exit $rc: $(head -c 100 "$E2E_TMP/curl.err")) after $got intact bytes"
    fi
    wait_log "$end" "the tunnel's stream is not understood" $((before + 1)) 10 \
        || fail "$what: the $end end did not log the tunnel's stream as not understood"
    ok "$what: $end: $(grep "the tunnel's stream is not understood" "$E2E_TMP/$end.log" | tail -n 1 | cut -c 25-200)"
    rm -f "$out"
}
POST=(-H 'Expect:' -H 'Content-Type: application/octet-stream')

# 3a. distributed, server->client (every connection is flipped at 4 MiB).
broken_transfer "dist-s2c: 16 MiB, a bit flipped at 4 MiB" "$www/big" local \
    --socks5 "127.0.0.1:$S3" "http://127.0.0.1:$H/file/big"
fetch_check "dist-s2c: 1 MiB (the flip offset is past its end)" "$SMALL_SHA" "$SMALL_SIZE" \
    --socks5 "127.0.0.1:$S3" "http://127.0.0.1:$H/file/small"

# 3b. distributed, client->server.
broken_transfer "dist-c2s: 4 MiB upload, a bit flipped at 1 MiB" "$www/up" remote \
    --socks5 "127.0.0.1:$S5" "${POST[@]}" --data-binary "@$www/up" "http://127.0.0.1:$H/echo"
fetch_check "dist-c2s: 100 KiB upload (the flip offset is past its end)" "$UPSMALL_SHA" "$UPSMALL_SIZE" \
    --socks5 "127.0.0.1:$S5" "${POST[@]}" --data-binary "@$www/upsmall" "http://127.0.0.1:$H/echo"

# Aggregated: section 7 wants the dialing end to dial a new tunnel as for any lost one.
# A wormhole that does not is recorded as a defect and the test goes on with the other
# one; the test fails at its end with every defect found (after a clean stop of both ends).
DEFECTS=()
redialed() {   # WORMHOLE UP_BEFORE USERS_PORT: true if the local end dialed again
    if wait_log local "wormhole $1: tunnel up" $(($2 + 1)) 15; then
        ok "$1: the local end dialed a new tunnel"
        return 0
    fi
    local rc=0
    ecurl 10 -o /dev/null --socks5 "127.0.0.1:$3" "http://127.0.0.1:$H/file/small" 2>/dev/null || rc=$?
    DEFECTS+=("$1: the local end did not dial again within 15 s of the broken tunnel; a user now gets curl exit $rc; the local end logs: $(grep -F "$1" "$E2E_TMP/local.log" | tail -n 1 | cut -c 25-200); before that: $(grep -E "write to target|not understood" "$E2E_TMP/local.log" | tail -n 1 | cut -c 25-200)")
    log "DEFECT: ${DEFECTS[-1]}"
    return 1
}

# 3c. aggregated, client->server (the remote end finds the flip): a 4 MiB upload echoed back, a bit flipped at 1 MiB.
up0=$(tunnels_up agg-c2s)
broken_transfer "agg-c2s: 4 MiB upload, a bit flipped at 1 MiB" "$www/up" remote \
    --socks5 "127.0.0.1:$S4" "${POST[@]}" --data-binary "@$www/up" "http://127.0.0.1:$H/echo"
redialed agg-c2s "$up0" "$S4" && fetch_retry 10 "agg-c2s: 4 MiB upload through the new tunnel" "$UP_SHA" "$UP_SIZE" \
    --socks5 "127.0.0.1:$S4" "${POST[@]}" --data-binary "@$www/up" "http://127.0.0.1:$H/echo"

# 3d. aggregated, server->client (the local end's own v2 node finds the flip).
up0=$(tunnels_up agg-s2c)
broken_transfer "agg-s2c: 16 MiB, a bit flipped at 4 MiB" "$www/big" local \
    --socks5 "127.0.0.1:$S2" "http://127.0.0.1:$H/file/big"
redialed agg-s2c "$up0" "$S2" && fetch_retry 10 "agg-s2c: 16 MiB through the new tunnel" "$BIG_SHA" "$BIG_SIZE" \
    --socks5 "127.0.0.1:$S2" "http://127.0.0.1:$H/file/big"

stop_mimicsocks "$LOCAL" local
stop_mimicsocks "$REMOTE" remote
((${#DEFECTS[@]} == 0)) || fail "$(printf '%s\n' "${DEFECTS[@]}")"
log "done in $(($(now_ms) - T0)) ms"
