#!/usr/bin/env bash
# e2e_cli — the command line: --help, --version, exit status 2 with a usage message for
# bad usage, check-config's FILE:LINE:COL messages and exit codes, running from a config
# file, the embedded default config, logs on stderr only, and a clean exit 0 on SIGTERM
# and SIGINT.
# Usage: cli.sh PATH/TO/mimicsocks
source "$(dirname "$0")/lib.sh"
e2e_init "$@"

REPO=$(cd "$E2E_DIR/../.." && pwd)
OUT="$E2E_TMP/out"; ERR="$E2E_TMP/err"

# run ARGS...: run mimicsocks in the foreground (bounded to 20 s); status in RC.
run() {
    RC=0
    timeout 20 "$MIMICSOCKS" "$@" >"$OUT" 2>"$ERR" || RC=$?
    ((RC != 124)) || fail "mimicsocks $* did not exit within 20 s"
}

expect_rc() {
    local want=$1 what=$2
    ((RC == want)) || fail "$what: exit status $RC, expected $want; stderr: $(head -c 300 "$ERR")"
}

# --- help and version --------------------------------------------------------------
run --help
expect_rc 0 "--help"
for word in socks http relay check-config --config --log-level; do
    grep -q -- "$word" "$OUT" "$ERR" || fail "--help does not mention '$word'"
done
ok "--help exits 0 and lists the subcommands and options"

run --version
expect_rc 0 "--version"
grep -qE '[0-9]+\.[0-9]+\.[0-9]+' "$OUT" || fail "--version printed no version: $(head -c 200 "$OUT")"
ok "--version: $(head -n 1 "$OUT")"

# --- bad usage: exit 2 and a message ------------------------------------------------
usage_case() {
    local what=$1; shift
    run "$@"
    expect_rc 2 "$what"
    [[ -s "$ERR" ]] || fail "$what: exit 2 but nothing on stderr"
    ok "$what: exit 2 ($(head -n 1 "$ERR"))"
}
usage_case "unknown subcommand" frobnicate
usage_case "unknown option" --no-such-option
usage_case "socks without --listen" socks
usage_case "relay without --to" relay --listen 127.0.0.1:1
usage_case "bad --listen address" socks --listen 127.0.0.1:99999
usage_case "check-config without a file" check-config

# --- check-config -------------------------------------------------------------------------
C="$E2E_TMP/conf"
mkdir -p "$C"

# check_bad NAME WANT: exit 2, and a first message line "FILE:LINE:COL: FIELD: problem"
# that begins with FILE:WANT.
check_bad() {
    local file="$C/$1" want=$2 first
    run check-config "$file"
    expect_rc 2 "check-config $1"
    #  The message may come after a log prefix; it starts at the file name.
    first=$(grep -F -m 1 -- "$file:" "$ERR" || true)
    [[ -n "$first" ]] || fail "check-config $1: no message naming the file: $(head -c 300 "$ERR")"
    first="$file:${first#*"$file:"}"
    [[ "$first" =~ ^.+:[0-9]+:[0-9]+:\ [^:]+:\ .+ ]] \
        || fail "check-config $1: not a 'FILE:LINE:COL: FIELD: problem' message: $first"
    [[ "$first" == "$file:$want"* ]] \
        || fail "check-config $1: expected '$file:$want...', got: $first"
    ok "check-config $1: exit 2, ${first#"$C/"}"
}

printf 'proxies:\n  - listen: 127.0.0.1:1080\n    handler: [socks\n' >"$C/syntax.yaml"
check_bad syntax.yaml ""
printf 'proxies:\n  - listen: 127.0.0.1:99999\n    handler: socks\n' >"$C/badport.yaml"
check_bad badport.yaml "2:13: proxies[0].listen: "
printf 'proxies:\n  - listen: 127.0.0.1:1080\n    handler: gopher\n' >"$C/badhandler.yaml"
check_bad badhandler.yaml "3:14: proxies[0].handler: "
printf 'proxies:\n  - listen: 127.0.0.1:1080\n    handler: socks\n  - handler: http\n' >"$C/nolisten.yaml"
check_bad nolisten.yaml "4:5: proxies[1].listen: "

