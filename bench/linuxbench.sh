#!/usr/bin/env bash
# linuxbench.sh: the Linux benchmark. Builds the shared benchmark guest (../shared/bench:
# Debian 12's kernel, busybox-static and minibench; see its README) with its make-guest.sh
# into a cache directory, boots it under Retrovisor and, where qemu-system-x86_64 is
# installed, under QEMU's TCG with ../shared/bench/run-qemu.sh on the same files in the same
# run, and prints one table: host wall time to the first GUEST-BOOTED line, wall time of the
# benchmark (GUEST-BOOTED to GUEST-DONE), minibench's own BENCH-TOTAL ms, and whether its
# checksum is the one a native run prints (expected-scale1.txt), with Retrovisor/QEMU ratios.
#
# Configurations (CONFIGS, space-separated KIMG:VARIANT, as run-qemu.sh names them):
#   vmlinux:lean      PVH entry from the uncompressed ELF, run-qemu.sh's "lean" command line
#                     (acpi=off nokaslr mitigations=off noapic nolapic no_timer_check
#                     cryptomgr.notests tsc_early_khz=...): the fastest boot
#   vmlinuz:default   the bzImage through its XZ decompressor, "console=ttyS0 quiet panic=-1"
# Both run the benchmark at scale 1 and end with the guest powering off (ACPI) or, without
# ACPI, resetting (run with --no-reboot, as QEMU runs with -no-reboot): exit status 0.
# Retrovisor's TSC runs at 1 GHz (machine/pc.h), so its tsc_early_khz is 1000000; QEMU's
# follows the host's and run-qemu.sh passes the host's rate.
#
# Environment (all optional):
#   GUEST_DIR=dir      guest cache (default build/benchguest; reused when complete)
#   SHARED_BENCH=dir   the shared benchmark (default ../shared/bench beside the repo)
#   RETROVISOR=path    the emulator binary (default build/retrovisor, built if missing;
#                      a RETROVISOR that names a missing file is an error)
#   CONFIGS="vmlinux:lean vmlinuz:default"
#   ENGINES="retrovisor qemu"
#   MEM=512M           guest RAM (run-qemu.sh's default)
#   TIMEOUT=900        seconds per boot
#   KEEP=1             keep the scratch directory (console logs) and print its path
# Exit status: 0 when every Retrovisor boot reached GUEST-DONE, printed the expected
# checksum and exited with status 0; 1 otherwise; 2 when the guest cannot be built (the
# missing Debian packages are named) or a file is missing.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
SHARED_BENCH=${SHARED_BENCH:-$root/../shared/bench}
GUEST_DIR=${GUEST_DIR:-$root/build/benchguest}
RV_DEFAULT=$root/build/retrovisor
RETROVISOR=${RETROVISOR:-$RV_DEFAULT}
CONFIGS=${CONFIGS:-vmlinux:lean vmlinuz:default}
ENGINES=${ENGINES:-retrovisor qemu}
MEM=${MEM:-512M}
TIMEOUT=${TIMEOUT:-900}
RV_TSC_KHZ=1000000

die2() { echo "linuxbench.sh: $*" >&2; exit 2; }

# ---- 1. the guest ---------------------------------------------------------------------------
for f in make-guest.sh run-qemu.sh guest/init.sh guest/minibench.c; do
    [ -f "$SHARED_BENCH/$f" ] || die2 "no $SHARED_BENCH/$f (set SHARED_BENCH)"
done
GUEST_FILES=(vmlinuz vmlinux initramfs.cpio.gz expected-scale1.txt)
guest_complete() {
    local f
    for f in "${GUEST_FILES[@]}"; do [ -s "$GUEST_DIR/$f" ] || return 1; done
}
if guest_complete; then
    echo "linuxbench.sh: reusing the guest in $GUEST_DIR" >&2
