#!/usr/bin/env bash
# e2e_stealth — wire: tls (the default) and fallback: (docs/PROTOCOL-v2.md section 9).
# Distributed and aggregated wormholes with the default wire carry downloads intact; the
# recorded tunnel connection starts with a 517-byte TLS ClientHello record (16 03 01 02
# 00, handshake type 1, 03 03), then the client's ChangeCipherSpec (14 03 03 00 01 01)
# and only application-data records (17 03 03), the first one Finished-sized (the
# server's flight is checked byte for byte by test_tls_wire). With `fallback:` pointing
# at a local HTTPS site (a self-signed certificate made here with openssl), curl -k to
# the wormhole's own port gets that site's page, on both wormholes, and a replayed
# ClientHello of ours is spliced there too, while the wormholes go on working on the
# same ports. Without fallback:, the silent treatment (curl times out, a prober hears
# nothing). early_data: true (records before the server's flight) works too.
# Usage: stealth.sh PATH/TO/mimicsocks
source "$(dirname "$0")/lib.sh"
e2e_init "$@"
command -v openssl >/dev/null || { skip "openssl is not installed"; exit 0; }

serve_random f=300000
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
    -subj /CN=www.example.com -keyout "$E2E_TMP/key.pem" -out "$E2E_TMP/cert.pem" 2>/dev/null \
    || fail "openssl could not make a certificate"
PAGE="the fallback site $RANDOM$RANDOM"
bg site "$PYTHON" "$E2E_DIR/tls_site.py" --cert "$E2E_TMP/cert.pem" --key "$E2E_TMP/key.pem" \
    --text "$PAGE" --port-file "$E2E_TMP/site.port"
