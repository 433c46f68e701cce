#!/usr/bin/env bash
# e2e_pending_burst — a burst of real tunnel set-ups from one address is not taken for a
# flood. A distributed wormhole's tunnel connections all come from its local end's one
# address; the remote end keeps at most 256 unproven connections per source and worker
# (actors/pending.h). Here the remote end (one worker) is frozen (SIGSTOP) while 600
# connections from one address each send a valid v2 first flight; once it runs again
# it accepts them all before it has read any. Every one must get the server's flight
# back (none dropped as "the oldest"), while silent ones beyond the bound still go.
# Usage: pending_burst.sh PATH/TO/mimicsocks
source "$(dirname "$0")/lib.sh"
e2e_init "$@"
"$PYTHON" -c 'import cryptography' 2>/dev/null \
    || { skip "python3-cryptography is not installed (the v2 flights are made with it)"; exit 0; }

KEY=$(wh_key)
read -r S T <<<"$(free_ports 2)"
cat >"$E2E_TMP/w.yaml" <<EOF2
workers: 1
wormholes:
  - name: burst
    server: 127.0.0.1:$S
    wormhole_remote: 127.0.0.1:$T
    wormhole: distributed
    handler: socks
    $E2E_ALLOW_YAML
    key: $KEY
    wire: raw                   # the flights below are made in the raw layout
    handover_interval: 0
EOF2
bg ms "$MIMICSOCKS" --config "$E2E_TMP/w.yaml" --role remote
MS=$BG_PID
wait_port 127.0.0.1 "$T" "$MS" || fail "the remote end did not start"

cat >"$E2E_TMP/burst.py" <<'EOF2'
import os, resource, signal, socket, sys, time
sys.path.insert(0, os.environ["E2E_DIR"])
from tools_v2 import v2_client_flight
port, pid, key, n_real, n_silent = (int(sys.argv[1]), int(sys.argv[2]), bytes.fromhex(sys.argv[3]),
                                    int(sys.argv[4]), int(sys.argv[5]))
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 4096), hard))
def connect(src):
    s = socket.socket()
    s.bind((src, 0))
    s.settimeout(5)
    s.connect(("127.0.0.1", port))
    return s
os.kill(pid, signal.SIGSTOP)
try:
    # Silent ones first (the oldest), from another address, then the real burst.
    silent = [connect("127.0.0.3") for _ in range(n_silent)]
    real = []
    for _ in range(n_real):
        s = connect("127.0.0.2")
        cs, tx, data = v2_client_flight("aes-256-gcm", key, "tunnel", int(time.time()), 64)
        s.sendall(data)
        real.append(s)
finally:
    os.kill(pid, signal.SIGCONT)
answered = cut = 0
deadline = time.monotonic() + 20
for s in real:
    s.settimeout(max(0.1, deadline - time.monotonic()))
    try:
        got = s.recv(64)
        if len(got) > 0:
            answered += 1
        else:
            cut += 1
    except ConnectionResetError:
        cut += 1
    except socket.timeout:
        pass
silent_cut = 0
for s in silent:
    s.setblocking(False)
    try:
        silent_cut += s.recv(1, socket.MSG_PEEK) == b""
    except BlockingIOError:
        pass
    except OSError:
        silent_cut += 1
print("%d %d %d" % (answered, cut, silent_cut))
EOF2
read -r answered cut silent_cut < <(E2E_DIR=$E2E_DIR timeout 60 "$PYTHON" "$E2E_TMP/burst.py" "$T" "$MS" "$KEY" 600 300 2>"$E2E_TMP/burst.err") \
    || fail "the burst client failed: $(tail -n 3 "$E2E_TMP/burst.err")"
kill -0 "$MS" 2>/dev/null || fail "the remote end died"
((answered == 600)) || fail "$answered of 600 real set-ups got the server's flight ($cut cut): a burst was taken for a flood"
ok "600 real set-ups from one address, accepted before any was read: all answered"
((silent_cut >= 300 - 256)) || fail "only $silent_cut of 300 silent connections from one address were dropped (bound 256)"
ok "$silent_cut of 300 silent connections from one address dropped (bound 256)"
stop_mimicsocks "$MS" ms
