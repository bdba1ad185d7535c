#!/usr/bin/env python3
"""Boots the default guest (Debian's kernel + busybox, built by scripts/make-guest.sh) under
the interpreter (and KVM) and checks it as a user would.

  boot_test.py interactive RETROVISOR GUEST_DIR KERNEL
      Waits for the shell prompt on the serial console, types commands through the serial
      input, checks their answers, checks the kernel log for errors and the devices Linux
      found, then `poweroff -f` must end the run with status 0.
  boot_test.py determinism RETROVISOR GUEST_DIR KERNEL
      Boots twice with guest.selftest=1 (an input-free session that powers off) and requires
      byte-identical serial output and the same instruction count at power-off.
  boot_test.py switch RETROVISOR GUEST_DIR KERNEL
      Boots with --accel interp,kvm, and from the monitor (Ctrl-A C) moves the running
      guest to KVM, runs shell commands there, moves it back and runs more; `info engine`
      must name the engine at each step. Exits 77 (SKIP) when KVM cannot be used.
  boot_test.py record_replay RETROVISOR GUEST_DIR KERNEL
      Records a shell session typed with pauses (--record), replays it (--replay): the same
      serial bytes, instruction count and final state hash.
  boot_test.py qemu_spellings RETROVISOR GUEST_DIR KERNEL
      Boots with QEMU's spellings (-kernel -initrd -append -m 256M -nographic) to the shell.
  boot_test.py paced RETROVISOR GUEST_DIR KERNEL
      The self-test session with a 5 s sleep, paced (default) and --clock virtual,pace=off:
      the sleep takes 5 s of host time when paced; output and instruction counts are equal.
  boot_test.py early_switch RETROVISOR GUEST_DIR KERNEL
      Moves the booting kernel to KVM after 5 million instructions and back after 3 s of
      host time; it must then reach the shell and answer. Exits 77 when KVM cannot be used.
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


def check_log(log, booted_here=True):
    text = log.decode(errors="replace")
    for bad in ["BUG:", "WARNING:", "Oops", "Kernel panic", "clocksource unstable", "TSC calibration failed",
                "Marking clocksource", "unchecked MSR access"]:
        if bad in text:
            fail(f"kernel log contains {bad!r}", log)
    for need, why in [("Run /init", "user space started"), ("IOAPIC", "IOAPIC detected"),
                      ("hpet", "HPET detected"), ("ttyS0", "serial port detected"),
                      ("LAPIC", "local APIC timer"), ("RETROVISOR-GUEST-READY", "the guest's /init ran")]:
        if booted_here and need not in text:
            fail(f"kernel log lacks {need!r} ({why})", log)


class Ended(Exception):
    """retrovisor ended while a pattern was awaited."""

    def __init__(self, status, err):
        super().__init__(f"retrovisor ended: status {status}")
        self.status, self.err = status, err


class Session:
    """retrovisor with the guest's console on its standard input and output (--serial stdio)."""

    def __init__(self, args, timeout_s=TIMEOUT_S):
        self.p = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.log = b""
        self.err = b""
        self.deadline = time.monotonic() + timeout_s
        self.n = 0

    def stderr_text(self):
        return self.err.decode(errors="replace")

    def fail(self, msg):
        if self.p.poll() is None:
            self.p.kill()
        self.p.wait()
        self.drain_all()
        fail(f"{msg}\n--- retrovisor stderr:\n{self.stderr_text()[-4000:]}", self.log)

    def drain(self, wait_s):
        """Reads what stdout and stderr have now (waiting up to wait_s); False at end of output."""
        fds = [f for f in (self.p.stdout, self.p.stderr) if not f.closed]
        if not fds:
            return False
        r, _, _ = select.select(fds, [], [], wait_s)
        for f in r:
            chunk = os.read(f.fileno(), 65536)
            if not chunk:
                f.close()
            elif f is self.p.stdout:
                self.log += chunk
            else:
                self.err += chunk
        return not self.p.stdout.closed

    def drain_all(self):
        """After the process ended: reads its output to the end."""
        while not (self.p.stdout.closed and self.p.stderr.closed):
            self.drain(1)

    def wait_for(self, pattern, start=0, timeout_s=None):
        """Waits until the console output from offset `start` holds `pattern` (bytes); returns
        the offset after it. Raises TimeoutError, or Ended if retrovisor ends."""
        deadline = self.deadline if timeout_s is None else min(self.deadline, time.monotonic() + timeout_s)
        while (k := self.log.find(pattern, start)) < 0:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"timed out waiting for {pattern!r}")
            if not self.drain(min(left, 5)):
                self.p.wait()
                self.drain_all()
                raise Ended(self.p.returncode, self.stderr_text())
        return k + len(pattern)

    def send(self, data):
        try:
            self.p.stdin.write(data)
            self.p.stdin.flush()
        except BrokenPipeError:
            pass   # retrovisor ended: the next wait_for says how

    def run(self, cmd, timeout_s=None):
        """Types `cmd` at the shell; returns the output up to its end marker."""
        n = self.n
        self.n += 1
        # The marker is computed by the shell, so the echoed command line cannot match it.
        start = len(self.log)
        self.send(f"{cmd}; echo RV-DONE-$((40+{n}))\n".encode())
        end = self.wait_for(f"RV-DONE-{40 + n}".encode(), start, timeout_s)
        return self.log[start:end].decode(errors="replace")

    def monitor(self, cmds, timeout_s=60):
        """Ctrl-A C, each command with its reply, Ctrl-A C: returns the monitor's output."""
        start = len(self.log)
        self.send(b"\x01c")
        at = self.wait_for(b"(retrovisor) ", start, timeout_s)
        for cmd in cmds:
            self.send(cmd.encode() + b"\n")
            at = self.wait_for(b"(retrovisor) ", at, timeout_s)
        self.send(b"\x01c")
        at = self.wait_for(b"[guest console]", at, timeout_s)
        return self.log[start:at].decode(errors="replace")

    def finish(self, timeout_s=TIMEOUT_S):
        """Waits for the end of the run; returns its exit status."""
        deadline = time.monotonic() + timeout_s
        while self.drain(min(5, max(0, deadline - time.monotonic()))):
            if time.monotonic() > deadline:
                self.fail("the run did not end")
        try:
            self.p.wait(timeout=max(1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            self.fail("the run did not end")
        self.drain_all()
        return self.p.returncode


def wait_for_shell(s, wait=None):
    """Waits for the shell prompt; exits 77 (SKIP) if the run could not start because KVM
    cannot be used here."""
    try:
        return (wait or (lambda: s.wait_for(b"/ # ")))()
    except Ended as e:
        if e.status == 2 and "KVM engine cannot be used" in e.err:
            print(f"SKIP: KVM cannot be used here: {e.err.strip().splitlines()[-1]}")
            sys.exit(SKIP_STATUS)
        raise


def run_checks(s, checks):
    """Each (command, pattern): the command's output must match."""
    for cmd, pattern in checks:
        out = s.run(cmd)
        if not re.search(pattern, out):
            s.fail(f"`{cmd}` output does not match /{pattern}/:\n{out[-2000:]}")
        print(f"ok: {cmd}")


def power_off(s, booted_here=True):
    """`poweroff -f` must end the run with status 0 and the power-off message, and the
    kernel log must be clean (and show the boot, when this process booted the guest rather
    than starting from a snapshot)."""
    s.send(b"poweroff -f\n")
    status = s.finish()
    check_log(s.log, booted_here)
    if status != 0:
        fail(f"exit status {status} after poweroff, expected 0: {s.stderr_text()}", s.log)
    if b"guest powered off" not in s.err:
        fail(f"no power-off message: {s.stderr_text()}", s.log)


SKIP_STATUS = 77        # tests/linux/CMakeLists.txt: SKIP_RETURN_CODE


def interactive(retro, guest, kernel):
    s = Session(base_args(retro, guest, kernel, "console=ttyS0", "stdio"))
    try:
        s.wait_for(b"/ # ")
        checks = [
            ("uname -r", r"6\.1\.0-\d+-amd64"),
            ("cat /proc/cpuinfo", r"GenuineIntel[\s\S]*flags\s*:.*\bsse4_2\b"),
            ("cat /proc/interrupts", r"IO-APIC[\s\S]*ttyS0"),
            ("cat /proc/interrupts", r"LOC:\s+\d+"),
            ("ls /", r"\bproc\b[\s\S]*\bsys\b|\bsys\b[\s\S]*\bproc\b"),
            ("dmesg", r"Linux version 6\.1\.0"),
        ]
        run_checks(s, checks)
    except (TimeoutError, Ended) as e:
        s.fail(str(e))
    power_off(s)
    print("ok: poweroff ended the run with status 0")


KVM_CMD_TIMEOUT_S = 300  # one shell command under this machine's KVM (emulated in software)


def switch(retro, guest, kernel):
    """Boots on the interpreter with KVM open, moves the running guest to KVM and back from
    the monitor, and checks the shell's answers and `info engine` at each step."""
    t0 = time.monotonic()
    s = Session(base_args(retro, guest, kernel, "console=ttyS0", "stdio") + ["--accel", "interp,kvm"],
                TIMEOUT_S + 2 * KVM_CMD_TIMEOUT_S)
    timings = []

    def timed(what, f, *args):
        t = time.monotonic()
        r = f(*args)
        timings.append((what, time.monotonic() - t))
        print(f"ok: {what} ({timings[-1][1]:.2f} s)", flush=True)
        return r

    def expect(out, pattern, what):
        if not re.search(pattern, out):
            s.fail(f"{what}: output does not match /{pattern}/:\n{out[-2000:]}")

    def engine_is(name):
        out = s.monitor(["info engine"])
        expect(out, rf"current engine: {name}; KVM open", "info engine")

    def to_engine(name):
        out = s.monitor([f"engine {name}", "info engine"])
        expect(out, rf"engine: switching to {name}\b", f"engine {name}")
        expect(out, rf"current engine: {name}; KVM open", f"info engine after engine {name}")

    def diagnose():
        """Under a hang: the monitor's view of the CPU, if the monitor still answers."""
        if s.p.poll() is not None:
            return
        try:
            print("--- monitor after the failure:\n" + s.monitor(["info engine", "info registers"], 30))
        except (TimeoutError, Ended) as e:
            print(f"--- the monitor did not answer: {e}")

    try:
        wait_for_shell(s, lambda: timed("boot to the shell prompt (interp)", s.wait_for, b"/ # "))
        engine_is("interp")
        expect(timed("`echo interp-$((6*7))` (interp)", s.run, "echo interp-$((6*7))"), r"interp-42", "echo")
        # Linux uses x87/SSE (the FPU set-up, every user program): a KVM that fails the
        # start-up self-test on them (the software KVM of our build machines) cannot run it.
        m = re.search(r"the host's KVM fails its self-test: ([^\n]*)", s.stderr_text())
        if m:
            print(f"SKIP: the host's KVM cannot run Linux: it fails retrovisor's self-test ({m.group(1).split(';')[0]})")
            s.p.kill()
            sys.exit(SKIP_STATUS)

        timed("switch to kvm", to_engine, "kvm")
        kvm = [("echo kvm-$((6*7))", r"kvm-42"),
               ("cat /proc/cpuinfo | head -3", r"processor\s*:\s*0[\s\S]*vendor_id\s*:\s*GenuineIntel"),
               ("uname -r", r"6\.1\.0-\d+-amd64"),
               ("ls /", r"\bproc\b[\s\S]*\bsys\b|\bsys\b[\s\S]*\bproc\b"),
               ("grep LOC /proc/interrupts", r"LOC:\s+\d+")]
        for cmd, pattern in kvm:
            expect(timed(f"`{cmd}` (kvm)", s.run, cmd, KVM_CMD_TIMEOUT_S), pattern, cmd)
        # Under KVM guest time follows the host's clock: a one-second sleep takes one.
        t = time.monotonic()
        expect(timed("`sleep 1` (kvm)", s.run, "sleep 1; echo slept-$((1+1))", KVM_CMD_TIMEOUT_S), r"slept-2",
               "sleep 1")
        if time.monotonic() - t < 0.9:
            s.fail(f"`sleep 1` under KVM took {time.monotonic() - t:.2f} s of host time")
        regs = timed("info registers (kvm)", s.monitor, ["info registers"], KVM_CMD_TIMEOUT_S)
        expect(regs, r"RIP=ffffffff[0-9a-f]{8} RFLAGS=[0-9a-f]{8} engine=kvm", "info registers: RIP in the kernel")
        m = re.search(r"CS=([0-9a-f]{4}) SS=[0-9a-f]{4} CR0=([0-9a-f]{8}) CR3=[0-9a-f]{16} CR4=[0-9a-f]{8} "
                      r"EFER=([0-9a-f]{8})", regs)
        if not m or int(m.group(2), 16) & 0x80000001 != 0x80000001 or int(m.group(3), 16) & 0x500 != 0x500:
            s.fail(f"info registers does not show 64-bit paging (CR0.PG|PE, EFER.LME|LMA):\n{regs}")

        timed("switch back to interp", to_engine, "interp")
        expect(timed("`echo interp-$((7*7))` (interp)", s.run, "echo interp-$((7*7))"), r"interp-49", "echo")
        expect(timed("`uname -r` (interp)", s.run, "uname -r"), r"6\.1\.0-\d+-amd64", "uname -r")
        engine_is("interp")
    except (TimeoutError, Ended) as e:
        diagnose()
        s.fail(str(e))
    power_off(s)
    m = re.search(r"engine_switches=(\d+) kvm_s=([0-9.]+) kvm_exits=(\d+)", s.stderr_text())
    if not m or m.group(1) != "2":
        fail(f"--stats does not report 2 engine switches: {s.stderr_text()}", s.log)
    print(f"ok: poweroff ended the run with status 0; {m.group(0)}; total {time.monotonic() - t0:.1f} s")


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


def paced(retro, guest, kernel):
    """The paced virtual clock (the default): the self-test session with `sleep 5` takes
    5 s of host time for the sleep and computes exactly what the unpaced run
    (--clock virtual,pace=off) computes: the same serial bytes and instruction count. The
    idle guest uses little of a core (the process's CPU time during the sleep)."""
    runs = {}
    for mode, extra in [("paced", []), ("unpaced", ["--clock", "virtual,pace=off"])]:
        args = base_args(retro, guest, kernel, "console=ttyS0 guest.selftest=1 guest.sleep=5", "stdio") + extra
        s = Session(args)

        def cpu_s():   # the process's user + system CPU time so far
            f = open(f"/proc/{s.p.pid}/stat").read().rsplit(")", 1)[1].split()
            return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")
        try:
            s.wait_for(b"SLEEP-BEGIN")
            t0, c0 = time.monotonic(), cpu_s()
            s.wait_for(b"SLEEP-END")
            slept, idle_cpu = time.monotonic() - t0, cpu_s() - c0
        except (TimeoutError, Ended) as e:
            s.fail(str(e))
        status = s.finish()
        if status != 0:
            fail(f"{mode}: exit status {status}: {s.stderr_text()}", s.log)
        m = re.search(r"guest_insns=(\d+) host_s=([0-9.]+) cpu_s=([0-9.]+)", s.stderr_text())
        if not m:
            fail(f"{mode}: no --stats line: {s.stderr_text()}", s.log)
        runs[mode] = (s.log, int(m.group(1)), idle_cpu, slept)
        print(f"{mode}: sleep 5 took {slept:.2f} s of host time and {idle_cpu:.2f} CPU s; {m.group(1)} instructions, "
              f"{m.group(3)} CPU s, {m.group(2)} host s in all")
    (plog, pins, pidle, pslept), (ulog, uins, _, _) = runs["paced"], runs["unpaced"]
    if not 4.8 <= pslept <= 8.0:
        fail(f"paced: the guest's `sleep 5` took {pslept:.2f} s of host time, expected about 5")
    if plog != ulog:
        k = next((i for i in range(min(len(plog), len(ulog))) if plog[i] != ulog[i]), min(len(plog), len(ulog)))
        fail(f"paced and unpaced serial output differ at byte {k}: {plog[k:k+80]!r} vs {ulog[k:k+80]!r}")
    if pins != uins:
        fail(f"instruction counts differ: paced {pins}, unpaced {uins}")
    share = pidle / pslept
    print(f"ok: same output and {pins} instructions; the idle guest used {100 * share:.1f}% of a core while paced")
    if share > 0.05:
        fail(f"the paced idle guest used {100 * share:.1f}% of a core (goal: under 2%)")


def early_switch(retro, guest, kernel):
    """The running kernel moved to KVM early in its boot (5 million instructions in: the
    bzImage decompressor, integer code any KVM runs) and back to the interpreter after 3 s of
    host time: it must then boot to the shell and answer commands. This runs even on a KVM
    that fails the x87/SSE self-test (our build machines')."""
    args = base_args(retro, guest, kernel, "console=ttyS0", "stdio") + [
        "--switch-engine-at", "5000000:kvm", "--switch-engine-after", "3:interp"]
    s = Session(args)
    try:
        wait_for_shell(s)
        checks = [
            ("uname -r", r"6\.1\.0-\d+-amd64"),
            ("cat /proc/interrupts", r"LOC:\s+\d+"),
            ("dmesg | grep -e 'Linux version' -e 'tsc: Detected'", r"Linux version 6\.1\.0[\s\S]*tsc: Detected"),
            ("echo $((6*7))-after-kvm", r"42-after-kvm"),
        ]
        run_checks(s, checks)
    except (TimeoutError, Ended) as e:
        s.fail(str(e))
    power_off(s)
    m = re.search(r"engine_switches=(\d+) kvm_s=([0-9.]+) kvm_exits=(\d+)", s.stderr_text())
    if not m or int(m.group(1)) != 2 or float(m.group(2)) <= 0:
        fail(f"--stats does not report 2 engine switches and time under KVM: {s.stderr_text()}", s.log)
    print(f"ok: 2 switches, {m.group(2)} s and {m.group(3)} exits under KVM, shell answered afterwards")


def record_replay(retro, guest, kernel):
    """A shell session typed with pauses through the serial input is recorded (--record);
    the replay (--replay, input from the log only) must print the same serial bytes and end
    at the same instruction count with the same state hash."""
    import tempfile
    tmp = tempfile.mkdtemp(prefix="rv_replay_")
    log = os.path.join(tmp, "run.rvr")
    s = Session(base_args(retro, guest, kernel, "console=ttyS0", "stdio") + ["--record", log])
    try:
        s.wait_for(b"/ # ")
        for cmd, pattern in [("echo $((6*7))-recorded", r"42-recorded"), ("ls /proc | head -3", r"\d"),
                             ("cat /proc/uptime", r"\d+\.\d+"), ("dmesg | tail -2", r"\]")]:
            time.sleep(0.3)
            out = s.run(cmd)
            if not re.search(pattern, out):
                s.fail(f"`{cmd}` output does not match /{pattern}/:\n{out[-2000:]}")
            print(f"ok: {cmd}")
    except (TimeoutError, Ended) as e:
        s.fail(str(e))
    power_off(s)
    live = s.log
    m = re.search(r"guest_insns=(\d+)", s.stderr_text())
    if not m:
        fail(f"no --stats line: {s.stderr_text()}", live)
    size = os.path.getsize(log)
    out = os.path.join(tmp, "replayed.txt")
    r = subprocess.run([retro, "--replay", log, "--serial", "file:" + out, "--stats"], stdin=subprocess.DEVNULL,
                       capture_output=True, timeout=TIMEOUT_S)
    if r.returncode != 0:
        fail(f"replay: exit status {r.returncode}: {r.stderr.decode(errors='replace')}")
    replayed = open(out, "rb").read()
    if replayed != live:
        k = next((i for i in range(min(len(live), len(replayed))) if live[i] != replayed[i]), min(len(live), len(replayed)))
        fail(f"the replay's serial output differs at byte {k}: {live[k:k+80]!r} vs {replayed[k:k+80]!r}")
    m2 = re.search(rb"guest_insns=(\d+)", r.stderr)
    if not m2 or int(m2.group(1)) != int(m.group(1)):
        fail(f"instruction counts differ: live {m.group(1)}, replay {m2.group(1) if m2 else None}")
    print(f"ok: the replay printed the same {len(live)} bytes and ended at the same {m.group(1)} instructions "
          f"(log: {size} bytes)")


def snapshots(retro, guest, kernel):
    """Snapshots of a running Linux guest: the input-free self-test session saved at three
    points (--savevm-at); each snapshot, loaded in a fresh process, saved again at once is the
    same file byte for byte, and runs on to the same end: the rest of the serial output and
    the same instruction count at power-off; the first, run on to the second point, saves the
    second snapshot byte for byte. Then a shell saved from the monitor answers in a new
    process started from that snapshot."""
    import tempfile
    tmp = tempfile.mkdtemp(prefix="rv_snap_")
    points = [300_000_000, 900_000_000, 1_500_000_000]
    args = base_args(retro, guest, kernel, "console=ttyS0 guest.selftest=1", "file:" + os.path.join(tmp, "full.txt"))
    args += ["--clock", "virtual,pace=off"]
    for i, p in enumerate(points):
        args += ["--savevm-at", f"{p}:{os.path.join(tmp, f's{i}.rvs')}"]
    r = subprocess.run(args, stdin=subprocess.DEVNULL, capture_output=True, timeout=TIMEOUT_S)
    full = open(os.path.join(tmp, "full.txt"), "rb").read()
    if r.returncode != 0:
        fail(f"the full run: exit status {r.returncode}: {r.stderr.decode(errors='replace')}", full)
    m = re.search(rb"guest_insns=(\d+)", r.stderr)
    total = int(m.group(1))
    if b"SELFTEST-END" not in full or total <= points[-1]:
        fail(f"the self-test session did not run past the last point ({total} instructions)", full)
    check_log(full)
    print(f"full run: {len(full)} bytes of serial output, {total} instructions")
    for i, p in enumerate(points):
        snap = os.path.join(tmp, f"s{i}.rvs")
        again = os.path.join(tmp, f"s{i}-again.rvs")
        out = os.path.join(tmp, f"rest{i}.txt")
        la = [retro, "--loadvm", snap, "--serial", "file:" + out, "--stats", "--savevm-at", f"{p}:{again}"]
        if i == 0:
            la += ["--savevm-at", f"{points[1]}:{os.path.join(tmp, 's1-from-s0.rvs')}"]
        r = subprocess.run(la, stdin=subprocess.DEVNULL, capture_output=True, timeout=TIMEOUT_S)
        rest = open(out, "rb").read()
        if r.returncode != 0:
            fail(f"--loadvm s{i}: exit status {r.returncode}: {r.stderr.decode(errors='replace')}", rest)
        n = int(re.search(rb"guest_insns=(\d+)", r.stderr).group(1))
        if p + n != total:
            fail(f"--loadvm s{i}: ended at {p} + {n} instructions, the full run at {total}")
        if not rest or not full.endswith(rest):
            fail(f"--loadvm s{i}: its {len(rest)} bytes of output are not the end of the full run's", rest)
        if open(snap, "rb").read() != open(again, "rb").read():
            fail(f"s{i} saved again right after loading differs from the file loaded")
        print(f"ok: s{i} at {p}: {os.path.getsize(snap)} bytes; saved again: identical; "
              f"ran on {n} instructions to the same end, the last {len(rest)} bytes of output")
    if open(os.path.join(tmp, "s1.rvs"), "rb").read() != open(os.path.join(tmp, "s1-from-s0.rvs"), "rb").read():
        fail("s0 run on to the second point saved a snapshot that differs from s1")
    print(f"ok: s0 run on to {points[1]} saved s1 byte for byte")

    # A shell: saved from the monitor at the prompt, continued in a new process.
    shell = os.path.join(tmp, "shell.rvs")
    s = Session(base_args(retro, guest, kernel, "console=ttyS0", "stdio"))
    try:
        s.wait_for(b"/ # ")
        s.run("echo before-$((6*7))")
        out = s.monitor([f"savevm {shell}"])
        if "savevm: saved the machine at instruction" not in out:
            s.fail(f"savevm did not save: {out}")
    except (TimeoutError, Ended) as e:
        s.fail(str(e))
    power_off(s)
    s = Session([retro, "--loadvm", shell, "--serial", "stdio", "--stats"])
    try:
        out = s.run("echo restored-$((6*7)); cat /proc/uptime")
        if "restored-42" not in out:
            s.fail(f"the restored shell did not answer: {out}")
    except (TimeoutError, Ended) as e:
        s.fail(str(e))
    power_off(s, booted_here=False)
    print("ok: a shell saved from the monitor answered in a new process started from the snapshot")


def qemu_spellings(retro, guest, kernel):
    """The default guest booted with QEMU's spellings: -kernel -initrd -append -m -nographic."""
    args = [retro, "-kernel", os.path.join(guest, kernel), "-initrd", os.path.join(guest, "initramfs.cpio.gz"),
            "-append", "console=ttyS0", "-m", "256M", "-nographic", "-no-reboot"]
    s = Session(args)
    try:
        s.wait_for(b"/ # ")
        run_checks(s, [("echo $((6*7))-qemu-flags", r"42-qemu-flags"), ("cat /proc/meminfo | head -1", r"MemTotal:\s+2\d{5} kB")])
    except (TimeoutError, Ended) as e:
        s.fail(str(e))
    power_off(s)
    print("ok: booted to the shell with QEMU's spellings, answered, powered off")


def monitor_views(retro, guest, kernel):
    """The monitor's teaching views on a running Linux shell: the GDT and IDT decoded, device
    state, and the page walk of the page-fault handler's address (taken from `info idt`)."""
    s = Session(base_args(retro, guest, kernel, "console=ttyS0", "stdio"))
    try:
        s.wait_for(b"/ # ")
        out = s.monitor(["info gdt", "info idt", "info pic", "info apic", "info devices nosuch", "explain 0", "info tlb", "info blocks"])
        expect = [
            (r"GDT at linear [0-9a-f]{16}, limit [0-9a-f]{4} \(long mode\)", "the GDT's place"),
            (r"\n  0010  code64 readable accessed\s+base 00000000 limit ffffffff DPL0 P G", "the kernel's code segment"),
            (r"\n  0030  code64 readable accessed\s+base 00000000 limit ffffffff DPL3 P G", "the user code segment"),
            (r"\n  0040  tss64 busy\s+base [0-9a-f]{16} limit", "the 16-byte TSS descriptor"),
            (r"\n  vector 03  interrupt gate\s+0010:ffffffff[0-9a-f]{8}  DPL3 P", "int3 callable from user mode"),
            (r"\n  vector 08  interrupt gate\s+0010:ffffffff[0-9a-f]{8}  DPL0 P  IST\d", "the double fault on its IST stack"),
            (r"pc\.pic8259\S* = ", "the 8259A's fields"),
            (r"pc\.lapic\.\S+ = ", "the local APIC's fields"),
            (r"error: info devices: no device 'nosuch' \(there are: .*pit8254", "an unknown device named with the list"),
            (r"PML4E index   0 at physical [0-9a-f]+ = [0-9a-f]{16}[\s\S]*not present: an access raises #PF", "address 0 unmapped"),
            (r"supervisor TLB: [1-9]\d* of 1024 entries valid[\s\S]*\n  ffffffff8[0-9a-f]{4}000 -> [0-9a-f]{9}  r-x", "the TLB holds kernel text (read, fetch)"),
            (r"decoded blocks: [1-9]\d{2,} \(at most 131072", "hundreds of decoded blocks"),
        ]
        for pattern, what in expect:
            if not re.search(pattern, out):
                s.fail(f"monitor: {what}: no match for /{pattern}/ in:\n{out[-3000:]}")
            print(f"ok: {what}")
        m = re.search(r"\n  vector 0e  interrupt gate\s+0010:(ffffffff[0-9a-f]{8})", out)
        if not m:
            s.fail("no page-fault gate in info idt:\n" + out[-3000:])
        walk = s.monitor([f"explain {m.group(1)}", "info mem ffffffff80000000"])
        for pattern, what in [
            (r"4-level paging \(CR0\.PG, CR4\.PAE, EFER\.LMA\)", "the paging mode"),
            (r"PML4E index 511 at physical [0-9a-f]+ = [0-9a-f]{16}  P RW", "the top level's entry, bits named"),
            (r"PDPTE index 51\d", "the kernel's PDPT entry"),
            (r"-> a (2 MiB|4 KiB) page at physical [0-9a-f]+; linear " + m.group(1) + r" is physical [0-9a-f]+", "the frame"),
            (r"access: supervisor only, read-only \(CR0\.WP: for the supervisor too\), executable", "kernel text: supervisor, read-only, executable"),
            (r"4-level paging, CR3=[0-9a-f]{16}: \d+ ranges from ffffffff80000000\n  ffffffff8[0-9a-f]{7}-ffffffff8[0-9a-f]{7} +\d+ [KM]iB  srx",
             "info mem: the kernel's text first, supervisor read-only executable"),
            (r"\n  ffffffff8[0-9a-f]{7}-ffffffff8[0-9a-f]{7} +\d+ [KM]iB  sr-  ", "info mem: read-only data, not executable"),
        ]:
            if not re.search(pattern, walk):
                s.fail(f"explain: {what}: no match for /{pattern}/ in:\n{walk[-3000:]}")
            print(f"ok: explain: {what}")
        run_checks(s, [("echo $((6*7))-after-the-monitor", r"42-after-the-monitor")])
    except (TimeoutError, Ended) as e:
        s.fail(str(e))
    power_off(s)
    print("ok: the monitor's views on a running Linux guest")


MODES = {"monitor_views": monitor_views, "interactive": interactive, "record_replay": record_replay, "snapshots": snapshots, "qemu_spellings": qemu_spellings, "paced": paced, "determinism": determinism, "switch": switch, "early_switch": early_switch}

if __name__ == "__main__":
    if len(sys.argv) != 5 or sys.argv[1] not in MODES:
        print(__doc__)
        sys.exit(2)
    MODES[sys.argv[1]](*sys.argv[2:])
    print("1 passed, 0 failed")
