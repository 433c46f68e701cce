#!/usr/bin/env bash
# e2e_log_destinations — the destinations users reach are not logged at info by default:
# through a standalone socks and http proxy (SOCKS5, CONNECT, a plain-HTTP URL with a
# marker in its query, a denied target), the info log names neither the origin's
# address, nor the URL, nor the denied address, but still says why a request was
# refused. --log-destinations, and log_destinations: true in a config (here at a
# wormhole's remote end), put them back at info; --log-level debug shows them at debug.
# Usage: log_destinations.sh PATH/TO/mimicsocks
source "$(dirname "$0")/lib.sh"
e2e_init "$@"

serve_random f=100000
MARK="ms-secret-marker-$RANDOM"

# requests NAME SOCKS_PORT HTTP_PORT: the four kinds of request, then the log in LOG.
requests() {
    local name=$1 ps=$2 ph=$3
    fetch_check "$name: socks5" "$F_SHA" 100000 --socks5 "127.0.0.1:$ps" "http://127.0.0.1:$H/file/f"
    fetch_check "$name: CONNECT" "$F_SHA" 100000 -p -x "http://127.0.0.1:$ph" "http://127.0.0.1:$H/file/f"
    ecurl 20 -o /dev/null -x "http://127.0.0.1:$ph" "http://127.0.0.1:$H/file/f?$MARK" 2>/dev/null || true
    ecurl 20 -o /dev/null --socks5 "127.0.0.1:$ps" "http://169.254.169.254/latest/$MARK" 2>/dev/null || true
    ecurl 20 -o /dev/null -x "http://127.0.0.1:$ph" "http://169.254.169.254/latest/$MARK" 2>/dev/null || true
    wait_log "$name-socks" "denied: link-local" 1 5 || fail "$name: the socks proxy logged no denial"
    wait_log "$name-http" "denied: link-local" 1 5 || fail "$name: the http proxy logged no denial"
    LOG=$(cat "$E2E_TMP/$name-socks.log" "$E2E_TMP/$name-http.log")
}

# --- by default: not at info ---------------------------------------------------------------
start_mimicsocks default-socks socks; DS=$MS_PORT; DSP=$MS_PID
start_mimicsocks default-http http; DH=$MS_PORT; DHP=$MS_PID
requests default "$DS" "$DH"
for secret in "127.0.0.1:$H" "$MARK" "169.254.169.254"; do
    ! grep -qF -- "$secret" <<<"$LOG" || fail "default: '$secret' is in the info log: $(grep -F -m 1 -- "$secret" <<<"$LOG")"
done
grep -q "socks5 127.0.0.1:[0-9]* -> (a destination): (a destination) denied: link-local" <<<"$LOG" \
    || fail "default: the socks denial does not say why: $(grep -m 1 denied <<<"$LOG")"
grep -q "http 127.0.0.1:[0-9]* -> (a destination): (a destination) denied: link-local" <<<"$LOG" \
    || fail "default: the http denial does not say why: $(grep -m 1 denied <<<"$LOG")"
ok "default: no destination, URL or denied address at info; the denials still say why"
stop_mimicsocks "$DSP" default-socks
stop_mimicsocks "$DHP" default-http

# --- --log-destinations ----------------------------------------------------------------------
start_mimicsocks shown-socks socks --log-destinations; SS=$MS_PORT; SSP=$MS_PID
start_mimicsocks shown-http http --log-destinations; SH=$MS_PORT; SHP=$MS_PID
requests shown "$SS" "$SH"
grep -q "INFO  socks5 127.0.0.1:[0-9]* -> 127.0.0.1:$H\$" <<<"$LOG" || fail "--log-destinations: no socks5 target line"
grep -q "INFO  http 127.0.0.1:[0-9]* CONNECT 127.0.0.1:$H\$" <<<"$LOG" || fail "--log-destinations: no CONNECT line"
grep -qF -- "/file/f?$MARK" <<<"$LOG" || fail "--log-destinations: the URL is not logged"
grep -q "169.254.169.254:80 denied: link-local" <<<"$LOG" || fail "--log-destinations: the denied address is not logged"
ok "--log-destinations: targets, the URL and the denied address at info"
stop_mimicsocks "$SSP" shown-socks
stop_mimicsocks "$SHP" shown-http

# --- --log-level debug -----------------------------------------------------------------------
start_mimicsocks debug-socks socks --log-level debug; GS=$MS_PORT; GSP=$MS_PID
fetch_check "debug: socks5" "$F_SHA" 100000 --socks5 "127.0.0.1:$GS" "http://127.0.0.1:$H/file/f"
wait_log debug-socks "DEBUG socks5 127.0.0.1:[0-9]* -> 127.0.0.1:$H\$" 1 5 || fail "--log-level debug: no target line at debug"
ok "--log-level debug: the target at debug"
stop_mimicsocks "$GSP" debug-socks

# --- a config's log_destinations: true, at a wormhole's remote end ---------------------------
KEY=$(wh_key)
for attempt in 1 2 3; do
    read -r WS WT <<<"$(free_ports 2)"
    cat >"$E2E_TMP/on.yaml" <<EOF
log_destinations: true
wormholes:
  - name: w
    server: 127.0.0.1:$WS
    wormhole_remote: 127.0.0.1:$WT
    handler: socks
    $E2E_ALLOW_YAML
    key: $KEY
EOF
    start_config conf "$E2E_TMP/on.yaml" "$WS $WT" --role both && break
    ((attempt < 3)) || fail "mimicsocks --config on.yaml did not start"
done
CP=$CFG_PID
wait_log conf "tunnel up" 1 || fail "the wormhole's tunnel did not come up"
fetch_retry 10 "log_destinations: true: through the wormhole" "$F_SHA" 100000 \
    --socks5 "127.0.0.1:$WS" "http://127.0.0.1:$H/file/f"
wait_log conf "INFO  socks5 stream [0-9]* -> 127.0.0.1:$H\$" 1 5 \
    || fail "log_destinations: true: the remote end did not log the target at info"
ok "log_destinations: true in a config: the remote end logs the target at info"
stop_mimicsocks "$CP" conf
