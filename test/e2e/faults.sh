#!/usr/bin/env bash
# e2e_faults — real curl transfers (sha256-checked) through wormholes whose ends fail under
# them, with a recovery-time table at the end. Two processes (--role remote, --role local)
# run eight wormholes, socks handler, no periodic handovers:
#   agg, dist, agg-v1, dist-v1                  aggregated / distributed, protocol v2 / v1,
#                                               direct (the aggregated ones have an extra port,
#                                               so that the liveness check can run)
#   agg-cut, dist-cut, agg-cut-v1, dist-cut-v1  the same, but the local end reaches the remote
#                                               end through a reset-relay (tools.py)
# Downloads that must not end cleanly when cut are close-delimited (/noclen/N: no
# Content-Length), so that only the tunnel can tell the user whether the stream was whole.
# The origin paces them (?rate=), and uploads are paced by tools.py pace: curl 7.88's
# --limit-rate does not limit here (8 MiB in 0.08 s over loopback).
# A transfer's verdict: intact (exit 0, right sha256), failed (exit != 0 and what it wrote is
# a prefix of the right bytes), short (exit 0 but a strict prefix: the user was told a cut
# stream was complete), wrong (a byte that is not the file's), hung.
#   1. kill -9 the remote end during 32 MiB downloads (2 MiB/s) through the direct wormholes:
#      each curl must fail (v2: the tunnel's FIN comes without an END record and is passed
#      on as a reset; aggregated: every stream of a lost tunnel is reset). v1 distributed
#      cannot tell a dead far end's FIN from an end (PROTOCOL-v2.md section 3): its verdict
#      is only reported. Restart the remote end: the time from the restart to the first
#      intact download through each wormhole (users retrying every 0.25 s).
#   2. kill -9 the local end during 32 MiB downloads (/slow, 2 MiB/s, with Content-Length:
#      the user's connection is closed by the kernel, a FIN that only the length tells from an end):
#      each curl fails; the remote end does not crash, closes every connection to the origin
#      and gives back the tunnels' file descriptors; a fresh local end is served.
#   3. kill -STOP the remote end for FAULTS_FREEZE seconds (default 30) during 8 MiB
#      downloads (1 MiB/s), with new users arriving 1 s into the freeze, then -CONT: every
#      transfer is intact or failed, never short or wrong; service resumes (time from CONT
#      to the first intact download); aggregated: whether the tunnel survived or was dialed
#      again (the liveness check: a user unanswered for 10-20 s makes the dialing end check
#      the tunnel with a handover, which stalls against a frozen peer).
#   4. the reset-relay cuts the -cut wormholes' tunnel connections with a RST to both sides,
#      (a) on SIGUSR1 during 32 MiB downloads, (b) once 2 MiB of 8 MiB uploads (POST /echo, as
#      fast as they go, three at once per aggregated tunnel) passed client->server: the
#      transfers fail (v1 too: a reset is a reset), the
#      aggregated local ends dial again within 10 s with no user knocking (an earlier bug:
#      after a reset during uploads, never: every user refused with 'no tunnel yet'; with that
#      fix (0cad80e) disabled, 4b caught it in 3 of 3 runs), and
#      the time from the cut to 'tunnel up' and to the first intact transfer.
#   5. during 4, transfers of the same kind through the direct wormholes (same processes,
#      no relay) are intact and their aggregated tunnels stay up.
# A misbehaving product is recorded as a DEFECT and the test goes on; it fails at its end
# naming every defect (after a clean SIGTERM stop of both ends and the sanitizer check).
# Environment: FAULTS_FREEZE (seconds, default 30: the liveness check then always fires
# during the freeze, at 10-20 s after the arrivals plus its 3 s handover stall; the whole
# test takes about 50 s, so the 30 s fit the 180 s budget).
# Usage: faults.sh PATH/TO/mimicsocks
source "$(dirname "$0")/lib.sh"
e2e_init "$@"

T0=$(now_ms)
FREEZE=${FAULTS_FREEZE:-30}
[[ "$FREEZE" =~ ^[1-9][0-9]*$ ]] || fail "FAULTS_FREEZE must be a positive integer, not '$FREEZE'"
MIB=$((1024 * 1024))
# (serve_random sets www, the served files' folder)
serve_random big=$((32 * MIB)) up=$((8 * MIB)) small=$((256 * 1024)) upsmall=$((128 * 1024))
KEY=$(wh_key)
TOOLS=("$PYTHON" "$E2E_DIR/tools.py")
# The expected bytes of the close-delimited downloads.
"$PYTHON" "$E2E_DIR/httpd.py" --pattern $((32 * MIB)) >"$E2E_TMP/pat32"
"$PYTHON" "$E2E_DIR/httpd.py" --pattern $((8 * MIB)) >"$E2E_TMP/pat8"
POST=(-H 'Expect:' -H 'Content-Type: application/octet-stream')

