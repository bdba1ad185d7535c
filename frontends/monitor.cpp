#include "frontends/monitor.h"

#include <cstdio>
#include <vector>

#include "machine/pc.h"

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
    "  info engine         the engine running the CPU, and whether KVM is open\n"
    "  info registers      RIP, RFLAGS, general registers, CS/SS, CR0/CR3/CR4, EFER\n"
    "  engine interp|kvm   move the running guest to that engine\n"
    "  x ADDR [COUNT]      COUNT bytes (default 64, at most 4096) of guest memory at linear\n"
    "                      address ADDR (hex), through the guest's page tables\n"
    "  quit                end the run\n";

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
  } else if (w[0] == "x" && (w.size() == 2 || w.size() == 3)) {
    r.text = examine(w[1], w.size() == 3 ? w[2] : "64");
  } else if (w[0] == "quit" && w.size() == 1) {
    r.text = "quitting\n";
    r.quit = true;
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

std::string Monitor::examine(std::string_view addr_text, std::string_view count_text) {
  auto parse = [](std::string_view t, int base, u64& v) {
    if (t.size() > 2 && t[0] == '0' && (t[1] == 'x' || t[1] == 'X')) t.remove_prefix(2), base = 16;
    if (t.empty() || t.size() > 16) return false;
    v = 0;
    for (char c : t) {
      int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : 99;
      if (d >= base) return false;
      v = v * static_cast<u64>(base) + static_cast<u64>(d);
    }
    return true;
  };
  u64 addr, count;
  if (!parse(addr_text, 16, addr)) return "error: x: expected a hex address, not '" + std::string(addr_text) + "'\n";
  if (!parse(count_text, 10, count) || count == 0 || count > 4096)
    return "error: x: expected a byte count 1-4096, not '" + std::string(count_text) + "'\n";
  m_pc.sync_cpu_state();
  std::string out;
  char buf[32];
  for (u64 i = 0; i < count; i++) {
    const u64 la = addr + i;
    if (i % 16 == 0) {
      if (i) out += '\n';
      std::snprintf(buf, sizeof buf, "%016llx:", static_cast<unsigned long long>(la));
      out += buf;
    }
    u64 pa;
    u8 b;
    if (!m_pc.cpu().debug_translate(la, pa) || !m_pc.memory().read_bytes(pa, &b, 1)) {
      out += " --";   // not mapped by the page tables, or not RAM/ROM
      continue;
    }
    std::snprintf(buf, sizeof buf, " %02x", b);
    out += buf;
  }
  return out + "\n";
}

std::string Monitor::info_registers() {
  m_pc.sync_cpu_state();
  const Cpu& cpu = m_pc.cpu();
  const CpuState& s = cpu.state();
  char buf[640];
  auto g = [&](Gpr r) { return static_cast<unsigned long long>(s.gpr[r]); };
  auto x = [](u64 v) { return static_cast<unsigned long long>(v); };
  std::snprintf(buf, sizeof buf,
                "RIP=%016llx RFLAGS=%08llx engine=%s%s\n"
                "RAX=%016llx RBX=%016llx RCX=%016llx RDX=%016llx\n"
                "RSI=%016llx RDI=%016llx RBP=%016llx RSP=%016llx\n"
                "R8 =%016llx R9 =%016llx R10=%016llx R11=%016llx\n"
                "R12=%016llx R13=%016llx R14=%016llx R15=%016llx\n"
                "CS=%04x SS=%04x CR0=%08llx CR3=%016llx CR4=%08llx EFER=%08llx\n",
                x(s.rip), x(cpu.rflags()), engine_name(m_pc.engine()), s.halted ? " (halted)" : "",
                g(RAX), g(RBX), g(RCX), g(RDX), g(RSI), g(RDI), g(RBP), g(RSP), g(R8), g(R9), g(R10), g(R11),
                g(R12), g(R13), g(R14), g(R15), s.seg[CS].sel, s.seg[SS].sel, x(s.cr0), x(s.cr3), x(s.cr4),
                x(s.efer));
  return buf;
}

}  // namespace rv
