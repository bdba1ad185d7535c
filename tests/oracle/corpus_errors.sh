#!/usr/bin/env bash
# Malformed corpus files (truncated, a flipped bit, not zstd, a foreign zstd file, a newer
# format version) each give one line naming the file and exit status 2; an empty corpus
# folder is a skip (77) for --corpus-check, never a pass. Needs zstd (scripts/setup.sh).
set -u
oracle=$1 corpus=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
src=$(ls "$corpus"/*.rvoc | tail -1)
fail=0
expect() {   # expect STATUS WHAT
    local want=$1 what=$2 out st
    out=$("$oracle" --corpus-check --corpus "$tmp" 2>&1 >/dev/null); st=$?
    if [ "$st" != "$want" ]; then echo "FAIL $what: status $st, expected $want: $out"; fail=1; return; fi
    if [ "$want" = 2 ] && { [ "$(printf '%s\n' "$out" | wc -l)" != 1 ] || ! grep -q "a.rvoc" <<<"$out"; }; then
        echo "FAIL $what: expected one line naming the file, got: $out"; fail=1; return
    fi
    echo "ok   $what: ${out:-status $st}"
}
size=$(stat -c %s "$src")
for cut in 0 4 100 $((size / 2)) $((size - 1)); do
    head -c "$cut" "$src" > "$tmp/a.rvoc"; expect 2 "truncated at $cut of $size bytes"
done
python3 - "$src" "$tmp/a.rvoc" <<'PY'
import sys; b = bytearray(open(sys.argv[1], 'rb').read()); b[len(b) // 3] ^= 0x10; open(sys.argv[2], 'wb').write(b)
PY
expect 2 "one bit flipped"
echo "not a corpus" > "$tmp/a.rvoc"; expect 2 "not zstd"
printf 'hello' | zstd -q -c > "$tmp/a.rvoc"; expect 2 "a foreign zstd file"
# A newer format version: decompress, bump the version field, recompress.
zstd -q -d -c "$src" > "$tmp/raw"
python3 - "$tmp/raw" <<'PY'
import sys, struct; p = sys.argv[1]; b = bytearray(open(p, 'rb').read()); b[4:8] = struct.pack('<I', 99); open(p, 'wb').write(b)
PY
zstd -q -c --content-size "$tmp/raw" > "$tmp/a.rvoc"; rm -f "$tmp/raw"; expect 2 "format version 99"
rm -f "$tmp/a.rvoc"; expect 77 "an empty corpus folder"
[ $fail = 0 ] && echo "1 passed, 0 failed" || echo "0 passed, 1 failed"
exit $fail