NAMES=(agg dist agg-v1 dist-v1 agg-cut dist-cut agg-cut-v1 dist-cut-v1)
declare -A MODE PROTO USERS TUN EXTRA RELAY
for i in "${!NAMES[@]}"; do
    n=${NAMES[$i]}
    [[ $n == agg* ]] && MODE[$n]=aggregated || MODE[$n]=distributed
    [[ $n == *-v1 ]] && PROTO[$n]=v1 || PROTO[$n]=v2
done
DIRECT=(agg dist agg-v1 dist-v1)
CUT=(agg-cut dist-cut agg-cut-v1 dist-cut-v1)
AGGS=(agg agg-v1 agg-cut agg-cut-v1)

DEFECTS=()
NOTES=()
defect() { DEFECTS+=("$*"); log "DEFECT: $*"; }
note()   { NOTES+=("$*"); log "note: $*"; }
TABLE="$E2E_TMP/table.tsv"
printf 'case\twormhole\ttransfer in flight\tuser told (ms)\ttunnel up (ms)\tfirst intact (ms)\n' >"$TABLE"
row() { local IFS=$'\t'; printf '%s\n' "$*" >>"$TABLE"; }

# --- the two ends, the relays ---------------------------------------------------------------
wormhole_yaml() {   # NAME TUNNEL_PORT WITH_EXTRA
    local n=$1
    cat <<EOF
  - name: $n
    server: 127.0.0.1:${USERS[$n]}
    wormhole_remote: 127.0.0.1:$2
    wormhole: ${MODE[$n]}
    protocol: ${PROTO[$n]}
    handler: socks
    $E2E_ALLOW_YAML
    key: $KEY
    handover_interval: 0
EOF
    if [[ $3 == 1 && -n "${EXTRA[$n]:-}" ]]; then
        echo "    extra_ports: [${EXTRA[$n]}]"
    fi
}
write_remote() {
    local n
    { echo "wormholes:"; for n in "${NAMES[@]}"; do wormhole_yaml "$n" "${TUN[$n]}" 1; done; } \
        >"$E2E_TMP/remote.yaml"
}
write_local() {
    local n
    {
        echo "wormholes:"
        for n in "${NAMES[@]}"; do wormhole_yaml "$n" "${RELAY[$n]:-${TUN[$n]}}" 1; done
    } >"$E2E_TMP/local.yaml"
}
tunnel_ports() { local n; for n in "${NAMES[@]}"; do printf '%s ' "${TUN[$n]}"; done; }
user_ports()   { local n; for n in "${NAMES[@]}"; do printf '%s ' "${USERS[$n]}"; done; }
extra_ports()  { printf '%s %s' "${EXTRA[agg]}" "${EXTRA[agg-v1]}"; }

for attempt in 1 2 3; do
    read -r -a P <<<"$(free_ports 18)"
    for i in "${!NAMES[@]}"; do
        USERS[${NAMES[$i]}]=${P[$i]}
        TUN[${NAMES[$i]}]=${P[$((i + 8))]}
    done
    EXTRA[agg]=${P[16]}
    EXTRA[agg-v1]=${P[17]}
    write_remote
    "$MIMICSOCKS" check-config "$E2E_TMP/remote.yaml" >"$E2E_TMP/check.txt" 2>&1 \
        || fail "check-config refuses remote.yaml: $(tail -n 3 "$E2E_TMP/check.txt")"
    start_config remote "$E2E_TMP/remote.yaml" "$(tunnel_ports)" --role remote \
        && wait_extra remote "$(extra_ports)" && break
    ((attempt < 3)) || fail "the remote end did not start"
done
REMOTE=$CFG_PID
RNAME=remote
declare -A RELAY_PID
for n in "${CUT[@]}"; do
    bg "relay-$n" "${TOOLS[@]}" reset-relay 0 "127.0.0.1:${TUN[$n]}" --after $((2 * MIB)) \
        --direction c2s --port-file "$E2E_TMP/relay-$n.port"
    RELAY_PID[$n]=$BG_PID
    wait_file "$E2E_TMP/relay-$n.port" "$BG_PID" || fail "the reset-relay of $n did not start"
    RELAY[$n]=$(<"$E2E_TMP/relay-$n.port")
done
start_local() {   # LOGNAME: (again) the local end, on the same users ports
    local attempt
    for attempt in 1 2 3; do
        write_local
        # (debug: the log then names a failed write to a tunnel)
        start_config "$1" "$E2E_TMP/local.yaml" "$(user_ports)" --role local --log-level debug && break
        ((attempt < 3)) || fail "the local end ($1) did not start"
        read -r -a P <<<"$(free_ports 8)"
        for i in "${!NAMES[@]}"; do USERS[${NAMES[$i]}]=${P[$i]}; done
    done
    LOCAL=$CFG_PID
    LNAME=$1
}
start_local local
"$MIMICSOCKS" check-config "$E2E_TMP/local.yaml" >"$E2E_TMP/check.txt" 2>&1 \
    || fail "check-config refuses local.yaml: $(tail -n 3 "$E2E_TMP/check.txt")"
