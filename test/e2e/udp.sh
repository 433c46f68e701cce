#!/usr/bin/env bash
# e2e_udp — SOCKS5 UDP ASSOCIATE (RFC 1928 section 7): a python client sends real DNS
# queries through the association to a tiny DNS responder on loopback and checks each
# answer's SOCKS UDP header and bytes, and that a datagram from another address
# (127.0.0.2) is not relayed. Standalone (`mimicsocks socks`): to an IPv4
# literal, to a name (localhost, through the resolver), over IPv6 where the host has
# it; the association ends when its TCP connection closes, and after --idle-timeout;
# without E2E_ALLOW the loopback target is denied (no answer, the denial logged).
# Through aggregated and distributed wormholes whose far handler is socks, in the
# protocol of E2E_PROTOCOL (v2 by default, or v1), both the literal and the name, and
# across the tunnels' handovers (one a second); a
# greeting the local end leaves to the far end (username/password) gets REP 7 for UDP;
# CONNECT through the same local ends still relays; v1 only: against the original-like
# remote end (tools.py orig-socks-remote) the association is refused by a close.
# Usage: udp.sh PATH/TO/mimicsocks
source "$(dirname "$0")/lib.sh"
e2e_init "$@"

udp() { "$PYTHON" "$E2E_DIR/tools_udp.py" "$@"; }
udp_ok() {
    local out rc=0
    out=$(udp udp-dns "$@" 2>&1) || rc=$?
    ((rc == 0)) || fail "udp-dns $*: $out"
    ok "$out"
}

# The DNS responder on "::" takes IPv4 and IPv6 (a name may resolve to either).
pf="$E2E_TMP/dns.port"
bind=127.0.0.1
if "$PYTHON" "$E2E_DIR/tools.py" has-ipv6 2>/dev/null; then bind="::"; fi
bg dns "$PYTHON" "$E2E_DIR/tools_udp.py" dns-server --port-file "$pf" --bind "$bind"
wait_file "$pf" "$BG_PID" || fail "the DNS responder did not start"
DNS=$(<"$pf")

# --- standalone -------------------------------------------------------------------------
if [[ "${E2E_PROTOCOL:-v2}" == v2 ]]; then
    start_mimicsocks ms socks --idle-timeout 3
    udp_ok "$MS_PORT" 127.0.0.1 "$DNS" --queries 5 --stranger 127.0.0.2
    udp_ok "$MS_PORT" localhost "$DNS" --name dns.example.test
    udp_ok "$MS_PORT" 127.0.0.1 "$DNS" --after-close
    stop_mimicsocks "$MS_PID" ms
    start_mimicsocks ms socks --user alice:s3cret --idle-timeout 3
    udp_ok "$MS_PORT" 127.0.0.1 "$DNS" --user alice:s3cret
    # idle: an association without datagrams ends (its TCP connection is closed)
    out=$("$PYTHON" - "$MS_PORT" 2>&1 <<'EOF2'
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
s.sendall(b"\x05\x01\x02\x01\x05alice\x06s3cret\x05\x03\x00\x01\x00\x00\x00\x00\x00\x00")
got = b""
while len(got) < 14:
    chunk = s.recv(14 - len(got))
    if not chunk:
        sys.exit("closed before the reply")
    got += chunk
if got[:4] != b"\x05\x02\x01\x00" or got[5] != 0:
    sys.exit("refused: %r" % got)
t0 = time.monotonic()
s.settimeout(8)
try:
    if s.recv(1):
        sys.exit("bytes on the control connection")
except socket.timeout:
    sys.exit("the idle association was not ended within 8 s")
except ConnectionResetError:
    pass
dt = time.monotonic() - t0
if not 2 <= dt <= 6:
    sys.exit("the idle association ended after %.1f s (expected ~3 s)" % dt)
print("an idle association ended after %.1f s" % dt)
EOF2
) || fail "idle: $out"
    ok "$out"
    if "$PYTHON" "$E2E_DIR/tools.py" has-ipv6 2>/dev/null; then
        MS6=$(free_port --v6)
        bg ms6 "$MIMICSOCKS" socks --listen "[::1]:$MS6" "${E2E_ALLOW[@]}"
        wait_port ::1 "$MS6" "$BG_PID" || fail "mimicsocks on [::1] did not start"
        udp_ok "$MS6" ::1 "$DNS" --proxy-host ::1
        stop_mimicsocks "$BG_PID" ms6
    else
        skip "no IPv6 on this host"
    fi
    stop_mimicsocks "$MS_PID" ms

    # the default rules deny loopback targets: no answer, and the denial is logged
    E2E_NO_ALLOW=1 start_mimicsocks deny socks
    udp_ok "$MS_PORT" 127.0.0.1 "$DNS" --expect-none --queries 2
    udp_ok "$MS_PORT" localhost "$DNS" --expect-none --queries 2
    (($(log_count deny "udp .*denied: loopback") >= 1)) || fail "no denial in the log"
    ok "loopback datagrams denied by the default rules, and logged"
    stop_mimicsocks "$MS_PID" deny
fi

