#!/usr/bin/env bash
# conns_bench — memory per held connection through mimicsocks wormholes against
# shadowsocks-libev, all on 127.0.0.1.
#
# For each COUNT and each path, fresh processes: a SOCKS5 client (bench/conns_tool.py,
# asyncio) opens COUNT connections through the path to an echo server, each a CONNECT
# and 16 bytes echoed back, and holds them all open. The resident memory (VmRSS) of the
# path's proxy processes, summed, is read before (after 10 warm-up connections came and
# went), with all COUNT held, and 5 s after they closed. Paths:
#   agg-P     an aggregated wormhole speaking protocol P, its ends in two processes
#             (--role local, --role remote): every connection is a stream of one tunnel
#   dist-P    the same as a distributed wormhole (one tunnel connection per user)
#   ss-libev  ss-local -> ss-server, aes-256-gcm
# Prints per path and count: connections served, set-up time, RSS before / held /
# after, and KiB per connection = (held - before) / COUNT.
#
# Each process holds about COUNT descriptors (a distributed wormhole's ends and
# ss-libev's too), so COUNT must stay below the hard open-file limit (ulimit -Hn);
# counts above it are reported as not runnable here. The clients spread over source
# addresses 127.0.0.2-... so that no address pair runs out of ephemeral ports.
#
# Usage: bench/conns_bench.sh [-n COUNTS] [-p PROTOCOLS] [-w WORKERS] [-m MIMIC]
#                             [-P PATHS] [MIMICSOCKS]
#        (defaults: 10000, v2, one worker per core, the config's mimic, paths agg,dist,ss;
#        COUNTS and PROTOCOLS are comma lists, e.g. -n 1000,10000,50000)
# Needs ss-server/ss-local (shadowsocks-libev) for the ss path. Not a test: nothing here
# fails on the figures.
# shellcheck source=bench/lib.sh
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
BENCH=conns_bench
source "$HERE/lib.sh"

COUNTS=10000
PROTOCOLS=v2
WORKERS=0
MIMIC=""
WANT_PATHS=agg,dist,ss
while getopts "n:p:w:m:P:" opt; do
    case $opt in
        n) COUNTS=$OPTARG ;;
        p) PROTOCOLS=$OPTARG ;;
        w) WORKERS=$OPTARG ;;
        m) MIMIC=$OPTARG ;;
        P) WANT_PATHS=$OPTARG ;;
        *) sed -n '2,27p' "$0" >&2; exit 2 ;;
    esac
done
shift $((OPTIND - 1))
MIMICSOCKS=${1:-$HERE/../build/mimicsocks}
[[ -x "$MIMICSOCKS" ]] || bench_die "no mimicsocks binary at $MIMICSOCKS (build first: make build)"
if [[ $WANT_PATHS == *ss* ]] && ! command -v ss-server >/dev/null; then
    bench_install "shadowsocks-libev" shadowsocks-libev
    command -v systemctl >/dev/null && systemctl stop shadowsocks-libev 2>/dev/null || true
fi
bench_require python3
TOOL=$HERE/conns_tool.py
HARD=$(ulimit -Hn)
ulimit -n "$HARD"
bench_init

rss_kb() {   # PID...: summed VmRSS in KiB
    local pid total=0 kb
    for pid in "$@"; do
        kb=$(awk '/^VmRSS:/ { print $2 }' "/proc/$pid/status" 2>/dev/null) || bench_die "process $pid is gone"
        total=$((total + kb))
    done
    echo "$total"
}

KEY=$("$MIMICSOCKS" genkey)
wormhole_config() {   # FILE MODE USER_PORT TUNNEL_PORT PROTOCOL
    (umask 077; cat >"$1" <<EOF2
log_level: warn
workers: $WORKERS
wormholes:
  - name: bench
    server: 127.0.0.1:$3
    wormhole_remote: 127.0.0.1:$4
    wormhole: $2
    handler: socks
    allow: [127.0.0.0/8]                # the echo server is on loopback, denied by default
    key: $KEY
    protocol: $5
${MIMIC:+    mimic: $MIMIC}
EOF2
    )
    "$MIMICSOCKS" check-config "$1" >/dev/null || bench_die "mimicsocks rejects its config $1"
}

# start_path NAME: the path's processes; sets PROXY (host:port) and PROXY_PIDS.
start_path() {
    local name=$1 user tun mode proto
    case $name in
        agg-*|dist-*)
            proto=${name#*-}
            [[ $name == agg-* ]] && mode=aggregated || mode=distributed
            read -r user tun <<<"$(bench_free_ports 2)"
            wormhole_config "$TMP/$name.yaml" "$mode" "$user" "$tun" "$proto"
            bench_spawn "$name-remote" "$MIMICSOCKS" --config "$TMP/$name.yaml" --role remote --drain-seconds 0
            local remote=$SPAWNED
            bench_wait_port "$tun" "$remote" "$name-remote"
            bench_spawn "$name-local" "$MIMICSOCKS" --config "$TMP/$name.yaml" --role local --drain-seconds 0
            local local_pid=$SPAWNED
            bench_wait_port "$user" "$local_pid" "$name-local"
            PROXY=127.0.0.1:$user
            PROXY_PIDS="$local_pid $remote"
            ;;
        ss-libev)
            read -r user tun <<<"$(bench_free_ports 2)"
            local password
            password=$(head -c 18 /dev/urandom | base64)
            bench_spawn ss-server ss-server -s 127.0.0.1 -p "$tun" -k "$password" -m aes-256-gcm
            local server=$SPAWNED
            bench_wait_port "$tun" "$server" ss-server
            bench_spawn ss-local ss-local -s 127.0.0.1 -p "$tun" -b 127.0.0.1 -l "$user" \
                -k "$password" -m aes-256-gcm
            local local_pid=$SPAWNED
            bench_wait_port "$user" "$local_pid" ss-local
            PROXY=127.0.0.1:$user
            PROXY_PIDS="$local_pid $server"
            ;;
    esac
}

