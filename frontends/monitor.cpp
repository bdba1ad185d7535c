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
