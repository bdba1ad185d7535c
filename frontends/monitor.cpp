#include "frontends/monitor.h"

#include <algorithm>
#include <cstdio>
#include <vector>

#include "cpu/disasm.h"

#include "machine/pc.h"
#include "machine/snapshot.h"

namespace rv {

namespace {

// The line's words, split on spaces and tabs.
std::vector<std::string_view> words(std::string_view line) {
  std::vector<std::string_view> w;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) i++;
    const size_t start = i;
    while (i < line.size() && line[i] != ' ' && line[i] != '\t') i++;
    if (i > start) w.push_back(line.substr(start, i - start));
  }
  return w;
}

constexpr const char* kHelp =
    "commands:\n"
    "  help                this list\n"
    "  info status         whether the guest runs or halts, the engine, instructions so far\n"
    "  info engine         the engine running the CPU, and whether KVM is open\n"
    "  info registers      RIP, RFLAGS, general registers, CS/SS, control registers, EFER,\n"
    "                      descriptor table registers, the SYSCALL MSRs\n"
    "  info replay         the recording or replay: position, end, inputs, the next input\n"
    "  info devices [NAME] every device's state, named fields (NAME: one of them, e.g. pit8254)\n"
    "  info pic|pit|apic|ioapic|rtc|uart   one device's state\n"
    "  info gdt|idt|ldt    the descriptor tables, each present entry decoded\n"
    "  info mem [ADDR]     the mappings of the page tables (from ADDR on): linear ranges of the same rights\n"
    "                      (u/s user or supervisor, w/r writable, x/- executable), sizes\n"
    "  info tlb            the interpreter's TLB: each cached translation and what it allows\n"
    "  info blocks         the decoded-block cache: its size and the blocks of each code page\n"
    "  explain ADDR        how the CPU translates linear ADDR (hex): each paging level's entry,\n"
    "                      its bits by name, the permissions so far, the physical address\n"
    "  engine interp|kvm   move the running guest to that engine\n"
    "  x ADDR [COUNT]      COUNT bytes (default 64, at most 4096) of guest memory at linear\n"
    "                      address ADDR (hex), through the guest's page tables\n"
    "  x/NF ADDR           QEMU's form: N units of format F: x (hex words), b, h, w, g (hex\n"
    "                      bytes, halfwords, words, giant words), i (instructions, disassembled)\n"
    "  xp ADDR [COUNT], xp/NF ADDR   the same at a guest-physical address\n"
    "  savevm FILE         save a snapshot of the machine in FILE (--loadvm FILE starts from it)\n"
    "  loadvm FILE         go back (or on) to the snapshot in FILE, taken of this machine\n"
    "  quit, q             end the run\n";

// QEMU monitor commands this one does not have (yet), with what to use instead.
struct Missing {
  const char* cmd;
  const char* why;
};
constexpr Missing kMissing[] = {
    {"stop", "the guest runs while the monitor is open; a debugger stops it: --gdb PORT"},
    {"cont", "the guest runs while the monitor is open"},
    {"c", "the guest runs while the monitor is open"},
    {"system_powerdown", "no ACPI power button event yet; the guest can be quit with 'quit'"},
    {"system_reset", "not from the monitor yet"},
    {"screendump", "no display yet"},
    {"sendkey", "no keyboard input from the monitor yet"},
    {"gdbserver", "start with --gdb PORT"},
};

}  // namespace

