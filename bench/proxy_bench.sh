#!/usr/bin/env bash
# proxy_bench — throughput and latency of `mimicsocks socks` against microsocks and a
# direct connection, all on 127.0.0.1.
#
# nginx serves a large file (512 MiB) and a 1 KiB file. For each of RUNS rounds, curl
# downloads the large file to /dev/null directly, via microsocks (--socks5) and via
# mimicsocks (--socks5), giving MB/s (10^6 bytes/s); then it makes REQUESTS sequential
# requests for the 1 KiB file through each path, each a new curl and a new connection,
# giving the per-request time_total. The three paths alternate inside each round so
# that drift in the machine's speed hits them alike. Prints the medians and the ratios
# mimicsocks/microsocks.
#
# Usage: bench/proxy_bench.sh [-r RUNS] [-n REQUESTS] [-s SIZE_MIB] [MIMICSOCKS]
#        (defaults: 5 runs, 200 requests, 512 MiB, build/mimicsocks)
# Needs nginx (nginx-light) and microsocks; if they are missing it says so and runs
# `apt-get install -y nginx-light microsocks`. Not a test: nothing here fails on speed.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
RUNS=5
REQUESTS=200
SIZE_MIB=512
while getopts 'r:n:s:h' opt; do
    case $opt in
        r) RUNS=$OPTARG ;;
        n) REQUESTS=$OPTARG ;;
        s) SIZE_MIB=$OPTARG ;;
        *) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
    esac
done
shift $((OPTIND - 1))
MIMICSOCKS=${1:-$ROOT/build/mimicsocks}
[[ -x "$MIMICSOCKS" ]] || { echo "proxy_bench: no executable at $MIMICSOCKS (build first: make build)" >&2; exit 2; }

unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY socks_proxy SOCKS_PROXY
export no_proxy="" NO_PROXY=""

# --- tools ----------------------------------------------------------------------------
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
if [[ ! -x "$NGINX" ]] || ! command -v microsocks >/dev/null; then
    echo "proxy_bench: nginx and/or microsocks are missing; running: apt-get install -y nginx-light microsocks" >&2
    if [[ $(id -u) == 0 ]]; then
        apt-get install -y nginx-light microsocks
    else
        sudo apt-get install -y nginx-light microsocks
    fi
    NGINX=$(command -v nginx || echo /usr/sbin/nginx)
fi
for tool in curl python3 "$NGINX" microsocks; do
    command -v "$tool" >/dev/null || { echo "proxy_bench: $tool is required" >&2; exit 2; }
done

# --- processes, cleaned up by PID ---------------------------------------------------------
PIDS=()
TMP=$(mktemp -d "${TMPDIR:-/tmp}/mimicsocks-bench.XXXXXX")
cleanup() {
    local pid i
    for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for ((i = 0; i < 50; i++)); do
        local alive=0
        for pid in "${PIDS[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
        ((alive)) || break
        sleep 0.1
    done
    for pid in "${PIDS[@]}"; do kill -KILL "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

free_ports() {
    python3 - "$1" <<'EOF'
import socket, sys
socks = [socket.socket() for _ in range(int(sys.argv[1]))]
for s in socks:
    s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in socks))
EOF
}

wait_port() {   # PORT PID NAME
    local i
    for ((i = 0; i < 100; i++)); do
        kill -0 "$2" 2>/dev/null || { echo "proxy_bench: $3 exited at start:" >&2; tail -n 5 "$TMP/$3.log" >&2; exit 1; }
        timeout 2 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1"' _ "$1" 2>/dev/null && return 0
        sleep 0.1
    done
    echo "proxy_bench: $3 did not open port $1" >&2
    exit 1
}

read -r WEB_PORT MICRO_PORT MIMIC_PORT <<<"$(free_ports 3)"

