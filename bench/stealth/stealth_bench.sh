#!/usr/bin/env bash
# stealth_bench — can a traffic classifier tell mimicsocks (and shadowsocks-libev) from TLS?
#
# Two network namespaces joined by a veth pair (MTU 1500, TSO/GSO/GRO off, so that the
# captured packets have the sizes a real link would carry). The server side runs nginx
# (the origin on its loopback, and HTTPS with a self-signed certificate on the veth: the
# innocent class), ss-server (aes-256-gcm) and the remote end of every mimicsocks
# wormhole; the client side runs ss-local, the local ends and the clients. tcpdump on the
# client's veth records the wire: every packet's headers, and whole client-to-server
# packets (for the first payload packet's bytes).
#
# Classes (system/setting), each a SOCKS5 proxy to the origin except tls:
#   tls            HTTPS straight to nginx (TLS 1.3, OpenSSL)
#   ss-libev       ss-local -> ss-server, aes-256-gcm
#   agg-default    mimicsocks aggregated wormhole, protocol v2, the config's default mimic
#   agg-off        the same with mimic: off
#   agg-m1         mimic: {size: uniform, delay: exponential}
#   agg-m2         mimic: {size: gaussian, delay: constant}
#   dist-default   distributed wormhole, default mimic
#   dist-off       distributed wormhole, mimic: off
#   dist-early     distributed wormhole, default mimic, early_data: true (no wait for
#                  the server's flight with wire: tls)
# An aggregated local end is started for every flow (and stopped after it), so that each
# flow is one tunnel connection with its first flight; the other proxies make one
# connection per user connection anyway. Workloads (bench/stealth/flows.py, the same
# requests for every class): web (5-20 objects of 1-200 KiB with 50-500 ms think times,
# one keep-alive connection), bulk (one 2-10 MiB download), interactive (10-30 small
# request/response pairs 50-300 ms apart). Each class runs N flows of each workload;
# web and interactive run the classes in parallel (-p), bulk one flow at a time, for
# clean MB/s. bench/stealth/analyze.py then computes per-flow features, 5-fold
# cross-validated random-forest accuracy of each class against tls (all features; the
# first-packet features only), the share of first payload packets exempt under the GFW's
# fully-encrypted-traffic rules (Wu et al., USENIX Security 2023), and the bulk MB/s and
# interactive median latency of each mimic setting against mimic: off.
#
# Usage: bench/stealth/stealth_bench.sh [-n FLOWS] [-p PARALLEL] [-w WORKLOADS] [-T SECS]
#                                       [-o OUTDIR] [-c CLASSES] [-A] [MIMICSOCKS]
#   -n  flows per class and workload (default 40)
#   -p  classes run at once in the web and interactive workloads (default 4)
#   -w  comma list of workloads (default web,bulk,interactive)
#   -T  total time limit in seconds (default 5400); the bench stops and cleans up there
#   -o  where the table and the JSON go (default bench/stealth/results)
#   -c  comma list of the classes to run beside tls (default all; e.g. agg-default,ss-libev)
#   -A  do not append the dated section to docs/BENCHMARKS.md
# Needs root (namespaces), nginx, ss-server/ss-local, tcpdump, openssl, python3-sklearn;
# the missing packages are installed with apt-get. BENCH_KEEP=1 keeps the temp dir
# (logs, pcaps, flows.jsonl). Stops by itself; cleans up namespaces, processes (by PID)
# and temp files on exit, failure and Ctrl-C.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
HERE=$ROOT/bench/stealth
BENCH=stealth_bench
# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"
FLOWS=40
PARALLEL=4
WORKLOADS=web,bulk,interactive
TOTAL=5400
OUTDIR=$HERE/results
APPEND=1
ONLY=""
CMDLINE="bash bench/stealth/stealth_bench.sh $*"
while getopts 'n:p:w:T:o:c:Ah' opt; do
    case $opt in
        n) FLOWS=$OPTARG ;;
        p) PARALLEL=$OPTARG ;;
        w) WORKLOADS=$OPTARG ;;
        T) TOTAL=$OPTARG ;;
        o) OUTDIR=$OPTARG ;;
        c) ONLY=$OPTARG ;;
        A) APPEND=0 ;;
        *) sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; exit 2 ;;
    esac
done
shift $((OPTIND - 1))
MIMICSOCKS=$(realpath "${1:-$ROOT/build/mimicsocks}" 2>/dev/null || echo "${1:-$ROOT/build/mimicsocks}")
[[ -x "$MIMICSOCKS" ]] || { echo "$BENCH: no executable at $MIMICSOCKS (build first: make build)" >&2; exit 2; }
for n in "$FLOWS" "$PARALLEL" "$TOTAL"; do
    [[ "$n" =~ ^[1-9][0-9]*$ ]] || bench_die "-n, -p and -T take positive integers (got '$n')"
