#!/bin/sh
# run_rom.sh RETROVISOR ROM EXPECTED STATUS [RETROVISOR-OPTION...]
# Runs a test ROM under retrovisor (60 s limit) and passes only when the port-0xE9 output
# equals EXPECTED byte for byte and the exit status equals STATUS. Extra options go to
# retrovisor (e.g. --trace FILE: the same output must come out single-stepped).
set -u
if [ $# -lt 4 ]; then
    echo "usage: $0 RETROVISOR ROM EXPECTED STATUS [OPTION...]" >&2
    exit 2
fi
emu=$1 rom=$2 expected=$3 want=$4
shift 4
out=$(mktemp "${TMPDIR:-/tmp}/run_rom.XXXXXX")
trap 'rm -f "$out"' EXIT
timeout 60 "$emu" --bios "$rom" -m 32M --debugcon stdio --max-insns 200000000 "$@" > "$out"
got=$?
ok=0
if [ "$got" -eq 124 ]; then
    echo "FAIL: $rom timed out after 60 s" >&2
fi
if ! cmp -s "$expected" "$out"; then
    echo "FAIL: output of $rom differs from $expected:" >&2
    diff -u "$expected" "$out" >&2 || true
    cmp "$expected" "$out" >&2 || true
    ok=1
fi
if [ "$got" -ne "$want" ]; then
    echo "FAIL: exit status of $rom is $got, expected $want" >&2
    ok=1
fi
[ $ok -eq 0 ] && echo "PASS: $rom"
exit $ok
