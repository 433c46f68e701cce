#!/usr/bin/env bash
# mimic_bench — what the mimic node's models (docs/PROTOCOL.md section 7) and a baton
# handover every second (section 5) cost in throughput, against `mimic: off`.
#
# One mimicsocks process (--role both) runs one aggregated socks wormhole per variant,
# all on 127.0.0.1; nginx serves a large file (256 MiB) and a 1 KiB file. Variants:
#   off                 mimic: off, no handovers: the baseline
#   identity            mimic: {size: identity, delay: identity} (the node, reshaping nothing)
#   size-constant, size-uniform, size-gaussian
#                       mimic: {size: S, delay: identity}
#   delay-constant, delay-uniform, delay-gaussian, delay-exponential
#                       mimic: {size: identity, delay: D}
#   random              mimic: random (a random model at the remote end, which sends
#                       the downloads)
#   off-ho1s            mimic: off, handover_interval: 1, two extra ports
#   random-ho1s         mimic: random, handover_interval: 1 (a new model each second)
# Every other variant has handover_interval: 0. Before timing, every variant must deliver
# both files intact (sha256). Then, in each of RUNS rounds, curl downloads the large file
# through every variant in turn (--socks5-hostname; MB/s = 10^6 bytes/s; the process's
# CPU time is recorded meanwhile), then makes REQUESTS sequential 1 KiB requests through
# every variant. Prints per variant the median MB/s, its range, the median over the rounds
# of its speed divided by off's speed in the same round, the median latency of the small
# requests, and CPU seconds per 10^9 bytes. Not a test: nothing here fails on speed.
#
# Usage: bench/mimic_bench.sh [-r RUNS] [-n REQUESTS] [-s SIZE_MIB] [-w WORKERS]
#                             [-v "VARIANT..."] [MIMICSOCKS]
#        (defaults: 5 runs, 20 requests, 256 MiB, workers: one per core, every variant,
#        build/mimicsocks); `off` is always measured, as the baseline.
# Needs nginx (nginx-light); if it is missing it says so and runs
# `apt-get install -y nginx-light`. BENCH_KEEP=1 keeps the temp dir with the logs.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BENCH=mimic_bench
SIZE_MIB=${SIZE_MIB:-256}
REQUESTS=${REQUESTS:-20}
# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"
ALL_VARIANTS="off identity size-constant size-uniform size-gaussian delay-constant delay-uniform"
ALL_VARIANTS+=" delay-gaussian delay-exponential random off-ho1s random-ho1s"
WORKERS=0
VARIANTS=$ALL_VARIANTS
while getopts 'r:n:s:w:v:h' opt; do
    case $opt in
        r) RUNS=$OPTARG ;;
        n) REQUESTS=$OPTARG ;;
        s) SIZE_MIB=$OPTARG ;;
        w) WORKERS=$OPTARG ;;
        v) VARIANTS=$OPTARG ;;
        *) sed -n '2,32p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
    esac
done
shift $((OPTIND - 1))
MIMICSOCKS=${1:-$ROOT/build/mimicsocks}
[[ -x "$MIMICSOCKS" ]] || { echo "$BENCH: no executable at $MIMICSOCKS (build first: make build)" >&2; exit 2; }
for n in "$RUNS" "$SIZE_MIB" "$REQUESTS"; do
    [[ "$n" =~ ^[1-9][0-9]*$ ]] || bench_die "-r, -s and -n take positive integers (got '$n')"
done
[[ "$WORKERS" =~ ^[0-9]+$ ]] || bench_die "-w takes a number (got '$WORKERS')"
# A hung tunnel must fail the bench, not stall it for minutes per request.
SMALL_MAX_TIME=30

# The variants, `off` first; each must be known.
PATHS=(off)
for v in $VARIANTS; do
    [[ " $ALL_VARIANTS " == *" $v "* ]] || bench_die "unknown variant '$v' (known: $ALL_VARIANTS)"
    [[ $v == off || " ${PATHS[*]} " == *" $v "* ]] || PATHS+=("$v")
done

