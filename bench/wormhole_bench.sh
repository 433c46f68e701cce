#!/usr/bin/env bash
# wormhole_bench — throughput and latency through mimicsocks wormholes against
# shadowsocks-libev and a direct connection, all on 127.0.0.1.
#
# nginx serves a large file (512 MiB) and a 1 KiB file. Paths, each a SOCKS5 proxy curl
# talks to (--socks5), except direct:
#   direct       curl straight to nginx
#   agg-P        an aggregated wormhole (one tunnel carries every connection) speaking
#                protocol P (v2, v1), handler socks, both ends in one mimicsocks process
#   dist-P       the same as a distributed wormhole (one tunnel connection per user
#                connection)
#   2proc-P      the aggregated wormhole with its ends in two processes
#                (--role local, --role remote), as in a real deployment
#   ss-libev     ss-local -> ss-server, aes-256-gcm
# For each of RUNS rounds, curl downloads the large file on every path (MB/s, 10^6
# bytes/s; the proxies' CPU time is recorded meanwhile), then makes REQUESTS sequential
# requests for the 1 KiB file on every path, each a new curl and a new connection
# (time_total). Before timing, every path must deliver both files intact (sha256).
# Prints the medians and the ratios mimicsocks/ss-libev against the targets:
# throughput >= 1.5, median latency <= 1.0, and the CPU time per GB of each against
# ss-libev's.
#
# Usage: bench/wormhole_bench.sh [-r RUNS] [-n REQUESTS] [-s SIZE_MIB] [-w WORKERS] [-m MIMIC]
#                                [-p PROTOCOLS] [MIMICSOCKS]
#        (defaults: 5 runs, 200 requests, 512 MiB, workers: one per core, mimic: the
#        config's default, protocols: v2, build/mimicsocks); MIMIC is a `mimic:` value,
#        e.g. off; PROTOCOLS a comma list, e.g. v2,v1 (each adds its three paths).
# Needs nginx (nginx-light) and ss-server/ss-local (shadowsocks-libev); if they are
# missing it says so and runs `apt-get install -y nginx-light shadowsocks-libev` (and
# stops the shadowsocks-libev service that installing may start; the bench runs its
# own processes). Not a test: nothing here fails on speed.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BENCH=wormhole_bench
# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"
WORKERS=0
MIMIC=""
PROTOCOLS=v2
while getopts 'r:n:s:w:m:p:h' opt; do
    case $opt in
        r) RUNS=$OPTARG ;;
        n) REQUESTS=$OPTARG ;;
        s) SIZE_MIB=$OPTARG ;;
        w) WORKERS=$OPTARG ;;
        m) MIMIC=$OPTARG ;;
        p) PROTOCOLS=$OPTARG ;;
        *) sed -n '2,32p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
    esac
done
shift $((OPTIND - 1))
MIMICSOCKS=${1:-$ROOT/build/mimicsocks}
[[ -x "$MIMICSOCKS" ]] || { echo "wormhole_bench: no executable at $MIMICSOCKS (build first: make build)" >&2; exit 2; }
# A hung tunnel must fail the bench, not stall it for minutes per request.
SMALL_MAX_TIME=30

# --- tools ----------------------------------------------------------------------------
bench_need_ss

# --- processes ---------------------------------------------------------------------------
bench_init
bench_serve "$NGINX"

# Each protocol's three paths: one process per wormhole, two for the split one.
PATHS=(direct)
declare -A VIA=([direct]="") CPU_PIDS=()
RATIOS=""
IFS=, read -r -a PROTOCOL_LIST <<<"$PROTOCOLS"
for P in "${PROTOCOL_LIST[@]}"; do
    [[ $P == v1 || $P == v2 ]] || bench_die "-p: '$P' is not v1 or v2"
    bench_start_wormhole "agg-$P" aggregated "$P"
    bench_start_wormhole "dist-$P" distributed "$P"

    read -r SPLIT_USER SPLIT_TUN <<<"$(bench_free_ports 2)"
    bench_wormhole_config "$TMP/split-$P.yaml" aggregated "$SPLIT_USER" "$SPLIT_TUN" "$P"
    bench_spawn "remote-$P" "$MIMICSOCKS" --config "$TMP/split-$P.yaml" --role remote
    REMOTE_PID=$SPAWNED
    bench_wait_port "$SPLIT_TUN" "$REMOTE_PID" "remote-$P"
    bench_spawn "local-$P" "$MIMICSOCKS" --config "$TMP/split-$P.yaml" --role local
    LOCAL_PID=$SPAWNED
    bench_wait_port "$SPLIT_USER" "$LOCAL_PID" "local-$P"
    bench_wait_tunnel "local-$P" "$LOCAL_PID"

    PATHS+=("2proc-$P")
    VIA[2proc-$P]="--socks5 127.0.0.1:$SPLIT_USER"
    CPU_PIDS[2proc-$P]="$LOCAL_PID $REMOTE_PID"
    RATIOS+=" agg-$P/ss-libev dist-$P/ss-libev 2proc-$P/ss-libev agg-$P/direct"
done

bench_start_ss ss-libev

bench_check full
bench_measure
bench_summary "$RATIOS" "ss-libev:1.5:1.0"
