#!/usr/bin/env bash
# layering.sh [TREE] — fails if any source file includes a project header
# across the allowed direction of the layers (see the top-level CMakeLists.txt):
#
#   runtime/base/   only runtime/base/
#   nodes/          only nodes/
#   config/         config/, runtime/base/
#   runtime/        runtime/, runtime/base/, and of nodes/ only the interface nodes/node.h
#   handlers/       handlers/, runtime/handler.h, runtime/base/
#   actors/, test/  anything
#
# Every project include must name its folder ("nodes/cipher.h", never "cipher.h").
# Prints one line per wrong include (FILE:LINE: includes HEADER) and exits 1 if any.
set -u
tree=${1:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
cd "$tree" || exit 2

allowed() {     # allowed FILE HEADER
    local file=$1 header=$2
    case "$file" in
        runtime/base/*) [[ $header == runtime/base/* ]] ;;
        nodes/*)        [[ $header == nodes/* ]] ;;
        config/*)       [[ $header == config/* || $header == runtime/base/* ]] ;;
        runtime/*)      [[ ( $header == runtime/* ) || $header == nodes/node.h ]] ;;
        handlers/*)     [[ $header == handlers/* || $header == runtime/handler.h || $header == runtime/base/* ]] ;;
        *)              true ;;
    esac
}

bad=0 checked=0
while IFS= read -r file; do
    checked=$((checked + 1))
    while IFS=: read -r line header; do
        if [[ $header != */* ]]; then
            echo "$file:$line: includes \"$header\" without its folder"
            bad=$((bad + 1))
        elif ! allowed "$file" "$header"; then
            echo "$file:$line: includes \"$header\" (against the layering)"
            bad=$((bad + 1))
        fi
    done < <(grep -n '^[[:space:]]*#[[:space:]]*include[[:space:]]*"' "$file" \
             | sed 's/^\([0-9]*\):[^"]*"\([^"]*\)".*/\1:\2/')
done < <(find runtime nodes config handlers actors -name '*.[ch]' 2>/dev/null | sort)

if [ "$checked" -eq 0 ]; then
    echo "layering: no source files under $tree" >&2
    exit 2
fi
echo "layering: $checked files, $bad wrong includes"
[ "$bad" -eq 0 ]
