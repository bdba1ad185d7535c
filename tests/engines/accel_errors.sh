#!/usr/bin/env bash
# accel_errors.sh RETROVISOR ROM_DIR
# --accel kvm where KVM cannot be used fails at start-up with one line that names the reason
# and suggests --accel interp (status 2); --accel auto says it falls back to the interpreter
# and runs; malformed engine options are usage errors. A missing or non-KVM device is
# simulated with --kvm-device.
set -u
rv=$1 roms=$2
fail=0
expect() {   # expect DESCRIPTION STATUS PATTERN -- ARGS...
  local what=$1 status=$2 pattern=$3; shift 4
  local out rc
  out=$("$rv" "$@" 2>&1); rc=$?
  if [ "$rc" = "$status" ] && grep -qE "$pattern" <<<"$out"; then
    echo "PASS $what"
  else
    echo "FAIL $what: status $rc (want $status), output:"; sed 's/^/  | /' <<<"$out"; fail=1
  fi
}
rom=$roms/kvmsum_int.bin
expect "no KVM device" 2 '^retrovisor: error: the KVM engine cannot be used: /nonexistent/kvm does not exist \(no KVM on this host\); use --accel interp$' \
  -- --bios "$rom" --accel kvm --kvm-device /nonexistent/kvm
expect "not a KVM device" 2 '^retrovisor: error: the KVM engine cannot be used: /dev/null is not a KVM device.*; use --accel interp$' \
  -- --bios "$rom" --accel kvm --kvm-device /dev/null
expect "a switch to kvm needs KVM too" 2 'KVM engine cannot be used: /nonexistent/kvm does not exist' \
  -- --bios "$rom" --switch-engine-at 100:kvm --kvm-device /nonexistent/kvm
expect "auto falls back and says so" 1 '^retrovisor: --accel auto: KVM cannot be used \(/nonexistent/kvm does not exist.*running on the interpreter$' \
  -- --bios "$rom" --accel auto --kvm-device /nonexistent/kvm --debugcon stdio
expect "unknown engine" 2 "^retrovisor: error: --accel: expected interp, kvm, auto or interp,kvm, not 'fast'$" \
  -- --bios "$rom" --accel fast
expect "switch without engine" 2 "^retrovisor: error: --switch-engine-at: expected INSNS:ENGINE \(ENGINE interp or kvm\), not '1000'$" \
  -- --bios "$rom" --switch-engine-at 1000
expect "switch with a bad count" 2 "^retrovisor: error: --switch-engine-at: expected INSNS:ENGINE .*not '1e6:kvm'$" \
  -- --bios "$rom" --switch-engine-at 1e6:kvm
expect "switch after negative seconds" 2 "^retrovisor: error: --switch-engine-after: expected SECONDS:ENGINE .*not '-1:kvm'$" \
  -- --bios "$rom" --switch-engine-after -1:kvm
expect "switch to an unknown engine" 2 "^retrovisor: error: --switch-engine-after: expected SECONDS:ENGINE .*not '2:jit'$" \
  -- --bios "$rom" --switch-engine-after 2:jit
exit $fail