# --- through wormholes ------------------------------------------------------------------
KEY=$(wh_key)
CONF="$E2E_TMP/wormholes.yaml"
# wormhole NAME MODE USERS_PORT TUNNEL_PORT [EXTRA_PORT]: with an extra port, a
# handover every second
wormhole() {
    printf '  - name: %s\n    server: 127.0.0.1:%s\n    wormhole_remote: 127.0.0.1:%s\n' "$1" "$3" "$4"
    printf '    wormhole: %s\n    handler: socks\n    key: %s\n' "$2" "$KEY"
    printf '    protocol: %s\n    %s\n' "${E2E_PROTOCOL:-v2}" "$E2E_ALLOW_YAML"
    [[ -z "${5:-}" ]] || printf '    extra_ports: [%s]\n    handover_interval: 1\n' "$5"
}
for attempt in 1 2 3; do
    read -r AS AT AX DS DT DX US UT <<<"$(free_ports 8)"
    { echo "wormholes:"
      wormhole agg aggregated "$AS" "$AT" "$AX"
      wormhole dist distributed "$DS" "$DT" "$DX"
      wormhole auth distributed "$US" "$UT"
      printf '    users: [{name: alice, password: s3cret}]\n'
    } >"$CONF"
    start_config wh "$CONF" "$AS $AT $DS $DT $US $UT" --role both && break
    ((attempt < 3)) || fail "mimicsocks --config did not start"
done
wait_log wh "tunnel up" 1 || fail "the aggregated tunnel did not come up"
for mode in agg dist; do
    if [[ $mode == agg ]]; then P=$AS; else P=$DS; fi
    udp_ok "$P" 127.0.0.1 "$DNS" --queries 5 --stranger 127.0.0.2
    udp_ok "$P" localhost "$DNS" --name dns.example.test
    udp_ok "$P" 127.0.0.1 "$DNS" --after-close
    # an association lives across its tunnel's handovers (one a second)
    before=$(log_count wh "wormhole $mode: handover done")
    udp_ok "$P" 127.0.0.1 "$DNS" --queries 150 --interval 0.02
    after=$(log_count wh "wormhole $mode: handover done")
    ((after >= before + 2)) || fail "$mode: $((after - before)) handovers during the association"
    ok "$mode: $((after - before)) handovers during the association, every answer right"
done
# A greeting the local end does not answer (username/password): the UDP ASSOCIATE
# reaches the far end as it came, which cannot bind next to the user: REP 7
out=$(udp udp-dns "$US" 127.0.0.1 "$DNS" --user alice:s3cret --expect-rep 7 2>&1) || fail "auth: $out"
ok "auth: $out"
# A user that ends its stream inside its request: what the local end held goes on,
# with the end, and the far end closes at once (not at its 10 s handshake timer)
for P in "$AS" "$DS"; do
    out=$("$PYTHON" - "$P" 2>&1 <<'EOF2'
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
s.sendall(b"\x05\x01\x00")
if s.recv(2) != b"\x05\x00":
    sys.exit("no answer to the greeting")
s.sendall(b"\x05\x03\x00")
s.shutdown(socket.SHUT_WR)
t0 = time.monotonic()
s.settimeout(5)
try:
    while s.recv(100):
        pass
except socket.timeout:
    sys.exit("still open 5 s after the user's end")
except ConnectionResetError:
    pass
print("a request cut by the user's end: closed after %.1f s" % (time.monotonic() - t0))
EOF2
) || fail "cut request on :$P: $out"
    ok "$out"
done
# TCP through the same local ends still relays (the request is looked at, then passed on)
echo hello >"$E2E_TMP/hello"
start_httpd origin "$E2E_TMP"
fetch_check "agg: socks5 CONNECT still relays" "$(sha_of "$E2E_TMP/hello")" 6 \
    --socks5 "127.0.0.1:$AS" "http://127.0.0.1:$HTTPD_PORT/file/hello"
fetch_check "dist: socks5-hostname CONNECT still relays" "$(sha_of "$E2E_TMP/hello")" 6 \
    --socks5-hostname "127.0.0.1:$DS" "http://localhost:$HTTPD_PORT/file/hello"
stop_mimicsocks "$CFG_PID" wh

# v1 against the original Erlang remote end as it behaves (tools.py orig-socks-remote):
# its socks handler serves CONNECT only and closes on CMD 0x83, so the user's
# connection is closed without a reply
if [[ "${E2E_PROTOCOL:-v2}" == v1 ]]; then
    OP=$(free_port)
    bg orig "$PYTHON" "$E2E_DIR/tools.py" orig-socks-remote "$OP" --key "$KEY" \
        --ready-file "$E2E_TMP/orig.ready"
    wait_file "$E2E_TMP/orig.ready" "$BG_PID" || fail "the original-like remote did not start"
    OS=$(free_port)
    printf 'wormholes:\n  - name: orig\n    server: 127.0.0.1:%s\n    wormhole_remote: 127.0.0.1:%s\n    wormhole: distributed\n    handler: socks\n    key: %s\n    protocol: v1\n' \
        "$OS" "$OP" "$KEY" >"$E2E_TMP/orig.yaml"
    start_config local "$E2E_TMP/orig.yaml" "$OS" --role local || fail "the local end did not start"
    out=$(udp udp-dns "$OS" 127.0.0.1 "$DNS" --expect-rep -1 2>&1) || fail "original remote: $out"
    ok "original remote: $out"
    stop_mimicsocks "$CFG_PID" local
fi
