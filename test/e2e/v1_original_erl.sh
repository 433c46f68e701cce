#!/usr/bin/env bash
# e2e_v1_original_erl — our remote end against the real original Erlang mimicsocks'
# local end (github foldl/mimicsocks), when it is at hand: MIMICSOCKS_ORIGINAL names
# its source tree (src/, include/; compiled here with erlc, once as it is and once with
# -Ddebug, whose local end hands over every 5 s), and erl/erlc are installed (Debian
# erlang-base erlang-crypto erlang-dev). Otherwise it is skipped: nothing fetches it.
#   (a) distributed: slow users (400 kB/s) through the original local end; it reads its
#       tunnel at once and drops what its user has not taken when the tunnel closes,
#       so our FIN must wait for them (issue 13: the tails were lost); a body with
#       Content-Length and one that ends by its close;
#   (b) distributed, the original handing over every 5 s during fast downloads: it
#       dies (remote_down in ho_sending_complete) when the old connection closes
#       before its own HO_COMPLETE_L2R has come back through its process pipeline
#       (mimicsocks_wormhole_local.erl:145-156, 199-200): our end closes the old
#       connection of an unmarked dialer only a while after the switch; every
#       download intact and no crash of the original;
#   (c) aggregated, the original idle across its handover (a tunnel not yet proven,
#       which our end keeps silent but hands over), then users one after another across
#       more: the same race (the original's tunnel process died and it redialed), and
#       nothing the original writes to the old connection after its HO_COMPLETE_L2R
#       may be lost (a lost byte puts the cipher streams out of step).
# Usage: v1_original_erl.sh PATH/TO/mimicsocks   (V1_ERL_PARTS=abc: the parts to run)
source "$(dirname "$0")/lib.sh"
e2e_init "$@"

ORIG=${MIMICSOCKS_ORIGINAL:-}
if ! command -v erl >/dev/null || ! command -v erlc >/dev/null; then
    skip "no erl/erlc (Debian erlang-base erlang-crypto erlang-dev)"
    exit 0
fi
if [[ -z $ORIG || ! -f $ORIG/src/mimicsocks_wormhole_local.erl ]]; then
    skip "MIMICSOCKS_ORIGINAL does not name the original's source tree (foldl/mimicsocks)"
    exit 0
fi

