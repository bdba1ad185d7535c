#!/usr/bin/env bash
# make-guest.sh [OUTDIR]
#
# Builds Retrovisor's default guest from Debian packages only, into OUTDIR (default
# ${XDG_CACHE_HOME:-~/.cache}/retrovisor/guest):
#   vmlinuz            Debian 12's amd64 kernel (the linux-image-6.1.0-*-amd64 package that
#                      linux-image-amd64 depends on), a bzImage; unpacked, never installed
#   vmlinux            the same kernel decompressed: an ELF with the PVH entry note
#   initramfs.cpio.gz  busybox-static + our /init (scripts/guest/init)
#   manifest.txt       package versions and sha256 sums of the three files
#
# Nothing is installed: packages are fetched with `apt-get download` and unpacked with
# `dpkg-deb -x`. The archive is reproducible (our own newc writer: sorted entries, uid/gid 0,
# mtime 0, inode numbers in order; gzip -n), so the same package versions give the same
# bytes. A second run with the same package versions and /init does nothing.
# Environment: KERNEL_PKG=linux-image-... picks another kernel package.
# Needs: apt-get, apt-cache, dpkg-deb, gzip, xz (or the tool the kernel's payload needs).
set -euo pipefail

die() { echo "make-guest.sh: $*" >&2; exit 1; }
need() { command -v "$1" >/dev/null || die "missing $1 (apt-get install $2)"; }

HERE=$(cd "$(dirname "$0")" && pwd)
INIT="$HERE/guest/init"
OUT=${1:-${XDG_CACHE_HOME:-$HOME/.cache}/retrovisor/guest}
[ -f "$INIT" ] || die "missing $INIT"
need apt-get apt
need apt-cache apt
need dpkg-deb dpkg
need gzip gzip
need sha256sum coreutils
need od coreutils

# ---- package versions ---------------------------------------------------------------------
candidate() { apt-cache policy "$1" 2>/dev/null | awk '/Candidate:/ {print $2; exit}'; }
KPKG=${KERNEL_PKG:-$(apt-cache depends linux-image-amd64 2>/dev/null |
                     awk '/Depends: linux-image-[0-9]/ {print $2; exit}')}
[ -n "$KPKG" ] || die "apt-cache does not know linux-image-amd64 (run apt-get update; Debian 12 sources needed)"
KVER=$(candidate "$KPKG")
BVER=$(candidate busybox-static)
[ -n "$KVER" ] && [ "$KVER" != "(none)" ] || die "no installable version of $KPKG (run apt-get update)"
[ -n "$BVER" ] && [ "$BVER" != "(none)" ] || die "no installable version of busybox-static (run apt-get update)"
INIT_SUM=$(sha256sum "$INIT" | cut -d' ' -f1)
STAMP="kernel: $KPKG $KVER
busybox-static: $BVER
init: $INIT_SUM
format: 1"

mkdir -p "$OUT" || die "cannot create $OUT"
OUT=$(cd "$OUT" && pwd)
MANIFEST="$OUT/manifest.txt"

up_to_date() {
    [ -f "$MANIFEST" ] || return 1
    [ "$(head -n 4 "$MANIFEST")" = "$STAMP" ] || return 1
    (cd "$OUT" && tail -n +5 "$MANIFEST" | sha256sum --quiet -c - >/dev/null 2>&1)
}
if up_to_date; then
    echo "make-guest.sh: $OUT is up to date ($KPKG $KVER, busybox-static $BVER)"
    exit 0
fi

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

