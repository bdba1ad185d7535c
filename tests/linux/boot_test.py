#!/usr/bin/env python3
"""Boots the default guest (Debian's kernel + busybox, built by scripts/make-guest.sh) under
the interpreter and checks it as a user would.

  boot_test.py interactive RETROVISOR GUEST_DIR KERNEL
      Waits for the shell prompt on the serial console, types commands through the serial
      input, checks their answers, checks the kernel log for errors and the devices Linux
      found, then `poweroff -f` must end the run with status 0.
  boot_test.py determinism RETROVISOR GUEST_DIR KERNEL
      Boots twice with guest.selftest=1 (an input-free session that powers off) and requires
      byte-identical serial output and the same instruction count at power-off.
"""
import os
import re
import select
import subprocess
import sys
import time

TIMEOUT_S = 600          # host seconds for one boot; the guest needs about 2.5e9 instructions
MAX_INSNS = 40_000_000_000


def base_args(retro, guest, kernel, append, serial):
    return [retro, "--kernel", os.path.join(guest, kernel), "--initrd", os.path.join(guest, "initramfs.cpio.gz"),
            "--append", append, "-m", "256M", "--serial", serial, "--max-insns", str(MAX_INSNS), "--stats"]


def fail(msg, log=b""):
    sys.stdout.write(log.decode(errors="replace")[-4000:])
    print(f"\nFAIL: {msg}")
    sys.exit(1)


def check_log(log):
    text = log.decode(errors="replace")
    for bad in ["BUG:", "WARNING:", "Oops", "Kernel panic", "clocksource unstable", "TSC calibration failed",
                "Marking clocksource"]:
        if bad in text:
            fail(f"kernel log contains {bad!r}", log)
    for need, why in [("Run /init", "user space started"), ("IOAPIC", "IOAPIC detected"),
                      ("hpet", "HPET detected"), ("ttyS0", "serial port detected"),
                      ("LAPIC", "local APIC timer"), ("RETROVISOR-GUEST-READY", "the guest's /init ran")]:
        if need not in text:
            fail(f"kernel log lacks {need!r} ({why})", log)


def interactive(retro, guest, kernel):
    p = subprocess.Popen(base_args(retro, guest, kernel, "console=ttyS0", "stdio"), stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    log = b""
    deadline = time.monotonic() + TIMEOUT_S

    def wait_for(pattern):
        nonlocal log
        while pattern not in log:
            left = deadline - time.monotonic()
            if left <= 0:
                p.kill()
                fail(f"timed out waiting for {pattern!r}", log)
            r, _, _ = select.select([p.stdout], [], [], min(left, 5))
            if r:
                chunk = os.read(p.stdout.fileno(), 65536)
                if not chunk:
                    fail(f"retrovisor ended while waiting for {pattern!r}: {p.wait()} "
                         f"{p.stderr.read().decode(errors='replace')}", log)
                log += chunk

    def run(n, cmd):
        # The marker is computed by the shell, so the echoed command line cannot match it.
        p.stdin.write(f"{cmd}; echo RV-DONE-$((40+{n}))\n".encode())
        p.stdin.flush()
        start = len(log)
        wait_for(f"RV-DONE-{40 + n}".encode())
        return log[start:].decode(errors="replace")

    wait_for(b"/ # ")
    checks = [
        ("uname -r", r"6\.1\.0-\d+-amd64"),
        ("cat /proc/cpuinfo", r"GenuineIntel[\s\S]*flags\s*:.*\bsse4_2\b"),
        ("cat /proc/interrupts", r"IO-APIC[\s\S]*ttyS0"),
        ("cat /proc/interrupts", r"LOC:\s+\d+"),
        ("ls /", r"\bproc\b[\s\S]*\bsys\b|\bsys\b[\s\S]*\bproc\b"),
        ("dmesg", r"Linux version 6\.1\.0"),
    ]
    for n, (cmd, pattern) in enumerate(checks):
        out = run(n, cmd)
        if not re.search(pattern, out):
            fail(f"`{cmd}` output does not match /{pattern}/:\n{out[-2000:]}", log)
        print(f"ok: {cmd}")
    p.stdin.write(b"poweroff -f\n")
    p.stdin.flush()
    try:
        out, err = p.communicate(timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired:
        p.kill()
        fail("poweroff did not end the run", log)
    log += out
    check_log(log)
    if p.returncode != 0:
        fail(f"exit status {p.returncode} after poweroff, expected 0: {err.decode(errors='replace')}", log)
    if b"guest powered off" not in err:
        fail(f"no power-off message: {err.decode(errors='replace')}", log)
    print("ok: poweroff ended the run with status 0")


def determinism(retro, guest, kernel):
    runs = []
    for i in range(2):
        r = subprocess.run(base_args(retro, guest, kernel, "console=ttyS0 guest.selftest=1", "stdio"),
                           stdin=subprocess.DEVNULL, capture_output=True, timeout=TIMEOUT_S)
        if r.returncode != 0:
            fail(f"run {i}: exit status {r.returncode}: {r.stderr.decode(errors='replace')}", r.stdout)
        if b"SELFTEST-END" not in r.stdout:
            fail(f"run {i}: the self-test session did not finish", r.stdout)
        m = re.search(rb"guest_insns=(\d+)", r.stderr)
        if not m:
            fail(f"run {i}: no --stats line", r.stderr)
        runs.append((r.stdout, int(m.group(1))))
        print(f"run {i}: {len(r.stdout)} bytes of serial output, {int(m.group(1))} instructions")
    check_log(runs[0][0])
    if runs[0][0] != runs[1][0]:
        a, b = runs[0][0], runs[1][0]
        k = next((i for i in range(min(len(a), len(b))) if a[i] != b[i]), min(len(a), len(b)))
        fail(f"serial output differs at byte {k}: {a[k:k+80]!r} vs {b[k:k+80]!r}")
    if runs[0][1] != runs[1][1]:
        fail(f"instruction counts differ: {runs[0][1]} vs {runs[1][1]}")
    print("ok: identical serial output and instruction count")


if __name__ == "__main__":
    if len(sys.argv) != 5 or sys.argv[1] not in ("interactive", "determinism"):
        print(__doc__)
        sys.exit(2)
    {"interactive": interactive, "determinism": determinism}[sys.argv[1]](*sys.argv[2:])
    print("1 passed, 0 failed")