# mimic_of VARIANT: its `mimic:` value; interval_of VARIANT: its handover_interval.
mimic_of() {
    case $1 in
        off|off-ho1s)       echo off ;;
        random|random-ho1s) echo random ;;
        identity)           echo "{size: identity, delay: identity}" ;;
        size-*)             echo "{size: ${1#size-}, delay: identity}" ;;
        delay-*)            echo "{size: identity, delay: ${1#delay-}}" ;;
    esac
}
interval_of() { [[ $1 == *-ho1s ]] && echo 1 || echo 0; }

# --- tools ----------------------------------------------------------------------------
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
if [[ ! -x "$NGINX" ]]; then
    bench_install "nginx is" nginx-light
    NGINX=$(command -v nginx || echo /usr/sbin/nginx)
fi
bench_require curl python3 sha256sum "$NGINX"

# --- processes ---------------------------------------------------------------------------
bench_init
bench_serve "$NGINX"

# One config, one wormhole per variant, with a fresh key, readable by us only. Each
# variant gets 4 ports: users, tunnel, and two extra ports (used by the *-ho1s ones).
KEY=$("$MIMICSOCKS" genkey)
CONF="$TMP/mimic.yaml"
declare -A USER_PORT=()
read -r -a ports <<<"$(bench_free_ports $((4 * ${#PATHS[@]})))"
saved_umask=$(umask)
umask 077
{
    printf 'log_level: info\nworkers: %s\nwormholes:\n' "$WORKERS"
    i=0
    for p in "${PATHS[@]}"; do
        USER_PORT[$p]=${ports[i]}
        printf '  - name: %s\n    server: 127.0.0.1:%s\n    wormhole_remote: 127.0.0.1:%s\n' \
            "$p" "${ports[i]}" "${ports[i + 1]}"
        printf '    wormhole: aggregated\n    handler: socks\n    key: %s\n' "$KEY"
        printf '    allow: [127.0.0.0/8]\n'       # the origin is on loopback, denied by default
        printf '    mimic: %s\n    handover_interval: %s\n' "$(mimic_of "$p")" "$(interval_of "$p")"
        [[ $(interval_of "$p") == 0 ]] || printf '    extra_ports: [%s, %s]\n' "${ports[i + 2]}" "${ports[i + 3]}"
        i=$((i + 4))
    done
} >"$CONF"
umask "$saved_umask"
"$MIMICSOCKS" check-config "$CONF" >"$TMP/check-config.txt" 2>&1 \
    || { tail -n 5 "$TMP/check-config.txt" >&2; bench_die "mimicsocks rejects its config $CONF"; }

bench_spawn mimicsocks "$MIMICSOCKS" --config "$CONF" --role both
MS_PID=$SPAWNED
for p in "${PATHS[@]}"; do
    bench_wait_port "${USER_PORT[$p]}" "$MS_PID" mimicsocks