Monitor::Reply Monitor::execute(std::string_view line) {
  const std::vector<std::string_view> w = words(line);
  Reply r;
  if (w.empty()) return r;
  if (w[0] == "help" && w.size() == 1) {
    r.text = kHelp;
  } else if (w[0] == "info" && w.size() == 2 && w[1] == "engine") {
    r.text = info_engine();
  } else if (w[0] == "info" && w.size() == 2 && w[1] == "registers") {
    r.text = info_registers();
  } else if (w[0] == "engine" && w.size() == 2) {
    r.text = engine(w[1]);
  } else if (w[0] == "info" && w.size() == 2 && w[1] == "status") {
    r.text = info_status();
  } else if (w[0] == "info" && w.size() == 2 && w[1] == "replay") {
    r.text = m_pc.replay_info();
  } else if (w[0] == "info" && (w.size() == 2 || w.size() == 3) && w[1] == "devices") {
    r.text = info_devices(w.size() == 3 ? w[2] : "");
  } else if (w[0] == "info" && w.size() == 2 &&
             (w[1] == "pic" || w[1] == "pit" || w[1] == "apic" || w[1] == "ioapic" || w[1] == "rtc" || w[1] == "uart")) {
    r.text = info_devices(w[1]);
  } else if (w[0] == "info" && w.size() == 2 && (w[1] == "gdt" || w[1] == "idt" || w[1] == "ldt")) {
    r.text = info_descriptors(w[1][0]);
  } else if (w[0] == "info" && w.size() == 2 && w[1] == "tlb") {
    r.text = info_tlb();
  } else if (w[0] == "info" && w.size() == 2 && w[1] == "blocks") {
    r.text = info_blocks();
  } else if (w[0] == "info" && (w.size() == 2 || w.size() == 3) && w[1] == "mem") {
    r.text = info_mem(w.size() == 3 ? w[2] : "");
  } else if (w[0] == "explain" && w.size() == 2) {
    r.text = explain(w[1]);
  } else if (w[0] == "explain") {
    r.text = "error: explain: expected one linear address: explain ADDR (hex)\n";
  } else if ((w[0] == "x" || w[0] == "xp") && (w.size() == 2 || w.size() == 3)) {
    r.text = examine(w[1], w.size() == 3 ? w[2] : "64", w[0] == "xp");
  } else if ((w[0].rfind("x/", 0) == 0 || w[0].rfind("xp/", 0) == 0) && w.size() == 2) {
    const bool phys = w[0][1] == 'p';
    r.text = examine_fmt(w[0].substr(phys ? 3 : 2), w[1], phys);
  } else if (w[0] == "x" || w[0] == "xp" || w[0].rfind("x/", 0) == 0 || w[0].rfind("xp/", 0) == 0) {
    r.text = "error: " + std::string(w[0]) + ": expected an address: x ADDR [COUNT], x/NF ADDR (try 'help')\n";
  } else if ((w[0] == "savevm" || w[0] == "loadvm") && w.size() == 2) {
    r.text = w[0] == "savevm" ? savevm(w[1]) : loadvm(w[1]);
  } else if (w[0] == "savevm" || w[0] == "loadvm") {
    r.text = "error: " + std::string(w[0]) + ": expected one file name: " + std::string(w[0]) + " FILE\n";
  } else if ((w[0] == "quit" || w[0] == "q") && w.size() == 1) {
    r.text = "quitting\n";
    r.quit = true;
  } else if (auto m = std::find_if(std::begin(kMissing), std::end(kMissing), [&](const Missing& x) { return w[0] == x.cmd; });
             m != std::end(kMissing)) {
    r.text = std::string("error: not supported by the retrovisor monitor: ") + m->cmd + " (" + m->why + ")\n";
  } else {
    r.text = "error: unknown command '" + std::string(line.substr(line.find_first_not_of(" \t"))) +
             "' (try 'help')\n";
  }
  return r;
}

std::string Monitor::info_engine() const {
  return std::string("current engine: ") + engine_name(m_pc.engine()) + "; KVM " +
         (m_pc.kvm_available() ? "open" : "not open") + "\n";
}

std::string Monitor::savevm(std::string_view file) {
  const std::string path(file);
  try {
    save_snapshot(m_pc, path, m_pc.config().snapshot_origin);
  } catch (const SnapshotError& e) {
    return std::string("error: savevm: ") + e.what() + "\n";
  }
  return "savevm: saved the machine at instruction " + std::to_string(m_pc.cpu().state().icount) + " in " + path + "\n";
}

std::string Monitor::loadvm(std::string_view file) {
  // A recorded run's input comes through the log's door only; a jump in state would not replay.
  if (m_pc.recording_or_replaying()) return "error: loadvm: not while recording or replaying (the log could not follow)\n";
  const std::string path(file);
  try {
    Snapshot s = read_snapshot(path);
    const SnapshotOrigin& here = m_pc.config().snapshot_origin;
    if (s.origin.args != here.args || s.origin.files != here.files)
      return "error: loadvm: " + path + " is a snapshot of another machine (its command line or files differ from this run's)\n";
    load_snapshot(m_pc, s, path);
  } catch (const SnapshotError& e) {
    return std::string("error: loadvm: ") + e.what() + "\n";
  }
  return "loadvm: the machine is at instruction " + std::to_string(m_pc.cpu().state().icount) + " from " + path + "\n";
}

