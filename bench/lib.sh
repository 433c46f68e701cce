# shellcheck shell=bash
# lib.sh — what the benchmarks share; source it from a bench script after `set -euo pipefail`.
#
# A bench sets BENCH (its name, for messages), checks its tools (bench_install,
# bench_require), calls bench_init (temp dir, cleanup trap), starts nginx with
# bench_serve, starts its proxies with bench_spawn + bench_wait_port, fills the
# PATHS array and the VIA map (path -> curl options), and then calls bench_check,
# bench_measure and bench_summary. Every process is started here and killed by its
# PID on exit (BENCH_KEEP=1 keeps the temp dir with the process logs); every curl has
# --max-time, so a broken proxy fails the bench instead of hanging it. Speeds are MB/s
# (10^6 bytes/s).

BENCH=${BENCH:-bench}
RUNS=${RUNS:-5}
REQUESTS=${REQUESTS:-200}
SIZE_MIB=${SIZE_MIB:-512}
# Limit for one 1 KiB request; the large download always gets 300 s.
SMALL_MAX_TIME=${SMALL_MAX_TIME:-300}
PIDS=()
TMP=""
PATHS=()
declare -A VIA=()
# Optional: path -> PIDs whose CPU time bench_measure records during the download.
declare -A CPU_PIDS=()

unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY socks_proxy SOCKS_PROXY
export no_proxy="" NO_PROXY=""

bench_die() { echo "$BENCH: $*" >&2; exit 1; }

# --- tools ----------------------------------------------------------------------------

# bench_install WHAT PACKAGE...: say what is missing and apt-get install the packages,
# as root or through sudo; refresh the package lists once if the first try fails.
bench_install() {
    local what=$1; shift
    local sudo=()
    [[ $(id -u) == 0 ]] || sudo=(sudo)
    echo "$BENCH: $what missing; running: apt-get install -y $*" >&2
    if ! "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y "$@"; then
        echo "$BENCH: retrying after: apt-get update" >&2
        "${sudo[@]}" apt-get update
        "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y "$@"
    fi
}

bench_require() {
    local tool
    for tool in "$@"; do
        command -v "$tool" >/dev/null || { echo "$BENCH: $tool is required" >&2; exit 2; }
    done
}

# --- processes, cleaned up by PID -------------------------------------------------------

bench_cleanup() {
    local pid i alive
    for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for ((i = 0; i < 50; i++)); do
        alive=0
        for pid in "${PIDS[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
        ((alive)) || break
        sleep 0.1
    done
    for pid in "${PIDS[@]}"; do kill -KILL "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
    [[ -n "$TMP" ]] || return 0
    if [[ "${BENCH_KEEP:-0}" == 1 ]]; then
        echo "$BENCH: kept $TMP (process logs in *.log)" >&2
    else
        rm -rf "$TMP"
    fi
}

bench_init() {
    TMP=$(mktemp -d "${TMPDIR:-/tmp}/mimicsocks-bench.XXXXXX")
    trap bench_cleanup EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
}

bench_free_ports() {   # N: prints N ports the OS picked
    python3 - "$1" <<'EOF'
import socket, sys
socks = [socket.socket() for _ in range(int(sys.argv[1]))]
for s in socks:
    s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in socks))
EOF
}

# bench_spawn NAME COMMAND...: run COMMAND in the background with its output in
# $TMP/NAME.log and remember its PID (also left in SPAWNED).
bench_spawn() {
    local name=$1; shift
    "$@" >"$TMP/$name.log" 2>&1 &
    SPAWNED=$!
    PIDS+=("$SPAWNED")
}

bench_wait_port() {   # PORT PID NAME
    local i
    for ((i = 0; i < 100; i++)); do
        kill -0 "$2" 2>/dev/null || { echo "$BENCH: $3 exited at start:" >&2; tail -n 5 "$TMP/$3.log" >&2; exit 1; }
        # shellcheck disable=SC2016
        timeout 2 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1"' _ "$1" 2>/dev/null && return 0
        sleep 0.1
    done
    echo "$BENCH: $3 did not open port $1" >&2
    exit 1
}