# Every mistake of a file in one run, each with its FILE:LINE:COL, and how many.
read -r CA CB CC <<<"$(free_ports 3)"
cat >"$C/many.yaml" <<EOF
workers: 99
proxies:
  - listen: 300.1.2.3:$CA
    handler: socks
  - listen: 127.0.0.1:$CB
    handler: gopher
wormholes:
  office:
    server: 127.0.0.1:$CB
    wormhole_remote: 127.0.0.1:$CA
    key: $("$MIMICSOCKS" genkey)
  lab:
    server: 127.0.0.1:$CC
    wormhole_remote: 127.0.0.1:$CC
    key: 00
EOF
run check-config "$C/many.yaml"
expect_rc 2 "check-config many.yaml"
for want in "many.yaml:1:10: workers: " \
            "many.yaml:3:13: proxies[0].listen: '300.1.2.3:$CA': not an IPv4 address" \
            "many.yaml:6:14: proxies[1].handler: 'gopher' is not" \
            "many.yaml:9:13: wormholes.office.server: 127.0.0.1:$CB is also proxies[1].listen (line 5)" \
            "many.yaml:14:22: wormholes.lab.wormhole_remote: 127.0.0.1:$CC is also wormholes.lab.server (line 13)" \
            "many.yaml:15:10: wormholes.lab.key: must be 32, 48 or 64 hex digits" \
            "many.yaml: 6 problems"; do
    grep -qF -- "$C/$want" "$ERR" || fail "check-config many.yaml: no '$want' in: $(cat "$ERR")"
done
(( $(grep -c "$C/many.yaml:[0-9]*:[0-9]*: " "$ERR") == 6 )) \
    || fail "check-config many.yaml: expected 6 messages, got: $(cat "$ERR")"
[[ ! -s "$OUT" ]] || fail "check-config many.yaml printed a summary for an invalid file: $(head -c 200 "$OUT")"
ok "check-config many.yaml: exit 2, all 6 problems in one run, each at its line"

run check-config "$C/does-not-exist.yaml"
((RC != 0)) || fail "check-config on a missing file exited 0"
grep -q "does-not-exist.yaml" "$ERR" || fail "check-config on a missing file: message does not name it: $(head -c 200 "$ERR")"
ok "check-config on a missing file: exit $RC"

PS_PH=$(free_ports 2)
read -r CPS CPH <<<"$PS_PH"
cat >"$C/good.yaml" <<EOF
# Two standalone proxies, no wormhole.
proxies:
  - listen: 127.0.0.1:$CPS
    handler: socks
    $E2E_ALLOW_YAML
  - listen: 127.0.0.1:$CPH
    handler: http
    $E2E_ALLOW_YAML
EOF
run check-config "$C/good.yaml"
expect_rc 0 "check-config good.yaml"
ok "check-config good.yaml: exit 0"
usage_case "bad --log-level" --log-level chatty check-config "$C/good.yaml"
# An option's value is one word: --idle-timeout once took the next one with it.
run --idle-timeout 5 check-config "$C/good.yaml"
expect_rc 0 "--idle-timeout 5 check-config good.yaml"
ok "--idle-timeout N takes one value, the options after it still count"

# A config with keys that other users can read gets a warning (and still works); one
# that only its owner can read gets none.
read -r CWS CWR <<<"$(free_ports 2)"
printf 'wormholes:\n  - name: w\n    server: 127.0.0.1:%s\n    wormhole_remote: 127.0.0.1:%s\n    key: %s\n' \
    "$CWS" "$CWR" "$("$MIMICSOCKS" genkey)" >"$C/keys.yaml"