log "origin :$H; users $(for n in "${NAMES[@]}"; do printf '%s:%s ' "$n" "${USERS[$n]}"; done)"
log "relays $(for n in "${CUT[@]}"; do printf '%s:%s->%s ' "$n" "${RELAY[$n]}" "${TUN[$n]}"; done)"

ups() { log_count "$LNAME" "wormhole $1: tunnel up"; }     # of the current local end
all_up() {   # LIMIT_S: every aggregated tunnel of the current local end is up
    local n
    for n in "${AGGS[@]}"; do
        wait_log "$LNAME" "wormhole $n: tunnel up" 1 "$1" || fail "$n: no 'tunnel up' in $LNAME.log"
    done
}
all_up 15
for n in "${NAMES[@]}"; do
    fetch_retry 10 "$n (${MODE[$n]}, ${PROTO[$n]}) works" "$SMALL_SHA" "$SMALL_SIZE" --socks5 "127.0.0.1:${USERS[$n]}" \
        "http://127.0.0.1:$H/file/small"
done

# --- transfers in the background ---------------------------------------------------------------
# xfer NAME MAX CURL-ARGS...: curl into $E2E_TMP/NAME.body in the background; when it ends,
# "RC END_MS" goes to NAME.rc.
xfer() {
    local name=$1 max=$2; shift 2
    rm -f "$E2E_TMP/$name.body" "$E2E_TMP/$name.rc"
    (
        # (the exit trap's SIGTERM to this subshell ends curl too)
        trap 'kill "$c" 2>/dev/null; exit 143' TERM
        curl -q --silent --show-error --max-time "$max" --connect-timeout 10 \
            -o "$E2E_TMP/$name.body" "$@" 2>"$E2E_TMP/$name.err" &
        c=$!
        rc=0
        wait "$c" || rc=$?
        printf '%s %s\n' "$rc" "$(now_ms)" >"$E2E_TMP/$name.rc"
    ) &
    E2E_PIDS+=($!)
}
# xfer_up NAME MAX FILE RATE CURL-ARGS...: the same for an upload of FILE paced at RATE bytes/s
# (tools.py pace | curl -T -: a chunked POST; RATE 0: as fast as it goes), the echo's
# response in NAME.body.
xfer_up() {
    local name=$1 max=$2 file=$3 rate=$4; shift 4
    rm -f "$E2E_TMP/$name.body" "$E2E_TMP/$name.rc"
    (
        trap 'kill "$c" 2>/dev/null; exit 143' TERM
        if ((rate > 0)); then
            "${TOOLS[@]}" pace "$file" "$rate" 2>/dev/null \
                | curl -q --silent --show-error --max-time "$max" --connect-timeout 10 -X POST \
                    -T - "${POST[@]}" -o "$E2E_TMP/$name.body" "$@" 2>"$E2E_TMP/$name.err" &
        else
            curl -q --silent --show-error --max-time "$max" --connect-timeout 10 -X POST \
                -T "$file" "${POST[@]}" -o "$E2E_TMP/$name.body" "$@" 2>"$E2E_TMP/$name.err" &
        fi
        c=$!
        rc=0
        wait "$c" || rc=$?
        printf '%s %s\n' "$rc" "$(now_ms)" >"$E2E_TMP/$name.rc"
    ) &
    E2E_PIDS+=($!)
}
body_size() { [[ -f "$E2E_TMP/$1.body" ]] && size_of "$E2E_TMP/$1.body" || echo 0; }
# in_flight NAME...: until each transfer has written 256 KiB (10 s); fails the test if one
# ended or stalled first (the fault would hit nothing in flight).
in_flight() {
    local i n ready
    for ((i = 0; i < 100; i++)); do
        ready=1
        for n in "$@"; do
            [[ -f "$E2E_TMP/$n.rc" ]] && fail "$n ended before the fault: curl $(cut -d' ' -f1 "$E2E_TMP/$n.rc"): $(head -c 200 "$E2E_TMP/$n.err")"
            (($(body_size "$n") >= 262144)) || ready=0
        done
        ((ready)) && return 0
        sleep 0.1
    done
    fail "transfers not in flight after 10 s: $(for n in "$@"; do printf '%s=%s ' "$n" "$(body_size "$n")"; done)"
}
# ended NAME LIMIT_S: waits for the transfer's end; sets X_RC and X_END (124 and now: still
# running after LIMIT_S, which is a verdict of its own, "hung").
ended() {
    local i
    for ((i = 0; i < $2 * 10; i++)); do
        [[ -f "$E2E_TMP/$1.rc" ]] && break
        sleep 0.1
    done
    if [[ -f "$E2E_TMP/$1.rc" ]]; then
        read -r X_RC X_END <"$E2E_TMP/$1.rc"
    else
        X_RC=hung
        X_END=$(now_ms)
    fi
}
# verdict NAME EXPECTED_FILE LIMIT_S: sets V (intact|failed|short|wrong|hung), V_GOT (bytes),
# V_TEXT (for the table) and V_END.
verdict() {
    local name=$1 exp=$2 body="$E2E_TMP/$1.body" size
    ended "$name" "$3"
    V_END=$X_END
    V_GOT=$(body_size "$name")
    size=$(size_of "$exp")
    if [[ $X_RC == hung ]]; then
        V=hung
    elif ((V_GOT > size)) || { ((V_GOT > 0)) && ! cmp -s -n "$V_GOT" "$body" "$exp"; }; then
        V=wrong
    elif [[ $X_RC == 0 ]]; then
        ((V_GOT == size)) && V=intact || V=short
    else
        V=failed
    fi
    V_TEXT="$V (curl $X_RC, $((V_GOT / 1024)) KiB)"
    log "$name: $V_TEXT$( [[ $X_RC != 0 && $X_RC != hung ]] && printf ': %s' "$(head -c 120 "$E2E_TMP/$name.err")")"
}
# judge NAME EXPECTED LIMIT_S POLICY WHAT: the verdict against a policy:
#   broken  failed or intact (a cut must reach the user as an error: short, wrong, hung are defects)
#   report  as broken, but a short one is only noted (v1 cannot tell)
#   intact  only intact
judge() {
    local name=$1 exp=$2 limit=$3 policy=$4 what=$5
    verdict "$name" "$exp" "$limit"
    case "$policy:$V" in
        broken:failed | broken:intact | report:failed | report:intact | intact:intact)
            ok "$what: $V_TEXT" ;;
        report:short)
            note "$what: $V_TEXT — the user got a clean end after a cut stream (protocol v1 cannot tell a dead far end's FIN from an end)" ;;
        *)
            defect "$what: $V_TEXT (expected $([[ $policy == intact ]] && echo intact || echo 'failed, or intact'))" ;;
    esac
}

