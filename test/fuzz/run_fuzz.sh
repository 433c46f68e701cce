#!/usr/bin/env bash
# run_fuzz.sh HARNESS WORKDIR [SECONDS] — one harness's fuzz run (ctest, make fuzz).
#
#   1. replays every input in test/fuzz/regressions/NAME/ (fails if one fails);
#   2. fuzzes for SECONDS (default: $MIMICSOCKS_FUZZ_SECONDS, else the build's
#      MIMICSOCKS_FUZZ_DEFAULT_SECONDS, else 30) from the seeds in
#      test/fuzz/corpus/NAME/ and a working corpus WORKDIR/NAME/corpus, which
#      keeps growing from run to run (the committed seeds are never written);
#      a crash or an invariant failure leaves its input in WORKDIR/NAME/ as
#      crash-*, leak-*, timeout-* or oom-* and fails the run.
#
# NAME is the harness's file name (fuzz_http_request ...). Extra libFuzzer
# flags: $MIMICSOCKS_FUZZ_FLAGS (e.g. -jobs=1 -max_len=8192).
set -u
harness=$1
work=$2
seconds=${3:-${MIMICSOCKS_FUZZ_SECONDS:-${MIMICSOCKS_FUZZ_DEFAULT_SECONDS:-30}}}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
name=$(basename "$harness")

if [ ! -x "$harness" ]; then
    echo "run_fuzz: $harness is not built" >&2
    exit 2
fi
regressions=$here/regressions/$name
seeds=$here/corpus/$name
out=$work/$name
mkdir -p "$out/corpus"

flags=(-timeout=10 -rss_limit_mb=2048 -print_final_stats=1)
[ -f "$here/dict/$name.dict" ] && flags+=("-dict=$here/dict/$name.dict")

if [ -d "$regressions" ] && [ -n "$(ls -A "$regressions")" ]; then
    echo "== $name: replaying $(ls "$regressions" | wc -l) regression input(s)"
    "$harness" -runs=1 "${flags[@]}" -artifact_prefix="$out/" "$regressions"/* || { echo "run_fuzz: $name: a regression input fails" >&2; exit 1; }
fi

echo "== $name: fuzzing for ${seconds}s"
# shellcheck disable=SC2086
"$harness" "${flags[@]}" -max_total_time="$seconds" -artifact_prefix="$out/" \
    ${MIMICSOCKS_FUZZ_FLAGS:-} "$out/corpus" "$seeds"
rc=$?
if [ $rc -ne 0 ]; then
    echo "run_fuzz: $name failed (exit $rc); inputs: $(ls "$out" | grep -v '^corpus$' | tr '\n' ' ')" >&2
fi
exit $rc
