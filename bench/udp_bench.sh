#!/usr/bin/env bash
# udp_bench — round-trip time of datagrams through a SOCKS5 UDP association, all on
# 127.0.0.1: a DNS query and its answer (test/e2e/tools_udp.py's responder), sent one at
# a time, straight to the responder ("direct"), through `mimicsocks socks` ("socks") and
# through an aggregated and a distributed wormhole whose far handler is socks ("agg",
# "dist", protocol v2). Each of RUNS rounds measures every path in turn (so that drift
# hits them alike) with QUERIES queries on one association and takes the median; the
# summary is the median over the rounds and the ratios socks/direct, agg/socks and
# dist/socks.
#
# Usage: bench/udp_bench.sh [-r RUNS] [-n QUERIES] [MIMICSOCKS]
#        (defaults: 5 runs, 2000 queries, build/mimicsocks)
# Not a test: nothing here fails on speed.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BENCH=udp_bench
# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"
QUERIES=2000
while getopts 'r:n:h' opt; do
    case $opt in
        r) RUNS=$OPTARG ;;
        n) QUERIES=$OPTARG ;;
        *) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
    esac
done
shift $((OPTIND - 1))
MIMICSOCKS=${1:-$ROOT/build/mimicsocks}
[[ -x "$MIMICSOCKS" ]] || { echo "udp_bench: no executable at $MIMICSOCKS (build first: make build)" >&2; exit 2; }
bench_require python3
TOOLS="$ROOT/test/e2e/tools_udp.py"

bench_init
bench_spawn dns python3 "$TOOLS" dns-server --port-file "$TMP/dns.port"
for ((i = 0; i < 100; i++)); do [[ -s "$TMP/dns.port" ]] && break; sleep 0.1; done
DNS=$(<"$TMP/dns.port")
read -r SOCKS AS AT DS DT <<<"$(bench_free_ports 5)"
bench_spawn socks "$MIMICSOCKS" socks --listen "127.0.0.1:$SOCKS" --log-level warn --allow 127.0.0.0/8
bench_wait_port "$SOCKS" "$SPAWNED" socks
KEY=$("$MIMICSOCKS" genkey)
cat >"$TMP/wormholes.yaml" <<EOF2
wormholes:
  - name: agg
    server: 127.0.0.1:$AS
    wormhole_remote: 127.0.0.1:$AT
    wormhole: aggregated
    handler: socks
    key: $KEY
    allow: [127.0.0.0/8]
  - name: dist
    server: 127.0.0.1:$DS
    wormhole_remote: 127.0.0.1:$DT
    wormhole: distributed
    handler: socks
    key: $KEY
    allow: [127.0.0.0/8]
EOF2
chmod 600 "$TMP/wormholes.yaml"
bench_spawn wormholes "$MIMICSOCKS" --config "$TMP/wormholes.yaml" --role both --log-level warn
bench_wait_port "$AS" "$SPAWNED" wormholes
bench_wait_port "$DS" "$SPAWNED" wormholes
sleep 0.5                       # the aggregated tunnel comes up

declare -A PORT=([direct]=0 [socks]=$SOCKS [agg]=$AS [dist]=$DS)
PATHS=(direct socks agg dist)
declare -A RES=()
for ((r = 1; r <= RUNS; r++)); do
    line="round $r:"
    for p in "${PATHS[@]}"; do
        us=$(python3 "$TOOLS" rtt "${PORT[$p]}" 127.0.0.1 "$DNS" --queries "$QUERIES") \
            || bench_die "$p: $us"
        RES[$p]+="$us "
        line+=" $p ${us} us"
    done
    echo "$line"
done
python3 - "${RES[direct]}" "${RES[socks]}" "${RES[agg]}" "${RES[dist]}" <<'EOF2'
import statistics, sys
names = ["direct", "socks", "agg", "dist"]
med = {n: statistics.median(float(x) for x in v.split()) for n, v in zip(names, sys.argv[1:])}
print("median round trip (us): " + ", ".join("%s %.1f" % (n, med[n]) for n in names))
print("ratios: socks/direct %.2f, agg/socks %.2f, dist/socks %.2f"
      % (med["socks"] / med["direct"], med["agg"] / med["socks"], med["dist"] / med["socks"]))
EOF2