# --- the proxies compared: ss-libev, mimicsocks wormholes -------------------------------

# bench_need_ss: nginx and ss-server/ss-local, installed if missing (and the
# shadowsocks-libev service that installing may start, stopped: benches run their own).
# Sets NGINX.
bench_need_ss() {
    NGINX=$(command -v nginx || echo /usr/sbin/nginx)
    if [[ ! -x "$NGINX" ]] || ! command -v ss-server >/dev/null || ! command -v ss-local >/dev/null; then
        bench_install "nginx and/or shadowsocks-libev are" nginx-light shadowsocks-libev
        NGINX=$(command -v nginx || echo /usr/sbin/nginx)
        if command -v systemctl >/dev/null && systemctl is-active --quiet shadowsocks-libev 2>/dev/null; then
            echo "$BENCH: stopping the shadowsocks-libev service that apt-get started" >&2
            systemctl stop shadowsocks-libev || true
        elif [[ -x /etc/init.d/shadowsocks-libev ]]; then
            /etc/init.d/shadowsocks-libev stop >/dev/null 2>&1 || true
        fi
    fi
    bench_require curl python3 sha256sum "$NGINX" ss-server ss-local
}

# bench_start_ss NAME: ss-local -> ss-server (aes-256-gcm, a fresh password) as path NAME.
bench_start_ss() {
    local name=$1 server local_ password server_pid
    read -r server local_ <<<"$(bench_free_ports 2)"
    password=$(head -c 18 /dev/urandom | base64)
    bench_spawn "$name-server" ss-server -s 127.0.0.1 -p "$server" -k "$password" -m aes-256-gcm
    server_pid=$SPAWNED
    bench_wait_port "$server" "$server_pid" "$name-server"
    bench_hop "$server"
    bench_spawn "$name-local" ss-local -s 127.0.0.1 -p "$HOP_PORT" -b 127.0.0.1 -l "$local_" \
        -k "$password" -m aes-256-gcm
    bench_wait_port "$local_" "$SPAWNED" "$name-local"
    PATHS+=("$name")
    VIA[$name]="--socks5 127.0.0.1:$local_"
    CPU_PIDS[$name]="$SPAWNED $server_pid"
}

# bench_wormhole_config FILE MODE USER_PORT TUNNEL_PORT PROTOCOL [MIMIC] [EXTRA]: one
# socks wormhole with a fresh key (MIMICSOCKS genkey; readable by us only), checked.
# WORKERS (0: one per core) and MIMIC (a `mimic:` value; empty: the default) apply;
# EXTRA is one more line of the wormhole's entry (e.g. "optimistic: false").
bench_wormhole_config() {
    local key mimic=${6:-${MIMIC:-}} extra=${7:-}
    key=$("$MIMICSOCKS" genkey)
    (umask 077; cat >"$1" <<EOF
log_level: info
workers: ${WORKERS:-0}
wormholes:
  - name: bench
    server: 127.0.0.1:$3
    wormhole_remote: 127.0.0.1:$4
    wormhole: $2
    handler: socks
    allow: [127.0.0.0/8]                # the origin is on loopback, denied by default
    key: $key
    protocol: $5
${mimic:+    mimic: $mimic}
${extra:+    $extra}
EOF
    )
    "$MIMICSOCKS" check-config "$1" >/dev/null || bench_die "mimicsocks rejects its config $1"
}

# The aggregated local end accepts users before its tunnel is up; wait for the log line.
bench_wait_tunnel() {   # NAME PID
    local i
    for ((i = 0; i < 100; i++)); do
        grep -q 'tunnel up' "$TMP/$1.log" && return 0
        kill -0 "$2" 2>/dev/null || { echo "$BENCH: $1 exited:" >&2; tail -n 5 "$TMP/$1.log" >&2; exit 1; }
        sleep 0.1
    done
    echo "$BENCH: $1 did not log 'tunnel up' within 10 s:" >&2
    tail -n 5 "$TMP/$1.log" >&2
    exit 1
}

