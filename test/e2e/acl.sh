#!/usr/bin/env bash
# e2e_acl — the target rules of the socks and http handlers (docs: "Access control"),
# in one process: a standalone socks and http proxy and an aggregated socks wormhole
# with the default rules refuse 127.0.0.1, a name that resolves to loopback
# (localhost), its IPv4-mapped form and 169.254.169.254 (SOCKS error, curl exit 97;
# HTTP 403), log each denial with its rule; the same with allow: [127.0.0.1/32] let
# the download through intact; deny: wins over allow:; bad rules are config errors
# with FILE:LINE:COLUMN.
# Usage: acl.sh PATH/TO/mimicsocks
source "$(dirname "$0")/lib.sh"
e2e_init "$@"

serve_random f=300000
KEY=$(wh_key)
CONF="$E2E_TMP/acl.yaml"

write_config() {
    read -r PS PH AS AH DS WS WT OS OT <<<"$(free_ports 9)"
    cat >"$CONF" <<EOF
# The checks below read the denied addresses in the log.
log_destinations: true
proxies:
  # the default rules
  - {listen: 127.0.0.1:$PS, handler: socks}
  - {listen: 127.0.0.1:$PH, handler: http}
  # loopback opened for one address
  - listen: 127.0.0.1:$AS
    handler: socks
    allow: [127.0.0.1/32]
  - listen: 127.0.0.1:$AH
    handler: http
    allow: [127.0.0.1/32]
  # deny: wins over allow:
  - listen: 127.0.0.1:$DS
    handler: socks5
    allow: [127.0.0.0/8]
    deny: [127.0.0.1/32]
wormholes:
  - name: closed
    server: 127.0.0.1:$WS
    wormhole_remote: 127.0.0.1:$WT
    handler: socks
    key: $KEY
  - name: open
    server: 127.0.0.1:$OS
    wormhole_remote: 127.0.0.1:$OT
    handler: socks
    allow: [127.0.0.1/32]
    key: $KEY
EOF
}
for attempt in 1 2 3; do
    write_config
    start_config ms "$CONF" "$PS $PH $AS $AH $DS $WS $OS" --role both && break
    ((attempt < 3)) || fail "mimicsocks --config did not start"
done
wait_log ms "wormhole (closed|open): tunnel up" 2 15 || fail "the wormholes' tunnels did not come up"

# socks_denied WHAT CURL_ARGS...: curl gets a SOCKS error (exit 97), promptly.
socks_denied() {
    local what=$1 t0 dt rc=0 err; shift
    t0=$(now_ms)
    ecurl 20 -o /dev/null "$@" 2>"$E2E_TMP/curl.err" || rc=$?
    dt=$(($(now_ms) - t0))
    err=$(head -c 300 "$E2E_TMP/curl.err")
    ((rc == 97)) || fail "$what: curl exited $rc, expected 97 (SOCKS error): $err"
    ((dt < 5000)) || fail "$what: took $dt ms"
    ok "$what: refused, curl exit 97 in $dt ms ($err)"
}

# http_denied WHAT CURL_ARGS...: the proxy answers 403 (for CONNECT: to the CONNECT).
http_denied() {
    local what=$1 code rc=0; shift
    code=$(ecurl 20 -o "$E2E_TMP/body" -w '%{http_code} %{http_connect}' "$@" 2>"$E2E_TMP/curl.err") || rc=$?
    [[ "$code" == "403 000" || "$code" == "000 403" ]] \
        || fail "$what: status '$code' (curl exit $rc), expected 403: $(head -c 300 "$E2E_TMP/curl.err")"
    ok "$what: 403 (curl exit $rc)"
}

URL="http://127.0.0.1:$H/file/f"
BYNAME="http://localhost:$H/file/f"
MAPPED="http://[::ffff:127.0.0.1]:$H/file/f"
METADATA="http://169.254.169.254/latest/meta-data/"

# --- the default rules: loopback, by address and by name, and link-local ------------
socks_denied "socks5-hostname to 127.0.0.1"     --socks5-hostname "127.0.0.1:$PS" "$URL"
socks_denied "socks5-hostname to localhost"     --socks5-hostname "127.0.0.1:$PS" "$BYNAME"
socks_denied "socks5 to 127.0.0.1"              --socks5 "127.0.0.1:$PS" "$URL"
socks_denied "socks5 to ::ffff:127.0.0.1"       --socks5 "127.0.0.1:$PS" "$MAPPED"
socks_denied "socks4 to 127.0.0.1"              --socks4 "127.0.0.1:$PS" "$URL"
socks_denied "socks4a to localhost"             --socks4a "127.0.0.1:$PS" "$BYNAME"
socks_denied "socks5 to 169.254.169.254"        --socks5 "127.0.0.1:$PS" "$METADATA"
tool socks5-refused "$PS" 127.0.0.1 "$H" 2>/dev/null || true
http_denied "http absolute-URI to 127.0.0.1"    -x "http://127.0.0.1:$PH" "$URL"
grep -q "denied: loopback" "$E2E_TMP/body" || fail "the 403's body does not say why: $(head -c 200 "$E2E_TMP/body")"
http_denied "http absolute-URI to localhost"    -x "http://127.0.0.1:$PH" "$BYNAME"
http_denied "http CONNECT to 127.0.0.1"         -p -x "http://127.0.0.1:$PH" "$URL"
http_denied "http to 169.254.169.254"           -x "http://127.0.0.1:$PH" "$METADATA"
socks_denied "wormhole (aggregated socks) to 127.0.0.1" --socks5-hostname "127.0.0.1:$WS" "$URL"
socks_denied "wormhole (aggregated socks) to localhost" --socks5-hostname "127.0.0.1:$WS" "$BYNAME"

