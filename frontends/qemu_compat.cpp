#include "frontends/qemu_compat.h"

#include <cctype>
#include <cstring>
#include <map>

namespace rv {
namespace {

// QEMU options with a value that map one to one onto ours.
const std::map<std::string, std::string> kSame = {
    {"kernel", "--kernel"}, {"initrd", "--initrd"}, {"append", "--append"}, {"bios", "--bios"},
    {"smp", "--smp"},       {"m", "-m"},
};

// QEMU options we do not have, and why (the value, if any, is consumed for the message).
struct Unsupported {
  bool takes_value;
  const char* why;
};
const std::map<std::string, Unsupported> kUnsupported = {
    {"hda", {true, "no disks yet"}},           {"hdb", {true, "no disks yet"}},
    {"hdc", {true, "no disks yet"}},           {"hdd", {true, "no disks yet"}},
    {"cdrom", {true, "no disks yet"}},         {"drive", {true, "no disks yet"}},
    {"blockdev", {true, "no disks yet"}},      {"fda", {true, "no floppy"}},
    {"boot", {true, "no disks to boot from yet"}},
    {"snapshot", {false, "no disks yet"}},     {"loadvm", {true, "QEMU's -loadvm names a snapshot inside a disk image; retrovisor's are files: --loadvm FILE"}},
    {"vga", {true, "no display adapter yet"}}, {"device", {true, "no -device model"}},
    {"netdev", {true, "no network devices"}},  {"net", {true, "no network devices"}},
    {"nic", {true, "no network devices"}},     {"usb", {false, "no USB"}},
    {"usbdevice", {true, "no USB"}},           {"audiodev", {true, "no sound"}},
    {"soundhw", {true, "no sound"}},           {"rtc", {true, "the RTC starts at a fixed time"}},
    {"icount", {true, "the virtual clock is always instruction-counted (--clock virtual)"}},
    {"mem-prealloc", {false, "guest RAM is committed lazily"}},
    {"mem-path", {true, "guest RAM is anonymous memory"}},
    {"k", {true, "no keyboard layouts (no display yet)"}},
    {"daemonize", {false, "the run stays in the foreground"}},
    {"pidfile", {true, "no pid file"}},        {"name", {true, "no machine names"}},
    {"uuid", {true, "no SMBIOS"}},             {"smbios", {true, "no SMBIOS"}},
    {"numa", {true, "one NUMA node"}},         {"object", {true, "no QOM objects"}},
    {"chardev", {true, "serial ports take stdio, file:PATH or none"}},
    {"qmp", {true, "no QMP (the monitor is on the terminal: Ctrl-A C)"}},
    {"incoming", {true, "no migration"}},      {"readconfig", {true, "no config files"}},
    {"L", {true, "the firmware path is given with -bios"}},
    {"fsdev", {true, "no virtio-9p"}},         {"virtfs", {true, "no virtio-9p"}},
    {"global", {true, "no device properties"}}, {"trace", {true, "use --trace FILE for an instruction trace"}},
    {"sandbox", {true, "no seccomp sandbox"}}, {"overcommit", {true, "guest RAM is committed lazily"}},
    {"parallel", {true, "no parallel port"}},  {"full-screen", {false, "no display yet"}},
    {"no-shutdown", {false, "a power-off ends the run"}},
    {"no-acpi", {false, "the board always has ACPI"}}, {"no-hpet", {false, "the board always has an HPET"}},
};

bool starts(const std::string& s, const char* p) { return s.rfind(p, 0) == 0; }

}  // namespace

QemuTranslation translate_qemu_args(int argc, const char* const* argv,
                                    const std::function<bool(const std::string&)>& takes_value) {
  QemuTranslation out;
  out.args.push_back(argc > 0 ? argv[0] : "retrovisor");
  bool nographic = false, serial_given = false, wait_for_debugger = false, gdb_given = false;
  std::string log_items, log_file;
  auto refuse = [&](const std::string& what, const std::string& why) {
    out.error = "not supported by retrovisor: " + what + " (" + why + ")";
    return out;
  };
  for (int i = 1; i < argc; i++) {
    std::string a = argv[i];
    // Our own spellings (and anything that is not a single-dash word) pass through.
    if (a.size() < 2 || a[0] != '-' || a[1] == '-' || a == "-h") {
      out.args.push_back(a);
      if (a == "--serial" || starts(a, "--serial=")) serial_given = true;
      // An option's value is never taken for a QEMU option: pass it through too.
      if (a.size() > 2 && a[1] == '-' && a.find('=') == std::string::npos && takes_value(a.substr(2)) && i + 1 < argc)
        out.args.push_back(argv[++i]);
      continue;
    }
    if (starts(a, "-m") && a.size() > 2 && std::isdigit(static_cast<unsigned char>(a[2]))) {   // -m512M (ours)
      out.args.push_back(a);
      continue;
    }
    const std::string name = a.substr(1);
    const bool has_next = i + 1 < argc;
    const std::string next = has_next ? argv[i + 1] : "";
    auto value = [&](std::string& v) {
      if (!has_next) { out.error = a + " needs a value"; return false; }
      v = next;
      i++;
      return true;
    };
    std::string v;
    if (auto it = kSame.find(name); it != kSame.end()) {
      if (!value(v)) return out;
      if (name == "m") {   // QEMU's "-m size=256M[,slots=..,maxmem=..]"
        if (starts(v, "size=")) v = v.substr(5, v.find(',') == std::string::npos ? std::string::npos : v.find(',') - 5);
        if (v.find(',') != std::string::npos) return refuse("-m " + v, "only the RAM size is modelled");
      }
      out.args.push_back(it->second);
      out.args.push_back(v);
    } else if (name == "serial") {
      if (!value(v)) return out;
      serial_given = true;
      if (v == "mon:stdio") v = "stdio";   // our monitor shares the terminal (Ctrl-A C) already
      else if (v == "null") v = "none";
      else if (v == "pty" || starts(v, "tcp:") || starts(v, "telnet:") || starts(v, "unix:") || starts(v, "udp:") || v == "vc")
        return refuse("-serial " + v, "serial ports take stdio, mon:stdio, file:PATH, null or none");
      out.args.push_back("--serial");
      out.args.push_back(v);
    } else if (name == "monitor") {
      if (!value(v)) return out;
      if (v != "stdio" && v != "none" && v != "null" && v != "mon:stdio")
        return refuse("-monitor " + v, "the monitor is on the terminal of --serial stdio (Ctrl-A C)");
      // -monitor stdio: the monitor is Ctrl-A C on the terminal; with no serial port given,
      // the terminal must be COM1's (as QEMU's stdio would be the monitor's).
      if (v == "stdio" || v == "mon:stdio") nographic = true;
    } else if (name == "nographic") {
      nographic = true;   // COM1 on the terminal (below), no display
    } else if (name == "display") {
      if (!value(v)) return out;
      if (v != "none") return refuse("-display " + v, "no display yet: -display none");
    } else if (name == "vnc") {
      if (!value(v)) return out;
      if (v != "none") return refuse("-vnc " + v, "no display yet");
    } else if (name == "debugcon") {
      if (!value(v)) return out;
      if (v == "null") v = "none";
      out.args.push_back("--debugcon");
      out.args.push_back(v);
    } else if (name == "device" && has_next && starts(next, "isa-debug-exit")) {
      value(v);
      // The board always has QEMU's isa-debug-exit at 0xF4 (4 ports); only that placement.
      if (v != "isa-debug-exit" && v != "isa-debug-exit,iobase=0xf4,iosize=0x04" && v != "isa-debug-exit,iobase=0xf4,iosize=4" &&
          v != "isa-debug-exit,iobase=0xf4")
        return refuse("-device " + v, "the board's isa-debug-exit is at iobase=0xf4, iosize=0x04");
    } else if (name == "enable-kvm") {
      out.args.push_back("--accel");
      out.args.push_back("kvm");
    } else if (name == "accel") {
      if (!value(v)) return out;
      std::string kind = v.substr(0, v.find(','));
      if (starts(kind, "accel=")) kind = kind.substr(6);
      if (kind == "tcg") kind = "interp";   // the software engine (the JIT will take this name)
      else if (kind != "kvm") return refuse("-accel " + v, "the engines are tcg (the interpreter) and kvm");
      if (v.find(',') != std::string::npos && v.find(',') != v.size()) {
        const std::string opts = v.substr(v.find(',') + 1);
        if (!opts.empty() && opts != "thread=single") return refuse("-accel " + v, "no accelerator properties");
      }
      out.args.push_back("--accel");
      out.args.push_back(kind);
    } else if (name == "machine" || name == "M") {
      if (!value(v)) return out;
      std::string type = v.substr(0, v.find(','));
      if (starts(type, "type=")) type = type.substr(5);
      if (starts(type, "accel=")) {   // -machine accel=kvm
        const std::string kind = type.substr(6) == "tcg" ? "interp" : type.substr(6);
        if (kind != "interp" && kind != "kvm") return refuse("-machine " + v, "the engines are tcg and kvm");
        out.args.push_back("--accel");
        out.args.push_back(kind);
      } else if (type != "pc" && !starts(type, "pc-i440fx")) {
        return refuse("-" + name + " " + v, "this board is an i440FX PC");
      } else if (v.find(',') != std::string::npos) {
        return refuse("-" + name + " " + v, "no machine properties");
      }
    } else if (name == "cpu") {
      if (!value(v)) return out;
      const std::string model = v.substr(0, v.find(','));
      if (v.find(',') != std::string::npos) return refuse("-cpu " + v, "no CPU feature flags yet: --cpu max or v1");
      if (model == "max" || model == "host") out.args.insert(out.args.end(), {"--cpu", "max"});
      else if (model == "qemu64" || model == "kvm64") out.args.insert(out.args.end(), {"--cpu", "v1"});
      else return refuse("-cpu " + v, "the CPU models are max (host) and v1 (qemu64)");
    } else if (name == "no-reboot") {
      out.args.push_back("--no-reboot");
    } else if (name == "s") {
      gdb_given = true;
      out.args.push_back("--gdb");
      out.args.push_back("1234");
    } else if (name == "gdb") {
      if (!value(v)) return out;
      std::string port = starts(v, "tcp::") ? v.substr(5) : starts(v, "tcp:localhost:") ? v.substr(14) : starts(v, "tcp:127.0.0.1:") ? v.substr(14) : "";
      if (port.empty() || port.find_first_not_of("0123456789") != std::string::npos)
        return refuse("-gdb " + v, "gdb listens on localhost: -gdb tcp::PORT");
      gdb_given = true;
      out.args.push_back("--gdb");
      out.args.push_back(port);
    } else if (name == "S") {
      wait_for_debugger = true;
    } else if (name == "d") {
      if (!value(v)) return out;
      log_items = v;
    } else if (name == "D") {
      if (!value(v)) return out;
      log_file = v;
    } else if (auto u = kUnsupported.find(name); u != kUnsupported.end()) {
      std::string what = a;
      if (u->second.takes_value && has_next) what += " " + next;
      return refuse(what, u->second.why);
    } else {
      out.args.push_back(a);   // Boost reports it as unrecognised
    }
  }
  if (wait_for_debugger && !gdb_given)
    return refuse("-S without -s or -gdb", "the machine waits only for a debugger: use -s -S");
  if (!log_items.empty()) {
    // -d in_asm,cpu,exec...: the one log we have is the instruction trace.
    for (size_t p = 0; p <= log_items.size();) {
      size_t e = log_items.find(',', p);
      std::string item = log_items.substr(p, e == std::string::npos ? std::string::npos : e - p);
      if (item != "in_asm" && item != "cpu" && item != "exec" && item != "nochain" && item != "int" && item != "op")
        return refuse("-d " + item, "the log is the instruction trace: -d in_asm,cpu,exec,int");
      if (e == std::string::npos) break;
      p = e + 1;
    }
    out.args.push_back("--trace");
    out.args.push_back(log_file.empty() ? "/dev/stderr" : log_file);
  } else if (!log_file.empty()) {
    return refuse("-D " + log_file + " without -d", "-D names the file of -d's log");
  }
  if (nographic && !serial_given) {
    out.args.push_back("--serial");
    out.args.push_back("stdio");
  }
  return out;
}

}  // namespace rv
