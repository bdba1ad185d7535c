#!/bin/sh
# qemu-ref.sh NAME [--update] : assemble roms/tests/NAME.asm (or roms/demo/NAME.asm) and run
# it on QEMU TCG, the reference. Prints the port-0xE9 output and QEMU's exit status.
# With --update, writes NAME.expected (verbatim output) next to the .asm.
# NAME.status is kept by hand (QEMU exits 0 on a triple fault with -no-reboot; we expect 4).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
name=$1
src=$here/$name.asm
[ -f "$src" ] || src=$here/../demo/$name.asm
dir=$(dirname "$src")
out=${TMPDIR:-/tmp}/rom-$name
nasm -f bin -I "$here/" -o "$out.bin" "$src"
set +e
timeout 20 qemu-system-x86_64 -accel tcg -cpu max -bios "$out.bin" -display none -vga none \
    -m 32 -debugcon stdio -device isa-debug-exit,iobase=0xf4,iosize=0x04 \
    -serial none -monitor none -no-reboot -nodefaults > "$out.out"
st=$?
set -e
cat "$out.out"
echo "[qemu exit status $st]" >&2
if [ "${2:-}" = "--update" ]; then
    cp "$out.out" "$dir/$name.expected"
    echo "[wrote $dir/$name.expected]" >&2
fi