# one info line per denial, with the address and the rule
n=$(log_count ms "127\.0\.0\.1:$H denied: loopback")
((n >= 10)) || fail "expected a log line per loopback denial, found $n: $(grep denied "$E2E_TMP/ms.log" | tail -n 3)"
((  $(log_count ms "169\.254\.169\.254:80 denied: link-local") >= 2 )) || fail "no log line for the link-local denials"
ok "denials logged ($n for 127.0.0.1:$H, with the rule)"

# --- allow: [127.0.0.1/32] opens exactly that --------------------------------------
fetch_check "allowed: socks5-hostname to 127.0.0.1" "$F_SHA" "$F_SIZE" --socks5-hostname "127.0.0.1:$AS" "$URL"
fetch_check "allowed: socks5-hostname to localhost" "$F_SHA" "$F_SIZE" --socks5-hostname "127.0.0.1:$AS" "$BYNAME"
fetch_check "allowed: socks4 to 127.0.0.1"          "$F_SHA" "$F_SIZE" --socks4 "127.0.0.1:$AS" "$URL"
fetch_check "allowed: socks5 to ::ffff:127.0.0.1"   "$F_SHA" "$F_SIZE" --socks5 "127.0.0.1:$AS" "$MAPPED"
fetch_check "allowed: http absolute-URI"            "$F_SHA" "$F_SIZE" -x "http://127.0.0.1:$AH" "$URL"
fetch_check "allowed: http CONNECT"                 "$F_SHA" "$F_SIZE" -p -x "http://127.0.0.1:$AH" "$URL"
fetch_retry 10 "allowed: wormhole (aggregated socks)" "$F_SHA" "$F_SIZE" --socks5-hostname "127.0.0.1:$OS" "$URL"
socks_denied "allow: 127.0.0.1/32 still denies link-local" --socks5 "127.0.0.1:$AS" "$METADATA"
http_denied "allow: 127.0.0.1/32 still denies link-local (http)" -x "http://127.0.0.1:$AH" "$METADATA"

# --- deny: wins over allow: ----------------------------------------------------------
socks_denied "deny: 127.0.0.1/32 over allow: 127.0.0.0/8" --socks5 "127.0.0.1:$DS" "$URL"
wait_log ms "127\.0\.0\.1:$H denied: deny 127\.0\.0\.1/32" 1 5 || fail "the deny rule was not named in the log"
ok "the deny rule is named in the log"

stop_mimicsocks "$CFG_PID" ms

# --- bad rules are config errors with FILE:LINE:COLUMN --------------------------------
bad_config() {     # bad_config NAME EXPECTED_MESSAGE_PART YAML
    printf '%s' "$3" >"$E2E_TMP/$1.yaml"
    local rc=0
    "$MIMICSOCKS" check-config "$E2E_TMP/$1.yaml" >/dev/null 2>"$E2E_TMP/$1.err" || rc=$?
    ((rc == 2)) || fail "check-config $1: exit $rc, expected 2"
    grep -qF -- "$1.yaml:$2" "$E2E_TMP/$1.err" || fail "check-config $1: '$(cat "$E2E_TMP/$1.err")' lacks '$1.yaml:$2'"
    ok "check-config $1: $(cat "$E2E_TMP/$1.err")"
}
bad_config hostbits "4:13: proxies[0].allow[0]: host bits set" \
    $'proxies:\n  - listen: 127.0.0.1:1080\n    handler: socks\n    allow: [10.0.0.1/8]\n'
bad_config prefix "6:9: proxies[0].deny[1]: prefix length" \
    $'proxies:\n  - listen: 127.0.0.1:1080\n    handler: http\n    deny:\n      - 10.0.0.0/8\n      - fd00::/200\n'
bad_config notip "4:13: proxies[0].allow[0]: 'example.com' is not an IPv4 or IPv6 address" \
    $'proxies:\n  - listen: 127.0.0.1:1080\n    handler: socks\n    allow: [example.com/8]\n'
bad_config relay "5:12: proxies[0].allow: only for handler socks" \
    $'proxies:\n  - listen: 127.0.0.1:1080\n    handler: relay\n    relay: 127.0.0.1:1\n    allow: [127.0.0.0/8]\n'
bad_config notlist "4:12: wormholes[0].deny: expected a list" \
    $'wormholes:\n  - {name: w, server: 127.0.0.1:1, wormhole_remote: 127.0.0.1:2,\n     key: 00112233445566778899aabbccddeeff,\n     deny: 10.0.0.0/8}\n'