# recover NAME SINCE_MS LIMIT_S SHA CURL-ARGS...: in the background, a transfer every 0.25 s
# (each up to 10 s) until one is intact; writes "ok MS TRIES" (MS since SINCE_MS), "none TRIES
# RC" or "wrong TRIES" to NAME.rec. rec_wait NAME LIMIT_S then sets REC (ms, or a reason).
recover() {
    local name=$1 since=$2 limit=$3 sha=$4; shift 4
    rm -f "$E2E_TMP/$name.rec"
    (
        deadline=$(($(now_ms) + limit * 1000)) tries=0 rc=0
        while (($(now_ms) < deadline)); do
            tries=$((tries + 1))
            rc=0
            got=$(curl -q --silent --show-error --max-time 10 --connect-timeout 5 -o - "$@" \
                  2>"$E2E_TMP/$name.rec.err" | sha256sum | cut -d' ' -f1; exit "${PIPESTATUS[0]}") || rc=$?
            if ((rc == 0)); then
                if [[ $got == "$sha" ]]; then
                    echo "ok $(($(now_ms) - since)) $tries" >"$E2E_TMP/$name.rec"
                else
                    echo "wrong $tries" >"$E2E_TMP/$name.rec"
                fi
                exit 0
            fi
            sleep 0.25
        done
        echo "none $tries $rc" >"$E2E_TMP/$name.rec"
    ) &
    E2E_PIDS+=($!)
}
rec_wait() {
    local i what r1 r2 r3
    for ((i = 0; i < $2 * 10; i++)); do
        [[ -s "$E2E_TMP/$1.rec" ]] && break
        sleep 0.1
    done
    if [[ ! -s "$E2E_TMP/$1.rec" ]]; then
        REC="none"
        defect "$1: the recovery loop did not report within $2 s"
        return
    fi
    read -r r1 r2 r3 <"$E2E_TMP/$1.rec"
    case $r1 in
        ok) REC=$r2; ok "$1: first intact transfer $r2 ms after the fault's end (attempt $r3)" ;;
        wrong) REC=WRONG; defect "$1: a transfer exited 0 with the wrong sha256 (attempt $r2)" ;;
        *) REC=never; defect "$1: no intact transfer in $r2 attempts (last curl exit $r3: $(head -c 150 "$E2E_TMP/$1.rec.err"))" ;;
    esac
}
# up_after NAME SINCE_MS LIMIT_S: waits (bounded) for the current local end's first 'tunnel up'
# of wormhole NAME logged at or after SINCE_MS; UP = ms from SINCE_MS to its timestamp, or "none".
# ('tunnel up' is logged when the TCP connection to wormhole_remote is made: behind a relay
# that accepts and then resets, it is no proof that the far end answers.)
up_after() {
    local n=$1 since=$2 i
    for ((i = 0; i < $3 * 10; i++)); do
        UP=$(grep -E "wormhole $n: tunnel up" "$E2E_TMP/$LNAME.log" | cut -d' ' -f1 \
             | date -f - +%s%3N | awk -v t="$since" '$1 >= t { print $1 - t; exit }')
        [[ -n $UP ]] && return 0
        sleep 0.1
    done
    UP=none
}
if command -v ss >/dev/null; then
    origin_conns() { ss -Htn state established "( dport = :$H )" 2>/dev/null | wc -l; }