# ---- download and unpack ------------------------------------------------------------------
fetch() {   # fetch PACKAGE VERSION DIR
    local log="$TMP/apt-$1.log"
    echo "make-guest.sh: downloading $1 $2"
    if ! (cd "$TMP" && apt-get download "$1=$2") >"$log" 2>&1; then
        echo "make-guest.sh: apt-get download $1=$2 failed (network or apt sources?):" >&2
        grep -E '^(E|Err):' "$log" | head -n 5 >&2 || tail -n 5 "$log" >&2
        exit 1
    fi
    local deb
    deb=$(ls "$TMP"/"$1"_*.deb 2>/dev/null | head -n 1)
    [ -n "$deb" ] || die "apt-get download $1 produced no .deb"
    dpkg-deb -x "$deb" "$3" || die "dpkg-deb -x $deb failed"
}
fetch "$KPKG" "$KVER" "$TMP/kernel"
fetch busybox-static "$BVER" "$TMP/busybox"

VMLINUZ=$(ls "$TMP"/kernel/boot/vmlinuz-* 2>/dev/null | head -n 1)
[ -n "$VMLINUZ" ] || die "$KPKG has no /boot/vmlinuz-*"
BB="$TMP/busybox/bin/busybox"
[ -x "$BB" ] || die "busybox-static has no /bin/busybox"

# ---- vmlinux: the kernel's compressed payload, located through the setup header ----------
# Documentation/x86/boot.rst: setup_sects at 0x1F1 (0 means 4), "HdrS" at 0x202, version at
# 0x206, payload_offset/payload_length at 0x248/0x24C (protocol 2.08+), both relative to the
# protected-mode code, which starts at (setup_sects + 1) * 512. The kernel build appends the
# decompressed size (le32) to the payload, so the stream is payload_length - 4 bytes.
u8()  { od -An -t u1 -j "$2" -N 1 "$1" | tr -d ' '; }
u16() { od -An -t u2 -j "$2" -N 2 "$1" | tr -d ' '; }
u32() { od -An -t u4 -j "$2" -N 4 "$1" | tr -d ' '; }
[ "$(od -An -c -j 514 -N 4 "$VMLINUZ" | tr -d ' ')" = HdrS ] || die "$VMLINUZ: no HdrS setup header"
[ "$(u16 "$VMLINUZ" 518)" -ge $((0x208)) ] || die "$VMLINUZ: boot protocol older than 2.08 has no payload fields"
SECTS=$(u8 "$VMLINUZ" $((0x1F1))); [ "$SECTS" -ne 0 ] || SECTS=4
POFF=$(( (SECTS + 1) * 512 + $(u32 "$VMLINUZ" $((0x248))) ))
PLEN=$(u32 "$VMLINUZ" $((0x24C)))
[ "$PLEN" -gt 4 ] && [ $((POFF + PLEN)) -le "$(stat -c %s "$VMLINUZ")" ] || die "$VMLINUZ: payload outside the file"
dd if="$VMLINUZ" of="$TMP/payload" bs=64K iflag=skip_bytes,count_bytes skip="$POFF" count="$PLEN" status=none
dd if="$TMP/payload" of="$TMP/payload.stream" bs=64K iflag=count_bytes count=$((PLEN - 4)) status=none
WANT=$(u32 "$TMP/payload" $((PLEN - 4)))
MAGIC=$(od -An -t x1 -N 6 "$TMP/payload" | tr -d ' \n')
case "$MAGIC" in
    fd377a585a00*) need xz xz-utils;   TOOL="xz -dc --single-stream" ;;
    1f8b*)         need gzip gzip;     TOOL="gzip -dc" ;;
    28b52ffd*)     need zstd zstd;     TOOL="zstd -dc" ;;
    425a68*)       need bzip2 bzip2;   TOOL="bzip2 -dc" ;;
    5d0000*)       need xz xz-utils;   TOOL="xz -dc --format=lzma" ;;
    02214c18*)     need lz4 lz4;       TOOL="lz4 -dc" ;;
    *) die "$VMLINUZ: unknown payload compression (magic $MAGIC)" ;;
esac
$TOOL < "$TMP/payload.stream" > "$TMP/vmlinux" || die "$VMLINUZ: '$TOOL' failed on the payload"
[ "$(stat -c %s "$TMP/vmlinux")" = "$WANT" ] ||
    die "$VMLINUZ: decompressed payload is $(stat -c %s "$TMP/vmlinux") bytes, the kernel says $WANT"