else
    # What make-guest.sh needs, by Debian package (it checks less precisely and exits 1).
    missing=()
    command -v gcc >/dev/null || missing+=(gcc)
    { [ -f /usr/lib/x86_64-linux-gnu/libc.a ] || [ -f /usr/lib/libc.a ]; } || missing+=(libc6-dev)
    command -v cpio >/dev/null || missing+=(cpio)
    command -v gzip >/dev/null || missing+=(gzip)
    command -v xz >/dev/null || missing+=(xz-utils)
    { command -v apt-get && command -v apt-cache; } >/dev/null || missing+=(apt)
    command -v dpkg-deb >/dev/null || missing+=(dpkg)
    if [ ! -x /bin/busybox ] || ! { file -L /bin/busybox 2>/dev/null | grep -q 'statically linked' ||
                                    ldd /bin/busybox 2>&1 | grep -q 'not a dynamic'; }; then
        missing+=(busybox-static)
    fi
    if [ ${#missing[@]} -gt 0 ]; then
        die2 "building the guest needs these Debian packages, not installed: ${missing[*]} (apt-get install ${missing[*]})"
    fi
    echo "linuxbench.sh: building the guest into $GUEST_DIR (make-guest.sh)..." >&2
    mkdir -p "$GUEST_DIR" || die2 "cannot create $GUEST_DIR"
    if ! bash "$SHARED_BENCH/make-guest.sh" "$GUEST_DIR" >"$GUEST_DIR/make-guest.log" 2>&1; then
        tail -5 "$GUEST_DIR/make-guest.log" >&2
        die2 "make-guest.sh failed (log: $GUEST_DIR/make-guest.log)"
    fi
    guest_complete || die2 "make-guest.sh did not produce all of ${GUEST_FILES[*]} in $GUEST_DIR"
fi
GUEST_DIR=$(cd "$GUEST_DIR" && pwd)
EXPECTED=$(grep -o 'checksum=0x[0-9a-f]*' "$GUEST_DIR/expected-scale1.txt" | head -1 | cut -d= -f2)
[ -n "$EXPECTED" ] || die2 "no checksum in $GUEST_DIR/expected-scale1.txt"

W=$(mktemp -d "${TMPDIR:-/tmp}/linuxbench.XXXXXX")
if [ "${KEEP:-0}" = 1 ]; then
    trap 'echo "linuxbench.sh: logs kept in $W" >&2' EXIT
else
    trap 'rm -rf "$W"' EXIT
fi

# ---- command lines (run-qemu.sh's presets) -----------------------------------------------------
append_for() {  # VARIANT TSC_KHZ
    case $1 in
    default) echo "console=ttyS0 quiet panic=-1 guest.scale=1" ;;
    lean) echo "console=ttyS0 quiet panic=-1 acpi=off nokaslr mitigations=off noapic nolapic no_timer_check cryptomgr.notests tsc_early_khz=$2 guest.scale=1" ;;
    *) die2 "unknown variant '$1' in CONFIGS (default or lean)" ;;
    esac
}
for c in $CONFIGS; do
    [[ $c == *:* ]] || die2 "bad CONFIGS entry '$c' (KIMG:VARIANT)"
    [ -s "$GUEST_DIR/${c%%:*}" ] || die2 "no $GUEST_DIR/${c%%:*}"
    append_for "${c##*:}" 0 >/dev/null
done

us() { local t=${EPOCHREALTIME/./}; echo $((10#$t)); }
sec() { printf '%d.%03d' $(($1 / 1000000)) $((($1 % 1000000) / 1000)); }

declare -A BOOTED BENCH GMS SUM OK NOTE INSNS MIPS

# run_retrovisor KEY KIMG VARIANT: boots under Retrovisor, timestamping the serial output as
# it streams (stdout; Retrovisor's own messages go to stderr).
run_retrovisor() {
    local key=$1 kimg=$2 variant=$3 log=$W/$1.retrovisor.log err=$W/$1.retrovisor.err
    local append start now line booted="" done_="" gms="" sum="" failed="" status
    append=$(append_for "$variant" "$RV_TSC_KHZ")
    echo "+ $RETROVISOR --kernel $GUEST_DIR/$kimg --initrd $GUEST_DIR/initramfs.cpio.gz --append \"$append\" -m $MEM --serial stdio --no-reboot --stats --clock virtual,pace=off" >"$log"
    echo "running retrovisor, $kimg ($variant)..." >&2
    start=$(us)
    while IFS= read -r line || [ -n "$line" ]; do
        now=$(($(us) - start))
        line=${line%$'\r'}
        printf '[%s] %s\n' "$(sec $now)" "$line" >>"$log"
        case $line in
        *GUEST-BOOTED*) [ -n "$booted" ] || booted=$now ;;
        *GUEST-DONE*) done_=$now ;;
        *BENCH-TOTAL*) gms=${line##*ms=}; sum=${line#*checksum=}; sum=${sum%% *} ;;
        *"Kernel panic"*|*"BUG:"*|*"Oops"*) failed=${failed:-$line} ;;
        esac
    done < <(timeout -k 5 "$TIMEOUT" "$RETROVISOR" --kernel "$GUEST_DIR/$kimg" \
                 --initrd "$GUEST_DIR/initramfs.cpio.gz" --append "$append" -m "$MEM" \
                 --serial stdio --no-reboot --stats --clock virtual,pace=off </dev/null 2>"$err"
             echo $? >"$W/$key.retrovisor.status")
    status=$(cat "$W/$key.retrovisor.status" 2>/dev/null || echo "?")
    BOOTED[$key.retrovisor]=${booted:+$(sec "$booted")}
    [ -n "$booted" ] && [ -n "$done_" ] && BENCH[$key.retrovisor]=$(sec $((done_ - booted)))
    GMS[$key.retrovisor]=$gms
    SUM[$key.retrovisor]=$sum
    INSNS[$key.retrovisor]=$(grep -o 'guest_insns=[0-9]*' "$err" | tail -1 | cut -d= -f2)
    MIPS[$key.retrovisor]=$(grep -o ' mips=[0-9.]*' "$err" | tail -1 | cut -d= -f2)
    local ok=yes note=""
    if [ "$status" = 124 ] || [ "$status" = 137 ]; then
        ok=no; note="timed out after ${TIMEOUT}s"
    elif [ "$status" != 0 ]; then
        ok=no; note="exit status $status: $(grep -v 'stats:' "$err" | tail -1)"
    fi
    [ -n "$failed" ] && { ok=no; note="${note:+$note; }guest: $failed"; }
    [ -z "$done_" ] && { ok=no; note=${note:-"no GUEST-DONE"}; }
    [ "$sum" = "$EXPECTED" ] || ok=no
    OK[$key.retrovisor]=$ok
    NOTE[$key.retrovisor]=$note
}