done
((FLOWS >= 5)) || bench_die "-n must be at least 5 (5-fold cross-validation)"
[[ $(id -u) == 0 ]] || bench_die "needs root (network namespaces, tcpdump)"

# --- tools ----------------------------------------------------------------------------
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
need=()
[[ -x "$NGINX" ]] || need+=(nginx-light)
command -v ss-server >/dev/null && command -v ss-local >/dev/null || need+=(shadowsocks-libev)
command -v tcpdump >/dev/null || need+=(tcpdump)
command -v openssl >/dev/null || need+=(openssl)
command -v ethtool >/dev/null || need+=(ethtool)
# The Debian python3 has python3-sklearn; a python3 earlier in PATH (pyenv, venv) may not.
PY=python3
python3 -c 'import sklearn' 2>/dev/null || { /usr/bin/python3 -c 'import sklearn' 2>/dev/null && PY=/usr/bin/python3; } \
    || need+=(python3-sklearn)
if ((${#need[@]})); then
    bench_install "${need[*]}" "${need[@]}"
    NGINX=$(command -v nginx || echo /usr/sbin/nginx)
    if [[ " ${need[*]} " == *" shadowsocks-libev "* ]] && command -v systemctl >/dev/null \
        && systemctl is-active --quiet shadowsocks-libev 2>/dev/null; then
        systemctl stop shadowsocks-libev || true
    fi
fi
bench_require ip tcpdump openssl python3 timeout "$NGINX" ss-server ss-local
"$PY" -c 'import sklearn' 2>/dev/null || { /usr/bin/python3 -c 'import sklearn' 2>/dev/null && PY=/usr/bin/python3; } \
    || bench_die "python3-sklearn is required (for $PY or /usr/bin/python3)"

# --- clean-up: processes by PID (lib.sh), then the namespaces --------------------------
T_START=$(date +%s)
NS_S=ms-stealth-s-$$
NS_C=ms-stealth-c-$$
VETH_S=vss$$
VETH_C=vsc$$
IP_S=10.213.0.2
IP_C=10.213.0.1
stealth_cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    bench_cleanup
    ip netns del "$NS_C" 2>/dev/null || true
    ip netns del "$NS_S" 2>/dev/null || true
    exit "$rc"
}
bench_init
trap stealth_cleanup EXIT
# The total time limit: a watchdog TERMs this shell, whose trap cleans up. Every
# foreground step is `run_bounded` (a timeout in the background and `wait`, which the
# trap interrupts at once).
# shellcheck disable=SC2016
( sp=""; trap '[[ -z $sp ]] || kill "$sp" 2>/dev/null; exit 0' TERM
  sleep "$TOTAL" & sp=$!; wait "$sp" || exit 0
  echo "$BENCH: total time limit of $TOTAL s reached, stopping" >&2; kill -TERM $$ ) &
PIDS+=($!)
run_bounded() {   # SECS COMMAND...
    local secs=$1 rc=0; shift
    timeout --kill-after=5 "$secs" "$@" &
    local pid=$!
    PIDS+=("$pid")
    wait "$pid" || rc=$?
    return "$rc"
}
ns_s() { ip netns exec "$NS_S" "$@"; }
ns_c() { ip netns exec "$NS_C" "$@"; }

# --- the link ------------------------------------------------------------------------
ip netns add "$NS_S"
ip netns add "$NS_C"
ip link add "$VETH_S" netns "$NS_S" type veth peer name "$VETH_C" netns "$NS_C"
for side in S C; do
    ns=NS_$side; dev=VETH_$side; addr=IP_$side
    ip -n "${!ns}" link set lo up
    ip -n "${!ns}" addr add "${!addr}/24" dev "${!dev}"
    ip -n "${!ns}" link set "${!dev}" mtu 1500 gso_max_size 1500 gro_max_size 1500 up 2>/dev/null \
        || ip -n "${!ns}" link set "${!dev}" mtu 1500 up
    if command -v ethtool >/dev/null; then
        ip netns exec "${!ns}" ethtool -K "${!dev}" tso off gso off gro off >/dev/null 2>&1 || true
    fi
done
OFFLOAD=$(ns_c ethtool -k "$VETH_C" 2>/dev/null | grep -E '^(tcp-segmentation-offload|generic-segmentation-offload|generic-receive-offload):' | tr '\n' ' ' || true)
echo "$BENCH: veth $VETH_C <-> $VETH_S, MTU 1500; ${OFFLOAD:-ethtool not available}" >&2

# --- files -----------------------------------------------------------------------------
chmod 755 "$TMP"
mkdir -p "$TMP/www" "$TMP/nginx" "$TMP/run"
python3 - "$TMP/www" "$TMP/run/manifest.json" <<'EOF'
import json, math, os, random, sys
www, out = sys.argv[1], sys.argv[2]
rng = random.Random(7)
man = {"web": [], "bulk": [], "inter": []}
def put(kind, name, size):
    os.makedirs(os.path.join(www, kind), exist_ok=True)
    with open(os.path.join(www, kind, name), "wb") as f:
        f.write(os.urandom(size))
    man[kind].append(["/%s/%s" % (kind, name), size])
for i in range(48):   # web objects: 1-200 KiB, log-uniform
    put("web", "o%d" % i, int(1024 * math.exp(rng.uniform(0, math.log(200)))))
for i in range(9):    # bulk: 2-10 MiB
    put("bulk", "b%d" % i, rng.randint(2 << 20, 10 << 20))
for i in range(48):   # interactive replies: 64-1024 bytes
    put("inter", "i%d" % i, rng.randint(64, 1024))
json.dump(man, open(out, "w"))
EOF
chmod -R a+rX "$TMP/www"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
    -subj /CN=www.example.com -keyout "$TMP/nginx/key.pem" -out "$TMP/nginx/cert.pem" 2>/dev/null
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
    keepalive_timeout 60;
    keepalive_requests 1000;
    default_type application/octet-stream;
    client_body_temp_path $TMP/nginx/body;
    proxy_temp_path $TMP/nginx/proxy;
    fastcgi_temp_path $TMP/nginx/fastcgi;
    server {
        listen 127.0.0.1:8080;
        root $TMP/www;
    }
    server {
        listen $IP_S:443 ssl;
        server_name www.example.com;
        # nginx before 1.23.4 offers only up to TLS 1.2 by default: the innocent class is
        # TLS 1.3, as today's servers and browsers speak it and as wire: tls looks.
        ssl_protocols TLSv1.2 TLSv1.3;
        ssl_certificate $TMP/nginx/cert.pem;
        ssl_certificate_key $TMP/nginx/key.pem;
        root $TMP/www;
    }
}
EOF

wait_port() {   # NS ADDR PORT PID NAME
    local i
    for ((i = 0; i < 100; i++)); do
        kill -0 "$4" 2>/dev/null || { echo "$BENCH: $5 exited at start:" >&2; tail -n 5 "$TMP/$5.log" >&2; exit 1; }
        # shellcheck disable=SC2016
        ip netns exec "$1" timeout 2 bash -c 'exec 3<>"/dev/tcp/$1/$2"' _ "$2" "$3" 2>/dev/null && return 0
        sleep 0.1
    done
    bench_die "$5 did not open $2:$3"
}

# --- servers (server namespace) and persistent client ends -------------------------------
bench_spawn nginx ip netns exec "$NS_S" "$NGINX" -c "$TMP/nginx/nginx.conf" -p "$TMP/nginx" -e "$TMP/nginx/error.log"
wait_port "$NS_S" 127.0.0.1 8080 "$SPAWNED" nginx
wait_port "$NS_S" "$IP_S" 443 "$SPAWNED" nginx
wait_port "$NS_C" "$IP_S" 443 "$SPAWNED" nginx   # across the veth

SS_PASSWORD=$(head -c 18 /dev/urandom | base64)
bench_spawn ss-server ip netns exec "$NS_S" ss-server -s "$IP_S" -p 8388 -k "$SS_PASSWORD" -m aes-256-gcm
wait_port "$NS_S" "$IP_S" 8388 "$SPAWNED" ss-server
bench_spawn ss-local ip netns exec "$NS_C" ss-local -s "$IP_S" -p 8388 -b 127.0.0.1 -l 1080 -k "$SS_PASSWORD" -m aes-256-gcm
wait_port "$NS_C" 127.0.0.1 1080 "$SPAWNED" ss-local

KEY=$("$MIMICSOCKS" genkey)
# name mode user-port tunnel-port mimic ("-" = the config default)[|extra config line]
WORMHOLES=(
    "agg-default aggregated 1101 9001 -"
    "agg-off aggregated 1102 9002 off"
    "agg-m1 aggregated 1103 9003 {size: uniform, delay: exponential}"
    "agg-m2 aggregated 1104 9004 {size: gaussian, delay: constant}"
    "dist-default distributed 1105 9005 -"
    "dist-off distributed 1106 9006 off"
    "dist-early distributed 1107 9007 -|early_data: true"
)
CLASSES="[{\"name\": \"tls\", \"kind\": \"tls\", \"addr\": [\"$IP_S\", 443], \"wire_port\": 443, \"client_ip\": \"$IP_C\"}"
[[ -n "$ONLY" && ",$ONLY," != *",ss-libev,"* ]] || CLASSES+=",{\"name\": \"ss-libev\", \"kind\": \"socks\", \"addr\": [\"127.0.0.1\", 1080], \"target\": [\"127.0.0.1\", 8080], \"wire_port\": 8388, \"client_ip\": \"$IP_C\"}"
MIMIC_SETTINGS=""
for w in "${WORMHOLES[@]}"; do
    read -r name mode uport tport mimic <<<"$w"
    [[ -z "$ONLY" || ",$ONLY," == *",$name,"* ]] || continue
    extra=""
    [[ "$mimic" != *"|"* ]] || { extra=${mimic#*|}; mimic=${mimic%%|*}; }
    cfg=$TMP/$name.yaml
    (umask 077; cat >"$cfg" <<EOF
log_level: info
wormholes:
  - name: $name
    server: 127.0.0.1:$uport
    wormhole_remote: $IP_S:$tport
    wormhole: $mode
    handler: socks
    allow: [127.0.0.0/8]
    key: $KEY
    handover_interval: 0
EOF
    [[ "$mimic" == - ]] || echo "    mimic: $mimic" >>"$cfg"
    [[ -z "$extra" ]] || echo "    $extra" >>"$cfg")
    "$MIMICSOCKS" check-config "$cfg" >/dev/null || bench_die "mimicsocks rejects its config $cfg"
    MIMIC_SETTINGS+="$name: ${mimic/#-/(default)}${extra:+, $extra}; "
    bench_spawn "$name-remote" ip netns exec "$NS_S" "$MIMICSOCKS" --config "$cfg" --role remote --drain-seconds 0
    wait_port "$NS_S" "$IP_S" "$tport" "$SPAWNED" "$name-remote"
    entry="{\"name\": \"$name\", \"kind\": \"socks\", \"addr\": [\"127.0.0.1\", $uport], \"target\": [\"127.0.0.1\", 8080], \"wire_port\": $tport, \"client_ip\": \"$IP_C\""
    if [[ $mode == aggregated ]]; then
        entry+=", \"restart\": [\"$MIMICSOCKS\", \"--config\", \"$cfg\", \"--role\", \"local\", \"--drain-seconds\", \"0\"]"
    else
        bench_spawn "$name-local" ip netns exec "$NS_C" "$MIMICSOCKS" --config "$cfg" --role local --drain-seconds 0
        wait_port "$NS_C" 127.0.0.1 "$uport" "$SPAWNED" "$name-local"
    fi
    CLASSES+=",$entry}"
done
CLASSES+="]"
for c in ${ONLY//,/ }; do
    [[ "$CLASSES" == *"\"name\": \"$c\""* ]] || bench_die "-c: no class named '$c'"
done
echo "$CLASSES" >"$TMP/run/classes.json"
NCLASSES=$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))))' "$TMP/run/classes.json")

