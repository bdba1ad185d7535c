#!/usr/bin/env bash
# run-guest.sh: installs what is missing, builds, builds the default guest from Debian's
# packages (scripts/make-guest.sh: Debian's 6.1 kernel and busybox, cached), and boots it
# under the interpreter to a busybox shell on this terminal (COM1). Ctrl-A X quits;
# `poweroff -f` in the guest ends the run. Extra arguments go to retrovisor.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$root/build}
guest=${GUEST_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/retrovisor/guest}
"$root/scripts/setup.sh"
"$root/scripts/build.sh" retrovisor
"$root/scripts/make-guest.sh" "$guest"
echo "+ $build/retrovisor --kernel $guest/vmlinux --initrd $guest/initramfs.cpio.gz --append console=ttyS0 -m 256M --serial stdio $*" >&2
exec "$build/retrovisor" --kernel "$guest/vmlinux" --initrd "$guest/initramfs.cpio.gz" \
    --append "console=ttyS0" -m 256M --serial stdio "$@"
