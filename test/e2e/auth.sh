#!/usr/bin/env bash
# e2e_auth — users: on socks and http handlers: SOCKS5 username/password (RFC 1929)
# and HTTP Basic proxy auth, right and wrong, from a config and from --user; SOCKS4
# refused when users are set; the start-up warning for a standalone proxy that
# listens on a non-loopback address without users; bad users: are config errors.
# Usage: auth.sh PATH/TO/mimicsocks
source "$(dirname "$0")/lib.sh"
e2e_init "$@"

serve_random f=200000
CONF="$E2E_TMP/auth.yaml"
URL="http://127.0.0.1:$H/file/f"

write_config() {
    read -r PS PB PH <<<"$(free_ports 3)"
    cat >"$CONF" <<EOF
proxies:
  - listen: 127.0.0.1:$PS
    handler: socks5
    $E2E_ALLOW_YAML
    users: [{name: alice, password: s3cret}, {name: bob, password: "p@ss:word"}]
  - listen: 127.0.0.1:$PB
    handler: socks
    $E2E_ALLOW_YAML
    users: [{name: alice, password: s3cret}]
  - listen: 127.0.0.1:$PH
    handler: http
    $E2E_ALLOW_YAML
    users:
      - name: alice
        password: s3cret
EOF
}
for attempt in 1 2 3; do
    write_config
    start_config ms "$CONF" "$PS $PB $PH" && break
    ((attempt < 3)) || fail "mimicsocks --config did not start"
done

# socks_refused WHAT CURL_ARGS...: curl gets a SOCKS error (exit 97), promptly.
socks_refused() {
    local what=$1 t0 dt rc=0; shift
    t0=$(now_ms)
    ecurl 20 -o /dev/null "$@" 2>"$E2E_TMP/curl.err" || rc=$?
    dt=$(($(now_ms) - t0))
    ((rc == 97)) || fail "$what: curl exited $rc, expected 97: $(head -c 300 "$E2E_TMP/curl.err")"
    ((dt < 5000)) || fail "$what: took $dt ms"
    ok "$what: refused in $dt ms ($(head -c 200 "$E2E_TMP/curl.err"))"
}

# --- SOCKS5 username/password ----------------------------------------------------------
fetch_check "socks5 alice:s3cret@"          "$F_SHA" "$F_SIZE" --socks5 "alice:s3cret@127.0.0.1:$PS" "$URL"
fetch_check "socks5-hostname alice:s3cret@" "$F_SHA" "$F_SIZE" --socks5-hostname "alice:s3cret@127.0.0.1:$PS" "$URL"
fetch_check "socks5 bob (password with @ and :)" "$F_SHA" "$F_SIZE" -x "socks5h://bob:p%40ss%3Aword@127.0.0.1:$PS" "$URL"
fetch_check "socks (4 and 5) alice:s3cret@"  "$F_SHA" "$F_SIZE" --socks5 "alice:s3cret@127.0.0.1:$PB" "$URL"
socks_refused "socks5 wrong password"       --socks5 "alice:wrong@127.0.0.1:$PS" "$URL"
socks_refused "socks5 unknown user"         --socks5 "mallory:s3cret@127.0.0.1:$PS" "$URL"
socks_refused "socks5 one user's name, the other's password" -x "socks5://alice:p%40ss%3Aword@127.0.0.1:$PS" "$URL"
socks_refused "socks5 without credentials"  --socks5 "127.0.0.1:$PS" "$URL"
socks_refused "socks4 while users are set"  --socks4 "127.0.0.1:$PB" "$URL"
socks_refused "socks4a while users are set" --socks4a "127.0.0.1:$PB" "http://localhost:$H/file/f"
((  $(log_count ms "wrong user name or password") >= 3 )) || fail "no log line for the wrong credentials"
ok "wrong credentials are logged"

# --- HTTP Basic ----------------------------------------------------------------------------
fetch_check "http alice:s3cret@ absolute-URI" "$F_SHA" "$F_SIZE" -x "http://alice:s3cret@127.0.0.1:$PH" "$URL"
fetch_check "http alice:s3cret@ CONNECT"      "$F_SHA" "$F_SIZE" -p -x "http://alice:s3cret@127.0.0.1:$PH" "$URL"
# keep-alive: every request carries the credentials
ecurl 30 -x "http://alice:s3cret@127.0.0.1:$PH" -w '%{http_code}\n' -o /dev/null "$URL" -o /dev/null "$URL" \
    >"$E2E_TMP/ka" 2>"$E2E_TMP/curl.err" || fail "two requests on one connection: $(head -c 300 "$E2E_TMP/curl.err")"
