#!/usr/bin/env bash
# layering_selftest.sh — test/layering.sh must pass a tree that keeps the
# layers and fail, naming each line, on includes planted against them.
set -u
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0
check() { if eval "$2"; then echo "ok: $1"; else echo "FAIL: $1"; fails=$((fails + 1)); fi; }

mkdir -p "$tmp"/{nodes,runtime/base,config,handlers,actors}
printf '#include "nodes/node.h"\n'                        > "$tmp/nodes/cipher.c"
printf '#include "runtime/base/log.h"\n'                  > "$tmp/runtime/base/addr.c"
printf '#include "nodes/node.h"\n#include "runtime/bufq.h"\n#include "runtime/base/log.h"\n' > "$tmp/runtime/session.c"
printf '#include "config/config.h"\n#include "runtime/base/addr.h"\n' > "$tmp/config/config.c"
printf '#include "runtime/handler.h"\n#include "handlers/socks.h"\n'  > "$tmp/handlers/socks.c"
printf '#include "nodes/cipher.h"\n#include "config/config.h"\n#include "runtime/session.h"\n' > "$tmp/actors/dialer.c"
bash "$here/layering.sh" "$tmp" > "$tmp/clean.out" 2>&1
check "a tree that keeps the layers passes" '[ $? -eq 0 ]'

printf '#include "actors/app.h"\n'   >> "$tmp/nodes/cipher.c"        # nodes -> actors
printf '#include "nodes/cipher.h"\n' >> "$tmp/runtime/session.c"     # runtime -> a node, not the interface
printf '#include "runtime/session.h"\n' >> "$tmp/handlers/socks.c"   # handlers -> past the handler API
printf '#include "handlers/socks.h"\n'  >> "$tmp/config/config.c"    # config -> handlers
printf '#include "config/config.h"\n'   >> "$tmp/runtime/base/addr.c" # base -> config
printf '#include "log.h"\n'             >> "$tmp/actors/dialer.c"    # no folder
bash "$here/layering.sh" "$tmp" > "$tmp/planted.out" 2>&1
rc=$?
check "planted includes fail the check" '[ $rc -eq 1 ]'
for want in 'nodes/cipher.c:2: includes "actors/app.h"' 'runtime/session.c:4: includes "nodes/cipher.h"' \
            'handlers/socks.c:3: includes "runtime/session.h"' 'config/config.c:3: includes "handlers/socks.h"' \
            'runtime/base/addr.c:2: includes "config/config.h"' 'actors/dialer.c:4: includes "log.h" without its folder'; do
    check "reported: $want" 'grep -qF "$want" "$tmp/planted.out"'
done
check "nothing else reported" '[ "$(grep -c ": includes" "$tmp/planted.out")" -eq 6 ]'
passed=$(( 9 - fails ))
echo "$passed passed, $fails failed"
[ "$fails" -eq 0 ]