# --- a check: one request of each workload through every class (not captured) ------------
echo "$BENCH: checking every class..." >&2
run_bounded 300 ip netns exec "$NS_C" "$PY" "$HERE/flows.py" --classes "$TMP/run/classes.json" \
    --manifest "$TMP/run/manifest.json" --workload bulk -n 1 --parallel 1 --gap 0 --out "$TMP/check.jsonl" \
    || bench_die "the check run failed"
python3 - "$TMP/check.jsonl" "$NCLASSES" <<'EOF' || bench_die "a class does not work (see above)"
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
bad = [r for r in recs if not r["ok"]]
for r in bad:
    print("stealth_bench: %s: %s" % (r["cls"], r["err"]), file=sys.stderr)
sys.exit(1 if bad or len(recs) != int(sys.argv[2]) else 0)
EOF

# --- the workloads, captured ------------------------------------------------------------
start_capture() {   # WORKLOAD
    bench_spawn "tcpdump-$1-hdr" ip netns exec "$NS_C" tcpdump -i "$VETH_C" -n -s 96 -B 32768 -Z root \
        -w "$TMP/run/$1.hdr.pcap" tcp
    CAP_HDR=$SPAWNED
    bench_spawn "tcpdump-$1-c2s" ip netns exec "$NS_C" tcpdump -i "$VETH_C" -n -s 2000 -B 8192 -Z root \
        -w "$TMP/run/$1.c2s.pcap" "tcp and src host $IP_C"
    CAP_C2S=$SPAWNED
    local i
    for ((i = 0; i < 100; i++)); do
        grep -q 'listening on' "$TMP/tcpdump-$1-hdr.log" && grep -q 'listening on' "$TMP/tcpdump-$1-c2s.log" && return 0
        sleep 0.1
    done
    bench_die "tcpdump did not start: $(tail -n 2 "$TMP/tcpdump-$1-hdr.log")"
}
stop_capture() {   # WORKLOAD
    local pid i
    sleep 0.5
    for pid in "$CAP_HDR" "$CAP_C2S"; do kill -TERM "$pid" 2>/dev/null || true; done
    for ((i = 0; i < 50; i++)); do
        kill -0 "$CAP_HDR" 2>/dev/null || kill -0 "$CAP_C2S" 2>/dev/null || break
        sleep 0.1
    done
    grep -h 'dropped by kernel' "$TMP/tcpdump-$1-hdr.log" "$TMP/tcpdump-$1-c2s.log" \
        | sed "s/^/$BENCH: $1: /" | tee -a "$TMP/run/drops.txt" >&2 || true
}

