#!/usr/bin/env bash
# install — what `make install` (cmake --install) puts where, checked in a scratch prefix:
# the binary; the man page, which groff formats without a warning (-ww) and which names
# every option of --help and every top-level and wormhole config key; the systemd unit,
# which names the installed binary (not a fixed /usr/local/bin), has a valid
# Documentation=, passes `systemd-analyze verify`, and whose exposure by
# `systemd-analyze security --offline=yes` is below MAX_EXPOSURE (Debian's
# shadowsocks-libev unit rates 6.1; ours, with its hardening, about 1.6). Each systemd
# check is skipped with a message where systemd-analyze is absent, the man checks where
# groff is.
# Usage: install.sh BUILD_DIR
set -euo pipefail
BUILD=$1
SRC=$(cd "$(dirname "$0")/.." && pwd)
MAX_EXPOSURE=3.0
T=$(mktemp -d /tmp/mimicsocks-install.XXXXXX)
trap 'rm -rf "$T"' EXIT
fail() { echo "[install] FAIL: $*" >&2; exit 1; }
ok()   { echo "[install] ok: $*" >&2; }
skip() { echo "[install] SKIP: $*" >&2; }

P="$T/prefix"
cmake --install "$BUILD" --prefix "$P" >"$T/install.log" 2>&1 || fail "cmake --install: $(tail -n 5 "$T/install.log")"
BIN="$P/bin/mimicsocks"; MAN="$P/share/man/man1/mimicsocks.1"
UNIT="$P/lib/systemd/system/mimicsocks.service"
for f in "$BIN" "$MAN" "$UNIT" "$P/share/doc/mimicsocks/wormholes.example.yaml" \
         "$P/share/doc/mimicsocks/DEPLOYMENT.md" "$P/share/doc/mimicsocks/examples/nat-vps.yaml"; do
    [[ -e "$f" ]] || fail "not installed: ${f#"$P/"}"
done
[[ -x "$BIN" ]] || fail "the installed binary is not executable"
ok "binary, man page, unit and docs installed under the prefix"

# --- the man page ------------------------------------------------------------------------
if command -v groff >/dev/null; then
    groff -man -Tutf8 -ww "$MAN" >"$T/man.txt" 2>"$T/man.err" || fail "groff failed: $(head -n 5 "$T/man.err")"
    [[ ! -s "$T/man.err" ]] || fail "groff -ww warns: $(head -n 5 "$T/man.err")"
    ok "groff -man -Tutf8 -ww: no warning"
    if command -v man >/dev/null; then
        MANWIDTH=100 man -l "$MAN" >"$T/man-l.txt" 2>"$T/man-l.err" || fail "man -l failed: $(head -n 3 "$T/man-l.err")"
        grep -q "check-config" "$T/man-l.txt" || fail "man -l: no check-config in the page"
        ok "man -l reads it"
    fi
    # Every option of --help, and every key of the config, is in the page.
    sed 's/\\-/-/g; s/\\(em/-/g' "$MAN" >"$T/man.src"
    for opt in $("$BIN" --help | grep -oE -- '--[a-z][a-z-]+' | sort -u); do
        grep -qF -- "$opt" "$T/man.src" || fail "the man page does not mention $opt (of --help)"
    done
    for key in log_level log_destinations trace workers proxies wormholes listen handler relay \
               allow deny users name server wormhole_remote wormhole remote_handler extra_ports \
               key reverse local_proxy handover_interval mimic mimic_padding probe_close_delay \
               connect_timeout protocol cipher; do
        grep -qw -- "$key" "$T/man.src" || fail "the man page does not mention the config key $key"
    done
    for section in NAME SYNOPSIS DESCRIPTION COMMANDS OPTIONS CONFIGURATION SIGNALS "EXIT STATUS" FILES EXAMPLES; do
        grep -q "^\.SH \"\?$section\"\?\$" "$T/man.src" || fail "the man page has no $section section"
    done
    ok "the man page covers every --help option, config key and the usual sections"
else
    skip "groff is not installed: the man page is not checked"
fi

# --- the systemd unit ----------------------------------------------------------------------
grep -qx "ExecStart=$BIN --config %d/wormholes.yaml" "$UNIT" \
    || fail "the unit does not run the installed binary: $(grep ExecStart= "$UNIT")"
! grep -q "/usr/local/bin" "$UNIT" || fail "the unit still names /usr/local/bin"
grep -q "^Documentation=man:mimicsocks(1) " "$UNIT" || fail "no Documentation=man:mimicsocks(1)"
! grep -q "example.invalid" "$UNIT" || fail "the unit points at example.invalid"
grep -q "^LimitNOFILE=" "$UNIT" || fail "the unit sets no LimitNOFILE"
grep -q "^LoadCredential=wormholes.yaml:/etc/mimicsocks/wormholes.yaml" "$UNIT" \
    || fail "the unit does not hand the config to its dynamic user"
ok "the unit runs $BIN, documents itself as man:mimicsocks(1)"
if command -v systemd-analyze >/dev/null; then
    systemd-analyze verify --man=no "$UNIT" >"$T/verify.txt" 2>&1 \
        || fail "systemd-analyze verify: $(head -n 5 "$T/verify.txt")"
    ok "systemd-analyze verify: clean"
    (cd "$T" && systemd-analyze security --offline=yes "$UNIT") >"$T/security.txt" 2>&1 || true
    score=$(grep -oE 'Overall exposure level for mimicsocks.service: [0-9.]+' "$T/security.txt" | grep -oE '[0-9.]+$' || true)
    [[ -n "$score" ]] || fail "systemd-analyze security gave no score: $(tail -n 3 "$T/security.txt")"
    awk -v s="$score" -v m="$MAX_EXPOSURE" 'BEGIN { exit !(s < m) }' \
        || fail "exposure $score, not below $MAX_EXPOSURE: $(grep '✗' "$T/security.txt" | head -n 10)"
    ss=/lib/systemd/system/shadowsocks-libev.service
    peer=""
    if [[ -f "$ss" ]]; then
        peer=$( (cd "$T" && systemd-analyze security --offline=yes "$ss") 2>&1 \
                | grep -oE 'Overall exposure level for [^:]+: [0-9.]+' | grep -oE '[0-9.]+$' || true)
        [[ -z "$peer" ]] || peer=", shadowsocks-libev.service here: $peer"
    fi
    ok "systemd-analyze security --offline=yes: exposure $score (< $MAX_EXPOSURE$peer)"
else
    skip "systemd-analyze is not installed: the unit's verify and exposure are not checked"
fi