# run_qemu KEY KIMG VARIANT: ../shared/bench/run-qemu.sh tcg; takes its RESULT line.
run_qemu() {
    local key=$1 kimg=$2 variant=$3 log=$W/$1.qemu.log res
    echo "running qemu-system-x86_64 (TCG, run-qemu.sh), $kimg ($variant)..." >&2
    GUEST_DIR=$GUEST_DIR VARIANT=$variant KIMG=$kimg MEM=$MEM SCALE=1 TIMEOUT=$TIMEOUT LOG=$log \
        bash "$SHARED_BENCH/run-qemu.sh" tcg >"$W/$key.qemu.out" 2>&1
    res=$(grep '^RESULT' "$W/$key.qemu.out" | tail -1)
    if [ -z "$res" ]; then
        OK[$key.qemu]=no; NOTE[$key.qemu]="run-qemu.sh printed no RESULT: $(tail -1 "$W/$key.qemu.out")"
        return
    fi
    kv() { local v; v=$(grep -o " $1=[^ ]*" <<<"$res" | head -1); echo "${v#* "$1"=}"; }
    BOOTED[$key.qemu]=$(kv booted_s)
    BENCH[$key.qemu]=$(kv bench_s)
    GMS[$key.qemu]=$(kv guest_ms)
    SUM[$key.qemu]=$(kv checksum)
    OK[$key.qemu]=$(kv ok)
    [[ $res == *failed=* ]] && NOTE[$key.qemu]=${res#*failed=}
}

# ---- 2 and 3: the boots -----------------------------------------------------------------------
have_qemu=yes
command -v qemu-system-x86_64 >/dev/null || have_qemu=no
for engine in $ENGINES; do
    case $engine in
    retrovisor)
        # Only the default binary is built when missing (as cpubench.sh does); a RETROVISOR
        # that names a missing file is an error.
        if [ ! -x "$RETROVISOR" ] && [ "$RETROVISOR" = "$RV_DEFAULT" ]; then
            echo "linuxbench.sh: building $RETROVISOR (scripts/build.sh retrovisor)..." >&2
            "$root/scripts/build.sh" retrovisor >/dev/null || die2 "cannot build $RETROVISOR"
        fi
        [ -x "$RETROVISOR" ] || die2 "no $RETROVISOR (set RETROVISOR)" ;;
    qemu) ;;
    *) die2 "unknown engine '$engine' (retrovisor, qemu)" ;;
    esac
done
for c in $CONFIGS; do
    kimg=${c%%:*} variant=${c##*:}
    for engine in $ENGINES; do
        case $engine in
        retrovisor) run_retrovisor "$c" "$kimg" "$variant" ;;
        qemu) if [ $have_qemu = yes ]; then run_qemu "$c" "$kimg" "$variant"
              else OK[$c.qemu]=-; NOTE[$c.qemu]="qemu-system-x86_64 not installed (scripts/setup.sh --bench)"; fi ;;
        esac
    done