# bench_hop PORT: HOP_PORT, the port a proxy's dialing end uses to reach PORT: PORT
# itself, or with DELAY_MS set (not 0), a bench/delay_relay.py in front of it that holds
# each chunk DELAY_MS in each direction (a wide-area link between the two ends).
bench_hop() {
    HOP_PORT=$1
    [[ -n "${DELAY_MS:-}" && "${DELAY_MS}" != 0 ]] || return 0
    read -r HOP_PORT <<<"$(bench_free_ports 1)"
    bench_spawn "hop-$1" python3 "$(dirname "${BASH_SOURCE[0]}")/delay_relay.py" "$HOP_PORT" "$1" "$DELAY_MS"
    bench_wait_port "$HOP_PORT" "$SPAWNED" "hop-$1"
}

# bench_start_wormhole NAME MODE PROTOCOL [MIMIC] [EXTRA]: both ends of a socks
# wormhole ($MIMICSOCKS) as path NAME: in one process, or, with DELAY_MS or SPLIT=1, in
# two (--role remote, --role local), with DELAY_MS a delay relay between them (bench_hop).
bench_start_wormhole() {
    local name=$1 mode=$2 protocol=$3 user tunnel local_pid
    read -r user tunnel <<<"$(bench_free_ports 2)"
    bench_wormhole_config "$TMP/$name.yaml" "$mode" "$user" "$tunnel" "$protocol" "${4:-}" "${5:-}"
    if [[ -n "${DELAY_MS:-}" && "${DELAY_MS}" != 0 ]] || ((${SPLIT:-0})); then
        bench_spawn "$name-remote" "$MIMICSOCKS" --config "$TMP/$name.yaml" --role remote
        local remote_pid=$SPAWNED
        bench_wait_port "$tunnel" "$remote_pid" "$name-remote"
        bench_hop "$tunnel"
        sed "s/wormhole_remote: 127.0.0.1:$tunnel\$/wormhole_remote: 127.0.0.1:$HOP_PORT/" \
            "$TMP/$name.yaml" >"$TMP/$name-local.yaml"
        chmod 600 "$TMP/$name-local.yaml"
        bench_spawn "$name" "$MIMICSOCKS" --config "$TMP/$name-local.yaml" --role local
        CPU_PIDS[$name]="$SPAWNED $remote_pid"
    else
        bench_spawn "$name" "$MIMICSOCKS" --config "$TMP/$name.yaml"
        CPU_PIDS[$name]="$SPAWNED"
    fi
    local_pid=$SPAWNED
    bench_wait_port "$user" "$local_pid" "$name"
    [[ $mode != aggregated ]] || bench_wait_tunnel "$name" "$local_pid"
    PATHS+=("$name")
    VIA[$name]="--socks5 127.0.0.1:$user"
}

# --- the web server ---------------------------------------------------------------------

# bench_serve: nginx on 127.0.0.1 serving a SIZE_MIB MiB file (BIG_URL) and a 1 KiB
# file (SMALL_URL), both random bytes.
bench_serve() {
    local nginx=$1
    read -r WEB_PORT <<<"$(bench_free_ports 1)"
    # The nginx worker may run as another user: let it read the files.
    chmod 755 "$TMP"
    mkdir -p "$TMP/www" "$TMP/nginx"
    echo "$BENCH: writing a $SIZE_MIB MiB file..." >&2
    head -c $((SIZE_MIB * 1024 * 1024)) /dev/urandom >"$TMP/www/big"
    head -c 1024 /dev/urandom >"$TMP/www/small"
    chmod 644 "$TMP/www/big" "$TMP/www/small"
    chmod 755 "$TMP/www"
    BIG_SIZE=$((SIZE_MIB * 1024 * 1024))
    cat >"$TMP/nginx/nginx.conf" <<EOF
daemon off;
worker_processes 1;
pid $TMP/nginx/nginx.pid;
error_log $TMP/nginx/error.log warn;
events { worker_connections 1024; }
http {
    access_log off;
    sendfile on;
    tcp_nopush on;
    keepalive_timeout 30;
    default_type application/octet-stream;
    client_body_temp_path $TMP/nginx/body;
    proxy_temp_path $TMP/nginx/proxy;
    fastcgi_temp_path $TMP/nginx/fastcgi;
    server {
        listen 127.0.0.1:$WEB_PORT;
        root $TMP/www;
    }
}
EOF
    bench_spawn nginx "$nginx" -c "$TMP/nginx/nginx.conf" -p "$TMP/nginx" -e "$TMP/nginx/error.log"
    NGINX_PID=$SPAWNED
    bench_wait_port "$WEB_PORT" "$NGINX_PID" nginx
    BIG_URL="http://127.0.0.1:$WEB_PORT/big"
    SMALL_URL="http://127.0.0.1:$WEB_PORT/small"
}

