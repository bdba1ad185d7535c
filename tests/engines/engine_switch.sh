#!/usr/bin/env bash
# engine_switch.sh RETROVISOR ROM_DIR EXPECTED_DIR
# The kvmsum ROM's checksum must be the same under the interpreter, under KVM alone, and with
# the machine moved between the engines several times (--switch-engine-at counts the
# interpreter's instructions, --switch-engine-after host seconds since the start). Where the
# host's KVM fails its x87/SSE self-test (the software-nested KVM of our build machines),
# the integer-only kvmsum_int ROM is used instead and that is said. Exit 77 (skip) with the
# reason when KVM cannot be used at all.
set -u
rv=$1 roms=$2 expected=$3
fail=0
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

run() {   # run NAME ARGS...: stdout to $work/NAME.out, stderr to $work/NAME.err, status to $work/NAME.rc
  local name=$1; shift
  timeout 240 "$rv" --debugcon stdio --stats "$@" >"$work/$name.out" 2>"$work/$name.err"
  echo $? >"$work/$name.rc"
}

run probe --bios "$roms/kvmsum_int.bin" --accel interp,kvm --max-insns 1
if grep -q "KVM engine cannot be used" "$work/probe.err"; then
  echo "SKIP: $(grep -m1 'cannot be used' "$work/probe.err")"
  exit 77
fi
rom=kvmsum
if grep -q "fails its self-test" "$work/probe.err"; then
  echo "note: $(grep -m1 'self-test' "$work/probe.err" | sed 's/^retrovisor: //')"
  echo "note: so the integer-only ROM kvmsum_int is used; the x87/SSE state transfer is not exercised here"
  rom=kvmsum_int
fi
want=$(cat "$expected/$rom.expected")

check() {   # check NAME DESCRIPTION [MIN_SWITCHES] [EXPECTED_TEXT]
  local name=$1 what=$2 min=${3:-0} want=${4:-$want} got switches
  got=$(cat "$work/$name.out")
  switches=$(sed -n 's/.*engine_switches=\([0-9]*\).*/\1/p' "$work/$name.err")
  switches=${switches:-0}
  if [ "$got" = "$want" ] && [ "$(cat "$work/$name.rc")" = 1 ] && [ "$switches" -ge "$min" ]; then
    echo "PASS $what: $(head -1 "$work/$name.out") (status 1, $switches switches)"
  else
    echo "FAIL $what: status $(cat "$work/$name.rc"), $switches switches (want >= $min), output:"
    sed 's/^/  | /' "$work/$name.out"; grep -v '^retrovisor: stats' "$work/$name.err" | sed 's/^/  ! /'
    fail=1
  fi
}

run interp --bios "$roms/$rom.bin"
check interp "interpreter only"
run kvm --bios "$roms/$rom.bin" --accel kvm
check kvm "KVM only"
# Several switches each way, at different points.
run sw1 --bios "$roms/$rom.bin" --switch-engine-at 2000000:kvm --switch-engine-after 1.5:interp \
        --switch-engine-at 6000000:kvm --switch-engine-after 3:interp --switch-engine-at 9000000:kvm \
        --switch-engine-after 3.5:interp
check sw1 "interp -> kvm -> interp -> kvm -> interp -> kvm -> interp" 2
run sw2 --bios "$roms/$rom.bin" --accel kvm --switch-engine-after 0.7:interp --switch-engine-at 4000000:kvm \
        --switch-engine-after 2:interp
check sw2 "kvm -> interp -> kvm -> interp" 2
run sw3 --bios "$roms/$rom.bin" --switch-engine-at 1:kvm --switch-engine-after 0.3:interp \
        --switch-engine-at 1234567:kvm --switch-engine-after 0.9:interp
check sw3 "switch after the first instruction, and at an odd count" 2
# The TSC goes on from where the other engine left it: never backwards, always advancing.
run tsc --bios "$roms/kvmtsc.bin" --switch-engine-at 1000000:kvm --switch-engine-after 0.8:interp \
        --switch-engine-at 5000000:kvm --switch-engine-after 1.6:interp
check tsc "TSC across four switches" 2 "$(cat "$expected/kvmtsc.expected")"
# A 2 KiB ROM (not whole pages): KVM maps it in page-sized slots padded with all-ones bytes;
# it prints K and exits through port 0xF4 under both engines.
{ printf '\xb0K\xe6\xe9\xb0\x00\xe6\xf4\xf4'; head -c $((0x7f0 - 9)) /dev/zero | tr '\0' '\364'
  printf '\xea\x00\xf8\x00\xf0'; head -c 11 /dev/zero | tr '\0' '\364'; } >"$work/small.bin"
for accel in interp kvm; do
  out=$(timeout 60 "$rv" --bios "$work/small.bin" --debugcon stdio --accel $accel 2>"$work/small.err"); st=$?
  if [ "$out" = K ] && [ $st = 1 ]; then
    echo "PASS 2 KiB ROM under $accel"
  else
    echo "FAIL 2 KiB ROM under $accel: status $st, output '$out'"; sed 's/^/  ! /' "$work/small.err"; fail=1
  fi
done
exit $fail