[[ "$(tr '\n' ' ' <"$E2E_TMP/ka")" == "200 200 " ]] || fail "two requests on one connection: $(cat "$E2E_TMP/ka")"
ok "http: two authorized requests on one connection"
for spec in "wrong:alice:wrong" "none:" "unknown:mallory:s3cret"; do
    name=${spec%%:*} cred=${spec#*:}
    proxy="http://127.0.0.1:$PH"
    [[ -z "$cred" ]] || proxy="http://$cred@127.0.0.1:$PH"
    rc=0
    code=$(ecurl 20 -D "$E2E_TMP/head" -o "$E2E_TMP/body" -w '%{http_code}' -x "$proxy" "$URL" 2>"$E2E_TMP/curl.err") || rc=$?
    [[ "$code" == 407 ]] || fail "http ($name credentials): status $code (curl exit $rc), expected 407"
    grep -qi '^Proxy-Authenticate: Basic realm="mimicsocks"' "$E2E_TMP/head" \
        || fail "http ($name credentials): no Proxy-Authenticate in: $(head -c 300 "$E2E_TMP/head")"
    rc=0
    code=$(ecurl 20 -p -o /dev/null -w '%{http_connect}' -x "$proxy" "$URL" 2>"$E2E_TMP/curl.err") || rc=$?
    [[ "$code" == 407 ]] || fail "http CONNECT ($name credentials): status $code (curl exit $rc), expected 407"
    ok "http ($name credentials): 407 with Proxy-Authenticate, absolute-URI and CONNECT"
done
stop_mimicsocks "$CFG_PID" ms

# --- --user on the command line ----------------------------------------------------------------
start_mimicsocks cli socks5 --user alice:s3cret --user "bob:x:y"
fetch_check "--user: socks5 alice" "$F_SHA" "$F_SIZE" --socks5 "alice:s3cret@127.0.0.1:$MS_PORT" "$URL"
fetch_check "--user: socks5 bob (a password with ':')" "$F_SHA" "$F_SIZE" -x "socks5://bob:x%3Ay@127.0.0.1:$MS_PORT" "$URL"
socks_refused "--user: socks5 wrong password" --socks5 "alice:nope@127.0.0.1:$MS_PORT" "$URL"
stop_mimicsocks "$MS_PID" cli
start_mimicsocks clihttp http --user alice:s3cret
fetch_check "--user: http alice" "$F_SHA" "$F_SIZE" -x "http://alice:s3cret@127.0.0.1:$MS_PORT" "$URL"
code=$(ecurl 20 -o /dev/null -w '%{http_code}' -x "http://alice:nope@127.0.0.1:$MS_PORT" "$URL" 2>/dev/null) || true
[[ "$code" == 407 ]] || fail "--user: http wrong password: status $code, expected 407"
ok "--user: http wrong password: 407"
# (loopback, so no warning about exposure)
! grep -q "non-loopback" "$E2E_TMP/clihttp.log" || fail "a warning for a proxy on 127.0.0.1"
stop_mimicsocks "$MS_PID" clihttp

# --- the warning for an exposed proxy without users ---------------------------------------------
# 192.0.2.1 (TEST-NET-1) is no address of this host: the bind fails after the warning,
# so nothing listens anywhere but loopback.
rc=0
timeout 20 "$MIMICSOCKS" http --listen "192.0.2.1:$(free_port)" 2>"$E2E_TMP/exposed.log" || rc=$?
grep -q "listens on a non-loopback address without users" "$E2E_TMP/exposed.log" \
    || fail "no warning for a proxy on 192.0.2.1 without users (exit $rc): $(head -c 400 "$E2E_TMP/exposed.log")"
ok "warning for a non-loopback proxy without users: $(grep -o 'WARN.*' "$E2E_TMP/exposed.log" | head -n 1)"
rc=0
timeout 20 "$MIMICSOCKS" socks5 --listen "192.0.2.1:$(free_port)" --user a:b 2>"$E2E_TMP/exposed2.log" || rc=$?
! grep -q "non-loopback" "$E2E_TMP/exposed2.log" || fail "a warning for a proxy with users"
ok "no warning with --user"

# --- bad users: -------------------------------------------------------------------------------
bad_config() {     # bad_config NAME EXPECTED_MESSAGE_PART YAML
    printf '%s' "$3" >"$E2E_TMP/$1.yaml"
    local rc=0
    "$MIMICSOCKS" check-config "$E2E_TMP/$1.yaml" >/dev/null 2>"$E2E_TMP/$1.err" || rc=$?
    ((rc == 2)) || fail "check-config $1: exit $rc, expected 2"
    grep -qF -- "$1.yaml:$2" "$E2E_TMP/$1.err" || fail "check-config $1: '$(cat "$E2E_TMP/$1.err")' lacks '$1.yaml:$2'"
    ok "check-config $1: $(cat "$E2E_TMP/$1.err")"
}
bad_config socks4 "4:12: proxies[0].users: SOCKS4 has no passwords" \
    $'proxies:\n  - listen: 127.0.0.1:1080\n    handler: socks4\n    users: [{name: a, password: b}]\n'
bad_config colon "4:20: proxies[0].users[0].name: a user name cannot hold ':'" \
    $'proxies:\n  - listen: 127.0.0.1:1080\n    handler: http\n    users: [{name: "a:b", password: c}]\n'
bad_config nopass "4:13: proxies[0].users[0].password: is required" \
    $'proxies:\n  - listen: 127.0.0.1:1080\n    handler: http\n    users: [{name: a}]\n'
bad_config twice "4:37: proxies[0].users[1]: user 'a' is given twice" \
    $'proxies:\n  - listen: 127.0.0.1:1080\n    handler: http\n    users: [{name: a, password: b}, {name: a, password: c}]\n'