std::string Monitor::engine(std::string_view name) {
  Engine e;
  if (name == "interp") e = Engine::Interp;
  else if (name == "kvm") e = Engine::Kvm;
  else return "error: engine: expected interp or kvm, not '" + std::string(name) + "'\n";
  const bool same = m_pc.engine() == e;
  std::string why;
  // Asked even when already there: it replaces any switch still pending.
  if (!m_pc.request_engine(e, why)) return "error: engine: " + why + "\n";
  if (same) return std::string("engine: already running on ") + engine_name(e) + "\n";
  return std::string("engine: switching to ") + engine_name(e) + "\n";
}

bool Monitor::parse_number(std::string_view t, int base, u64& v) {
  if (t.size() > 2 && t[0] == '0' && (t[1] == 'x' || t[1] == 'X')) t.remove_prefix(2), base = 16;
  if (t.empty() || t.size() > 16) return false;
  v = 0;
  for (char c : t) {
    int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : 99;
    if (d >= base) return false;
    v = v * static_cast<u64>(base) + static_cast<u64>(d);
  }
  return true;
}

// One guest byte at a linear (through the page tables, side-effect free) or physical address.
bool Monitor::guest_byte(u64 addr, bool phys, u8& b) {
  u64 pa = addr;
  if (!phys && !m_pc.cpu().debug_translate(addr, pa)) return false;
  return m_pc.memory().read_bytes(pa, &b, 1);
}

std::string Monitor::examine(std::string_view addr_text, std::string_view count_text, bool phys) {
  const char* name = phys ? "xp" : "x";
  u64 addr, count;
  if (!parse_number(addr_text, 16, addr)) return std::string("error: ") + name + ": expected a hex address, not '" + std::string(addr_text) + "'\n";
  if (!parse_number(count_text, 10, count) || count == 0 || count > 4096)
    return std::string("error: ") + name + ": expected a byte count 1-4096, not '" + std::string(count_text) + "'\n";
  m_pc.sync_cpu_state();
  return dump(addr, count, 1, phys);
}

// N units of `size` bytes from `addr`, 16 bytes a line, "--" for what is not mapped or not
// RAM/ROM.
std::string Monitor::dump(u64 addr, u64 count, unsigned size, bool phys) {
  std::string out;
  char buf[40];
  const unsigned per_line = 16 / size;
  for (u64 i = 0; i < count; i++) {
    const u64 a = addr + i * size;
    if (i % per_line == 0) {
      if (i) out += '\n';
      std::snprintf(buf, sizeof buf, "%016llx:", static_cast<unsigned long long>(a));
      out += buf;
    }
    u64 v = 0;
    bool ok = true;
    for (unsigned k = 0; k < size && ok; k++) {
      u8 b;
      ok = guest_byte(a + k, phys, b);
      v |= static_cast<u64>(b) << (8 * k);
    }
    if (!ok) {
      out += " " + std::string(2 * size, '-');
      continue;
    }
    std::snprintf(buf, sizeof buf, " %0*llx", static_cast<int>(2 * size), static_cast<unsigned long long>(v));
    out += buf;
  }
  return out + "\n";
}

// QEMU's x/NF: N (default 1) units of format F: x (4-byte words), b h w g (1 2 4 8 bytes,
// hex), i (instructions in the CPU's current mode).
std::string Monitor::examine_fmt(std::string_view fmt, std::string_view addr_text, bool phys) {
  const std::string name = phys ? "xp" : "x";
  size_t i = 0;
  while (i < fmt.size() && fmt[i] >= '0' && fmt[i] <= '9') i++;
  u64 n = 1;
  if (i && (!parse_number(fmt.substr(0, i), 10, n) || n == 0 || n > 1024))
    return "error: " + name + "/: expected a count 1-1024, not '" + std::string(fmt.substr(0, i)) + "'\n";
  // The rest: a format letter (x hex, i instructions) and a unit size (b h w g), either order.
  char format = 'x';
  unsigned size = 4;
  for (char c : fmt.substr(i)) {
    if (c == 'x' || c == 'i') format = c;
    else if (c == 'b') size = 1;
    else if (c == 'h') size = 2;
    else if (c == 'w') size = 4;
    else if (c == 'g') size = 8;
    else return "error: " + name + "/" + std::string(fmt) + ": formats are x (hex) and i (instructions), units b, h, w, g\n";
  }
  u64 addr;
  if (!parse_number(addr_text, 16, addr)) return "error: " + name + ": expected a hex address, not '" + std::string(addr_text) + "'\n";
  m_pc.sync_cpu_state();
  if (format == 'i') return disassemble_at(addr, n, phys);
  return dump(addr, n, size, phys);
}