chmod 644 "$C/keys.yaml"
run check-config "$C/keys.yaml"
expect_rc 0 "check-config keys.yaml (mode 644)"
grep -q "other users can read or change this file (mode 644)" "$ERR" \
    || fail "check-config keys.yaml (mode 644): no warning about its mode: $(head -c 300 "$ERR")"
chmod 600 "$C/keys.yaml"
run check-config "$C/keys.yaml"
expect_rc 0 "check-config keys.yaml (mode 600)"
! grep -q "other users can read" "$ERR" || fail "check-config keys.yaml (mode 600) warned: $(head -c 300 "$ERR")"
ok "a key file that others can read gets a warning, mode 600 none"

if [[ -f "$REPO/docs/wormholes.example.yaml" ]]; then
    run check-config "$REPO/docs/wormholes.example.yaml"
    expect_rc 0 "check-config docs/wormholes.example.yaml"
    if grep -qiE '\bkey:' "$OUT"; then
        grep -iE '\bkey:' "$OUT" | grep -qvE 'bytes' && fail "check-config printed a key value: $(grep -iE '\bkey:' "$OUT" | head -n 1)"
    fi
    ok "check-config docs/wormholes.example.yaml: exit 0"
else
    skip "docs/wormholes.example.yaml does not exist yet"
