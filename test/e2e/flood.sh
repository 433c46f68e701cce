#!/usr/bin/env bash
# e2e_flood — a connection flood past the fd limit costs neither the service, nor the
# log, nor memory after it ends. A standalone SOCKS5 proxy runs with its open file limit
# at 1024 (prlimit); 1,500 clients each open a connection, send the greeting, a CONNECT
# to the origin and a GET for a 16 MB file in one go, and then read nothing, so the proxy
# fills its per-connection buffers and runs out of fds. While they hold: the process
# lives, it said once (not per failed accept) that the fd limit is reached, its log
# stays short, and a signal (SIGUSR1) does not kill it. When they close: a normal download works again, and the resident memory
# goes back near where it was before the flood (RSS before, at the peak and after are
# printed).
# Usage: flood.sh PATH/TO/mimicsocks
source "$(dirname "$0")/lib.sh"
e2e_init "$@"

command -v prlimit >/dev/null || { skip "no prlimit (util-linux)"; exit 0; }
serve_random f=100000 big=16000000

rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0; }

P=$(free_port)
bg ms prlimit --nofile=1024:1024 -- "$MIMICSOCKS" socks5 --listen "127.0.0.1:$P" "${E2E_ALLOW[@]}"
MS=$BG_PID
wait_port 127.0.0.1 "$P" "$MS" || fail "mimicsocks did not start"
for i in 1 2 3; do
    fetch_check "warm-up $i" "$F_SHA" 100000 --socks5 "127.0.0.1:$P" "http://127.0.0.1:$H/file/f"
done
RSS0=$(rss_kb "$MS")
WARN0=$(log_count ms ' (WARN|ERROR) ')

cat >"$E2E_TMP/flood.py" <<'EOF2'
import os, resource, socket, struct, sys, time
port, origin, tmp = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
def note(name, text):
    with open(os.path.join(tmp, name + ".tmp"), "w") as f:
        f.write(text + "\n")
    os.rename(os.path.join(tmp, name + ".tmp"), os.path.join(tmp, name))
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 8192), hard))
request = (b"\x05\x01\x00" + b"\x05\x01\x00\x01" + socket.inet_aton("127.0.0.1")
           + struct.pack(">H", origin)
           + b"GET /file/big HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
socks, refused = [], 0
deadline = time.monotonic() + 40
for i in range(1500):
    if time.monotonic() > deadline:
        break
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=0.5)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        s.sendall(request)
        s.setblocking(False)
        socks.append(s)
    except OSError:
        refused += 1
note("flood.held", "%d open, %d not connected" % (len(socks), refused))
for _ in range(600):                    # until the test says so, at most 60 s
    if os.path.exists(os.path.join(tmp, "flood.release")):
        break
    time.sleep(0.1)
for s in socks:
    s.close()
note("flood.closed", "closed %d" % len(socks))
EOF2
bg flood "$PYTHON" "$E2E_TMP/flood.py" "$P" "$H" "$E2E_TMP"
FLOOD=$BG_PID
wait_file "$E2E_TMP/flood.held" "$FLOOD" || fail "the flood did not report: $(tail -n 3 "$E2E_TMP/flood.log")"
# The stalled downloads fill the queues within a few seconds (at most 20 s here).
RSS1=0
for ((i = 0; i < 200 && RSS1 < RSS0 + 49152; i++)); do
    kill -0 "$MS" 2>/dev/null || fail "mimicsocks died during the flood"
    r=$(rss_kb "$MS"); ((r > RSS1)) && RSS1=$r
    sleep 0.1
done
ok "flood: $(<"$E2E_TMP/flood.held"); RSS ${RSS0} KiB before, ${RSS1} KiB during"
# Stalled downloads fill the proxy's queues (the kernel's socket buffers take only
# the first few MB of each): without that, the memory check below would prove nothing.
((RSS1 - RSS0 >= 49152)) || fail "the flood added only $(((RSS1 - RSS0) / 1024)) MiB to the proxy: it did not fill its queues"
wait_log ms "open file limit" 1 10 || fail "no line saying that the fd limit is reached"
# Warnings only: the info level also has a line per destination.
LINES=$(($(log_count ms ' (WARN|ERROR) ') - WARN0))
((LINES <= 40)) || fail "the flood made $LINES warnings (rate limiting should keep it short): $(grep -E ' (WARN|ERROR) ' "$E2E_TMP/ms.log" | cut -c 60-120 | sort | uniq -c | sort -rn | head -n 3)"
ok "the fd limit was reported; $LINES warnings during the flood"
# A signal while no fd is left: the owner talks to its actors through sockets made at
# start (making one now would fail, and CZMQ aborts when it cannot).
kill -USR1 "$MS"
wait_log ms "SIGUSR1" 1 5 || fail "no SIGUSR1 line"
sleep 1
kill -0 "$MS" 2>/dev/null || fail "mimicsocks died on SIGUSR1 with its fds used up: $(tail -n 2 "$E2E_TMP/ms.log")"
ok "SIGUSR1 with every fd in use"

: >"$E2E_TMP/flood.release"
wait_file "$E2E_TMP/flood.closed" "$FLOOD" || fail "the flood did not close its connections"
fetch_retry 20 "after the flood" "$F_SHA" 100000 --socks5 "127.0.0.1:$P" "http://127.0.0.1:$H/file/f"
# AddressSanitizer keeps freed memory in its quarantine on purpose: the memory
# check is the plain build's (the rest runs in both).
if [[ $(ldd "$MIMICSOCKS" 2>/dev/null) == *libasan* ]]; then
    skip "memory return: an ASan build keeps freed memory in quarantine (RSS ${RSS0} KiB before, ${RSS1} KiB during)"
    fetch_check "at the end" "$F_SHA" 100000 --socks5 "127.0.0.1:$P" "http://127.0.0.1:$H/file/f"
    stop_mimicsocks "$MS" ms
    exit 0
fi
# Memory comes back: within 15 s, RSS is at most 32 MiB above what it was before the
# flood and has given back at least three quarters of what the flood added.
for ((i = 0; i < 150; i++)); do
    RSS2=$(rss_kb "$MS")
    ((RSS2 <= RSS0 + 32768 && (RSS2 - RSS0) * 4 <= (RSS1 - RSS0))) && break
    sleep 0.1
done
((RSS2 <= RSS0 + 32768 && (RSS2 - RSS0) * 4 <= (RSS1 - RSS0))) \
    || fail "RSS ${RSS0} KiB before, ${RSS1} KiB during, still ${RSS2} KiB 15 s after the flood"
ok "RSS ${RSS0} KiB before, ${RSS1} KiB during, ${RSS2} KiB after the flood ($((i / 10)).$((i % 10)) s)"
fetch_check "at the end" "$F_SHA" 100000 --socks5 "127.0.0.1:$P" "http://127.0.0.1:$H/file/f"
stop_mimicsocks "$MS" ms