stop_pids() {   # PID...
    local pid i
    for pid in "$@"; do kill -TERM "$pid" 2>/dev/null || true; done
    for ((i = 0; i < 50; i++)); do
        local alive=0
        for pid in "$@"; do kill -0 "$pid" 2>/dev/null && alive=1; done
        ((alive)) || break
        sleep 0.1
    done
    for pid in "$@"; do kill -KILL "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
}

# run_clients N OUT SOURCES: the clients, until OUT exists (at most 300 s); sets CLIENT_PID.
run_clients() {
    rm -f "$2" "$2.release"
    bench_spawn clients python3 "$TOOL" clients "$PROXY" "127.0.0.1:$ECHO_PORT" "$1" "$2" --sources "$3"
    CLIENT_PID=$SPAWNED
    local i
    for ((i = 0; i < 3000; i++)); do
        [[ -f "$2" ]] && return 0
        kill -0 "$CLIENT_PID" 2>/dev/null || bench_die "the clients exited: $(tail -n 3 "$TMP/clients.log")"
        sleep 0.1
    done
    bench_die "the clients did not finish within 300 s"
}

release_clients() {   # OUT
    : >"$1.release"
    local i
    for ((i = 0; i < 100; i++)); do
        kill -0 "$CLIENT_PID" 2>/dev/null || break
        sleep 0.1
    done
    stop_pids "$CLIENT_PID"
}

bench_spawn echo python3 "$TOOL" echo "$TMP/echo.port"
ECHO_PID=$SPAWNED
for ((i = 0; i < 100; i++)); do [[ -f "$TMP/echo.port" ]] && break; sleep 0.1; done
ECHO_PORT=$(<"$TMP/echo.port")

PATH_LIST=()
IFS=, read -r -a proto_list <<<"$PROTOCOLS"
for p in "${proto_list[@]}"; do
    [[ $p == v1 || $p == v2 ]] || bench_die "-p: '$p' is not v1 or v2"
    [[ $WANT_PATHS == *agg* ]] && PATH_LIST+=("agg-$p")
    [[ $WANT_PATHS == *dist* ]] && PATH_LIST+=("dist-$p")
done
[[ $WANT_PATHS == *ss* ]] && PATH_LIST+=(ss-libev)

ROWS=()
IFS=, read -r -a count_list <<<"$COUNTS"
for n in "${count_list[@]}"; do
    if ((n + 200 > HARD)); then
        ROWS+=("$(printf '%-10s %7s  not runnable here: each process needs about %d descriptors, the hard limit (ulimit -Hn) is %d' all "$n" $((n + 200)) "$HARD")")
        continue
    fi
    sources=$((n / 20000 + 1))
    for name in "${PATH_LIST[@]}"; do
        echo "$BENCH: $name, $n connections..." >&2
        start_path "$name"
        # shellcheck disable=SC2086
        {
            sleep 1
            run_clients 10 "$TMP/warm" 1
            release_clients "$TMP/warm"
            sleep 2
            before=$(rss_kb $PROXY_PIDS)
            run_clients "$n" "$TMP/held" "$sources"
            read -r ok failed secs <"$TMP/held"
            sleep 2
            held=$(rss_kb $PROXY_PIDS)
            release_clients "$TMP/held"
            sleep 5
            after=$(rss_kb $PROXY_PIDS)
        }
        per=$(awk -v h="$held" -v b="$before" -v n="$n" 'BEGIN { printf "%.1f", (h - b) / n }')
        ROWS+=("$(printf '%-10s %7d %7d %7d %8.1f %10d %10d %10d %10s' "$name" "$n" "$ok" "$failed" "$secs" "$before" "$held" "$after" "$per")")
        # shellcheck disable=SC2086
        stop_pids $PROXY_PIDS
    done
done

echo
echo "conns_bench: $(nproc) CPUs, $(uname -r), load $(cut -d' ' -f1-3 /proc/loadavg); mimicsocks $("$MIMICSOCKS" --version 2>/dev/null || echo '?'); workers ${WORKERS/#0/one per core}; mimic ${MIMIC:-default}"
printf '%-10s %7s %7s %7s %8s %10s %10s %10s %10s\n' path conns ok failed setup_s "RSS0 KiB" "held KiB" "after KiB" "KiB/conn"
for row in "${ROWS[@]}"; do echo "$row"; done
