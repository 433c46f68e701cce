#!/usr/bin/env bash
# e2e_wormhole_split — the two ends of a wormhole as separate processes reading one config
# (--role remote, --role local), for an aggregated and a distributed wormhole. Downloads
# work; the remote process killed with SIGKILL mid-transfer ends the running downloads
# promptly (no hang), the local process stays up and refuses users promptly while the
# remote is down, and once the remote is back the local end reconnects by itself and new
# requests succeed. A restarted local end is taken by the remote end as well.
# Usage: wormhole_split.sh PATH/TO/mimicsocks
source "$(dirname "$0")/lib.sh"
e2e_init "$@"

serve_random big="$((16 * 1024 * 1024))" mid="$((2 * 1024 * 1024))"
KEY=$(wh_key)
CONF="$E2E_TMP/wormholes.yaml"

write_config() {
    read -r SA TA SD TD <<<"$(free_ports 4)"
    cat >"$CONF" <<EOF
wormholes:
  - name: agg
    server: 127.0.0.1:$SA
    wormhole_remote: 127.0.0.1:$TA
    wormhole: aggregated
    handler: socks
    $E2E_ALLOW_YAML
    key: $KEY
  - name: dist
    server: 127.0.0.1:$SD
    wormhole_remote: 127.0.0.1:$TD
    wormhole: distributed
    handler: socks
    $E2E_ALLOW_YAML
    key: $KEY
EOF
}
for attempt in 1 2 3; do
    write_config
    start_config remote "$CONF" "$TA $TD" --role remote && break
    ((attempt < 3)) || fail "the remote end (--role remote) did not start"
done
REMOTE=$CFG_PID
# The remote end alone does not take users.
! port_open 127.0.0.1 "$SA" || fail "--role remote listens on the users' port $SA"
! port_open 127.0.0.1 "$SD" || fail "--role remote listens on the users' port $SD"
start_config local "$CONF" "$SA $SD" --role local || fail "the local end (--role local) did not start"
LOCAL=$CFG_PID
log "origin :$H; agg users :$SA tunnel :$TA; dist users :$SD tunnel :$TD"
wait_log local "tunnel up" 1 || fail "the local end's aggregated tunnel did not come up"
ok "two processes; the aggregated tunnel is up"

BIG="http://127.0.0.1:$H/file/big"
MID="http://127.0.0.1:$H/file/mid"
fetch_retry 10 "agg across two processes" "$BIG_SHA" "$BIG_SIZE" --socks5 "127.0.0.1:$SA" "$BIG"
fetch_check "dist across two processes" "$BIG_SHA" "$BIG_SIZE" --socks5-hostname "127.0.0.1:$SD" "http://localhost:$H/file/big"

# --- SIGKILL the remote end mid-transfer ---------------------------------------------------
# The origin trickles 4 MiB over ~10 s, so most of each body is not yet sent (and so not
# sitting in some socket buffer on the way) when the remote end dies.
SLOW="http://127.0.0.1:$H/slow/4194304?parts=100&ms=100"
fetch_bg dl-agg 60 --socks5 "127.0.0.1:$SA" "$SLOW"
fetch_bg dl-dist 60 --socks5 "127.0.0.1:$SD" "$SLOW"
sleep 1.5
kill_hard "$REMOTE"
no_sanitizer_report remote
t0=$(now_ms)
for name in dl-agg dl-dist; do
    read -r pid _ <"$E2E_TMP/$name.bg"
    wait_pid "$pid" 20
    ((WAIT_RC != 124)) || fail "$name: the download still ran 20 s after the remote end died"
    ((WAIT_RC != 0)) || fail "$name: the download 'succeeded' although the remote end died mid-transfer"
    ((WAIT_RC != 28)) || fail "$name: curl timed out instead of seeing the tunnel's end"
    ok "$name: ended with curl exit $WAIT_RC within $(($(now_ms) - t0)) ms of the remote's death"
done
kill -0 "$LOCAL" 2>/dev/null || fail "the local end died with the remote end"

# While the remote end is down, users are refused promptly (not left hanging).
for spec in "agg $SA" "dist $SD"; do
    read -r name port <<<"$spec"
    t0=$(now_ms); rc=0
    ecurl 20 --socks5 "127.0.0.1:$port" -o /dev/null "$MID" 2>"$E2E_TMP/curl.err" || rc=$?
    dt=$(($(now_ms) - t0))
    ((rc != 0)) || fail "$name: a download succeeded while the remote end was down"
    ((rc != 28 && dt < 10000)) || fail "$name: with the remote end down, curl hung ($dt ms, exit $rc)"
    ok "$name: with the remote end down, curl failed in $dt ms (exit $rc)"
done
kill -0 "$LOCAL" 2>/dev/null || fail "the local end died while the remote end was down"
ok "the local end stays up without its remote end"

# --- the remote end comes back -------------------------------------------------------------
start_config remote2 "$CONF" "$TA $TD" --role remote || fail "the restarted remote end did not start"
REMOTE=$CFG_PID
# Aggregated: the local end must dial again by itself (its backoff timer) or when a user
# arrives; a bounded number of attempts.
fetch_retry 20 "agg after the remote's restart" "$MID_SHA" "$MID_SIZE" --socks5 "127.0.0.1:$SA" "$MID"
wait_log local "tunnel up" 2 10 || fail "the local end logged no second 'tunnel up'"
fetch_check "agg again, 16 MiB" "$BIG_SHA" "$BIG_SIZE" --socks4 "127.0.0.1:$SA" "$BIG"
fetch_check "dist after the remote's restart" "$BIG_SHA" "$BIG_SIZE" --socks5 "127.0.0.1:$SD" "$BIG"
parallel_fetch 20 "agg after the restart, 20 parallel" "$MID_SHA" 60 --socks5 "127.0.0.1:$SA" "$MID"
ok "the local end reconnected: $(grep "tunnel up" "$E2E_TMP/local.log" | tail -n 1 | cut -c1-160)"

# --- and the local end restarted: the remote end takes its new tunnel ---------------------
kill_hard "$LOCAL"
no_sanitizer_report local
start_config local2 "$CONF" "$SA $SD" --role local || fail "the restarted local end did not start"
LOCAL=$CFG_PID
fetch_retry 10 "agg after the local's restart" "$BIG_SHA" "$BIG_SIZE" --socks5 "127.0.0.1:$SA" "$BIG"
fetch_check "dist after the local's restart" "$MID_SHA" "$MID_SIZE" --socks5 "127.0.0.1:$SD" "$MID"

stop_mimicsocks "$LOCAL" local2
stop_mimicsocks "$REMOTE" remote2