# The nginx worker may run as another user: let it read the files.
chmod 755 "$TMP"
mkdir -p "$TMP/www" "$TMP/nginx"
echo "proxy_bench: writing a $SIZE_MIB MiB file..." >&2
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
"$NGINX" -c "$TMP/nginx/nginx.conf" -p "$TMP/nginx" -e "$TMP/nginx/error.log" >"$TMP/nginx.log" 2>&1 &
PIDS+=($!); wait_port "$WEB_PORT" $! nginx
microsocks -i 127.0.0.1 -p "$MICRO_PORT" >"$TMP/microsocks.log" 2>&1 &
PIDS+=($!); wait_port "$MICRO_PORT" $! microsocks
"$MIMICSOCKS" socks --listen "127.0.0.1:$MIMIC_PORT" --log-level warn >"$TMP/mimicsocks.log" 2>&1 &
PIDS+=($!); wait_port "$MIMIC_PORT" $! mimicsocks

BIG_URL="http://127.0.0.1:$WEB_PORT/big"
SMALL_URL="http://127.0.0.1:$WEB_PORT/small"
PATHS=(direct microsocks mimicsocks)
declare -A VIA=([direct]="" [microsocks]="--socks5 127.0.0.1:$MICRO_PORT" [mimicsocks]="--socks5 127.0.0.1:$MIMIC_PORT")

bcurl() { curl -q --silent --show-error --max-time 300 "$@"; }

# Every path must actually deliver the file before we time it.
want=$(sha256sum "$TMP/www/small" | cut -d' ' -f1)
for p in "${PATHS[@]}"; do
    # shellcheck disable=SC2086
    got=$(bcurl ${VIA[$p]} "$SMALL_URL" | sha256sum | cut -d' ' -f1)
    [[ "$got" == "$want" ]] || { echo "proxy_bench: the 1 KiB file is wrong via $p" >&2; exit 1; }
done

echo "proxy_bench: $RUNS runs; ${SIZE_MIB} MiB download and $REQUESTS x 1 KiB requests per path and run" >&2
for ((run = 1; run <= RUNS; run++)); do
    for p in "${PATHS[@]}"; do
        # shellcheck disable=SC2086
        read -r speed size < <(bcurl ${VIA[$p]} -o /dev/null -w '%{speed_download} %{size_download}\n' "$BIG_URL")
        [[ "$size" == "$BIG_SIZE" ]] || { echo "proxy_bench: $p delivered $size of $BIG_SIZE bytes" >&2; exit 1; }
        echo "$speed" >>"$TMP/speed.$p"
    done
    for p in "${PATHS[@]}"; do
        for ((i = 0; i < REQUESTS; i++)); do
            # shellcheck disable=SC2086
            bcurl ${VIA[$p]} -o /dev/null -w '%{time_total}\n' "$SMALL_URL"
        done >>"$TMP/latency.$p"
    done
    printf 'run %d/%d:' "$run" "$RUNS" >&2
    for p in "${PATHS[@]}"; do
        printf ' %s %.0f MB/s' "$p" "$(tail -n 1 "$TMP/speed.$p" | awk '{ print $1 / 1e6 }')" >&2
    done
    echo >&2
done

python3 - "$TMP" "$RUNS" "$REQUESTS" "$SIZE_MIB" <<'EOF'
import statistics, sys
tmp, runs, requests, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
paths = ["direct", "microsocks", "mimicsocks"]
def values(kind, p):
    with open("%s/%s.%s" % (tmp, kind, p)) as f:
        return [float(line) for line in f if line.strip()]
def p90(xs):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(0.9 * len(xs)))]
speed = {p: statistics.median(values("speed", p)) / 1e6 for p in paths}
lat = {p: values("latency", p) for p in paths}
med = {p: statistics.median(lat[p]) * 1000 for p in paths}
print()
print("%d runs: %s MiB download (median MB/s), %d x 1 KiB requests per run "
      "(time_total in ms, new connection each)" % (runs, size, requests))
print()
print("%-12s %12s %16s %14s" % ("path", "MB/s", "latency median", "latency p90"))
for p in paths:
    print("%-12s %12.1f %13.3f ms %11.3f ms" % (p, speed[p], med[p], p90(lat[p]) * 1000))
print()
print("mimicsocks / microsocks: throughput x%.2f, latency x%.2f"
      % (speed["mimicsocks"] / speed["microsocks"], med["mimicsocks"] / med["microsocks"]))
print("mimicsocks / direct:     throughput x%.2f, latency x%.2f"
      % (speed["mimicsocks"] / speed["direct"], med["mimicsocks"] / med["direct"]))
EOF