else
    log "no ss(8): 2 checks the remote end's file descriptors only"
    origin_conns() { echo 0; }
fi
fds() { find "/proc/$1/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l; }
last_line() { grep -E -- "$2" "$E2E_TMP/$1.log" 2>/dev/null | tail -n 1 | cut -c 25-220; }


url_noclen() { printf 'http://127.0.0.1:%s/noclen/%s?rate=%s' "$H" "$1" "$2"; }   # N RATE
URL_SMALL="http://127.0.0.1:$H/file/small"
declare -A UP0 TOLD TOLD_MS RESET_AT
# recover_all CASE SINCE_MS LIMIT_S NAMES...: a recovery loop (small downloads) per wormhole.
recover_all() {
    local c=$1 since=$2 limit=$3 n; shift 3
    for n in "$@"; do
        recover "r$c-$n" "$since" "$limit" "$SMALL_SHA" --socks5 "127.0.0.1:${USERS[$n]}" "$URL_SMALL"
    done
}

# --- 1. kill -9 the remote end mid-transfer ----------------------------------------------------
log "=== 1. kill -9 the remote end during 32 MiB downloads"
for n in "${AGGS[@]}"; do UP0[$n]=$(ups "$n"); done
for n in "${DIRECT[@]}"; do
    xfer "c1-$n" 60 --socks5 "127.0.0.1:${USERS[$n]}" "$(url_noclen $((32 * MIB)) $((2 * MIB)))"
done
in_flight "${DIRECT[@]/#/c1-}"
t_kill=$(now_ms)
kill_hard "$REMOTE"
no_sanitizer_report "$RNAME"
for n in "${DIRECT[@]}"; do
    policy=broken
    # v1 distributed: the dead remote end's kernel closes the tunnel connection with a FIN,
    # which v1 cannot tell from an end (docs/PROTOCOL-v2.md section 3): only reported. The
    # v2 variant (dist) must fail: a FIN without an END record is passed on as a reset.
    [[ $n == dist-v1 ]] && policy=report
    judge "c1-$n" "$E2E_TMP/pat32" 20 "$policy" "1: $n (${MODE[$n]}, ${PROTO[$n]}), remote killed"
    TOLD[$n]=$V_TEXT
    TOLD_MS[$n]=$((V_END - t_kill))
done
log "local end: $(last_line "$LNAME" 'wormhole agg: the tunnel closed')"
log "local end: $(last_line "$LNAME" 'ended without its end record')"
t_restart=$(now_ms)
for attempt in 1 2 3; do
    start_config remote-2 "$E2E_TMP/remote.yaml" "$(tunnel_ports)" --role remote \
        && wait_extra remote-2 "$(extra_ports)" && break
    ((attempt < 3)) || fail "the remote end did not start again on its ports"
    sleep 1
done
REMOTE=$CFG_PID
RNAME=remote-2
ok "the remote end is back ($(($(now_ms) - t_restart)) ms to listen)"
# Every wormhole must serve again (the relayed ones lost their tunnels too, with no
# transfer in flight: their rows show only the recovery).
recover_all 1 "$t_restart" 30 "${NAMES[@]}"
for n in "${NAMES[@]}"; do
    rec_wait "r1-$n" 45
    UP=-
    [[ ${MODE[$n]} == aggregated ]] && up_after "$n" "$t_restart" 5
    [[ $UP == none ]] && defect "1: $n: no 'tunnel up' after the remote end's restart"
    row "1 remote kill -9, restart" "$n" "${TOLD[$n]:-(idle)}" "${TOLD_MS[$n]:--}" "$UP" "$REC"
done

# --- 2. kill -9 the local end mid-transfer ------------------------------------------------------
log "=== 2. kill -9 the local end during 32 MiB downloads"
sleep 0.5
F0=$(fds "$REMOTE")
for n in "${DIRECT[@]}"; do
    xfer "c2-$n" 60 --socks5 "127.0.0.1:${USERS[$n]}" "http://127.0.0.1:$H/slow/$((32 * MIB))?parts=256&ms=62"
done
in_flight "${DIRECT[@]/#/c2-}"
OC=$(origin_conns)
F1=$(fds "$REMOTE")
t_kill=$(now_ms)
kill_hard "$LOCAL"
no_sanitizer_report "$LNAME"
for n in "${DIRECT[@]}"; do
    # The user's connection to the dead local end is closed by its kernel (a FIN): only the
    # Content-Length tells curl that the body is short.
    judge "c2-$n" "$E2E_TMP/pat32" 20 broken "2: $n (${MODE[$n]}, ${PROTO[$n]}), local killed"
    TOLD[$n]=$V_TEXT
    TOLD_MS[$n]=$((V_END - t_kill))
done
# The remote end cleans up: alive, no connection to the origin left, the four aggregated
# tunnels' sockets (and every stream's) given back: at most F0 - 4 descriptors.
clean=""
for ((i = 0; i < 150; i++)); do
    kill -0 "$REMOTE" 2>/dev/null || break
    if (($(origin_conns) == 0 && $(fds "$REMOTE") <= F0 - 4)); then
        clean=$(($(now_ms) - t_kill))
        break
    fi
    sleep 0.1
done
kill -0 "$REMOTE" 2>/dev/null || fail "2: the remote end died after the local end was killed"
no_sanitizer_report "$RNAME"
if [[ -n $clean ]]; then
    ok "2: the remote end cleaned up $clean ms after the kill (fds: $F0 idle, $F1 with $OC origin connections, now $(fds "$REMOTE"))"
else
    defect "2: the remote end still has $(origin_conns) connections to the origin and $(fds "$REMOTE") fds (idle before: $F0) 15 s after the local end was killed"
    clean=never
fi
log "remote end: $(last_line "$RNAME" 'wormhole agg: the tunnel from')"
log "remote end: $(last_line "$RNAME" 'ended without its end record')"
t_start=$(now_ms)
start_local local-2
ok "a fresh local end listens ($(($(now_ms) - t_start)) ms)"
for n in "${AGGS[@]}"; do UP0[$n]=0; done
recover_all 2 "$t_start" 30 "${DIRECT[@]}"
for n in "${DIRECT[@]}"; do
    rec_wait "r2-$n" 45
    UP=-
    [[ ${MODE[$n]} == aggregated ]] && up_after "$n" "$t_start" 5
    row "2 local kill -9, restart" "$n" "${TOLD[$n]}" "${TOLD_MS[$n]}" "$UP" "$REC"
done
row "2 (remote end)" "all" "remote cleaned up (ms):" "$clean" "-" "-"
all_up 15

# --- 3. freeze the remote end ----------------------------------------------------------------------
log "=== 3. kill -STOP the remote end for $FREEZE s during 8 MiB downloads"
for n in "${AGGS[@]}"; do UP0[$n]=$(ups "$n"); done
N_LIVE=$(log_count "$LNAME" "nothing heard since a user connected")
for n in "${DIRECT[@]}"; do
    xfer "c3-$n" $((FREEZE + 60)) --socks5 "127.0.0.1:${USERS[$n]}" "$(url_noclen $((8 * MIB)) "$MIB")"
done
in_flight "${DIRECT[@]/#/c3-}"
t_stop=$(now_ms)
kill -STOP "$REMOTE"
sleep 1
for n in "${DIRECT[@]}"; do      # users who arrive at a frozen far end (and wait for it)
    xfer "c3n-$n" $((FREEZE + 30)) --connect-timeout $((FREEZE + 20)) --socks5 "127.0.0.1:${USERS[$n]}" "$URL_SMALL"
done
while (($(now_ms) - t_stop < FREEZE * 1000)); do sleep 0.2; done
kill -CONT "$REMOTE"
t_cont=$(now_ms)
ok "3: the remote end thawed after $((t_cont - t_stop)) ms"
recover_all 3 "$t_cont" 40 "${DIRECT[@]}"
for n in "${DIRECT[@]}"; do
    judge "c3-$n" "$E2E_TMP/pat8" 60 broken "3: $n (${MODE[$n]}, ${PROTO[$n]}), in flight across the freeze"
    TOLD[$n]=$V_TEXT
    [[ $V == failed ]] && TOLD_MS[$n]=$((V_END - t_stop)) || TOLD_MS[$n]=-
    judge "c3n-$n" "$www/small" 40 broken "3: $n, a user who arrived during the freeze"
    TOLD[$n]="${TOLD[$n]}; arrival: $V"
done
for n in "${DIRECT[@]}"; do
    rec_wait "r3-$n" 55
    UP=-
    if [[ ${MODE[$n]} == aggregated ]]; then
        k=$(($(ups "$n") - UP0[$n]))
        if ((k == 0)); then
            UP="survived"
        else
            # ('tunnel up' comes with the TCP connection, which the frozen end's kernel accepts)
            up_after "$n" "$t_stop" 1
            UP="redialed x$k (first up +$UP ms into the freeze)"
        fi
        ok "3: $n: tunnel $UP"
    fi
    row "3 remote frozen ${FREEZE}s" "$n" "${TOLD[$n]}" "${TOLD_MS[$n]}" "$UP" "$REC"
done
log "liveness: $(($(log_count "$LNAME" "nothing heard since a user connected") - N_LIVE)) checks during the freeze; $(last_line "$LNAME" 'nothing heard since a user connected|handover stalled')"
no_sanitizer_report "$RNAME"

# --- 4, 5. TCP resets in the tunnels' path ----------------------------------------------------------
# reset_at RELAY WHY SINCE_MS LIMIT_S: the relay's first reset line (why: signal|after) at
# or after SINCE_MS; sets RST (epoch ms) or "".
reset_at() {
    local i
    RST=""
    for ((i = 0; i < $4 * 10; i++)); do
        RST=$(awk -v w="$2" -v t="$3" '$1 == "reset" && $NF == w && $2 >= t { print $2; exit }' \
              "$E2E_TMP/relay-$1.out")
        [[ -n $RST ]] && return 0
        sleep 0.1
    done
    return 1
}
# relay_since RELAY SINCE_MS: the relay's lines at or after SINCE_MS, one line (for a failure:
# a "reset ... peer-reset" with few bytes c2s is an end that broke the tunnel before the cut).
relay_since() {
    awk -v t="$2" '$2 >= t' "$E2E_TMP/relay-$1.out" | tail -n 6 | tr '\n' ';'
}
# after_cut CASE WHAT: for the cut wormholes, the verdicts and recovery (uses RESET_AT): the
# aggregated local ends must dial again within 10 s with no user knocking.
after_cut() {
    local c=$1 what=$2 n rc
    for n in agg-cut agg-cut-v1; do
        up_after "$n" "${RESET_AT[$n]}" 10
        UPS[$n]=$UP
        if [[ $UP == none ]]; then
            rc=0
            ecurl 10 -o /dev/null --socks5 "127.0.0.1:${USERS[$n]}" "$URL_SMALL" 2>/dev/null || rc=$?
            defect "4$c: $n: the local end did not dial again within 10 s of the reset ($what); a user now gets curl exit $rc; its log: $(last_line "$LNAME" "wormhole $n:")"
        else
            ok "4$c: $n: tunnel up again $UP ms after the reset"
        fi
    done
}
declare -A UPS O4
for n in "${AGGS[@]}"; do
    wait_log "$LNAME" "wormhole $n: tunnel up" 1 15 || defect "4: $n: no tunnel up before 4"
done

# cut_rows CASE LABEL: the end of a cut case (4a, 4b): each cut wormhole's recovery and
# row, then case 5: the direct wormholes' tunnels stayed up and their transfers' rows.
cut_rows() {
    local n
    for n in "${CUT[@]}"; do
        rec_wait "r$1-$n" 45
        row "$1 $2" "$n" "${TOLD[$n]}" "${TOLD_MS[$n]}" "${UPS[$n]:--}" "$REC"
    done
    for n in agg agg-v1; do
        (($(ups "$n") == UP0[$n])) || defect "5: $n: its tunnel went down and up again during $1 (it has no relay)"
    done
    for n in "${DIRECT[@]}"; do row "5 during $1" "$n" "${O4[$n]}" "-" "-" "-"; done
}

log "=== 4a. a RST both ways (reset-relay, SIGUSR1) during 32 MiB downloads; 5. the direct wormholes meanwhile"
for n in "${AGGS[@]}"; do UP0[$n]=$(ups "$n"); done
for n in "${CUT[@]}"; do
    xfer "c4-$n" 60 --socks5 "127.0.0.1:${USERS[$n]}" "$(url_noclen $((32 * MIB)) $((2 * MIB)))"
done
for n in "${DIRECT[@]}"; do
    xfer "o4-$n" 60 --socks5 "127.0.0.1:${USERS[$n]}" "$(url_noclen $((8 * MIB)) $((2 * MIB)))"
done
in_flight "${CUT[@]/#/c4-}" "${DIRECT[@]/#/o4-}"
t_sig=$(now_ms)
for n in "${CUT[@]}"; do kill -USR1 "${RELAY_PID[$n]}"; done
for n in "${CUT[@]}"; do
    reset_at "$n" signal "$t_sig" 5 || fail "4a: the reset-relay of $n reported no reset within 5 s of SIGUSR1"
    RESET_AT[$n]=$RST
done
for n in "${CUT[@]}"; do
    judge "c4-$n" "$E2E_TMP/pat32" 20 broken "4a: $n (${MODE[$n]}, ${PROTO[$n]}), tunnel reset"
    TOLD[$n]=$V_TEXT
    TOLD_MS[$n]=$((V_END - RESET_AT[$n]))
done
after_cut a "during downloads"
for n in "${CUT[@]}"; do
    recover "r4a-$n" "${RESET_AT[$n]}" 30 "$SMALL_SHA" --socks5 "127.0.0.1:${USERS[$n]}" "$URL_SMALL"
done
for n in "${DIRECT[@]}"; do
    judge "o4-$n" "$E2E_TMP/pat8" 30 intact "5: $n, a download during 4a's resets"
    O4[$n]=$V
done
cut_rows 4a "RST (download)"

# The cut uploads go as fast as they can, three at once through each aggregated tunnel, so
# that the local end is writing to the tunnel when the RST comes (it reads the users' sockets
# that were ready before the tunnel's, and writes what it read: the write path of issue 15,
# where a failed write ended the tunnel's session instead of redialing); the others are paced
# to span the cut.
log "=== 4b. a RST both ways (reset-relay, after 2 MiB client->server) during 8 MiB uploads; 5. meanwhile"
for n in "${AGGS[@]}"; do UP0[$n]=$(ups "$n"); done
t_up=$(now_ms)
declare -A NUP
for n in "${CUT[@]}"; do
    NUP[$n]=1
    [[ ${MODE[$n]} == aggregated ]] && NUP[$n]=3
    for ((j = 1; j <= NUP[$n]; j++)); do
        xfer_up "u4-$n-$j" 60 "$www/up" 0 --socks5 "127.0.0.1:${USERS[$n]}" "http://127.0.0.1:$H/echo"
    done
done
for n in "${DIRECT[@]}"; do
    xfer_up "p4-$n" 60 "$www/up" $((2 * MIB)) --socks5 "127.0.0.1:${USERS[$n]}" "http://127.0.0.1:$H/echo"
done
for n in "${CUT[@]}"; do
    # (Flaky before 20d960f: a v2 distributed upload sealed more than the TLS-shaped wire
    # holds before the server's flight, and the local end broke the tunnel at once.)
    reset_at "$n" after "$t_up" 15 \
        || fail "4b: the reset-relay of $n cut nothing within 15 s of the upload's start; it logged: $(relay_since "$n" "$t_up")"
    RESET_AT[$n]=$RST
done
for n in "${CUT[@]}"; do
    TOLD[$n]=""
    for ((j = 1; j <= NUP[$n]; j++)); do
        judge "u4-$n-$j" "$www/up" 30 broken "4b: $n (${MODE[$n]}, ${PROTO[$n]}), tunnel reset during upload $j"
        ((j == 1)) && TOLD_MS[$n]=$((V_END - RESET_AT[$n]))
        TOLD[$n]="${TOLD[$n]:+${TOLD[$n]}, }$V_TEXT"
    done
done
after_cut b "during uploads"
for n in "${CUT[@]}"; do
    recover "r4b-$n" "${RESET_AT[$n]}" 30 "$UPSMALL_SHA" --socks5 "127.0.0.1:${USERS[$n]}" "${POST[@]}" \
        --data-binary "@$www/upsmall" "http://127.0.0.1:$H/echo"
done
for n in "${DIRECT[@]}"; do
    judge "p4-$n" "$www/up" 40 intact "5: $n, an upload during 4b's resets"
    O4[$n]=$V
done
cut_rows 4b "RST (upload)"

# --- the end ------------------------------------------------------------------------------------------
for n in "${NAMES[@]}"; do
    recover "end-$n" "$(now_ms)" 15 "$SMALL_SHA" --socks5 "127.0.0.1:${USERS[$n]}" "$URL_SMALL"
    rec_wait "end-$n" 30
done
for n in "${CUT[@]}"; do kill -0 "${RELAY_PID[$n]}" 2>/dev/null || fail "the reset-relay of $n died"; done
{
    echo "--- recovery table (ms; 'user told': from the fault to curl's exit; 'tunnel up': from the"
    echo "    restart / reset to the local end's 'tunnel up' log line; 'first intact': to the first"
    echo "    intact download of users retrying every 0.25 s) ---"
    if command -v column >/dev/null; then column -t -s $'\t' "$TABLE"; else tr '\t' '|' <"$TABLE"; fi
    for n in "${NOTES[@]}"; do echo "note: $n"; done
    echo "local ends: $(cat "$E2E_TMP"/local*.log | grep -c 'no tunnel yet; refusing') users refused with 'no tunnel yet'," \
         "$(cat "$E2E_TMP"/local*.log | grep -cE 'write to target.*(reset by peer|Broken pipe)') failed writes to a tunnel (debug log)"
} >&2
stop_mimicsocks "$LOCAL" "$LNAME"
stop_mimicsocks "$REMOTE" "$RNAME"
no_sanitizer_report remote
no_sanitizer_report local
log "done in $(($(now_ms) - T0)) ms"
((${#DEFECTS[@]} == 0)) || fail "$(printf '%s\n' "${DEFECTS[@]}")"
