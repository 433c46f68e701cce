#!/usr/bin/env bash
# e2e_nat_listen — a wormhole's `listen:` for a remote end behind NAT: the machine binds
# listen's address while the local end dials wormhole_remote, an address the remote end
# does not bind. On loopback the NAT is two `mimicsocks relay` port forwards: the
# "public" 127.0.0.1:PUB (wormhole_remote) and the handover port 127.0.0.1:X lead to
# 127.0.0.2:PRIV (listen) and 127.0.0.2:X, where the remote end listens. Two processes
# (--role remote, --role local) read the one config, as on two machines. Downloads work
# before and after a handover (which crosses the NAT on its extra port); the remote end
# binds only listen's host, and never retries a bind. Then the automatic role: a process
# without --role whose listen: is one of the host's addresses runs the remote end,
# although wormhole_remote (192.0.2.1, TEST-NET) is not.
# Usage: nat_listen.sh PATH/TO/mimicsocks
source "$(dirname "$0")/lib.sh"
e2e_init "$@"

"$PYTHON" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.2", 0))' 2>/dev/null \
    || { skip "127.0.0.2 cannot be bound here (loopback is not 127.0.0.0/8)"; exit 0; }

serve_random big="$((4 * 1024 * 1024))"
KEY=$(wh_key)
CONF="$E2E_TMP/wormholes.yaml"
BIG="http://127.0.0.1:$H/file/big"

for attempt in 1 2 3 4 5; do
    read -r S PUB PRIV X <<<"$(free_ports 4)"
    cat >"$CONF" <<EOF
wormholes:
  office:
    server: 127.0.0.1:$S
    wormhole_remote: 127.0.0.1:$PUB
    listen: 127.0.0.2:$PRIV
    extra_ports: [$X]
    handover_interval: 2
    handler: socks
    $E2E_ALLOW_YAML
    key: $KEY
EOF
    "$MIMICSOCKS" check-config "$CONF" >"$E2E_TMP/check.txt" 2>&1 \
        || fail "check-config refuses the config: $(tail -n 3 "$E2E_TMP/check.txt")"
    grep -q "listen (the remote end binds): 127.0.0.2:$PRIV" "$E2E_TMP/check.txt" \
        || fail "check-config does not show listen: $(cat "$E2E_TMP/check.txt")"
    # The NAT: its public ports forward to the machine's private address.
    bg nat-main "$MIMICSOCKS" relay --listen "127.0.0.1:$PUB" --to "127.0.0.2:$PRIV"
    NAT1=$BG_PID
    bg nat-extra "$MIMICSOCKS" relay --listen "127.0.0.1:$X" --to "127.0.0.2:$X"
    NAT2=$BG_PID
    if wait_port 127.0.0.1 "$PUB" "$NAT1" && wait_port 127.0.0.1 "$X" "$NAT2"; then
        bg remote "$MIMICSOCKS" --config "$CONF" --role remote
        REMOTE=$BG_PID
        if wait_port 127.0.0.2 "$PRIV" "$REMOTE" && wait_port 127.0.0.2 "$X" "$REMOTE"; then
            break
        fi
        # A port taken meanwhile (the remote end retries it with backoff): say by whom,
        # then new ports.
        log "attempt $attempt: $(grep -m 1 'cannot listen' "$E2E_TMP/remote.log" || tail -n 1 "$E2E_TMP/remote.log")"
        command -v ss >/dev/null && log "$(ss -tanp 2>/dev/null | grep -E ":($PRIV|$X)\b" | head -n 5)"
        stop_pid "$REMOTE"
    fi
    stop_pid "$NAT1"; stop_pid "$NAT2"
    ((attempt < 5)) || fail "the NAT relays or the remote end did not start: $(tail -n 3 "$E2E_TMP/remote.log")"
done
ok "the remote end listens on listen: 127.0.0.2:$PRIV and its handover port 127.0.0.2:$X"

start_config local "$CONF" "$S" --role local || fail "the local end (--role local) did not start"
LOCAL=$CFG_PID
wait_log local "tunnel up" 1 || fail "the local end's tunnel did not come up through the NAT"
fetch_retry 10 "download through the NAT" "$BIG_SHA" "$BIG_SIZE" --socks5 "127.0.0.1:$S" "$BIG"

wait_log remote "handover done" 1 20 || fail "no handover through the NAT's extra port within 20 s"
fetch_check "download after a handover" "$BIG_SHA" "$BIG_SIZE" --socks5 "127.0.0.1:$S" "$BIG"
ok "a handover crossed the NAT (remote: $(log_count remote 'handover done') done)"

# The remote end never tried the public address (the NAT holds it): no bind retries.
! grep -q "cannot listen" "$E2E_TMP/remote.log" \
    || fail "the remote end tried to bind another address: $(grep -m 1 'cannot listen' "$E2E_TMP/remote.log")"
ok "the remote end bound only listen's address"
stop_mimicsocks "$LOCAL" local
stop_mimicsocks "$REMOTE" remote
stop_pid "$NAT1"; stop_pid "$NAT2"

# --- the automatic role ---------------------------------------------------------------
read -r S2 P2 <<<"$(free_ports 2)"
cat >"$E2E_TMP/auto.yaml" <<EOF
wormholes:
  - name: vps
    server: 127.0.0.1:$S2
    wormhole_remote: 192.0.2.1:$P2
    listen: 127.0.0.1:$P2
    handler: socks
    key: $KEY
EOF
bg auto "$MIMICSOCKS" --config "$E2E_TMP/auto.yaml"
AUTO=$BG_PID
wait_port 127.0.0.1 "$P2" "$AUTO" \
    || fail "without --role, listen: 127.0.0.1:$P2 (an own address) was not bound: $(tail -n 3 "$E2E_TMP/auto.log")"
wait_log auto "running its local and remote ends" 1 5 \
    || fail "without --role: $(grep -m 1 "wormhole 'vps'" "$E2E_TMP/auto.log")"
ok "without --role, an own listen: address runs the remote end"
stop_mimicsocks "$AUTO" auto