IFS=, read -r -a WL <<<"$WORKLOADS"
for w in "${WL[@]}"; do
    case $w in
        web) per=15; par=$PARALLEL ;;
        interactive) per=12; par=$PARALLEL ;;
        bulk) per=6; par=1 ;;
        *) bench_die "-w: unknown workload '$w'" ;;
    esac
    bound=$((60 + FLOWS * per * ((NCLASSES + par - 1) / par)))
    echo "$BENCH: $w: $FLOWS flows x $NCLASSES classes, $par at once (limit $bound s)..." >&2
    start_capture "$w"
    run_bounded "$bound" ip netns exec "$NS_C" "$PY" "$HERE/flows.py" --classes "$TMP/run/classes.json" \
        --manifest "$TMP/run/manifest.json" --workload "$w" -n "$FLOWS" --parallel "$par" \
        --out "$TMP/run/flows.jsonl" || echo "$BENCH: $w: the flow runner stopped with an error" >&2
    stop_capture "$w"
done

# --- analysis and report ----------------------------------------------------------------
mkdir -p "$OUTDIR"
STAMP=$(date -u +%Y%m%d-%H%M%S)
TABLE=$OUTDIR/stealth-$STAMP.txt
JSON=$OUTDIR/stealth-$STAMP.json
echo "$BENCH: analysing..." >&2
run_bounded 1200 "$PY" "$HERE/analyze.py" "$TMP/run" --workloads "$WORKLOADS" --table "$TMP/table.txt" --json "$JSON"
RUNTIME=$(( $(date +%s) - T_START ))
{
    echo "stealth_bench $(date -u '+%Y-%m-%d %H:%M UTC'): $FLOWS flows per class and workload, runtime ${RUNTIME} s"
    echo "command: $CMDLINE"
    echo "mimicsocks: $MIMICSOCKS ($("$MIMICSOCKS" --version 2>/dev/null | head -n 1), commit $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?'))"
    echo "settings: ${MIMIC_SETTINGS% }"
    echo "machine: $(nproc) CPUs, Linux $(uname -r), load $(cut -d' ' -f1-3 /proc/loadavg); link: veth MTU 1500, ${OFFLOAD:-offloads unknown}"
    [[ ! -s "$TMP/run/drops.txt" ]] || { echo "tcpdump:"; sed 's/^/  /' "$TMP/run/drops.txt"; }
    echo
    cat "$TMP/table.txt"
} >"$TABLE"
echo
cat "$TABLE"
echo
echo "$BENCH: table in $TABLE, details in $JSON" >&2

if ((APPEND)); then
    {
        echo
        echo "### stealth_bench ($(date -u +%Y-%m-%d))"
        echo
        echo "\`$CMDLINE\` (N = $FLOWS flows per class and workload, runtime $RUNTIME s;"
        echo "mimicsocks commit $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')). RF = 5-fold CV accuracy of a"
        echo "random forest telling the system's flows from TLS's (50 % = cannot tell); exempt = the share"
        echo "of first payload packets that at least one GFW exemption rule (Ex1-Ex5) lets through, i.e."
        echo "NOT blocked. MB/s: bulk, median; latency: interactive, median; x off: against mimic off."
        echo
        echo '```'
        cat "$TABLE"
        echo '```'
    } >>"$ROOT/docs/BENCHMARKS.md"
    echo "$BENCH: appended the figures to docs/BENCHMARKS.md" >&2
fi
