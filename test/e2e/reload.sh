#!/usr/bin/env bash
# e2e_reload — SIGHUP reloads the config: an added wormhole starts, a removed one's
# ports close, an untouched one keeps its tunnel and a download running through it,
# and a broken file is refused with FILE:LINE:COL while the running set stays.
# Usage: reload.sh PATH/TO/mimicsocks
source "$(dirname "$0")/lib.sh"
e2e_init "$@"

serve_random big="$((16 * 1024 * 1024))" f=100000
K1=$(wh_key); K2=$(wh_key); K3=$(wh_key)

write_config() {     # write_config "keep gone" | "keep added" into $CFG
    local names=$1
    : >"$CFG"
    echo "wormholes:" >>"$CFG"
    for n in $names; do
        case $n in
            keep)  echo "  - {name: keep, server: 127.0.0.1:$S1, wormhole_remote: 127.0.0.1:$R1, handler: socks, $E2E_ALLOW_YAML, key: $K1}" >>"$CFG" ;;
            gone)  echo "  - {name: gone, server: 127.0.0.1:$S2, wormhole_remote: 127.0.0.1:$R2, wormhole: distributed, handler: socks, $E2E_ALLOW_YAML, key: $K2}" >>"$CFG" ;;
            added) echo "  - {name: added, server: 127.0.0.1:$S3, wormhole_remote: 127.0.0.1:$R3, handler: http, $E2E_ALLOW_YAML, key: $K3}" >>"$CFG" ;;
        esac
    done
}

CFG="$E2E_TMP/reload.yaml"
for attempt in 1 2 3; do
    read -r S1 R1 S2 R2 S3 R3 <<<"$(free_ports 6)"
    write_config "keep gone"
    start_config ms "$CFG" "$S1 $R1 $S2 $R2" && break
    ((attempt < 3)) || fail "mimicsocks did not start"
done
PID=$CFG_PID
fetch_retry 10 "keep works" "$F_SHA" 100000 --socks5 "127.0.0.1:$S1" "http://127.0.0.1:$H/file/f"
fetch_check "gone works" "$F_SHA" 100000 --socks5 "127.0.0.1:$S2" "http://127.0.0.1:$H/file/f"
TUNNELS_UP=$(log_count ms "wormhole keep: tunnel up")

# A slow download through `keep` spans the reload.
fetch_bg long 60 --limit-rate 8M --socks5 "127.0.0.1:$S1" "http://127.0.0.1:$H/file/big"
sleep 0.5
write_config "keep added"
kill -HUP "$PID"
wait_log ms "configuration reloaded" 1 10 || fail "no reload after SIGHUP"
wait_port 127.0.0.1 "$S3" "$PID" || fail "the added wormhole never listened"
fetch_retry 10 "the added wormhole works" "$F_SHA" 100000 -x "http://127.0.0.1:$S3" "http://127.0.0.1:$H/file/f"
for ((i = 0; i < 50; i++)); do port_open 127.0.0.1 "$S2" || break; sleep 0.1; done
! port_open 127.0.0.1 "$S2" || fail "the removed wormhole still listens on $S2"
ok "the removed wormhole's port is closed"

# A broken file: refused with its position; everything keeps running.
printf 'wormholes: [ broken\n' >"$CFG"
kill -HUP "$PID"
wait_log ms "reload refused, the running configuration stays: .*reload.yaml:[0-9]+:[0-9]+: yaml:" 1 10 \
    || fail "a broken config was not refused with FILE:LINE:COL"
ok "broken config refused: $(grep -m1 'reload refused' "$E2E_TMP/ms.log" | cut -d' ' -f4-)"
fetch_check "keep still works" "$F_SHA" 100000 --socks5 "127.0.0.1:$S1" "http://127.0.0.1:$H/file/f"
fetch_check "added still works" "$F_SHA" 100000 -x "http://127.0.0.1:$S3" "http://127.0.0.1:$H/file/f"

fetch_bg_check long "the download through the untouched wormhole survived the reloads" "$BIG_SHA"
[[ "$(log_count ms "wormhole keep: tunnel up")" == "$TUNNELS_UP" ]] || fail "the untouched wormhole's tunnel was redialed"
ok "the untouched wormhole kept its tunnel and its download"
stop_mimicsocks "$PID" ms
