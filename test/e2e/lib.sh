# lib.sh — shared helpers of the end-to-end tests; source it, then call e2e_init "$@".
#
# Every test runs real processes on 127.0.0.1 (and ::1) on ports the OS picked,
# so tests can run in parallel. Each process is started through this library,
# which remembers its PID and kills exactly those PIDs on exit. Every wait is a
# bounded loop and every curl has --max-time, so a broken proxy makes a test
# fail, never hang.

set -euo pipefail

E2E_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
E2E_NAME=$(basename "$0" .sh)
E2E_PIDS=()
E2E_TMP=""
MIMICSOCKS=""
PYTHON=${PYTHON:-python3}

# The environment must not be able to send our traffic anywhere else.
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY \
      ftp_proxy FTP_PROXY socks_proxy SOCKS_PROXY CURL_HOME
export no_proxy="" NO_PROXY=""
# A proxy that aborts on an ASan/UBSan error must fail the test, loudly.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

log()  { printf '[%s] %s\n' "$E2E_NAME" "$*" >&2; }
ok()   { printf '[%s] ok: %s\n' "$E2E_NAME" "$*" >&2; }
skip() { printf '[%s] SKIP: %s\n' "$E2E_NAME" "$*" >&2; }

# Print the reason, the tail of every process log, and fail the test.
fail() {
    printf '[%s] FAIL: %s\n' "$E2E_NAME" "$*" >&2
    if [[ -n "$E2E_TMP" ]]; then
        local f
        for f in "$E2E_TMP"/*.log "$E2E_TMP"/*.out; do
            [[ -s "$f" ]] || continue
            printf -- '--- last lines of %s ---\n' "$(basename "$f")" >&2
            tail -n 30 "$f" >&2
        done
    fi
    exit 1
}

now_ms() { date +%s%3N; }

e2e_cleanup() {
    local rc=$? pid i alive
    trap - EXIT
    trap '' PIPE
    for pid in "${E2E_PIDS[@]}"; do
        kill -TERM "$pid" 2>/dev/null || true
    done
    for ((i = 0; i < 50; i++)); do
        alive=0
        for pid in "${E2E_PIDS[@]}"; do
            if kill -0 "$pid" 2>/dev/null; then alive=1; fi
        done
        ((alive)) || break
        sleep 0.1
    done
    for pid in "${E2E_PIDS[@]}"; do
        kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    if [[ -n "$E2E_TMP" && -d "$E2E_TMP" ]]; then
        if [[ "${E2E_KEEP:-0}" == 1 ]]; then
            log "kept $E2E_TMP"
        else
            rm -rf "$E2E_TMP"
        fi
    fi
    if ((rc == 0)); then log "PASS"; fi
    exit "$rc"
}

# e2e_init MIMICSOCKS_BINARY: checks the tools, makes the temp dir, sets the trap.
e2e_init() {
    MIMICSOCKS=${1:-}
    [[ -n "$MIMICSOCKS" ]] || { echo "usage: $0 PATH/TO/mimicsocks" >&2; exit 2; }
    [[ -x "$MIMICSOCKS" ]] || { echo "$0: $MIMICSOCKS is not an executable" >&2; exit 2; }
    MIMICSOCKS=$(cd "$(dirname "$MIMICSOCKS")" && pwd)/$(basename "$MIMICSOCKS")
    local tool
    for tool in curl "$PYTHON" sha256sum; do
        command -v "$tool" >/dev/null || { echo "$0: $tool is required" >&2; exit 2; }
    done
    E2E_TMP=$(mktemp -d "${TMPDIR:-/tmp}/mimicsocks-e2e-$E2E_NAME.XXXXXX")
    trap e2e_cleanup EXIT
    trap 'exit 129' HUP
    trap 'exit 130' INT
    trap 'exit 141' PIPE
    trap 'exit 143' TERM
}

# ---- processes ---------------------------------------------------------------

# bg NAME CMD...: run CMD in the background, stderr to $E2E_TMP/NAME.log and stdout
# to $E2E_TMP/NAME.out; the PID is remembered for the exit trap and left in BG_PID.
bg() {
    local name=$1; shift
    "$@" >"$E2E_TMP/$name.out" 2>"$E2E_TMP/$name.log" &
    BG_PID=$!
    E2E_PIDS+=("$BG_PID")
}

# stop_pid PID: SIGTERM, wait up to 5 s, then SIGKILL. Leaves the exit status in STOP_RC.
stop_pid() {
    local pid=$1 i
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 50; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        log "PID $pid ignored SIGTERM for 5 s; killing it"
        kill -KILL "$pid" 2>/dev/null || true
    fi
    STOP_RC=0
    wait "$pid" 2>/dev/null || STOP_RC=$?
}

# wait_pid PID SECONDS: wait for a background job to end. Leaves the status in WAIT_RC
# (124 if it was still running after SECONDS, in which case it is killed).
wait_pid() {
    local pid=$1 limit=$2 i
    for ((i = 0; i < limit * 10; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
        WAIT_RC=124
        return
    fi
    WAIT_RC=0
    wait "$pid" 2>/dev/null || WAIT_RC=$?
}

# free_ports N [--v6]: N distinct free ports on loopback, space separated.
free_ports() { "$PYTHON" "$E2E_DIR/tools.py" free-ports "$@"; }
free_port() { free_ports 1 "$@"; }

# port_open HOST PORT: true if a TCP connect succeeds (bounded to 2 s).
port_open() {
    timeout 2 bash -c 'exec 3<>"/dev/tcp/$1/$2"' _ "$1" "$2" 2>/dev/null
}

# wait_port HOST PORT PID: until the port accepts (100 x 0.1 s); false if PID dies first.
wait_port() {
    local host=$1 port=$2 pid=$3 i
    for ((i = 0; i < 100; i++)); do
        kill -0 "$pid" 2>/dev/null || return 1
        port_open "$host" "$port" && return 0
        sleep 0.1
    done
    return 1
}

# wait_file FILE PID: until FILE exists (100 x 0.1 s); false if PID dies first.
wait_file() {
    local file=$1 pid=$2 i
    for ((i = 0; i < 100; i++)); do
        [[ -s "$file" ]] && return 0
        kill -0 "$pid" 2>/dev/null || return 1
        sleep 0.1
    done
    return 1
}

# start_httpd NAME DIR [BIND]: the origin server; sets HTTPD_PORT and HTTPD_PID.
start_httpd() {
    local name=$1 dir=$2 bind=${3:-127.0.0.1}
    local pf="$E2E_TMP/$name.port"
    bg "$name" "$PYTHON" "$E2E_DIR/httpd.py" --dir "$dir" --bind "$bind" --port-file "$pf"
    HTTPD_PID=$BG_PID
    wait_file "$pf" "$HTTPD_PID" || fail "$name (httpd.py on $bind) did not start"
    HTTPD_PORT=$(<"$pf")
}

# start_echo NAME: the echo-until-EOF server; sets ECHO_PORT and ECHO_PID.
start_echo() {
    local name=$1 pf="$E2E_TMP/$1.port"
    bg "$name" "$PYTHON" "$E2E_DIR/tools.py" echo-server --port-file "$pf"
    ECHO_PID=$BG_PID
    wait_file "$pf" "$ECHO_PID" || fail "$name (echo server) did not start"
    ECHO_PORT=$(<"$pf")
}

# The origins of the tests are on loopback, which socks and http handlers deny by
# default (docs: "Access control"): the tests open it explicitly, on the command line
# (E2E_ALLOW, which start_mimicsocks adds for socks and http unless E2E_NO_ALLOW=1)
# and in their configs (E2E_ALLOW_YAML, a line for an entry with a socks or http handler).
E2E_ALLOW=(--allow 127.0.0.0/8 --allow ::1/128)
E2E_ALLOW_YAML='allow: [127.0.0.0/8, "::1/128"]'

# start_mimicsocks NAME MODE [ARGS...]: `mimicsocks MODE --listen 127.0.0.1:PORT ARGS...`
# on a free port (socks and http with E2E_ALLOW); sets MS_PORT and MS_PID. Another
# process may grab the port between our probe and the bind, so a start that dies is
# retried on a new port.
start_mimicsocks() {
    local name=$1 mode=$2 attempt; shift 2
    local allow=()
    case "$mode" in
        socks|socks4|socks5|http) [[ ${E2E_NO_ALLOW:-0} == 1 ]] || allow=("${E2E_ALLOW[@]}") ;;
    esac
    for attempt in 1 2 3; do
        MS_PORT=$(free_port)
        bg "$name" "$MIMICSOCKS" "$mode" --listen "127.0.0.1:$MS_PORT" "${allow[@]}" "$@"
        MS_PID=$BG_PID
        if wait_port 127.0.0.1 "$MS_PORT" "$MS_PID"; then
            return 0
        fi
        if kill -0 "$MS_PID" 2>/dev/null; then
            fail "$name: mimicsocks $mode is running but port $MS_PORT never accepted"
        fi
        log "$name: mimicsocks $mode exited at start (attempt $attempt):"
        tail -n 5 "$E2E_TMP/$name.log" >&2 || true
    done
    fail "$name: mimicsocks $mode did not start"
}

# stop_mimicsocks PID NAME: SIGTERM must give a clean exit 0 (and, under the
# sanitizers, no error report on the way out).
stop_mimicsocks() {
    local pid=$1 name=$2
    kill -0 "$pid" 2>/dev/null || fail "$name: mimicsocks (PID $pid) died during the test"
    stop_pid "$pid"
    ((STOP_RC == 0)) || fail "$name: mimicsocks exited with status $STOP_RC on SIGTERM (expected 0)"
    if grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$E2E_TMP/$name.log"; then
        fail "$name: sanitizer report in the log"
    fi
    ok "$name: mimicsocks exited 0 on SIGTERM"
}

# ---- data --------------------------------------------------------------------

sha_of()     { sha256sum "$1" | cut -d' ' -f1; }
size_of()    { stat -c %s "$1"; }
sha_stdin()  { sha256sum | cut -d' ' -f1; }

# make_random FILE BYTES
make_random() { head -c "$2" /dev/urandom >"$1"; }

# serve_random NAME=BYTES...: random files NAME in $www (made here), with their sha256
# and size in NAME_SHA and NAME_SIZE (NAME upper-cased), served by an origin httpd on H.
serve_random() {
    www="$E2E_TMP/www"
    mkdir -p "$www"
    local spec name upper
    for spec in "$@"; do
        name=${spec%%=*}
        upper=${name^^}
        make_random "$www/$name" "${spec#*=}"
        printf -v "${upper}_SHA" '%s' "$(sha_of "$www/$name")"
        printf -v "${upper}_SIZE" '%s' "$(size_of "$www/$name")"
    done
    start_httpd origin "$www"
    H=$HTTPD_PORT
}

# pattern_sha N: sha256 of what httpd.py serves for /noclen/N, /chunked/N, /slow/N.
pattern_sha() { "$PYTHON" "$E2E_DIR/httpd.py" --pattern "$1" | sha_stdin; }

# ecurl MAXTIME ARGS...: curl with no config file, no environment proxy, errors
# shown, and always a --max-time.
ecurl() {
    local max=$1; shift
    curl -q --silent --show-error --max-time "$max" --connect-timeout 10 "$@"
}

# expect_file FILE SHA SIZE WHAT: the downloaded file has that content.
expect_file() {
    local file=$1 sha=$2 size=$3 what=$4
    [[ -f "$file" ]] || fail "$what: no output file"
    local got_size got_sha
    got_size=$(size_of "$file")
    [[ "$got_size" == "$size" ]] || fail "$what: got $got_size bytes, expected $size"
    got_sha=$(sha_of "$file")
    [[ "$got_sha" == "$sha" ]] || fail "$what: sha256 $got_sha != expected $sha"
}

# fetch_check WHAT SHA SIZE CURL_ARGS...: download into a temp file with ecurl
# ${FETCH_MAX:-60}, check curl's status and the content, remove the file.
fetch_check() {
    local what=$1 sha=$2 size=$3; shift 3
    local out="$E2E_TMP/fetch.$$.$RANDOM" rc=0
    ecurl "${FETCH_MAX:-60}" -o "$out" "$@" 2>"$E2E_TMP/curl.err" || rc=$?
    ((rc == 0)) || fail "$what: curl exited $rc: $(head -c 300 "$E2E_TMP/curl.err")"
    expect_file "$out" "$sha" "$size" "$what"
    rm -f "$out"
    ok "$what"
}

# parallel_fetch N WHAT SHA MAXTIME CURL_ARGS...: N concurrent downloads; each
# must exit 0 with the expected sha256 (hashed on the fly, no disk copies).
parallel_fetch() {
    local n=$1 what=$2 sha=$3 max=$4; shift 4
    local dir="$E2E_TMP/par.$RANDOM" i pids=() failed=0
    mkdir -p "$dir"
    for ((i = 0; i < n; i++)); do
        ( ecurl "$max" -o - "$@" 2>"$dir/$i.err" | sha_stdin >"$dir/$i.sha" ) &
        pids+=($!)
        E2E_PIDS+=($!)
    done
    for ((i = 0; i < n; i++)); do
        wait_pid "${pids[$i]}" $((max + 10))
        if ((WAIT_RC != 0)); then
            log "$what #$i: curl exited $WAIT_RC: $(head -c 200 "$dir/$i.err" 2>/dev/null)"
            failed=$((failed + 1))
        elif [[ "$(<"$dir/$i.sha")" != "$sha" ]]; then
            log "$what #$i: wrong sha256 $(<"$dir/$i.sha")"
            failed=$((failed + 1))
        fi
    done
    rm -rf "$dir"
    ((failed == 0)) || fail "$what: $failed of $n downloads failed"
    ok "$what: $n parallel downloads correct"
}

# fetch_bg NAME MAXTIME CURL_ARGS...: start a download in the background, hashed on
# the fly; check it later with fetch_bg_check NAME WHAT SHA.
fetch_bg() {
    local name=$1 max=$2; shift 2
    ( ecurl "$max" -o - "$@" 2>"$E2E_TMP/$name.err" | sha_stdin >"$E2E_TMP/$name.sha" ) &
    E2E_PIDS+=($!)
    printf '%s %s\n' "$!" "$max" >"$E2E_TMP/$name.bg"
}

fetch_bg_check() {
    local name=$1 what=$2 sha=$3 pid max
    read -r pid max <"$E2E_TMP/$name.bg"
    wait_pid "$pid" $((max + 10))
    ((WAIT_RC == 0)) || fail "$what: curl exited $WAIT_RC: $(head -c 300 "$E2E_TMP/$name.err")"
    [[ "$(<"$E2E_TMP/$name.sha")" == "$sha" ]] || fail "$what: wrong sha256"
    ok "$what"
}

# tool ARGS...: run tools.py; its failure message is the test's failure message.
tool() {
    local out rc=0
    out=$("$PYTHON" "$E2E_DIR/tools.py" "$@" 2>&1) || rc=$?
    ((rc == 0)) || fail "tools.py $1: $out"
    ok "$out"
}

# ---- wormholes -----------------------------------------------------------------

# wh_key: a fresh wormhole key (64 hex digits) from `mimicsocks genkey`.
wh_key() {
    local key
    key=$("$MIMICSOCKS" genkey) || fail "mimicsocks genkey failed"
    [[ "$key" =~ ^[0-9a-f]{64}$ ]] || fail "mimicsocks genkey printed '$key', not 64 hex digits"
    printf '%s\n' "$key"
}

# start_config NAME FILE PORTS [ARGS...]: `mimicsocks --config FILE ARGS...` in the
# background (stderr in $E2E_TMP/NAME.log), then wait until each of PORTS (space
# separated, on 127.0.0.1) accepts. Sets CFG_PID. Returns 1 if the process exits
# first (a port in FILE was taken meanwhile?), so that the caller can write FILE
# again with new ports and retry; fails the test if it runs but a port never accepts.
start_config() {
    local name=$1 file=$2 ports=$3 port; shift 3
    bg "$name" "$MIMICSOCKS" --config "$file" "$@"
    CFG_PID=$BG_PID
    for port in $ports; do
        if ! wait_port 127.0.0.1 "$port" "$CFG_PID"; then
            if kill -0 "$CFG_PID" 2>/dev/null; then
                # A port taken meanwhile is retried by mimicsocks itself (with
                # backoff); for the test, new ports are quicker.
                if grep -q "cannot listen on 127.0.0.1:$port" "$E2E_TMP/$name.log"; then
                    log "$name: port $port was taken meanwhile; starting again on new ports"
                    stop_pid "$CFG_PID"
                    return 1
                fi
                fail "$name: mimicsocks --config $file is running but port $port never accepted"
            fi
            wait "$CFG_PID" 2>/dev/null || true
            log "$name: mimicsocks --config $file exited at start:"
            tail -n 5 "$E2E_TMP/$name.log" >&2 || true
            return 1
        fi
    done
    if [[ -z "${ports// /}" ]]; then
        # Nothing to wait for (an end that only dials): at least it must not die at start.
        sleep 0.3
        if ! kill -0 "$CFG_PID" 2>/dev/null; then
            wait "$CFG_PID" 2>/dev/null || true
            log "$name: mimicsocks --config $file exited at start:"
            tail -n 5 "$E2E_TMP/$name.log" >&2 || true
            return 1
        fi
    fi
}

# log_count NAME REGEX: how many lines of $E2E_TMP/NAME.log match the extended REGEX.
log_count() {
    local n
    n=$(grep -cE -- "$2" "$E2E_TMP/$1.log" 2>/dev/null) || true
    printf '%s\n' "${n:-0}"
}

# wait_log NAME REGEX COUNT [SECONDS]: until NAME.log has at least COUNT lines matching
# REGEX (bounded, default 15 s); false on timeout.
wait_log() {
    local name=$1 re=$2 count=$3 limit=${4:-15} i
    for ((i = 0; i < limit * 10; i++)); do
        (($(log_count "$name" "$re") >= count)) && return 0
        sleep 0.1
    done
    return 1
}

# fetch_retry TRIES WHAT SHA SIZE CURL_ARGS...: fetch_check, except that a curl that
# fails is tried again after 0.5 s, up to TRIES attempts in all: for the first request
# through an aggregated wormhole whose tunnel may still be on its way up. A download
# that succeeds with the wrong content fails at once. Leaves the attempts in FETCH_TRIES.
fetch_retry() {
    local tries=$1 what=$2 sha=$3 size=$4 i rc=0; shift 4
    local out="$E2E_TMP/fetch.$$.$RANDOM"
    for ((i = 1; i <= tries; i++)); do
        rc=0
        rm -f "$out"
        ecurl "${FETCH_MAX:-60}" -o "$out" "$@" 2>"$E2E_TMP/curl.err" || rc=$?
        if ((rc == 0)); then
            expect_file "$out" "$sha" "$size" "$what"
            rm -f "$out"
            FETCH_TRIES=$i
            ok "$what (attempt $i)"
            return 0
        fi
        sleep 0.5
    done
    rm -f "$out"
    fail "$what: $tries attempts failed, the last with curl exit $rc: $(head -c 300 "$E2E_TMP/curl.err")"
}

# parallel_fetch_list WHAT MAXTIME LIST CURL_ARGS...: each line of the file LIST is
# "SHA URL"; all downloads start at once (curl CURL_ARGS... URL, hashed on the fly),
# and each must exit 0 with its sha256.
parallel_fetch_list() {
    local what=$1 max=$2 list=$3; shift 3
    local dir="$E2E_TMP/plist.$RANDOM" i=0 n sha url pids=() shas=() failed=0
    mkdir -p "$dir"
    while read -r sha url; do
        [[ -n "$url" ]] || continue
        ( ecurl "$max" -o - "$@" "$url" 2>"$dir/$i.err" | sha_stdin >"$dir/$i.sha" ) &
        pids+=($!)
        E2E_PIDS+=($!)
        shas+=("$sha")
        i=$((i + 1))
    done <"$list"
    n=$i
    for ((i = 0; i < n; i++)); do
        wait_pid "${pids[$i]}" $((max + 10))
        if ((WAIT_RC != 0)); then
            log "$what #$i: curl exited $WAIT_RC: $(head -c 200 "$dir/$i.err" 2>/dev/null)"
            failed=$((failed + 1))
        elif [[ "$(<"$dir/$i.sha")" != "${shas[$i]}" ]]; then
            log "$what #$i: wrong sha256 $(<"$dir/$i.sha")"
            failed=$((failed + 1))
        fi
    done
    rm -rf "$dir"
    ((n > 0)) || fail "$what: empty list $list"
    ((failed == 0)) || fail "$what: $failed of $n downloads failed"
    ok "$what: $n parallel downloads correct"
}

# no_sanitizer_report NAME: fail if NAME.log holds an ASan/UBSan report (for processes
# that are killed rather than stopped with stop_mimicsocks).
no_sanitizer_report() {
    if grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$E2E_TMP/$1.log" 2>/dev/null; then
        fail "$1: sanitizer report in the log"
    fi
}

# kill_hard PID: SIGKILL a process started with bg and reap it, without bash's
# "Killed" job report.
kill_hard() {
    kill -KILL "$1" 2>/dev/null || true
    { wait "$1"; } 2>/dev/null || true
}

# wh_count NAME WORMHOLE TEXT: lines of NAME.log that contain TEXT and name WORMHOLE, the
# dialing end's only (the accepting end's `handover done (accepted ...)` is left out).
wh_count() {
    local n
    n=$(grep -F -- "$3" "$E2E_TMP/$1.log" 2>/dev/null | grep -vw accepted | grep -cw -- "$2") || true
    printf '%s\n' "${n:-0}"
}

# wh_wait_count NAME WORMHOLE TEXT N SECONDS: until wh_count >= N (bounded); false on timeout.
wh_wait_count() {
    local i
    for ((i = 0; i < $5 * 10; i++)); do
        (($(wh_count "$1" "$2" "$3") >= $4)) && return 0
        sleep 0.1
    done
    return 1
}

# wait_extra NAME PORTS: after start_config, until each extra port accepts. Returns 1
# (process stopped) if one was taken meanwhile, so that the caller retries on new ports.
wait_extra() {
    local port
    for port in $2; do
        wait_port 127.0.0.1 "$port" "$CFG_PID" && continue
        kill -0 "$CFG_PID" 2>/dev/null || fail "$1: mimicsocks exited while its extra ports opened"
        if grep -q "cannot listen on 127.0.0.1:$port" "$E2E_TMP/$1.log"; then
            log "$1: extra port $port was taken meanwhile; starting again on new ports"
            stop_pid "$CFG_PID"
            return 1
        fi
        fail "$1: nothing listens on the extra port $port after 10 s (the accepting end listens on its extra_ports)"
    done
}

# Probes of several kinds at a port, PROBE_N (default 10) of each at once, and the check
# that they get one treatment (tools.py probe-stats: no byte back, one way of closing,
# close times as a uniform [LO, HI] ms deadline explains).
#   probe_start KIND TOOL-ARGS...   a tools.py command run --parallel PROBE_N --wait 9
#   probe_stats WHAT LO HI [--late MS]   waits for them, prints the table, fails if the
#                                   kinds can be told apart; then starts afresh
PROBES=()
probe_start() {
    local kind=$1; shift
    bg "p-$kind" "$PYTHON" "$E2E_DIR/tools.py" "$@" --parallel "${PROBE_N:-10}" --wait 9
    PROBES+=("$kind:$BG_PID")
}
probe_stats() {
    local what=$1 lo=$2 hi=$3 entry kinds=() rc=0 tp; shift 3
    tp=$(now_ms)
    for entry in "${PROBES[@]}"; do
        wait_pid "${entry##*:}" 30
        ((WAIT_RC == 0)) || fail "probe ${entry%%:*}: $(tail -n 3 "$E2E_TMP/p-${entry%%:*}.log")"
        mv "$E2E_TMP/p-${entry%%:*}.out" "$E2E_TMP/p-${entry%%:*}.json"     # (not for fail() to show)
        kinds+=("${entry%%:*}")
    done
    log "$what: ${#kinds[@]} kinds x ${PROBE_N:-10} probes done in $(($(now_ms) - tp)) ms"
    "$PYTHON" "$E2E_DIR/tools.py" probe-stats "$E2E_TMP" "${PROBE_N:-10}" "$lo" "$hi" "$@" "${kinds[@]}" \
        >"$E2E_TMP/table.txt" 2>"$E2E_TMP/stats.err" || rc=$?
    cat "$E2E_TMP/table.txt" >&2
    ((rc == 0)) || fail "$what: the probes are told apart: $(head -n 5 "$E2E_TMP/stats.err")"
    ok "$what: ${#kinds[@]} kinds x ${PROBE_N:-10} probes: no byte back, one way of closing, close times as a uniform [$lo, $hi] ms deadline gives"
    PROBES=()
}