fi
# The scenario examples the README points to must stay valid.
for example in "$REPO"/docs/examples/*.yaml; do
    [[ -f "$example" ]] || continue
    run check-config "$example"
    expect_rc 0 "check-config docs/examples/$(basename "$example")"
    ok "check-config docs/examples/$(basename "$example"): exit 0"
done

# --- running ------------------------------------------------------------------------------
serve_random f=100000

# From a config file.
bg config "$MIMICSOCKS" --config "$C/good.yaml"
CONFIG_PID=$BG_PID
wait_port 127.0.0.1 "$CPS" "$CONFIG_PID" || fail "--config good.yaml: socks port $CPS never opened"
wait_port 127.0.0.1 "$CPH" "$CONFIG_PID" || fail "--config good.yaml: http port $CPH never opened"
fetch_check "--config: socks proxy" "$F_SHA" 100000 --socks5 "127.0.0.1:$CPS" "http://127.0.0.1:$H/file/f"
fetch_check "--config: http proxy" "$F_SHA" 100000 -x "http://127.0.0.1:$CPH" "http://127.0.0.1:$H/file/f"
stop_mimicsocks "$CONFIG_PID" config

# Logs go to stderr only, and --log-level debug says something about a request.
for attempt in 1 2 3; do
    P=$(free_port)
    bg debug "$MIMICSOCKS" socks --listen "127.0.0.1:$P" "${E2E_ALLOW[@]}" --log-level debug
    DEBUG_PID=$BG_PID
    wait_port 127.0.0.1 "$P" "$DEBUG_PID" && break
    ((attempt < 3)) || fail "mimicsocks --log-level debug socks did not start"
done
fetch_check "--log-level debug: socks proxy" "$F_SHA" 100000 --socks5 "127.0.0.1:$P" "http://127.0.0.1:$H/file/f"
stop_mimicsocks "$DEBUG_PID" debug
[[ ! -s "$E2E_TMP/debug.out" ]] || fail "mimicsocks wrote to stdout: $(head -c 200 "$E2E_TMP/debug.out")"
[[ -s "$E2E_TMP/debug.log" ]] || fail "--log-level debug logged nothing to stderr for a request"
ok "logs on stderr only ($(wc -l <"$E2E_TMP/debug.log") lines at debug level)"

# SIGINT exits 0 as well (bash starts background jobs with SIGINT ignored, so undo that).
for attempt in 1 2 3; do
    P=$(free_port)
    bg sigint "$PYTHON" "$E2E_DIR/tools.py" exec-sigdefault "$MIMICSOCKS" http --listen "127.0.0.1:$P" "${E2E_ALLOW[@]}"
    SIGINT_PID=$BG_PID
    wait_port 127.0.0.1 "$P" "$SIGINT_PID" && break
    ((attempt < 3)) || fail "mimicsocks http (for SIGINT) did not start"
done
fetch_check "http proxy before SIGINT" "$F_SHA" 100000 -x "http://127.0.0.1:$P" "http://127.0.0.1:$H/file/f"
kill -INT "$SIGINT_PID"
wait_pid "$SIGINT_PID" 10
((WAIT_RC == 0)) || fail "mimicsocks exited with status $WAIT_RC on SIGINT (expected 0)"
ok "SIGINT: exit 0"

# The embedded default config (socks on 1080, http on 8080), only if both ports are free.
if port_open 127.0.0.1 1080 || port_open 127.0.0.1 8080 || port_open 127.0.0.1 18443 || port_open 127.0.0.1 18444; then
    skip "embedded default config: 127.0.0.1:1080, :8080, :18443 or :18444 is in use on this machine"
else
    bg default "$MIMICSOCKS"
    DEFAULT_PID=$BG_PID
    if wait_port 127.0.0.1 1080 "$DEFAULT_PID" && wait_port 127.0.0.1 8080 "$DEFAULT_PID"; then
        # The tunnel and extra ports (18443-18447) lie below Linux's ephemeral range
        # (32768-60999), so no other test's connection holds one as its local port.
        wait_log default "tunnel listening on 127.0.0.1:1844[34]|cannot listen on 127.0.0.1:1844[34]" 2 5 || true
        if grep -q "cannot listen on 127.0.0.1:1844[34]" "$E2E_TMP/default.log"; then
            skip "default config: $(grep -m1 -o 'cannot listen on 127.0.0.1:1844[34][^;]*' "$E2E_TMP/default.log")"
        else
            # Its handlers have the default target rules, so the loopback origin is
            # refused: by the far end's handler, through the tunnel (SOCKS5 reply 2,
            # HTTP 403, and the denial in the log), which shows both wormholes work.
            default_refused() {     # default_refused WHAT
                local rc=0 code
                ecurl 20 -o /dev/null --socks5 127.0.0.1:1080 "http://127.0.0.1:$H/file/f" 2>"$E2E_TMP/curl.err" || rc=$?
                ((rc == 97)) && grep -q '(2)' "$E2E_TMP/curl.err" \
                    || fail "default config: socks on 1080 $1: curl exited $rc, expected 97 with reply 2: $(head -c 300 "$E2E_TMP/curl.err")"
                code=$(ecurl 20 -o /dev/null -w '%{http_code}' -x http://127.0.0.1:8080 "http://127.0.0.1:$H/file/f" 2>"$E2E_TMP/curl.err") || true
                [[ "$code" == 403 ]] || fail "default config: http on 8080 $1: status $code, expected 403"
                ok "default config $1: the loopback origin refused through both wormholes (SOCKS reply 2, HTTP 403)"
            }
            default_refused "(socks on 1080, http on 8080)"
            # (without log_destinations, the address is not in the log: the reason is)
            (($(log_count default "\(a destination\) denied: loopback") >= 2)) \
                || fail "default config: the far ends did not log the denials"
            # Its tunnels have extra ports: SIGUSR1 hands them over.
            kill -USR1 "$DEFAULT_PID"
            wait_log default "wormhole socks: handover done \\(port" 1 10 \
                || fail "default config: no handover of the socks tunnel after SIGUSR1"
            default_refused "after a handover"
        fi
        stop_mimicsocks "$DEFAULT_PID" default
    elif kill -0 "$DEFAULT_PID" 2>/dev/null; then
        fail "default config: ports 1080/8080 never opened"
    elif grep -qi 'in use' "$E2E_TMP/default.log"; then
        skip "default config: a port was taken between our check and the bind"
    else
        fail "default config: mimicsocks exited at start: $(tail -n 5 "$E2E_TMP/default.log")"
    fi
fi