# build_orig DIR [ERLC_OPTS]: DIR/mimicsocks/{ebin,priv} (priv_dir is found from ebin).
build_orig() {
    mkdir -p "$1/mimicsocks/ebin" "$1/mimicsocks/priv"
    erlc -o "$1/mimicsocks/ebin" -I "$ORIG/include" "${@:2}" "$ORIG"/src/*.erl \
        >"$E2E_TMP/erlc.log" 2>&1 || fail "erlc of the original failed: $(tail -n 3 "$E2E_TMP/erlc.log")"
}
build_orig "$E2E_TMP/orig"
build_orig "$E2E_TMP/origdbg" -Ddebug

KEY=$(wh_key)
KEYERL="<<$(for ((i = 0; i < 64; i += 2)); do printf '%d,' "0x${KEY:i:2}"; done)"
KEYERL="${KEYERL%,}>>"

# start_orig NAME DIR S T X MODE: the original's local end; sets ORIG_PID.
start_orig() {
    cat >"$2/mimicsocks/priv/$1.cfg" <<EOF2
{w1, [
    {server, {{127,0,0,1}, $3}},
    {wormhole_remote, {{127,0,0,1}, $4}},
    {wormhole, $6},
    {handler, socks5},
    {wormhole_extra_ports, [$5]},
    {key, $KEYERL}
]}.
EOF2
    bg "$1" erl -noshell -pa "$2/mimicsocks/ebin" -eval "application:ensure_all_started(crypto), {ok,_}=mimicsocks_sup:start_link($1, local), receive after infinity -> ok end."
    ORIG_PID=$BG_PID
    orig_listening "$3" "$ORIG_PID" || fail "the original local end did not listen: $(tail -n 5 "$E2E_TMP/$1.out")"
}

# orig_listening PORT PID: until something listens on 127.0.0.1:PORT (PID alive).
orig_listening() {
    local i
    for ((i = 0; i < 100; i++)); do
        ss -ltnH "sport = :$1" | grep -q . && return 0
        kill -0 "$2" 2>/dev/null || return 1
        sleep 0.1
    done
    return 1
}

# remote_yaml FILE S T X MODE EXTRA: our remote end.
remote_yaml() {
    cat >"$1" <<EOF2
wormholes:
  - name: w1
    server: 127.0.0.1:$2
    wormhole_remote: 127.0.0.1:$3
    wormhole: $5
    handler: socks
    $E2E_ALLOW_YAML
    extra_ports: [$4]
    key: $KEY
    protocol: v1
$6
EOF2
}

# crashes NAME: the original's state machines that stopped abnormally.
crashes() { grep -ac 'Reason for termination' "$E2E_TMP/$1.out" || true; }

serve_random f=1000000
PARTS=${V1_ERL_PARTS:-abc}

if [[ $PARTS == *a* ]]; then
# --- (a) slow users through the original local end ------------------------------------------
read -r S T X <<<"$(free_ports 3)"
remote_yaml "$E2E_TMP/ra.yaml" "$S" "$T" "$X" distributed ""
start_config ra "$E2E_TMP/ra.yaml" "$T $X" --role remote --log-level debug \
    || fail "(a) our remote end did not start"
RA=$CFG_PID
start_orig oa "$E2E_TMP/orig" "$S" "$T" "$X" distributed
OA=$ORIG_PID
NOCLEN_SHA=$(pattern_sha 1000000)
pids=()
for i in 0 1 2; do
    bg "slow$i" "$PYTHON" "$E2E_DIR/tools.py" slow-socks-get "$S" 127.0.0.1 "$H" /file/f \
        --sha "$F_SHA" --rate 4e5
    pids+=("$BG_PID")
done
bg slownc "$PYTHON" "$E2E_DIR/tools.py" slow-socks-get "$S" 127.0.0.1 "$H" /noclen/1000000 \
    --sha "$NOCLEN_SHA" --rate 4e5
pids+=("$BG_PID")
bad=0
for p in "${pids[@]}"; do wait_pid "$p" 70; ((WAIT_RC == 0)) || bad=$((bad + 1)); done
for n in slow0 slow1 slow2 slownc; do
    log "(a) $n: $(cat "$E2E_TMP/$n.out" "$E2E_TMP/$n.log" 2>/dev/null | tail -n 1)"
done
((bad == 0)) || fail "(a) $bad of 4 slow users through the original local end did not get the whole body"
ok "(a) 4 slow users (400 kB/s) through the original local end got whole bodies"
stop_pid "$OA"
stop_mimicsocks "$RA" ra

fi

if [[ $PARTS == *b* ]]; then
# --- (b) the original's handovers during fast downloads -------------------------------------
read -r S T X <<<"$(free_ports 3)"
remote_yaml "$E2E_TMP/rb.yaml" "$S" "$T" "$X" distributed ""
start_config rb "$E2E_TMP/rb.yaml" "$T $X" --role remote --log-level debug \
    || fail "(b) our remote end did not start"
RB=$CFG_PID
start_orig ob "$E2E_TMP/origdbg" "$S" "$T" "$X" distributed
OB=$ORIG_PID
# 24 MB each with Content-Length, in 120 bursts 100 ms apart: ~12 s, two handovers.
SLOW_SHA=$(pattern_sha 24000000)
parallel_fetch 3 "(b) fast downloads across the original's handovers" "$SLOW_SHA" 60 \
    --socks5 "127.0.0.1:$S" "http://127.0.0.1:$H/slow/24000000?parts=120&ms=100"
done_n=$(grep -ac 'ho complete' "$E2E_TMP/ob.out" || true)
n=$(crashes ob)
log "(b) the original: $(grep -ac 'ho_initiated' "$E2E_TMP/ob.out" || true) handovers begun, $done_n complete, $n crashed"
((n == 0)) || fail "(b) the original's handover crashed $n times: $(grep -a -m1 -A3 'When server state' "$E2E_TMP/ob.out" | tr -s ' \n' ' ')"
((done_n >= 3)) || fail "(b) only $done_n of the original's handovers completed"
ok "(b) $done_n handovers by the original during fast downloads, none crashed"
stop_pid "$OB"
stop_mimicsocks "$RB" rb

fi

if [[ $PARTS == *c* ]]; then
# --- (c) an idle, unproven aggregated tunnel across its handover, then users across more ---
read -r S T X <<<"$(free_ports 3)"
remote_yaml "$E2E_TMP/rc.yaml" "$S" "$T" "$X" aggregated "    probe_close_delay: [8, 9]"
start_config rc "$E2E_TMP/rc.yaml" "$T $X" --role remote --log-level debug \
    || fail "(c) our remote end did not start"
RC=$CFG_PID
start_orig oc "$E2E_TMP/origdbg" "$S" "$T" "$X" aggregated
OC=$ORIG_PID
sleep 6.5   # its handover at 5 s, on a tunnel still unproven (the probe deadline at 8-9 s)
kill -0 "$OC" 2>/dev/null || fail "(c) the original local end died"
orig_news() {
    printf '%s handovers begun, %s complete, %s crashed' "$(grep -ac 'ho_initiated' "$E2E_TMP/oc.out" || true)" \
        "$(grep -ac 'ho complete' "$E2E_TMP/oc.out" || true)" "$(crashes oc)"
}
log "(c) idle: the original: $(orig_news)"
t0=$(now_ms)
FETCH_MAX=30 fetch_check "(c) a download after the idle time" "$F_SHA" "$F_SIZE" \
    --socks5 "127.0.0.1:$S" "http://127.0.0.1:$H/file/f"
log "(c) it took $(($(now_ms) - t0)) ms; the original: $(orig_news)"
# Users one after the other for 13 s: their requests cross the original's handovers (and
# the time it writes to the old connection after its HO_COMPLETE_L2R).
end=$(($(date +%s) + 13)) n=0 bad=0
while (($(date +%s) < end && n < 200)); do
    got=$(ecurl 20 -o - --socks5 "127.0.0.1:$S" "http://127.0.0.1:$H/file/f" 2>"$E2E_TMP/curl.err" | sha_stdin) || true
    [[ $got == "$F_SHA" ]] || { bad=$((bad + 1)); log "(c) download $n: $(head -c 200 "$E2E_TMP/curl.err")"; }
    n=$((n + 1))
    sleep 0.2
done
log "(c) $n downloads, $bad not intact; the original: $(orig_news)"
((bad == 0)) || fail "(c) $bad of $n downloads across the original's handovers were not intact"
(($(crashes oc) == 0)) || fail "(c) the original crashed: $(orig_news): $(grep -a -m1 -A3 'When server state' "$E2E_TMP/oc.out" | tr -s ' \n' ' ')"
(($(grep -ac 'ho complete' "$E2E_TMP/oc.out" || true) >= 2)) || fail "(c) the original: $(orig_news)"
ok "(c) $n downloads intact across the original's handovers"
stop_pid "$OC"
stop_mimicsocks "$RC" rc
fi
