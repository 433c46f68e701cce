#!/usr/bin/env bash
# rtt_bench — what wire: tls's wait for the server's flight costs: the time of a whole
# request (curl time_total, median of N) through a fresh distributed-wormhole tunnel
# connection with wire: tls (waits one round trip, as TLS does), early_data: true and
# wire: raw, mimic off, in a private network namespace, the tunnel through
# bench/stealth/delay_relay.py delaying each direction 5 ms (a 10 ms round trip; tc
# netem is not needed); and wire: tls with preconnect: false (cold: the user's tunnel
# connection is dialed when the user comes, not ahead of it; the others have it dialed
# ahead, but for the first request each worker serves). Needs root (ip netns).
# Usage: rtt_bench.sh MIMICSOCKS [N]
set -eu
BIN=$(realpath "$1"); N=${2:-15}
HERE=$(cd "$(dirname "$0")" && pwd)
WORK=$(mktemp -d /tmp/rtt_bench.XXXXXX)
cd "$WORK"
NS=st-lat-$$
ip netns add $NS
cleanup() {
    for p in $(cat pids 2>/dev/null); do kill "$p" 2>/dev/null || true; done
    ip netns del "$NS" 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT
: > pids
ip netns exec $NS ip link set lo up
K=$($BIN genkey)
mk() { cat > $1.yaml <<EOF2
wormholes:
  - name: $1
    server: 127.0.0.1:$2
    wormhole_remote: 127.0.0.1:$3
    wormhole: distributed
    handler: socks
    allow: [127.0.0.0/8]
    key: $K
    mimic: off
$4
EOF2
sed "s/127.0.0.1:$3\$/127.0.0.1:$(($3 + 100))/" $1.yaml > $1-local.yaml
chmod 600 $1.yaml $1-local.yaml
ip netns exec $NS $BIN --config $1.yaml --role remote 2>$1-r.log & echo $! >> pids
ip netns exec $NS $BIN --config $1-local.yaml --role local 2>$1-l.log & echo $! >> pids
ip netns exec $NS python3 "$HERE/delay_relay.py" $(($3 + 100)) $3 5 & echo $! >> pids   # 5 ms each way
}
mk wait 7001 7002 "    wire: tls"
mk early 7011 7012 "    early_data: true"
mk raw 7021 7022 "    wire: raw"
mk cold 7031 7032 "    preconnect: false"
echo hello > index.html
ip netns exec $NS python3 -m http.server 7100 --bind 127.0.0.1 >/dev/null 2>&1 & echo $! >> pids
sleep 2
echo "rtt_bench: $("$BIN" --version | head -n 1), 10 ms tunnel round trip, $N requests each"
for name in wait:7001 early:7011 raw:7021 cold:7031; do
  port=${name#*:}
  ts=()
  for i in $(seq $N); do
    t=$(ip netns exec $NS curl -sf -o /dev/null --max-time 5 -w '%{time_total}' --socks5 127.0.0.1:$port http://127.0.0.1:7100/index.html)
    ts+=($t)
  done
  printf '%s\n' "${ts[@]}" | sort -n | awk -v n=${name%%:*} '{a[NR]=$1} END {printf "%-6s median %.1f ms  (min %.1f, max %.1f, %d runs)\n", n, a[int((NR+1)/2)]*1000, a[1]*1000, a[NR]*1000, NR}'
done