std::string Monitor::disassemble_at(u64 addr, u64 n, bool phys) {
  const CpuMode mode = m_pc.cpu().mode();
  std::string out;
  char buf[64];
  for (u64 k = 0; k < n; k++) {
    u8 bytes[15];
    unsigned got = 0;
    while (got < 15 && guest_byte(addr + got, phys, bytes[got])) got++;
    std::snprintf(buf, sizeof buf, "%016llx: ", static_cast<unsigned long long>(addr));
    out += buf;
    if (!got) return out + "(not mapped)\n";
    DecodedInsn d;
    const unsigned len = decode(bytes, got, mode, d) == DecodeStatus::Ok ? d.len : 1;
    for (unsigned b = 0; b < len; b++) {
      std::snprintf(buf, sizeof buf, "%02x ", bytes[b]);
      out += buf;
    }
    out += std::string(len < 10 ? 3 * (10 - len) : 1, ' ');
    out += disassemble(bytes, len, mode, addr) + "\n";
    addr += len;
  }
  return out;
}

std::string Monitor::info_status() {
  m_pc.sync_cpu_state();
  const CpuState& s = m_pc.cpu().state();
  char buf[200];
  std::snprintf(buf, sizeof buf, "VM status: running%s; engine %s; %llu instructions; virtual time %.6f s\n",
                s.halted ? " (the CPU is halted, waiting for an interrupt)" : "", engine_name(m_pc.engine()),
                static_cast<unsigned long long>(s.icount), static_cast<double>(m_pc.now()) / 1e9);
  return buf;
}

std::string Monitor::info_registers() {
  m_pc.sync_cpu_state();
  const Cpu& cpu = m_pc.cpu();
  const CpuState& s = cpu.state();
  char buf[1024];
  auto g = [&](Gpr r) { return static_cast<unsigned long long>(s.gpr[r]); };
  auto x = [](u64 v) { return static_cast<unsigned long long>(v); };
  std::snprintf(buf, sizeof buf,
                "RIP=%016llx RFLAGS=%08llx engine=%s%s\n"
                "RAX=%016llx RBX=%016llx RCX=%016llx RDX=%016llx\n"
                "RSI=%016llx RDI=%016llx RBP=%016llx RSP=%016llx\n"
                "R8 =%016llx R9 =%016llx R10=%016llx R11=%016llx\n"
                "R12=%016llx R13=%016llx R14=%016llx R15=%016llx\n"
                "CS=%04x SS=%04x CR0=%08llx CR3=%016llx CR4=%08llx EFER=%08llx\n"
                "GDTR=%016llx/%04x IDTR=%016llx/%04x TR=%04x LDTR=%04x CR2=%016llx\n"
                "LSTAR=%016llx STAR=%016llx SFMASK=%08llx KERNEL_GS_BASE=%016llx\n",
                x(s.rip), x(cpu.rflags()), engine_name(m_pc.engine()), s.halted ? " (halted)" : "",
                g(RAX), g(RBX), g(RCX), g(RDX), g(RSI), g(RDI), g(RBP), g(RSP), g(R8), g(R9), g(R10), g(R11),
                g(R12), g(R13), g(R14), g(R15), s.seg[CS].sel, s.seg[SS].sel, x(s.cr0), x(s.cr3), x(s.cr4),
                x(s.efer), x(s.gdtr.base), s.gdtr.limit, x(s.idtr.base), s.idtr.limit, s.tr.sel, s.ldtr.sel, x(s.cr2),
                x(s.lstar), x(s.star), x(s.sfmask), x(s.kernel_gs_base));
  return buf;
}

}  // namespace rv
