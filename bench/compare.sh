#!/usr/bin/env bash
# compare — one table of mimicsocks against its peers, all on 127.0.0.1, interleaved.
#
# Paths (each a SOCKS5 proxy curl talks to, except direct):
#   direct            curl straight to nginx
#   agg-P, dist-P     a socks wormhole, both ends in one mimicsocks process, aggregated
#                     or distributed, protocol P (v2, v1), the config's default mimic
#   agg-P-off, ...    the same with mimic: off
#   ss-libev          ss-local -> ss-server, aes-256-gcm
#   v2ray             v2ray -> v2ray, VMess aes-128-gcm (Debian package v2ray; if it
#                     cannot be installed, the table says so and goes on without it)
#   rt-agg-v2, rt-dist-v2   (-o) optimistic: false: the CONNECT waits for the far end
#   base-agg-v2, base-dist-v2  (-B BASE) another mimicsocks binary, e.g. a build from
#                     before a change, with the same configs
# With -d MS every proxy's two ends run in two processes with bench/delay_relay.py
# between them, holding each chunk MS ms each way: a wide-area link (RTT 2 x MS) between
# the user's side and the far side; the relay is Python, so read only the latencies then.
# With -2 the two ends run in two processes without a relay, as ss-local and ss-server
# do (in one process a distributed tunnel's two ends may share one worker thread).
# For each of RUNS rounds: the large download on every path (MB/s; the proxies' CPU time
# recorded meanwhile), then REQUESTS sequential 1 KiB requests on every path, a new curl
# and connection each (bench/lib.sh bench_measure). Every path must deliver both files
# intact first. Prints one table: MB/s, CPU s/GB, latency median and p90, each x ss-libev.
#
# Usage: bench/compare.sh [-r RUNS] [-n REQUESTS] [-s SIZE_MIB] [-w WORKERS] [-o]
#                         [-B BASE_MIMICSOCKS] [-d DELAY_MS] [-2] [MIMICSOCKS]
#        (defaults: 5 runs, 200 requests, 512 MiB, one worker per core, build/mimicsocks)
# Needs nginx-light and shadowsocks-libev (installed with apt-get if missing, as
# wormhole_bench.sh does) and tries v2ray. Not a test: nothing here fails on speed.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BENCH=compare
# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"
WORKERS=0
BASE=""
ROUND_TRIP=0
while getopts 'r:n:s:w:B:d:o2h' opt; do
    case $opt in
        r) RUNS=$OPTARG ;;
        n) REQUESTS=$OPTARG ;;
        s) SIZE_MIB=$OPTARG ;;
        w) WORKERS=$OPTARG ;;
        B) BASE=$OPTARG ;;
        o) ROUND_TRIP=1 ;;
        d) DELAY_MS=$OPTARG ;;
        2) SPLIT=1 ;;
        *) sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; exit 2 ;;
    esac
done
shift $((OPTIND - 1))
MIMICSOCKS=${1:-$ROOT/build/mimicsocks}
[[ -x "$MIMICSOCKS" ]] || bench_die "no executable at $MIMICSOCKS (build first: make build)"
[[ -z "$BASE" || -x "$BASE" ]] || bench_die "-B: no executable at $BASE"
SMALL_MAX_TIME=30

bench_need_ss
V2RAY=$(command -v v2ray || true)
if [[ -z "$V2RAY" ]]; then
    bench_install "v2ray is" v2ray || true
    V2RAY=$(command -v v2ray || true)
    # The package may start a system-wide v2ray; this bench runs its own.
    if [[ -n "$V2RAY" ]] && command -v systemctl >/dev/null && systemctl is-active --quiet v2ray 2>/dev/null; then
        systemctl stop v2ray || true
    fi
fi

# start_v2ray NAME: a v2ray client (SOCKS5 in) -> v2ray server (VMess in, freedom out).
start_v2ray() {
    local name=$1 server local_ id
    read -r server local_ <<<"$(bench_free_ports 2)"
    id=$(python3 -c 'import uuid; print(uuid.uuid4())')
    cat >"$TMP/$name-server.json" <<JSON
{"log": {"loglevel": "warning"},
 "inbounds": [{"listen": "127.0.0.1", "port": $server, "protocol": "vmess",
               "settings": {"clients": [{"id": "$id", "alterId": 0}]}}],
 "outbounds": [{"protocol": "freedom"}]}
JSON
    bench_hop "$server"
    cat >"$TMP/$name-local.json" <<JSON
{"log": {"loglevel": "warning"},
 "inbounds": [{"listen": "127.0.0.1", "port": $local_, "protocol": "socks",
               "settings": {"auth": "noauth", "udp": false}}],
 "outbounds": [{"protocol": "vmess", "settings": {"vnext": [{"address": "127.0.0.1", "port": $HOP_PORT,
                "users": [{"id": "$id", "alterId": 0, "security": "aes-128-gcm"}]}]}}]}
JSON
    bench_spawn "$name-server" "$V2RAY" -config "$TMP/$name-server.json"
    local server_pid=$SPAWNED
    bench_wait_port "$server" "$server_pid" "$name-server"
    bench_spawn "$name-local" "$V2RAY" -config "$TMP/$name-local.json"
    bench_wait_port "$local_" "$SPAWNED" "$name-local"
    PATHS+=("$name")
    VIA[$name]="--socks5 127.0.0.1:$local_"
    CPU_PIDS[$name]="$SPAWNED $server_pid"
}

bench_init
bench_serve "$NGINX"
PATHS=(direct)
declare -A VIA=([direct]="") CPU_PIDS=()
for P in v2 v1; do
    bench_start_wormhole "agg-$P" aggregated "$P"
    bench_start_wormhole "dist-$P" distributed "$P"
done
for P in v2 v1; do
    bench_start_wormhole "agg-$P-off" aggregated "$P" off
    bench_start_wormhole "dist-$P-off" distributed "$P" off
done
if ((ROUND_TRIP)); then
    bench_start_wormhole rt-agg-v2 aggregated v2 "" "optimistic: false"
    bench_start_wormhole rt-dist-v2 distributed v2 "" "optimistic: false"
fi
if [[ -n "$BASE" ]]; then
    OWN=$MIMICSOCKS
    MIMICSOCKS=$BASE
    bench_start_wormhole base-agg-v2 aggregated v2
    bench_start_wormhole base-dist-v2 distributed v2
    MIMICSOCKS=$OWN
fi
bench_start_ss ss-libev
if [[ -n "$V2RAY" ]]; then
    start_v2ray v2ray
else
    NO_V2RAY="v2ray: not measured (the Debian package v2ray could not be installed)"
fi

bench_check full
bench_measure
bench_ratio_table ss-libev
[[ -z "${NO_V2RAY:-}" ]] || echo "$NO_V2RAY"
