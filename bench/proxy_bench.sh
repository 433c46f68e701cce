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
BENCH=proxy_bench
# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"
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

# --- tools ----------------------------------------------------------------------------
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
if [[ ! -x "$NGINX" ]] || ! command -v microsocks >/dev/null; then
    bench_install "nginx and/or microsocks are" nginx-light microsocks
    NGINX=$(command -v nginx || echo /usr/sbin/nginx)
fi
bench_require curl python3 "$NGINX" microsocks

# --- processes ---------------------------------------------------------------------------
bench_init
bench_serve "$NGINX"
read -r MICRO_PORT MIMIC_PORT <<<"$(bench_free_ports 2)"
bench_spawn microsocks microsocks -i 127.0.0.1 -p "$MICRO_PORT"
bench_wait_port "$MICRO_PORT" "$SPAWNED" microsocks
bench_spawn mimicsocks "$MIMICSOCKS" socks --listen "127.0.0.1:$MIMIC_PORT" --log-level warn \
    --allow 127.0.0.0/8                 # the origin is on loopback, denied by default
bench_wait_port "$MIMIC_PORT" "$SPAWNED" mimicsocks

PATHS=(direct microsocks mimicsocks)
VIA=([direct]="" [microsocks]="--socks5 127.0.0.1:$MICRO_PORT" [mimicsocks]="--socks5 127.0.0.1:$MIMIC_PORT")

# shellcheck disable=SC2119  # (no argument: only the 1 KiB file is checked)
bench_check
bench_measure
bench_summary "mimicsocks/microsocks mimicsocks/direct"