wait_file "$E2E_TMP/site.port" "$BG_PID" || fail "the fallback site did not start"
F=$(<"$E2E_TMP/site.port")
[[ "$(ecurl 10 -k "https://127.0.0.1:$F/")" == "$PAGE" ]] || fail "the fallback site does not answer"
ok "a local HTTPS site on :$F"

KEY=$(wh_key)
for attempt in 1 2 3; do
    read -r DS DT AS AT SS ST ES ET C <<<"$(free_ports 9)"
    cat >"$E2E_TMP/remote.yaml" <<EOF2
wormholes:
  - name: dist
    server: 127.0.0.1:$DS
    wormhole_remote: 127.0.0.1:$DT
    wormhole: distributed
    handler: socks
    $E2E_ALLOW_YAML
    key: $KEY
    fallback: 127.0.0.1:$F
  - name: agg
    server: 127.0.0.1:$AS
    wormhole_remote: 127.0.0.1:$AT
    wormhole: aggregated
    handler: socks
    $E2E_ALLOW_YAML
    key: $KEY
    fallback: 127.0.0.1:$F
  - name: silent
    server: 127.0.0.1:$SS
    wormhole_remote: 127.0.0.1:$ST
    wormhole: distributed
    handler: socks
    $E2E_ALLOW_YAML
    probe_close_delay: [20, 30]
    key: $KEY
  - name: early
    server: 127.0.0.1:$ES
    wormhole_remote: 127.0.0.1:$ET
    wormhole: distributed
    handler: socks
    $E2E_ALLOW_YAML
    key: $KEY
    early_data: true
EOF2
    # The local end's distributed wormhole dials through a recording relay on C.
    sed -e "s/wormhole_remote: 127.0.0.1:$DT/wormhole_remote: 127.0.0.1:$C/" \
        "$E2E_TMP/remote.yaml" >"$E2E_TMP/local.yaml"
    start_config remote "$E2E_TMP/remote.yaml" "$DT $AT $ST $ET" --role remote || continue
    REMOTE=$CFG_PID
    break
done
[[ -n "${REMOTE:-}" ]] || fail "the remote end did not start"
bg cap "$PYTHON" "$E2E_DIR/tools.py" capture-relay "$C" "$DT" --out "$E2E_TMP/cap" \
    --port-file "$E2E_TMP/cap.port"
wait_file "$E2E_TMP/cap.port" "$BG_PID" || fail "the capture relay did not start"
start_config local "$E2E_TMP/local.yaml" "$DS $AS $SS $ES" --role local || fail "the local end did not start"
LOCAL=$CFG_PID

fetch_check "distributed, wire: tls" "$F_SHA" "$F_SIZE" --socks5-hostname "127.0.0.1:$DS" \
    "http://127.0.0.1:$H/file/f"
fetch_check "distributed, wire: tls, early_data: true" "$F_SHA" "$F_SIZE" \
    --socks5-hostname "127.0.0.1:$ES" "http://127.0.0.1:$H/file/f"
fetch_retry 20 "aggregated, wire: tls" "$F_SHA" "$F_SIZE" --socks5-hostname "127.0.0.1:$AS" \
    "http://127.0.0.1:$H/file/f"

# The recorded client sides of the distributed tunnel connections (the first is
# start_config's check of the users' port: a hello and a Finished, no data).
"$PYTHON" - "$E2E_TMP"/cap.[0-9]* <<'EOF2' || fail "the tunnel's client bytes are not TLS-shaped"
import sys
most = 0
for path in sys.argv[1:]:
  d = open(path, "rb").read()
  if not d: continue
  assert d[:5] == bytes.fromhex("1603010200"), "record header %s" % d[:5].hex()
  assert d[5] == 1 and d[9:11] == b"\x03\x03", "no ClientHello"
  assert b"www.example.com" in d[:517], "no server_name"
  assert d[517:523] == bytes.fromhex("140303000101"), "no ChangeCipherSpec after the hello"
  i, n = 523, 0
  while i < len(d):
      assert d[i:i + 3] == b"\x17\x03\x03", "record %d at %d: %s" % (n, i, d[i:i + 5].hex())
      i += 5 + int.from_bytes(d[i + 3:i + 5], "big")
      n += 1
  assert i == len(d) and n >= 1, "%s: records end at %d of %d" % (path, i, len(d))
  assert d[523:528] == bytes.fromhex("1703030045"), "the first record is no Finished-sized one"
  most = max(most, n)
assert most >= 3, "no connection carried data records"
print("client: ClientHello 517, CCS, Finished-sized record, up to %d records" % most)
EOF2
ok "the tunnel's client bytes: a ClientHello, a ChangeCipherSpec, application data only"

# Probers: curl to the tunnel ports gets the fallback site.
for port in "$DT" "$AT"; do
    got=$(ecurl 10 -k "https://127.0.0.1:$port/") || fail "curl -k https://127.0.0.1:$port/ failed"
    [[ "$got" == "$PAGE" ]] || fail "https://127.0.0.1:$port/ gave '$got', not the fallback page"
    ok "curl -k https://127.0.0.1:$port/ (a wormhole's port) shows the fallback site"
done
wait_log remote "spliced to the fallback server" 2 5 || fail "the remote end did not log the splices"
# A replayed ClientHello of ours goes there too (the salt was seen).
"$PYTHON" "$E2E_DIR/tools.py" replay "$E2E_TMP/cap.1" 127.0.0.1 "$DT" --bytes 517 --wait 3 \
    >"$E2E_TMP/replay.json" 2>&1 || true
wait_log remote "replayed first flight.*spliced to the fallback" 1 5 \
    || fail "a replayed ClientHello was not spliced to the fallback: $(tail -n 2 "$E2E_TMP/remote.log")"
ok "a replayed ClientHello of ours is spliced to the fallback site"
# Without fallback: silence.
rc=0
ecurl 3 -k -o /dev/null "https://127.0.0.1:$ST/" 2>/dev/null || rc=$?
((rc == 28)) || fail "curl to the wormhole without fallback: exit $rc, expected 28 (a timeout: silence)"
ok "without fallback:, curl -k times out (silence)"
tool probe 127.0.0.1 "$ST" --random 600 --silent 2

# The wormholes still work on the same ports.
fetch_check "distributed after the probes" "$F_SHA" "$F_SIZE" --socks5-hostname "127.0.0.1:$DS" \
    "http://127.0.0.1:$H/file/f"
fetch_check "aggregated after the probes" "$F_SHA" "$F_SIZE" --socks5-hostname "127.0.0.1:$AS" \
    "http://127.0.0.1:$H/file/f"
fetch_check "the wormhole without fallback" "$F_SHA" "$F_SIZE" --socks5-hostname "127.0.0.1:$SS" \
    "http://127.0.0.1:$H/file/f"
stop_mimicsocks "$LOCAL" local
stop_mimicsocks "$REMOTE" remote
