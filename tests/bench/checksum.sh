#!/usr/bin/env bash
# checksum.sh RETROVISOR NASM ROM.asm ITER CHECKSUM MODEL: assembles a benchmark ROM with
# -DITER=ITER, runs it with --cpu MODEL and passes only if it prints CHECKSUM=<CHECKSUM> and
# exits through the debug-exit port with value 0 (status 1).
set -uo pipefail
[ $# -eq 6 ] || { echo "usage: $0 RETROVISOR NASM ROM.asm ITER CHECKSUM MODEL" >&2; exit 2; }
rv=$1 nasm=$2 src=$3 iter=$4 want=$5 model=$6
T=$(mktemp -d "${TMPDIR:-/tmp}/rv_bench.XXXXXX")
trap 'rm -rf "$T"' EXIT
"$nasm" -f bin -DITER="$iter" -o "$T/rom.bin" "$src" || exit 1
timeout 50 "$rv" --bios "$T/rom.bin" -m 64M --debugcon stdio --cpu "$model" >"$T/out"
st=$?
got=$(grep -ao 'CHECKSUM=[0-9a-f]*' "$T/out" | head -1)
echo "$(basename "$src") ITER=$iter --cpu $model: ${got:-no checksum}, exit status $st"
[ "$got" = "CHECKSUM=$want" ] || { echo "FAIL: expected CHECKSUM=$want" >&2; exit 1; }
[ "$st" -eq 1 ] || { echo "FAIL: exit status $st, expected 1" >&2; exit 1; }
echo PASS
