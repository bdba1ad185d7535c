#include "frontends/cli_options.h"

#include "frontends/qemu_compat.h"

#include <boost/program_options.hpp>
#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <sstream>
#include <vector>

namespace po = boost::program_options;

namespace rv {

namespace {
const char* const kUsage =
    "usage: retrovisor --bios FILE [options]\n"
    "       retrovisor --kernel FILE [--initrd FILE] [--append CMDLINE] [options]";

const char* const kExitText =
    "Exit statuses:\n"
    "  (V<<1)|1  the guest wrote V to the debug-exit port 0xF4 (QEMU isa-debug-exit)\n"
    "  0         the guest powered off (ACPI), reset with --no-reboot, or was quit with Ctrl-A X\n"
    "  2         usage or host error (bad option, missing or unreadable file, bad size, a full\n"
    "            disk under an output file, a replay that diverged or a bad log)\n"
    "  4         triple fault (with --on-triple-fault=stop)\n"
    "  5         the --max-insns limit was reached\n"
    "  6         the guest halted with nothing left that could wake it (a dead guest)\n";

po::options_description describe() {
  po::options_description d("Options");
  d.add_options()
      ("bios", po::value<std::string>()->value_name("FILE"),
       "raw firmware image (up to 16 MiB), mapped to end at 4 GiB and, if at most 128 KiB, "
       "also at 1 MiB; the CPU starts at F000:FFF0 (required)")
      ("kernel", po::value<std::string>()->value_name("FILE"),
       "boot a kernel directly, without firmware: a bzImage, an ELF vmlinux with a PVH note, or "
       "a Multiboot kernel (the board writes ACPI tables; --bios is then not allowed)")
      ("initrd", po::value<std::string>()->value_name("FILE"), "initial RAM disk for --kernel")
      ("append", po::value<std::string>()->value_name("CMDLINE"), "kernel command line for --kernel")
      ("serial", po::value<std::vector<std::string>>()->value_name("stdio|file:PATH|none"),
       "COM1, and repeated COM2, COM3, COM4 in order (as QEMU's -serial): stdio (COM1 only: "
       "output to stdout, input from stdin; a terminal is put in raw mode, Ctrl-A X quits, "
       "Ctrl-A C opens the monitor), file:PATH (output only) or none (the default)")
      ("memory,m", po::value<std::string>()->value_name("SIZE"),
       "guest RAM: 512M, 2G, 1.5G...; a bare number is MiB (default 128M; 1M..64G)")
      ("debugcon", po::value<std::string>()->value_name("stdio|file:PATH|none"),
       "where bytes written to port 0xE9 go (default none: no device at 0xE9)")
      ("max-insns", po::value<std::string>()->value_name("N"),
       "stop with status 5 after N guest instructions (0: no limit, the default)")
      ("trace", po::value<std::string>()->value_name("FILE"),
       "write one line per instruction to FILE: address, bytes, disassembly, changed registers")
      ("on-triple-fault", po::value<std::string>()->value_name("stop|reset"),
       "on a triple fault, stop with status 4 (default) or reset the machine and go on")
      ("cpu", po::value<std::string>()->value_name("MODEL"),
       "CPU model, i.e. what CPUID advertises and which instructions exist: max (the default: "
       "x86-64-v2 plus MOVBE, LZCNT, XSAVE) or v1 (x86-64 baseline: SSE2, no SSE3+, POPCNT, "
       "CMPXCHG16B, XSAVE)")
      ("clock", po::value<std::string>()->value_name("virtual[,pace=on|off]|realtime"),
       "virtual (default): time is a function of the instructions executed, so runs repeat "
       "exactly; an idle guest waits in host time for its next event (pace=on, the default) or "
       "jumps to it at once (pace=off: scripts, benchmarks); realtime: time follows the host's clock")
      ("accel", po::value<std::string>()->value_name("interp|kvm|auto|interp,kvm"),
       "the engine that starts the run: interp (default: the interpreter, repeatable runs), "
       "kvm (the host's KVM; fails with a message if it cannot be used), auto (KVM when it "
       "can be used, else the interpreter; says which), or interp,kvm (start on the "
       "interpreter with KVM ready for a switch from the monitor)")
      ("kvm-device", po::value<std::string>()->value_name("PATH"), "the KVM device (default /dev/kvm)")
      ("switch-engine-at", po::value<std::vector<std::string>>()->value_name("INSNS:ENGINE"),
       "switch to ENGINE (interp or kvm) when the interpreter has retired INSNS instructions in "
       "all (repeatable)")
      ("switch-engine-after", po::value<std::vector<std::string>>()->value_name("SECONDS:ENGINE"),
       "switch to ENGINE (interp or kvm) when SECONDS of host time (a decimal number) have passed "
       "since the start (repeatable)")
      ("smp", po::value<std::string>()->value_name("N"),
       "number of CPUs: 1 (the only value for now; the board has one local APIC)")
      ("no-reboot", "end the run (status 0) when the guest resets the machine (port 0x92, 0xCF9, "
       "i8042 pulse, ACPI reset register) instead of restarting it")
      ("gdb", po::value<std::string>()->value_name("PORT"),
       "wait for gdb on localhost:PORT before the first instruction (gdb: target remote :PORT); "
       "needs --accel interp; with --replay or --record, gdb can also go backwards (reverse-stepi, reverse-continue)")
      ("checkpoint-mem", po::value<std::string>()->value_name("SIZE"),
       "with --gdb and --replay or --record: the memory the checkpoints for going backwards may use (e.g. 512M, 2G; default 1G)")
      ("record", po::value<std::string>()->value_name("FILE"),
       "record the run's input (COM1 from the terminal), state hashes and end in FILE, for --replay")
      ("replay", po::value<std::string>()->value_name("FILE"),
       "run the machine recorded in FILE again with the recorded input only (the terminal is not read); "
       "the output options (--serial, --debugcon, --trace, --stats) are this command's")
      ("savevm-at", po::value<std::vector<std::string>>()->value_name("INSNS:FILE"),
       "save a snapshot of the machine in FILE when its instruction count (retired instructions "
       "and event deliveries, as the monitor's info status shows) reaches INSNS (repeatable)")
      ("loadvm", po::value<std::string>()->value_name("FILE"),
       "start from the snapshot in FILE (--savevm-at, the monitor's savevm): the machine is the "
       "snapshot's; the run's own options (--serial, --debugcon, --trace, --stats, --max-insns, "
       "--savevm-at, --gdb, --clock, --accel) are this command's")
      ("stats", "print guest instructions, host seconds and MIPS (per CPU second) on stderr at the end")
      ("help,h", "print this help and exit")
      ("version", "print the version and exit");
  return d;
}

CliParse usage_error(const std::string& msg) {
  CliParse p;
  p.text = "retrovisor: error: " + msg + "\n";
  p.exit_status = kExitUsage;
  return p;
}

bool parse_u64(const std::string& s, u64& out) {
  if (s.empty() || s.size() > 20) return false;
  u64 v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    u64 d = static_cast<u64>(c - '0');
    if (v > (~0ull - d) / 10) return false;
    v = v * 10 + d;
  }
  out = v;
  return true;
}
}  // namespace