done
# The aggregated local ends accept users before their tunnels are up: wait for them all.
for ((i = 0; i < 150; i++)); do
    (($(grep -c 'tunnel up' "$TMP/mimicsocks.log" || true) >= ${#PATHS[@]})) && break
    kill -0 "$MS_PID" 2>/dev/null || { tail -n 5 "$TMP/mimicsocks.log" >&2; bench_die "mimicsocks exited"; }
    sleep 0.1
done
(($(grep -c 'tunnel up' "$TMP/mimicsocks.log" || true) >= ${#PATHS[@]})) \
    || { tail -n 5 "$TMP/mimicsocks.log" >&2; bench_die "not every tunnel logged 'tunnel up' within 15 s"; }

for p in "${PATHS[@]}"; do
    VIA[$p]="--socks5-hostname 127.0.0.1:${USER_PORT[$p]}"
    CPU_PIDS[$p]=$MS_PID
done

# handovers_of VARIANT: 'handover done' lines naming it so far, the dialing end's only
# (the accepting end's say `accepted`).
handovers_of() {
    local n
    n=$(grep -F 'handover done' "$TMP/mimicsocks.log" | grep -vw accepted | grep -cE "(^|[^A-Za-z0-9_.-])$1([^A-Za-z0-9_.-]|\$)") || true
    echo "${n:-0}"
}

bench_check full
# RUNS rounds; in each, the large download through every variant, the order rotated by
# one each round so that no variant always comes first (or right after another), then
# REQUESTS small requests through every variant.
echo "$BENCH: $RUNS runs; ${SIZE_MIB} MiB download and $REQUESTS x 1 KiB requests per variant and run" >&2
HZ=$(getconf CLK_TCK)
N=${#PATHS[@]}
for ((run = 1; run <= RUNS; run++)); do
    for ((k = 0; k < N; k++)); do
        p=${PATHS[(k + run - 1) % N]}
        cpu0=$(s_cpu_ticks "$MS_PID")
        ho0=$(handovers_of "$p")
        # shellcheck disable=SC2086
        read -r speed size < <(bcurl ${VIA[$p]} -o /dev/null -w '%{speed_download} %{size_download}\n' "$BIG_URL")
        [[ "$size" == "$BIG_SIZE" ]] || bench_die "$p delivered $size of $BIG_SIZE bytes"
        cpu1=$(s_cpu_ticks "$MS_PID")
        echo "$speed" >>"$TMP/speed.$p"
        echo $(($(handovers_of "$p") - ho0)) >>"$TMP/ho.$p"
        awk -v t=$((cpu1 - cpu0)) -v hz="$HZ" -v s="$speed" -v n="$size" \
            'BEGIN { printf "%.1f\n", 100 * (t / hz) / (n / s) }' >>"$TMP/cpu.$p"
    done
    bench_small_requests "$run"
done
kill -0 "$MS_PID" 2>/dev/null || bench_die "mimicsocks died during the bench"
HO_FAILED=$(grep -cE 'handover (failed|stalled)' "$TMP/mimicsocks.log" || true)

# --- summary ---------------------------------------------------------------------------
python3 - "$TMP" "$RUNS" "$REQUESTS" "$SIZE_MIB" "${PATHS[*]}" "$HO_FAILED" <<'EOF'
import statistics, sys
tmp, runs, requests, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
paths, ho_failed = sys.argv[5].split(), int(sys.argv[6])
def values(kind, p):
    with open("%s/%s.%s" % (tmp, kind, p)) as f:
        return [float(line) for line in f if line.strip()]
speed = {p: values("speed", p) for p in paths}
lat = {p: values("latency", p) for p in paths}
cpu = {p: values("cpu", p) for p in paths}
ho = {p: values("ho", p) for p in paths}
base = speed["off"]
print()
print("%d runs: a %s MiB download through each variant in turn (MB/s = 10^6 bytes/s), then "
      "%d x 1 KiB requests through each (time_total, a new connection each)" % (runs, size, requests))
print()
w = max(12, max(len(p) for p in paths))
print("%-*s %8s %13s %20s %14s %9s %13s" % (w, "variant", "MB/s", "MB/s min..max", "x off (min..max)",
                                           "latency median", "CPU s/GB", "handovers"))
for p in paths:
    ratios = [a / b for a, b in zip(speed[p], base)]
    cpu_gb = statistics.median(c / 100 / (s / 1e9) for c, s in zip(cpu[p], speed[p]))
    print("%-*s %8.1f %13s %20s %11.3f ms %9.2f %13s" % (
        w, p, statistics.median(speed[p]) / 1e6,
        "%.0f..%.0f" % (min(speed[p]) / 1e6, max(speed[p]) / 1e6),
        "x%.2f (%.2f..%.2f)" % (statistics.median(ratios), min(ratios), max(ratios)),
        statistics.median(lat[p]) * 1000, cpu_gb,
        "%d in %.1f s" % (sum(ho[p]), sum(int(size) * 1048576 / s for s in speed[p]))))
print()
print("x off: the variant's speed divided by off's in the same round; median (and range) over")
print("the rounds. CPU s/GB: user+system CPU time of the mimicsocks process (both ends, all")
print("threads) during the download, per 10^9 bytes moved; median over the rounds. handovers:")
print("'handover done' lines naming the variant during its timed downloads, and their total")
print("time (a handover a second only shows if the downloads last seconds: raise -s).")
if ho_failed:
    print()
    print("WARNING: %d handovers failed or stalled (see the log with BENCH_KEEP=1)" % ho_failed)
EOF