# --- measuring --------------------------------------------------------------------------

bcurl() { curl -q --silent --show-error --max-time 300 "$@"; }

# shellcheck disable=SC2120
# bench_check [full]: every path must deliver the 1 KiB file intact before we time it;
# with `full`, the large file too (hashed, so it costs one extra download per path).
bench_check() {
    local p got want
    want=$(sha256sum "$TMP/www/small" | cut -d' ' -f1)
    for p in "${PATHS[@]}"; do
        # shellcheck disable=SC2086
        got=$(bcurl ${VIA[$p]} "$SMALL_URL" | sha256sum | cut -d' ' -f1)
        [[ "$got" == "$want" ]] || bench_die "the 1 KiB file is wrong via $p"
    done
    [[ "${1:-}" == full ]] || return 0
    want=$(sha256sum "$TMP/www/big" | cut -d' ' -f1)
    for p in "${PATHS[@]}"; do
        echo "$BENCH: checking the $SIZE_MIB MiB file via $p..." >&2
        # shellcheck disable=SC2086
        got=$(bcurl ${VIA[$p]} "$BIG_URL" | sha256sum | cut -d' ' -f1)
        [[ "$got" == "$want" ]] || bench_die "the $SIZE_MIB MiB file is wrong via $p (sha256 differs)"
    done
}

s_cpu_ticks() {   # PID...: user+system clock ticks of these processes, all threads
    local pid total=0 stat fields
    for pid in "$@"; do
        stat=$(<"/proc/$pid/stat") || bench_die "process $pid is gone"
        read -r -a fields <<<"${stat##*) }"
        total=$((total + fields[11] + fields[12]))
    done
    echo "$total"
}

# bench_small_requests RUN: REQUESTS sequential 1 KiB requests on every path (times to
# $TMP/latency.PATH), the paths taking turns request by request, so that the load of
# a shared machine, which changes from second to second, falls on all of them alike;
# then the round's line of MB/s.
bench_small_requests() {
    local run=$1 p i t size c0
    for ((i = 0; i < REQUESTS; i++)); do
        for p in "${PATHS[@]}"; do
            # shellcheck disable=SC2086
            [[ -z "${CPU_PIDS[$p]:-}" ]] || c0=$(s_cpu_ticks ${CPU_PIDS[$p]})
            # shellcheck disable=SC2086
            read -r t size < <(bcurl --max-time "$SMALL_MAX_TIME" ${VIA[$p]} -o /dev/null \
                                     -w '%{time_total} %{size_download}\n' "$SMALL_URL" || true)
            [[ "$size" == 1024 ]] || bench_die "request $((i + 1)) of run $run via $p failed (${size:-no} bytes)"
            echo "$t" >>"$TMP/latency.$p"
            # The proxy's CPU for this request (clock ticks; summed over all of them,
            # the mean per request is exact enough although one tick is 10 ms).
            # shellcheck disable=SC2086
            [[ -z "${CPU_PIDS[$p]:-}" ]] || echo $(( $(s_cpu_ticks ${CPU_PIDS[$p]}) - c0 )) >>"$TMP/reqcpu.$p"
        done
    done
    printf 'run %d/%d:' "$run" "$RUNS" >&2
    for p in "${PATHS[@]}"; do
        printf ' %s %.0f' "$p" "$(tail -n 1 "$TMP/speed.$p" | awk '{ print $1 / 1e6 }')" >&2
    done
    echo " MB/s" >&2
}

