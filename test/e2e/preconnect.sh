#!/usr/bin/env bash
# e2e_preconnect — a distributed wormhole's local end dials each user's tunnel connection
# ahead of the user (`preconnect`, the default for protocol v2), one process (--role both),
# one worker, --handshake-timeout 3 (so a tunnel dialed ahead waits 1 s for its user):
#   - nothing is dialed while no user has come; after the first user, one tunnel
#     connection is up with no user on it, and the next user takes it: N sequential
#     downloads (intact) cost N + 1 tunnel connections (the remote end's log), not 2N;
#   - the users are counted once each in the metrics (the one dialed ahead is not a
#     connection until its user comes);
#   - unused, it is closed after its wait and not dialed again: no tunnel connection
#     is left while idle;
#   - parallel downloads are intact; a user that comes and goes at once costs no more
#     than its own tunnel connection;
#   - preconnect: false: every user dials its own; nothing is up while idle.
# Usage: preconnect.sh PATH/TO/mimicsocks
source "$(dirname "$0")/lib.sh"
e2e_init "$@"

serve_random f=200000
KEY=$(wh_key)
CONF="$E2E_TMP/preconnect.yaml"
write_config() {
    read -r PU PT CU CT M <<<"$(free_ports 5)"
    cat >"$CONF" <<EOF
log_level: debug
workers: 1
metrics: 127.0.0.1:$M
wormholes:
  - name: pre
    server: 127.0.0.1:$PU
    wormhole_remote: 127.0.0.1:$PT
    wormhole: distributed
    handler: socks
    $E2E_ALLOW_YAML
    key: $KEY
    mimic: off
  - name: cold
    server: 127.0.0.1:$CU
    wormhole_remote: 127.0.0.1:$CT
    wormhole: distributed
    handler: socks
    $E2E_ALLOW_YAML
    key: $KEY
    mimic: off
    preconnect: false
EOF
    chmod 600 "$CONF"
}
for attempt in 1 2 3; do
    write_config
    start_config ms "$CONF" "$PU $PT $CU $CT $M" --role both --handshake-timeout 3 && break
    ((attempt < 3)) || fail "mimicsocks --config did not start"
done
"$MIMICSOCKS" check-config "$CONF" | grep -q 'preconnect: yes' || fail "check-config does not print preconnect: yes"

# up PORT: tunnel connections established to the remote end's port.
up() { ss -Htn state established "( sport = :$1 )" | wc -l; }
# tunnels NAME: tunnel connections the remote end of wormhole NAME has accepted so far.
tunnels() { log_count ms "wormhole '?$1'?: tunnel from"; }
# users_counted: the metrics' count of wormhole pre's user connections.
users_counted() { curl -s "http://127.0.0.1:$M/metrics" | awk '/^mimicsocks_connections_total\{.*name="pre"/ {print $2}'; }
# wait_up PORT COUNT SECONDS: until exactly COUNT are up (bounded).
wait_up() {
    local i
    for ((i = 0; i < $3 * 10; i++)); do
        (($(up "$1") == $2)) && return 0
        sleep 0.1
    done
    return 1
}

URL="http://127.0.0.1:$H/file/f"
# start_config's check that the user ports accept was a user too: what it had dialed
# ahead goes after 1 s.
wait_up "$PT" 0 5 || fail "the connection dialed ahead of start_config's probe is still up"
base=$(tunnels pre)
users_base=$(users_counted)
sleep 1.5
(($(up "$PT") == 0 && $(tunnels pre) == base)) || fail "a tunnel was dialed while no user came ($(up "$PT") up)"
ok "nothing dialed while no user comes"

# Sequential downloads, each within the 1 s the one dialed ahead waits.
N=8
for ((i = 1; i <= N; i++)); do
    fetch_check "pre: download $i" "$F_SHA" "$F_SIZE" --socks5 "127.0.0.1:$PU" "$URL"
done
wait_up "$PT" 1 1 || fail "no tunnel connection dialed ahead after the downloads ($(up "$PT") up)"
got=$(( $(tunnels pre) - base ))
((got == N + 1)) || fail "$N downloads cost $got tunnel connections, expected $((N + 1))"
ok "$N sequential downloads: $got tunnel connections (one dialed ahead each time, then taken)"

opened=$(( $(users_counted) - users_base ))
[[ "$opened" == "$N" ]] || fail "metrics: $opened connections opened for pre, expected $N (the one dialed ahead is no user)"
ok "metrics count the $N users, not the connection dialed ahead"

wait_up "$PT" 0 5 || fail "the unused tunnel connection is still up 5 s later ($(up "$PT") up)"
wait_log ms "dialed ahead was not needed" 1 2 || fail "no log line for the unused connection"
before=$(tunnels pre)
sleep 1.5
(($(tunnels pre) == before && $(up "$PT") == 0)) || fail "a tunnel was dialed again while idle"
ok "unused: closed after its wait, not dialed again"

parallel_fetch 6 "pre: parallel" "$F_SHA" "$F_SIZE" --socks5-hostname "127.0.0.1:$PU" "http://localhost:$H/file/f"

# A user that connects and leaves at once.
before=$(tunnels pre)
exec 3<>"/dev/tcp/127.0.0.1/$PU" && exec 3<&-
fetch_check "pre: after a user that left" "$F_SHA" "$F_SIZE" --socks5 "127.0.0.1:$PU" "$URL"
wait_up "$PT" 1 1 || true
used=$(( $(tunnels pre) - before ))
((used <= 3)) || fail "a user that left at once and one download cost $used tunnel connections"
ok "a user that left at once: $used tunnel connections for it and the next download"

cold_base=$(tunnels cold)
for ((i = 1; i <= 3; i++)); do
    fetch_check "cold: download $i" "$F_SHA" "$F_SIZE" --socks5 "127.0.0.1:$CU" "$URL"
done
sleep 0.5
(($(up "$CT") == 0)) || fail "preconnect: false: $(up "$CT") tunnel connections up while idle"
(($(tunnels cold) == 3 + cold_base)) || fail "preconnect: false: 3 downloads cost $(( $(tunnels cold) - cold_base )) tunnel connections"
ok "preconnect: false: a tunnel connection per user, when it comes"

no_sanitizer_report ms
stop_pid "$CFG_PID"
ok "done"