CliParse parse_command_line(int argc_in, const char* const* argv_in) {
  // QEMU's spellings first (frontends/qemu_compat.h): rewritten to ours, or refused by name.
  po::options_description desc = describe();
  // Which of our options take a value: from the one option table, so the two never differ.
  auto takes_value = [&desc](const std::string& name) {
    const po::option_description* o = desc.find_nothrow(name, false);
    return o && o->semantic()->max_tokens() > 0;
  };
  QemuTranslation q = translate_qemu_args(argc_in, argv_in, takes_value);
  if (!q.error.empty()) return usage_error(q.error);
  std::vector<const char*> argv_v;
  for (const std::string& a : q.args) argv_v.push_back(a.c_str());
  const int argc = static_cast<int>(argv_v.size());
  const char* const* argv = argv_v.data();
  po::variables_map vm;
  try {
    // Positional words are collected only to be refused by name: a stray word is an
    // error, never a silently ignored file name.
    po::options_description all;
    all.add(desc).add_options()("\x01stray", po::value<std::vector<std::string>>());
    po::positional_options_description pos;
    pos.add("\x01stray", -1);
    // No guessing of abbreviations: --s would otherwise match half the options.
    const int style = po::command_line_style::default_style & ~po::command_line_style::allow_guessing;
    po::store(po::command_line_parser(argc, argv).options(all).positional(pos).style(style).run(), vm);
    po::notify(vm);
  } catch (const po::error& e) {
    return usage_error(e.what());
  }

  if (vm.count("\x01stray"))
    return usage_error("unexpected argument '" + vm["\x01stray"].as<std::vector<std::string>>().front() + "'");
  if (vm.count("help")) {
    std::ostringstream o;
    o << "Retrovisor " << kVersion << ": a full-system x86 emulator\n" << kUsage << "\n\n" << desc << "\n" << kExitText;
    return {std::nullopt, o.str(), 0};
  }
  if (vm.count("version")) return {std::nullopt, std::string("retrovisor ") + kVersion + "\n", 0};

  CliOptions o;
  // The machine's options, for snapshots: every argument but the run's own.
  {
    static const char* const kRunOwn[] = {"record", "replay", "savevm-at", "loadvm", "gdb", "trace",
                                          "stats", "serial", "debugcon", "max-insns", "checkpoint-mem"};
    for (size_t i = 1; i < q.args.size(); i++) {
      const std::string& a = q.args[i];
      std::string name = a.rfind("--", 0) == 0 ? a.substr(2, a.find('=') == std::string::npos ? std::string::npos : a.find('=') - 2)
                                               : std::string();
      if (a.size() == 2 && a[0] == '-' && a[1] != '-') {   // a short option (-m)
        const po::option_description* d = desc.find_nothrow(a, false);
        if (!d) d = desc.find_nothrow(a.substr(1), false);
        if (d) name = d->long_name();
      }
      const bool has_value = !name.empty() && a.find('=') == std::string::npos && takes_value(name);
      bool own = false;
      for (const char* k : kRunOwn) own |= name == k;
      if (!own) {
        o.machine_args.push_back(a);
        if (has_value && i + 1 < q.args.size()) o.machine_args.push_back(q.args[i + 1]);
      }
      if (has_value) i++;
    }
  }
  if (vm.count("loadvm")) {
    o.loadvm_path = vm["loadvm"].as<std::string>();
    if (o.loadvm_path.empty()) return usage_error("--loadvm needs a file name");
    if (vm.count("record")) return usage_error("--record with --loadvm is not supported yet (the log would need the snapshot)");
    if (vm.count("replay")) return usage_error("--replay and --loadvm cannot be used together");
    // The machine is the snapshot's: only the run's own options may be given here.
    for (const char* k : {"bios", "kernel", "initrd", "append", "memory", "on-triple-fault", "cpu", "smp", "no-reboot",
                          "switch-engine-at", "switch-engine-after"})
      if (vm.count(k))
        return usage_error(std::string("--loadvm runs the snapshot's machine: --") + k +
                           " cannot be changed (only --serial, --debugcon, --trace, --stats, --max-insns, "
                           "--savevm-at, --gdb, --clock and --accel)");
  } else if (vm.count("replay")) {
    o.replay_path = vm["replay"].as<std::string>();
    if (o.replay_path.empty()) return usage_error("--replay needs a file name");
    if (vm.count("record")) return usage_error("--record and --replay cannot be used together");
    // The machine is the recorded one: only output options may be given here.
    for (const char* k : {"bios", "kernel", "initrd", "append", "memory", "max-insns", "on-triple-fault", "cpu", "clock",
                          "accel", "kvm-device", "switch-engine-at", "switch-engine-after", "smp", "no-reboot"})
      if (vm.count(k))
        return usage_error(std::string("--replay runs the recorded machine: --") + k +
                           " cannot be changed (only --serial, --debugcon, --trace, --stats, --gdb and --checkpoint-mem)");
  } else if (vm.count("kernel")) {
    o.kernel_path = vm["kernel"].as<std::string>();
    if (o.kernel_path.empty()) return usage_error("--kernel needs a file name");
    if (vm.count("bios")) return usage_error("--bios and --kernel cannot be used together");
  } else {
    if (vm.count("initrd")) return usage_error("--initrd needs --kernel");
    if (vm.count("append")) return usage_error("--append needs --kernel");
    if (!vm.count("bios")) return usage_error("no --bios image or --kernel given (try --help)");
    o.bios_path = vm["bios"].as<std::string>();
    if (o.bios_path.empty()) return usage_error("--bios needs a file name");
  }
  if (vm.count("initrd")) {
    o.initrd_path = vm["initrd"].as<std::string>();
    if (o.initrd_path.empty()) return usage_error("--initrd needs a file name");
  }
  if (vm.count("append")) o.append = vm["append"].as<std::string>();
  if (vm.count("serial")) {
    const auto& ports = vm["serial"].as<std::vector<std::string>>();
    if (ports.size() > 4) return usage_error("--serial: at most 4 (COM1-COM4), not " + std::to_string(ports.size()));
    for (size_t i = 0; i < ports.size(); i++) {
      const std::string& v = ports[i];
      if (v != "stdio" && v != "none" && v.rfind("file:", 0) != 0)
        return usage_error("--serial: expected stdio, file:PATH or none, not '" + v + "'");
      if (v == "file:") return usage_error("--serial: file: needs a path");
      if (v == "stdio" && i > 0)
        return usage_error("--serial: stdio is for COM1 (the first --serial) only, not COM" + std::to_string(i + 1));
      if (i == 0) o.serial = v;
      else o.serial_extra[i - 1] = v;
    }
  }
  if (vm.count("memory")) {
    try {
      o.ram_bytes = parse_memory_size(vm["memory"].as<std::string>());
    } catch (const ConfigError& e) {
      return usage_error(std::string("-m/--memory: ") + e.what());
    }
  }
  if (vm.count("debugcon")) {
    o.debugcon = vm["debugcon"].as<std::string>();
    if (o.debugcon != "stdio" && o.debugcon != "none" && o.debugcon.rfind("file:", 0) != 0)
      return usage_error("--debugcon: expected stdio, file:PATH or none, not '" + o.debugcon + "'");
    if (o.debugcon == "file:") return usage_error("--debugcon: file: needs a path");
  }
  if (vm.count("max-insns") && !parse_u64(vm["max-insns"].as<std::string>(), o.max_insns))
    return usage_error("--max-insns: expected a whole number, not '" + vm["max-insns"].as<std::string>() + "'");
  if (vm.count("trace")) {
    o.trace_path = vm["trace"].as<std::string>();
    if (o.trace_path.empty()) return usage_error("--trace needs a file name");
  }
  if (vm.count("on-triple-fault")) {
    const std::string& v = vm["on-triple-fault"].as<std::string>();
    if (v == "stop") o.on_triple_fault = TripleFaultAction::Stop;
    else if (v == "reset") o.on_triple_fault = TripleFaultAction::Reset;
    else return usage_error("--on-triple-fault: expected stop or reset, not '" + v + "'");
  }
  if (vm.count("cpu")) {
    const std::string& v = vm["cpu"].as<std::string>();
    auto f = CpuFeatures::named(v);
    if (!f) return usage_error("--cpu: unknown CPU model '" + v + "' (known: " + CpuFeatures::model_names() + ")");
    o.cpu = *f;
  }
  if (vm.count("clock")) {
    const std::string& v = vm["clock"].as<std::string>();
    if (v == "virtual,pace=off") o.pace = false;
    else if (v == "virtual" || v == "virtual,pace=on") o.pace = true;
    else if (v == "realtime") o.realtime_clock = true;
    else return usage_error("--clock: expected virtual, virtual,pace=off or realtime, not '" + v + "'");
  }
  if (vm.count("accel")) {
    const std::string& v = vm["accel"].as<std::string>();
    if (v == "interp") o.accel = Accel::Interp;
    else if (v == "kvm") o.accel = Accel::Kvm;
    else if (v == "auto") o.accel = Accel::Auto;
    else if (v == "interp,kvm") o.accel = Accel::Interp, o.kvm_ready = true;
    else return usage_error("--accel: expected interp, kvm, auto or interp,kvm, not '" + v + "'");
  }
  if (vm.count("kvm-device")) {
    o.kvm_device = vm["kvm-device"].as<std::string>();
    if (o.kvm_device.empty()) return usage_error("--kvm-device needs a path");
  }
  for (const char* name : {"switch-engine-at", "switch-engine-after"}) {
    if (!vm.count(name)) continue;
    const bool after = std::string(name) == "switch-engine-after";
    for (const std::string& v : vm[name].as<std::vector<std::string>>()) {
      const std::string what = std::string("--") + name + ": expected " + (after ? "SECONDS" : "INSNS") +
                               ":ENGINE (ENGINE interp or kvm), not '" + v + "'";
      const size_t colon = v.rfind(':');
      if (colon == std::string::npos) return usage_error(what);
      const std::string num = v.substr(0, colon), eng = v.substr(colon + 1);
      EngineSwitch sw;
      sw.after_seconds = after;
      if (eng == "interp") sw.to = Engine::Interp;
      else if (eng == "kvm") sw.to = Engine::Kvm;
      else return usage_error(what);
      if (after) {
        char* end = nullptr;
        errno = 0;
        sw.seconds = std::strtod(num.c_str(), &end);
        if (num.empty() || *end || errno || !(sw.seconds >= 0) || sw.seconds > 1e9 ||
            num.find_first_not_of("0123456789.") != std::string::npos)
          return usage_error(what);
      } else if (!parse_u64(num, sw.insns)) {
        return usage_error(what);
      }
      o.engine_switches.push_back(sw);
    }
  }
  if (vm.count("smp") && vm["smp"].as<std::string>() != "1")
    return usage_error("--smp: only 1 CPU is emulated, not '" + vm["smp"].as<std::string>() + "'");
  if (vm.count("gdb")) {
    u64 port = 0;
    if (!parse_u64(vm["gdb"].as<std::string>(), port) || port == 0 || port > 65535)
      return usage_error("--gdb: expected a TCP port 1-65535, not '" + vm["gdb"].as<std::string>() + "'");
    if (o.accel != Accel::Interp || o.kvm_ready || !o.engine_switches.empty())
      return usage_error("--gdb needs the interpreter alone (--accel interp, no engine switches)");
    o.gdb_port = static_cast<int>(port);
  }
  if (vm.count("checkpoint-mem")) {
    if (!(vm.count("replay") || vm.count("record")) || !vm.count("gdb"))
      return usage_error("--checkpoint-mem is for --gdb with --replay or --record (the checkpoints of going backwards)");
    try {
      o.checkpoint_mem = parse_memory_size(vm["checkpoint-mem"].as<std::string>());
    } catch (const ConfigError& e) {
      return usage_error(std::string("--checkpoint-mem: ") + e.what());
    }
  }
  if (vm.count("savevm-at")) {
    for (const std::string& v : vm["savevm-at"].as<std::vector<std::string>>()) {
      const size_t colon = v.find(':');
      u64 at = 0;
      if (colon == std::string::npos || !parse_u64(v.substr(0, colon), at) || colon + 1 == v.size())
        return usage_error("--savevm-at: expected INSNS:FILE (INSNS a whole number), not '" + v + "'");
      o.savevm_at.push_back({at, v.substr(colon + 1)});
    }
    std::stable_sort(o.savevm_at.begin(), o.savevm_at.end(),
                     [](const auto& a, const auto& b) { return a.first < b.first; });
  }
  o.stats = vm.count("stats") > 0;
  o.no_reboot = vm.count("no-reboot") > 0;
  if (vm.count("record")) {
    o.record_path = vm["record"].as<std::string>();
    if (o.record_path.empty()) return usage_error("--record needs a file name");
    // A recorded run must be a function of its input: the interpreter on the virtual clock.
    if (o.realtime_clock) return usage_error("--record needs the virtual clock (not --clock realtime)");
    if (o.accel != Accel::Interp || o.kvm_ready || !o.engine_switches.empty())
      return usage_error("--record needs the interpreter alone (--accel interp, no engine switches): KVM runs are not repeatable");
  }
  return {o, "", 0};
}

}  // namespace rv
