#!/usr/bin/env bash
# e2e_socks — `mimicsocks socks` with curl's SOCKS4, SOCKS4a, SOCKS5 and SOCKS5-hostname
# clients: a 16 MiB random file arrives intact, IPv6 targets work, a closed target port
# gives a prompt SOCKS error, a host name with a character no DNS name has ('127.0.0.]0.1')
# is refused as such (never looked up), and 50 parallel downloads are all correct.
# Usage: socks.sh PATH/TO/mimicsocks
source "$(dirname "$0")/lib.sh"
e2e_init "$@"

serve_random big="$((16 * 1024 * 1024))" small="$((2 * 1024 * 1024))"
start_mimicsocks socks socks
P=$MS_PORT
SOCKS_PID=$MS_PID
log "origin on 127.0.0.1:$H, mimicsocks socks on 127.0.0.1:$P"

# Guard against a curl that silently bypasses the proxy for loopback targets:
# with nothing on the proxy port the download must fail.
CLOSED=$(free_port)
rc=0
ecurl 10 --socks5 "127.0.0.1:$CLOSED" -o /dev/null "http://127.0.0.1:$H/file/small" 2>/dev/null || rc=$?
((rc != 0)) || fail "curl fetched through a closed proxy port: proxies are being bypassed"

# --- every client protocol, 16 MiB ----------------------------------------------
fetch_check "socks4 127.0.0.1"          "$BIG_SHA" "$BIG_SIZE" --socks4 "127.0.0.1:$P" "http://127.0.0.1:$H/file/big"
fetch_check "socks4a localhost"         "$BIG_SHA" "$BIG_SIZE" --socks4a "127.0.0.1:$P" "http://localhost:$H/file/big"
fetch_check "socks5 127.0.0.1"          "$BIG_SHA" "$BIG_SIZE" --socks5 "127.0.0.1:$P" "http://127.0.0.1:$H/file/big"
fetch_check "socks5-hostname localhost" "$BIG_SHA" "$BIG_SIZE" --socks5-hostname "127.0.0.1:$P" "http://localhost:$H/file/big"
fetch_check "socks5h:// URL scheme"     "$SMALL_SHA" "$SMALL_SIZE" -x "socks5h://127.0.0.1:$P" "http://localhost:$H/file/small"

# --- IPv6 -------------------------------------------------------------------------
if "$PYTHON" "$E2E_DIR/tools.py" has-ipv6 2>/dev/null; then
    start_httpd origin6 "$www" ::1
    H6=$HTTPD_PORT
    fetch_check "socks5 to [::1]"          "$BIG_SHA" "$BIG_SIZE" --socks5 "127.0.0.1:$P" "http://[::1]:$H6/file/big"
    fetch_check "socks5-hostname to [::1]" "$SMALL_SHA" "$SMALL_SIZE" --socks5-hostname "127.0.0.1:$P" "http://[::1]:$H6/file/small"

    # And the proxy itself listening on ::1.
    for attempt in 1 2 3; do
        P6=$(free_port --v6)
        bg socks6 "$MIMICSOCKS" socks --listen "[::1]:$P6" "${E2E_ALLOW[@]}"
        SOCKS6_PID=$BG_PID
        wait_port ::1 "$P6" "$SOCKS6_PID" && break
        kill -0 "$SOCKS6_PID" 2>/dev/null && fail "mimicsocks socks on [::1]:$P6 never accepted"
        ((attempt < 3)) || fail "mimicsocks socks --listen [::1]:PORT did not start"
    done
    fetch_check "socks5 via a proxy on [::1]" "$SMALL_SHA" "$SMALL_SIZE" --socks5 "[::1]:$P6" "http://127.0.0.1:$H/file/small"
    stop_mimicsocks "$SOCKS6_PID" socks6
else
    skip "IPv6: ::1 is not usable on this machine; IPv6 checks skipped"
fi

# --- nothing listening on the target port: a prompt SOCKS error, not a hang --------
CLOSED=$(free_port)
for opt in socks4 socks4a socks5 socks5-hostname; do
    t0=$(now_ms); rc=0
    ecurl 20 "--$opt" "127.0.0.1:$P" -o /dev/null "http://127.0.0.1:$CLOSED/" 2>"$E2E_TMP/curl.err" || rc=$?
    dt=$(($(now_ms) - t0))
    err=$(head -c 300 "$E2E_TMP/curl.err")
    ((rc != 28)) || fail "$opt to a closed port: curl timed out (the proxy hung): $err"
    ((rc == 97)) || fail "$opt to a closed port: curl exited $rc, expected 97 (SOCKS error): $err"
    ((dt < 5000)) || fail "$opt to a closed port: took $dt ms"
    grep -qi socks "$E2E_TMP/curl.err" || fail "$opt to a closed port: not a SOCKS error: $err"
    ok "$opt to a closed port: curl exit 97 in $dt ms ($err)"
done
tool socks5-refused "$P" 127.0.0.1 "$CLOSED"

# --- a name no DNS name can be (curl sends what --connect-to says): refused at once ------
for opt in socks4a socks5-hostname; do
    rc=0
    ecurl 20 "--$opt" "127.0.0.1:$P" --connect-to "bad.example:$H:127.0.0.]0.1:$H" -o /dev/null \
        "http://bad.example:$H/file/small" 2>"$E2E_TMP/curl.err" || rc=$?
    err=$(head -c 300 "$E2E_TMP/curl.err")
    ((rc == 97)) || fail "$opt to '127.0.0.]0.1': curl exited $rc, expected 97 (SOCKS error): $err"
    wait_log socks "bad request: invalid character in (SOCKS4a host|domain) name" \
        $([[ $opt == socks4a ]] && echo 1 || echo 2) 5 \
        || fail "$opt to '127.0.0.]0.1': not refused as a bad name: $(tail -n 3 "$E2E_TMP/socks.log")"
    ok "$opt to '127.0.0.]0.1': refused as a bad name, curl exit 97 ($err)"
done

# --- 50 at once ---------------------------------------------------------------------
parallel_fetch 50 "socks5 parallel" "$SMALL_SHA" 90 --socks5 "127.0.0.1:$P" "http://127.0.0.1:$H/file/small"
parallel_fetch 20 "socks4a parallel" "$SMALL_SHA" 90 --socks4a "127.0.0.1:$P" "http://localhost:$H/file/small"

stop_mimicsocks "$SOCKS_PID" socks