# bench_measure: RUNS rounds; in each, the large download then REQUESTS 1 KiB requests
# on every path. The paths alternate inside each round so that drift in the machine's
# speed hits them alike. Results go to $TMP/{speed,latency,cpu}.PATH.
bench_measure() {
    local run p i speed size t cpu0 cpu1
    echo "$BENCH: $RUNS runs; ${SIZE_MIB} MiB download and $REQUESTS x 1 KiB requests per path and run" >&2
    for ((run = 1; run <= RUNS; run++)); do
        for p in "${PATHS[@]}"; do
            # shellcheck disable=SC2086
            [[ -z "${CPU_PIDS[$p]:-}" ]] || cpu0=$(s_cpu_ticks ${CPU_PIDS[$p]})
            # shellcheck disable=SC2086
            read -r speed size < <(bcurl ${VIA[$p]} -o /dev/null -w '%{speed_download} %{size_download}\n' "$BIG_URL")
            [[ "$size" == "$BIG_SIZE" ]] || bench_die "$p delivered $size of $BIG_SIZE bytes"
            echo "$speed" >>"$TMP/speed.$p"
            if [[ -n "${CPU_PIDS[$p]:-}" ]]; then
                # shellcheck disable=SC2086
                cpu1=$(s_cpu_ticks ${CPU_PIDS[$p]})
                # CPU seconds over the download's wall time, in % of one core.
                awk -v t=$((cpu1 - cpu0)) -v hz="$(getconf CLK_TCK)" -v s="$speed" -v n="$size" \
                    'BEGIN { printf "%.1f\n", 100 * (t / hz) / (n / s) }' >>"$TMP/cpu.$p"
            fi
        done
        bench_small_requests "$run"
    done
}

# bench_summary RATIOS [TARGET]: the table of medians, then one line per ratio in
# RATIOS (space-separated A/B). TARGET "B:T:L" marks the ratios over B against the
# targets throughput >= T and median latency <= L, and adds the p90 ratio to them.
# With CPU figures (CPU_PIDS) or a TARGET, the table also shows the MB/s range.
bench_summary() {
    python3 - "$TMP" "$RUNS" "$REQUESTS" "$SIZE_MIB" "${PATHS[*]}" "$1" "${2:-}" <<'EOF'
import os, statistics, sys
tmp, runs, requests, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
paths, ratios, target = sys.argv[5].split(), sys.argv[6].split(), sys.argv[7]
def values(kind, p):
    with open("%s/%s.%s" % (tmp, kind, p)) as f:
        return [float(line) for line in f if line.strip()]
def p90(xs):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(0.9 * len(xs)))]
speeds = {p: values("speed", p) for p in paths}
speed = {p: statistics.median(speeds[p]) / 1e6 for p in paths}
lat = {p: values("latency", p) for p in paths}
med = {p: statistics.median(lat[p]) * 1000 for p in paths}
cpus = {p: values("cpu", p) for p in paths if os.path.exists("%s/cpu.%s" % (tmp, p))}
cpu = {p: statistics.median(cpus[p]) for p in cpus}
# CPU seconds per 10^9 bytes, run by run (a slow run is often a starved one).
cpu_gb = {p: statistics.median(c / 100 / (s / 1e9) for c, s in zip(cpus[p], speeds[p])) for p in cpus}
extended = bool(cpu or target)
width = max([12] + [len(p) for p in paths])
print()
print("%d runs: %s MiB download (median MB/s), %d x 1 KiB requests per run "
      "(time_total in ms, new connection each)" % (runs, size, requests))
print()
head = "%-*s %12s %16s %14s" % (width, "path", "MB/s", "latency median", "latency p90")
if extended:
    head += " %17s %10s %9s" % ("MB/s min..max", "proxy CPU", "CPU s/GB")
