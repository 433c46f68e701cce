#!/usr/bin/env bash
# e2e_pending — silent connections cannot take a wormhole's remote end down: with one
# worker, 700 connections that never send a byte are opened on the tunnel port of an
# aggregated wormhole (protocol v2) and 100 on its extra port, from ten loopback source
# addresses in turn, then 300 from an eleventh. Each worker keeps at most 512 unproven connections per wormhole
# and 256 per source address (actors/pending.h): the oldest are dropped at once (a reset,
# no byte back), no source keeps more than 256, the process holds no more sockets than
# the bound plus its own, the newest stay open and silent, and the live tunnel still
# serves, also across a handover to the flooded extra port.
# Usage: pending.sh PATH/TO/mimicsocks
source "$(dirname "$0")/lib.sh"
e2e_init "$@"

serve_random f=100000
KEY=$(wh_key)
read -r S T X <<<"$(free_ports 3)"
cat >"$E2E_TMP/w.yaml" <<EOF2
workers: 1
wormholes:
  - name: flooded
    server: 127.0.0.1:$S
    wormhole_remote: 127.0.0.1:$T
    wormhole: aggregated
    handler: socks
    $E2E_ALLOW_YAML
    key: $KEY
    extra_ports: [$X]
    handover_interval: 0
EOF2
start_config ms "$E2E_TMP/w.yaml" "$S $T $X" || fail "mimicsocks did not start"
MS=$CFG_PID
wait_log ms "wormhole flooded: tunnel up" 1 10 || fail "the tunnel did not come up"
fetch_retry 10 "before the flood" "$F_SHA" 100000 --socks5 "127.0.0.1:$S" "http://127.0.0.1:$H/file/f"
FDS0=$(ls "/proc/$MS/fd" | wc -l)

cat >"$E2E_TMP/flood.py" <<'EOF2'
import os, resource, socket, sys, time
tport, xport, pid, fds0, result = (int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]),
                                   int(sys.argv[4]), sys.argv[5])
def report(line):
    with open(result + ".tmp", "w") as f:
        f.write(line + "\n")
    os.rename(result + ".tmp", result)
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
if soft < 2000:
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 4096), hard))
SOURCES = ["127.0.0.%d" % (2 + i) for i in range(10)]
sources = []
def flood(port, n):
    socks = []
    for i in range(n):
        src = SOURCES[len(sources) % len(SOURCES)]
        s = socket.create_connection(("127.0.0.1", port), timeout=5, source_address=(src, 0))
        s.setblocking(False)
        socks.append(s)
        sources.append(src)
        time.sleep(0.001)       # in order: the acceptor takes them oldest first
    return socks
def ended(s):
    try:
        s.recv(1, socket.MSG_PEEK)      # b"": FIN; data would be a byte back (counted below)
        return True
    except BlockingIOError:
        return False
    except OSError:
        return True                     # a reset
main = flood(tport, 700)
extra = flood(xport, 100)
# Then 300 from one more source, all at once: it keeps at most 256 of them.
SOURCES[:] = ["127.0.0.50"]
main += flood(tport, 300)
deadline = time.monotonic() + 5
while time.monotonic() < deadline:
    closed = [i for i, s in enumerate(main) if ended(s)]
    if len(closed) >= 800 - 512 - 100:
        break
    time.sleep(0.2)
time.sleep(0.5)
closed_main = [i for i, s in enumerate(main) if ended(s)]
closed_extra = [i for i, s in enumerate(extra) if ended(s)]
got = 0
for s in main + extra:
    try:
        got += len(s.recv(4096, socket.MSG_PEEK))
    except (BlockingIOError, OSError):
        pass
fds = len(os.listdir("/proc/%d/fd" % pid))
kept = {}
for s in main + extra:
    if not ended(s):
        src = s.getsockname()[0]
        kept[src] = kept.get(src, 0) + 1
summary = ("closed: %d of 1000 on the tunnel port (newest closed: %s), %d of 100 on the extra port; "
      "%d bytes back; the process holds %d fds (%d before)" %
           (len(closed_main), max(closed_main) if closed_main else "-", len(closed_extra), got, fds, fds0))
summary += "; at most %d kept per source (%d of the last 300, from one source)" % (max(kept.values(), default=0), kept.get("127.0.0.50", 0))
problem = None
# The list is one per wormhole and worker: 800 connections, 512 kept.
if got:
    problem = "bytes came back to a silent connection"
elif len(closed_main) + len(closed_extra) < 1100 - 512:
    problem = "fewer than 588 connections were dropped"
elif max(kept.values(), default=0) > 256:
    problem = "a source keeps %d unproven connections (at most 256)" % max(kept.values())
elif fds > fds0 + 512 + 16:
    problem = "the process holds more sockets than the bound"
elif [i for i in closed_main if i < 700] != list(range(len([i for i in closed_main if i < 700]))):
    problem = "a newer connection was dropped while older ones were kept"
elif [i - 700 for i in closed_main if i >= 700] != list(range(len([i for i in closed_main if i >= 700]))):
    problem = "the one source's newer connections were dropped before its older ones"
elif any(not ended(s) for s in main[:100]):
    problem = "one of the oldest connections is still open"
report(("FAIL: %s; " % problem if problem else "ok: ") + summary)
time.sleep(60)          # the sockets stay open while the tunnel is tried
EOF2
bg flood "$PYTHON" "$E2E_TMP/flood.py" "$T" "$X" "$MS" "$FDS0" "$E2E_TMP/flood.result"
FLOOD=$BG_PID
# The flood holds its sockets for a minute: the tunnel must serve meanwhile.
wait_log ms "dropping the oldest" 1 15 || fail "no 'dropping the oldest' line during the flood"
wait_file "$E2E_TMP/flood.result" "$FLOOD" || fail "the flood did not report: $(tail -n 3 "$E2E_TMP/flood.log" 2>/dev/null)"
result=$(<"$E2E_TMP/flood.result")
[[ $result == ok:* ]] || fail "${result}"
ok "${result#ok: }"
fetch_check "during the flood" "$F_SHA" 100000 --socks5 "127.0.0.1:$S" "http://127.0.0.1:$H/file/f"
kill -USR1 "$MS"
wh_wait_count ms flooded "handover done" 1 10 || fail "no handover to the flooded extra port"
fetch_check "after a handover during the flood" "$F_SHA" 100000 --socks5 "127.0.0.1:$S" "http://127.0.0.1:$H/file/f"
stop_pid "$FLOOD"
kill -0 "$MS" || fail "mimicsocks died"
stop_mimicsocks "$MS" ms