[ "$(od -An -t x1 -N 4 "$TMP/vmlinux" | tr -d ' \n')" = 7f454c46 ] || die "$VMLINUZ: payload is not an ELF file"

# ---- initramfs: our own newc writer -------------------------------------------------------
# newc (cpio -H newc): "070701", 13 fields of 8 hex digits (ino mode uid gid nlink mtime
# filesize devmajor devminor rdevmajor rdevminor namesize check), the NUL-terminated name
# padded to 4 bytes, the data padded to 4 bytes; "TRAILER!!!" ends the archive. Writing it
# ourselves keeps the archive reproducible and needs neither cpio nor root (device nodes
# exist only in the archive).
# Entries: "path|kind|mode|source" with kind d (dir), f (file: source path), l (symlink:
# source is the target), c (char device: source is "major:minor").
ENTRIES="$TMP/entries"
{
    for d in bin sbin dev proc sys tmp root etc usr usr/bin usr/sbin; do echo "$d|d|755|"; done
    echo "bin/busybox|f|755|$BB"
    echo "init|f|755|$INIT"
    echo "etc/passwd|f|644|$TMP/passwd"
    echo "etc/group|f|644|$TMP/group"
    echo "dev/console|c|600|5:1"
    echo "dev/null|c|666|1:3"
    echo "dev/ttyS0|c|660|4:64"
    "$BB" --list-full | while read -r app; do
        [ "$app" = bin/busybox ] || echo "$app|l|777|/bin/busybox"
    done
} | LC_ALL=C sort -t'|' -k1,1 -u > "$ENTRIES"
echo 'root:x:0:0:root:/root:/bin/sh' > "$TMP/passwd"
echo 'root:x:0:' > "$TMP/group"

pad4() { local n=$(( (4 - $1 % 4) % 4 )); [ "$n" -eq 0 ] || head -c "$n" /dev/zero; }
newc() {   # newc INO MODE NLINK SIZE RMAJ RMIN NAME
    local namesize=$(( ${#7} + 1 ))
    printf '070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%s\0' \
        "$1" "$2" 0 0 "$3" 0 "$4" 0 0 "$5" "$6" "$namesize" 0 "$7"
    pad4 $((110 + namesize))
}
write_cpio() {
    local ino=1 path kind mode src size
    while IFS='|' read -r path kind mode src; do
        case "$kind" in
            d) newc $ino $((0040000 | 8#$mode)) 2 0 0 0 "$path" ;;
            f) size=$(stat -L -c %s "$src")
               newc $ino $((0100000 | 8#$mode)) 1 "$size" 0 0 "$path"
               cat "$src"; pad4 "$size" ;;
            l) newc $ino $((0120000 | 8#$mode)) 1 ${#src} 0 0 "$path"
               printf '%s' "$src"; pad4 ${#src} ;;
            c) newc $ino $((0020000 | 8#$mode)) 1 0 "${src%%:*}" "${src##*:}" "$path" ;;
        esac
        ino=$((ino + 1))
    done < "$ENTRIES"
    newc 0 0 1 0 0 0 'TRAILER!!!'
}
write_cpio | gzip -9 -n > "$TMP/initramfs.cpio.gz"

# ---- publish ------------------------------------------------------------------------------
cp "$VMLINUZ" "$OUT/vmlinuz"
mv "$TMP/vmlinux" "$OUT/vmlinux"
mv "$TMP/initramfs.cpio.gz" "$OUT/initramfs.cpio.gz"
{
    echo "$STAMP"
    (cd "$OUT" && sha256sum vmlinuz vmlinux initramfs.cpio.gz)
} > "$MANIFEST.new"
mv "$MANIFEST.new" "$MANIFEST"
echo "make-guest.sh: built $OUT ($KPKG $KVER, busybox-static $BVER)"
cat "$MANIFEST"