done

# ---- the report -------------------------------------------------------------------------------
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a != "" && b != "" && b > 0) printf "%.2fx", a / b; else print "-" }'; }
echo
echo "Linux benchmark guest ($GUEST_DIR), scale 1, -m $MEM; expected checksum $EXPECTED"
echo "booted s = host wall seconds from start to GUEST-BOOTED; bench s = GUEST-BOOTED to GUEST-DONE;"
echo "guest ms = minibench's own BENCH-TOTAL (guest clock: Retrovisor's is virtual time)"
printf '%-17s %-11s %9s %9s %9s %-19s %-4s\n' config engine "booted s" "bench s" "guest ms" checksum ok
rc=0
for c in $CONFIGS; do
    label="${c%%:*} ${c##*:}"
    for engine in $ENGINES; do
        k=$c.$engine
        if [ "${OK[$k]:-}" = - ]; then
            printf '%-17s %-11s %s\n' "$label" "$engine" "${NOTE[$k]}"
            continue
        fi
        printf '%-17s %-11s %9s %9s %9s %-19s %-4s\n' "$label" "$engine" "${BOOTED[$k]:--}" \
            "${BENCH[$k]:--}" "${GMS[$k]:--}" "${SUM[$k]:-none}" "${OK[$k]:-no}"
        [ -n "${NOTE[$k]:-}" ] && printf '%-17s %-11s note: %s\n' "" "" "${NOTE[$k]}"
        if [ "$engine" = retrovisor ]; then
            [ -n "${INSNS[$k]:-}" ] && printf '%-17s %-11s stats: %s guest instructions, %s MIPS per CPU second\n' \
                "" "" "${INSNS[$k]}" "${MIPS[$k]:-?}"
            [ "${OK[$k]:-no}" = yes ] || rc=1
        fi
    done
    r=$c.retrovisor q=$c.qemu
    if [ "${OK[$r]:-}" != "" ] && [ "${OK[$q]:-}" != "" ] && [ "${OK[$q]}" != - ]; then
        printf '%-17s %-11s %9s %9s %9s   (Retrovisor wall time / QEMU wall time)\n' "" "ratio" \
            "$(ratio "${BOOTED[$r]:-}" "${BOOTED[$q]:-}")" "$(ratio "${BENCH[$r]:-}" "${BENCH[$q]:-}")" "n/a"
    fi
done

# Per-kernel host wall times of the first configuration both engines ran: from each console
# log's timestamps, the time from the previous line that matters (GUEST-BOOTED or the last
# BENCH line) to this BENCH line. Retrovisor's guest ms are virtual time, so they are not compared.
kernel_times() {  # LOG -> "name wall_ms sum" lines
    awk '/^\[[0-9.]+\] / { t = substr($1, 2, length($1) - 2) + 0 }
         /GUEST-BOOTED/ { prev = t }
         /^\[[0-9.]+\] BENCH / && prev != "" { s = ""; for (i = 3; i <= NF; i++) if ($i ~ /^sum=/) s = $i
                                  printf "%s %.0f %s\n", $3, (t - prev) * 1000, s; prev = t }' "$1"
}
for c in $CONFIGS; do
    [ -f "$W/$c.retrovisor.log" ] && [ -f "$W/$c.qemu.log" ] || continue
    kernel_times "$W/$c.retrovisor.log" >"$W/rk"
    kernel_times "$W/$c.qemu.log" >"$W/qk"
    [ -s "$W/rk" ] && [ -s "$W/qk" ] || continue
    echo
    echo "minibench kernels, ${c%%:*} ${c##*:}: host wall ms between console lines"
    printf '%-8s %11s %9s %16s %s\n' kernel retrovisor qemu "retrovisor/qemu" "same sum"
    while read -r name rms rsum; do
        read -r _ qms qsum < <(awk -v n="$name" '$1 == n' "$W/qk") || { qms=""; qsum=""; }
        same=no; [ -n "$qsum" ] && [ "$rsum" = "$qsum" ] && same=yes
        printf '%-8s %11s %9s %16s %s\n' "$name" "$rms" "${qms:--}" "$(ratio "$rms" "$qms")" "$same"
    done <"$W/rk"
    break
done
[ $rc = 0 ] || echo "linuxbench.sh: a Retrovisor boot failed or printed the wrong checksum" >&2
exit $rc