print(head)
for p in paths:
    row = "%-*s %12.1f %13.3f ms %11.3f ms" % (width, p, speed[p], med[p], p90(lat[p]) * 1000)
    if extended:
        row += " %17s" % ("%.0f..%.0f" % (min(speeds[p]) / 1e6, max(speeds[p]) / 1e6))
        row += " %10s" % ("%.0f %%" % cpu[p] if p in cpu else "-")
        row += " %9s" % ("%.2f" % cpu_gb[p] if p in cpu else "-")
    print(row)
print()
if target:
    base, t_speed, t_lat = target.split(":")
    t_speed, t_lat = float(t_speed), float(t_lat)
labels = {r: "%s / %s:" % tuple(r.split("/")) for r in ratios}
lwidth = max(len(l) for l in labels.values())
for r in ratios:
    a, b = r.split("/")
    s, l = speed[a] / speed[b], med[a] / med[b]
    if target and b == base:
        print("%-*s throughput x%.2f (target >= %.2f: %s), latency x%.2f (target <= %.2f: %s), p90 x%.2f%s"
              % (lwidth, labels[r], s, t_speed, "met" if round(s, 2) >= t_speed else "MISSED",
                 l, t_lat, "met" if round(l, 2) <= t_lat else "MISSED", p90(lat[a]) / p90(lat[b]),
                 ", CPU/GB x%.2f" % (cpu_gb[a] / cpu_gb[b]) if a in cpu_gb and b in cpu_gb else ""))
    else:
        print("%-*s throughput x%.2f, latency x%.2f" % (lwidth, labels[r], s, l))
if cpu:
    print()
    print("proxy CPU: user+system CPU time of the proxy processes (all their threads) during the")
    print("download, in % of one core; CPU s/GB: the same per 10^9 bytes moved. Medians over the runs.")
EOF
}
# bench_ratio_table BASE: one row per path: MB/s, proxy CPU s/GB, per-request latency
# median and p90, each with its ratio to path BASE (medians over the runs; "-" where a
# path has no figure, e.g. direct's CPU).
bench_ratio_table() {
    python3 - "$TMP" "$RUNS" "$REQUESTS" "$SIZE_MIB" "${PATHS[*]}" "$1" <<'EOF'
import os, statistics, sys
tmp, runs, requests, size, paths, base = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5].split(), sys.argv[6]
hz = os.sysconf("SC_CLK_TCK")
def values(kind, p):
    path = "%s/%s.%s" % (tmp, kind, p)
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [float(line) for line in f if line.strip()]
def p90(xs):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(0.9 * len(xs)))]
fig = {}
for p in paths:
    speeds, lat, cpus = values("speed", p), values("latency", p), values("cpu", p)
    reqcpu = values("reqcpu", p)
    fig[p] = {
        "mbs": statistics.median(speeds) / 1e6,
        "cpu": statistics.median(c / 100 / (s / 1e9) for c, s in zip(cpus, speeds)) if cpus else None,
        "med": statistics.median(lat) * 1000,
        "p90": p90(lat) * 1000,
        "req": 1000 * sum(reqcpu) / hz / len(reqcpu) if reqcpu else None,
    }
def cell(p, key, fmt):
    v, b = fig[p][key], fig[base][key]
    if v is None:
        return "%8s %7s" % ("-", "")
    return "%8s %7s" % (fmt % v, "x%.2f" % (v / b) if b else "")
width = max([10] + [len(p) for p in paths])
print()
print("%d runs, interleaved: %s MiB download (median MB/s; proxy CPU s per 10^9 bytes), %d x 1 KiB"
      % (runs, size, requests))
print("requests per run (curl time_total, a new connection each; median and p90 in ms; the")
print("proxy's mean CPU ms per request); x: over %s" % base)
print()
print("%-*s %8s %7s %8s %7s %8s %7s %8s %7s %8s %7s" % (width, "path", "MB/s", "x", "CPU s/GB", "x",
                                                      "lat. med", "x", "lat. p90", "x", "CPU/req", "x"))
for p in paths:
    print("%-*s %s %s %s %s %s" % (width, p, cell(p, "mbs", "%.0f"), cell(p, "cpu", "%.2f"),
                                   cell(p, "med", "%.3f"), cell(p, "p90", "%.3f"), cell(p, "req", "%.2f")))
EOF
}
