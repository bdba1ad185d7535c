// gdb's remote serial protocol (gdb's manual, "Remote Protocol"), served for one connection.
#include "frontends/gdb_stub.h"

#include "frontends/monitor.h"
#include "machine/timeline.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <optional>
#include <vector>

namespace rv {

namespace {

const char kTargetXml[] =
    "<?xml version=\"1.0\"?><!DOCTYPE target SYSTEM \"gdb-target.dtd\">"
    "<target><architecture>i386:x86-64</architecture></target>";

// gdb's amd64 register layout ('g' packet): 16 GPRs, RIP 8, EFLAGS 4, 6 selectors 4, ST0-7 10,
// 8 x87 control registers 4, XMM0-15 16, MXCSR 4.
constexpr unsigned kRegCount = 57;
constexpr unsigned kRegSize[kRegCount] = {8,  8,  8,  8,  8,  8,  8,  8,  8,  8,  8,  8,  8,  8,  8,  8,  8,  4, 4, 4,
                                          4,  4,  4,  4,  10, 10, 10, 10, 10, 10, 10, 10, 4,  4,  4,  4,  4,  4, 4, 4,
                                          16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 4};
unsigned reg_offset(unsigned n) {
  unsigned off = 0;
  for (unsigned i = 0; i < n; i++) off += kRegSize[i];
  return off;
}

// gdb's amd64 register numbers 0-15 in our Gpr order.
constexpr u8 kGdbGpr[16] = {RAX, RBX, RCX, RDX, RSI, RDI, RBP, RSP, R8, R9, R10, R11, R12, R13, R14, R15};
constexpr u8 kGdbSeg[6] = {CS, SS, DS, ES, FS, GS};

void hex_bytes(std::string& out, const void* p, size_t n) {
  static const char kHex[] = "0123456789abcdef";
  const u8* b = static_cast<const u8*>(p);
  for (size_t i = 0; i < n; i++) {
    out += kHex[b[i] >> 4];
    out += kHex[b[i] & 15];
  }
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool parse_hex(const std::string& s, u64& v) {
  if (s.empty() || s.size() > 16) return false;
  v = 0;
  for (char c : s) {
    const int d = hex_digit(c);
    if (d < 0) return false;
    v = (v << 4) | static_cast<u64>(d);
  }
  return true;
}

bool unhex(const std::string& s, std::vector<u8>& out) {
  if (s.size() % 2) return false;
  out.clear();
  for (size_t i = 0; i < s.size(); i += 2) {
    const int a = hex_digit(s[i]), b = hex_digit(s[i + 1]);
    if (a < 0 || b < 0) return false;
    out.push_back(static_cast<u8>(a << 4 | b));
  }
  return true;
}

// The full x87 tag word gdb shows, from FXSAVE's abridged one (SDM Vol.1 §10.5.1.1).
u16 full_tag_word(const u8* fx) {
  const u16 fsw = static_cast<u16>(fx[2] | fx[3] << 8);
  const unsigned top = (fsw >> 11) & 7;
  u16 tags = 0;
  for (unsigned phys = 0; phys < 8; phys++) {
    unsigned tag = 3;   // empty
    if (fx[4] & (1u << phys)) {
      const u8* r = fx + 32 + 16 * ((phys - top) & 7);
      u64 mant;
      std::memcpy(&mant, r, 8);
      const unsigned exp = (r[8] | r[9] << 8) & 0x7FFF;
      if (exp == 0x7FFF) tag = 2;
      else if (exp == 0) tag = mant ? 2 : 1;
      else tag = (mant >> 63) ? 0 : 2;
    }
    tags |= static_cast<u16>(tag << (2 * phys));
  }
  return tags;
}

}  // namespace

GdbStub::GdbStub(Pc& pc, int port, Timeline* timeline) : m_pc(pc), m_timeline(timeline), m_port(port) {
  m_listen = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (m_listen < 0) throw ConfigError(std::string("--gdb: socket: ") + std::strerror(errno));
  const int one = 1;
  setsockopt(m_listen, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<u16>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(m_listen, reinterpret_cast<sockaddr*>(&a), sizeof a) < 0 || listen(m_listen, 1) < 0) {
    const std::string why = std::strerror(errno);
    close(m_listen);
    throw ConfigError("--gdb: cannot listen on localhost:" + std::to_string(port) + ": " + why);
  }
}

GdbStub::~GdbStub() {
  if (m_conn >= 0) close(m_conn);
  if (m_listen >= 0) close(m_listen);
}

bool GdbStub::read_packet(std::string& out) {
  // $body#xx; acks (+/-) and stray Ctrl-Cs between packets are skipped.
  for (;;) {
    size_t start = m_pending.find('$');
    if (start != std::string::npos) {
      const size_t hash = m_pending.find('#', start);
      if (hash != std::string::npos && hash + 2 < m_pending.size()) {
        out = m_pending.substr(start + 1, hash - start - 1);
        u8 sum = 0;
        for (char c : out) sum = static_cast<u8>(sum + static_cast<u8>(c));
        u64 want = 0;
        const bool ok = parse_hex(m_pending.substr(hash + 1, 2), want) && want == sum;
        m_pending.erase(0, hash + 3);
        if (send(m_conn, ok ? "+" : "-", 1, MSG_NOSIGNAL) < 0) return false;
        if (ok) return true;
        continue;
      }
      // We offer PacketSize=1000 (4096 bytes); a client that sends '$' and never '#' must not
      // grow our memory without bound: a packet longer than 16 KiB is dropped (NAK).
      if (m_pending.size() - start > kMaxPacket) {
        if (!m_warned_long) std::fprintf(stderr, "retrovisor: gdb: dropped a packet longer than %zu bytes\n", kMaxPacket);
        m_warned_long = true;
        m_pending.clear();
        if (send(m_conn, "-", 1, MSG_NOSIGNAL) < 0) return false;
      }
    } else {
      m_pending.clear();
    }
    char buf[4096];
    const ssize_t n = recv(m_conn, buf, sizeof buf, 0);
    if (n <= 0) return false;
    m_pending.append(buf, static_cast<size_t>(n));
  }
}

void GdbStub::send_packet(const std::string& body) {
  u8 sum = 0;
  for (char c : body) sum = static_cast<u8>(sum + static_cast<u8>(c));
  char tail[4];
  std::snprintf(tail, sizeof tail, "#%02x", sum);
  const std::string pkt = "$" + body + tail;
  // Sent once; a lost connection shows at the next read.
  (void)send(m_conn, pkt.data(), pkt.size(), MSG_NOSIGNAL);
}

bool GdbStub::poll_interrupt() {
  if (m_closed) return false;
  char buf[256];
  for (;;) {
    const ssize_t n = recv(m_conn, buf, sizeof buf, MSG_DONTWAIT);
    if (n == 0) {
      m_closed = true;   // gdb went away: the run goes on without it
      return false;
    }
    if (n < 0) return false;
    for (ssize_t i = 0; i < n; i++)
      if (buf[i] == 0x03) return true;
    m_pending.append(buf, static_cast<size_t>(n));
    if (m_pending.size() > 2 * kMaxPacket) m_pending.clear();   // a flood while running: bounded
  }
}

u64 GdbStub::pc_linear(const Cpu& cpu) {
  const CpuState& s = cpu.state();
  return cpu.long64() ? s.rip : (s.seg[CS].base + s.rip) & 0xFFFFFFFF;
}

std::string GdbStub::read_registers() {
  m_pc.sync_cpu_state();
  const Cpu& cpu = m_pc.cpu();
  const CpuState& s = cpu.state();
  std::string out;
  for (u8 r : kGdbGpr) hex_bytes(out, &s.gpr[r], 8);
  // $pc is the linear address in every mode (CS base + IP in real mode, as breakpoints and
  // memory are linear); $cs shows the selector.
  const u64 pc = pc_linear(cpu);
  hex_bytes(out, &pc, 8);
  const u32 fl = static_cast<u32>(cpu.rflags());
  hex_bytes(out, &fl, 4);
  for (u8 r : kGdbSeg) {
    const u32 sel = s.seg[r].sel;
    hex_bytes(out, &sel, 4);
  }
  const u8* fx = s.fpu.fxsave;
  for (int i = 0; i < 8; i++) hex_bytes(out, fx + 32 + 16 * i, 10);
  auto u16_at = [&](int off) { return static_cast<u32>(fx[off] | fx[off + 1] << 8); };
  auto u32_at = [&](int off) { u32 v; std::memcpy(&v, fx + off, 4); return v; };
  const u32 ctrl[8] = {u16_at(0), u16_at(2), full_tag_word(fx), u16_at(12), u32_at(8), u16_at(20), u32_at(16),
                       u16_at(6) & 0x7FF};   // fctrl fstat ftag fiseg fioff foseg fooff fop
  for (u32 v : ctrl) hex_bytes(out, &v, 4);
  for (int i = 0; i < 16; i++) hex_bytes(out, fx + 160 + 16 * i, 16);
  hex_bytes(out, fx + 24, 4);   // MXCSR
  return out;
}

bool GdbStub::write_register(unsigned n, const std::string& hex) {
  std::vector<u8> b;
  if (!unhex(hex, b) || n >= kRegCount || b.size() != kRegSize[n]) return false;
  m_pc.sync_cpu_state();
  Cpu& cpu = m_pc.cpu();
  CpuState& s = cpu.state();
  u8* fx = s.fpu.fxsave;
  u64 v = 0;
  std::memcpy(&v, b.data(), std::min<size_t>(b.size(), 8));
  if (n < 16) {
    s.gpr[kGdbGpr[n]] = v;
  } else if (n == 16) {
    s.rip = cpu.long64() ? v : (v - s.seg[CS].base) & 0xFFFFFFFF;   // $pc is linear
  } else if (n == 17) {
    cpu.set_rflags((v & 0x3F7FD7) | kFixed1);
  } else if (n < 24) {
    return false;   // segment selectors: a load needs descriptor checks; not from gdb
  } else if (n < 32) {
    std::memcpy(fx + 32 + 16 * (n - 24), b.data(), 10);
  } else if (n < 40) {
    switch (n) {
      case 32: std::memcpy(fx + 0, b.data(), 2); break;    // fctrl
      case 33: std::memcpy(fx + 2, b.data(), 2); break;    // fstat
      case 34: {                                            // ftag: FXSAVE keeps 1 bit per register
        u8 abridged = 0;
        for (unsigned i = 0; i < 8; i++)
          if (((v >> (2 * i)) & 3) != 3) abridged |= static_cast<u8>(1u << i);
        fx[4] = abridged;
        break;
      }
      case 35: std::memcpy(fx + 12, b.data(), 2); break;   // fiseg
      case 36: std::memcpy(fx + 8, b.data(), 4); break;    // fioff
      case 37: std::memcpy(fx + 20, b.data(), 2); break;   // foseg
      case 38: std::memcpy(fx + 16, b.data(), 4); break;   // fooff
      default: {                                            // fop: 11 bits
        const u16 fop = static_cast<u16>(v & 0x7FF);
        std::memcpy(fx + 6, &fop, 2);
      }
    }
  } else if (n < 56) {
    std::memcpy(fx + 160 + 16 * (n - 40), b.data(), 16);
  } else {
    u32 mask;
    std::memcpy(&mask, fx + 28, 4);
    if (v & ~static_cast<u64>(mask)) return false;   // reserved MXCSR bits would #GP
    std::memcpy(fx + 24, b.data(), 4);
  }
  cpu.state_changed();
  return true;
}

std::string GdbStub::read_memory(u64 addr, u64 len) {
  std::string out;
  for (u64 i = 0; i < len; i++) {
    u64 pa;
    u8 b;
    if (!m_pc.cpu().debug_translate(addr + i, pa) || !m_pc.memory().read_bytes(pa, &b, 1)) {
      if (i == 0) return "E14";   // EFAULT
      break;
    }
    hex_bytes(out, &b, 1);
  }
  return out;
}

bool GdbStub::write_memory(u64 addr, const std::string& hex) {
  std::vector<u8> b;
  if (!unhex(hex, b)) return false;
  for (size_t i = 0; i < b.size(); i++) {
    u64 pa;
    if (!m_pc.cpu().debug_translate(addr + i, pa)) return false;
    const Region* r = m_pc.memory().find(pa);
    if (!r || r->kind != RegionKind::Ram) return false;   // ROM and devices: not through gdb
    m_pc.memory().write(pa, b[i], 1);                     // drops decoded code on the page
  }
  return true;
}

std::string GdbStub::watch_reply(const Cpu::DebugWatch& w) {
  // T05 with the watchpoint's kind as gdb set it and its address.
  const char* kind = w.read && w.write ? "awatch" : w.write ? "watch" : "rwatch";
  char buf[64];
  std::snprintf(buf, sizeof buf, "T05%s:%llx;", kind, static_cast<unsigned long long>(w.addr));
  return buf;
}

std::string GdbStub::reverse_step() {
  // The previous instruction count; one that a single step passes over (it counts twice) is
  // skipped, so that the machine always moves back.
  const u64 ic = m_pc.cpu().state().icount;
  if (ic <= m_timeline->start()) return "T05replaylog:begin;";
  for (u64 t = ic - 1;; t--) {
    if (m_timeline->seek(t) < ic || t <= m_timeline->start()) break;
  }
  return "S05";
}

std::string GdbStub::reverse_continue() {
  const u64 ic = m_pc.cpu().state().icount;
  bool interrupted = false;
  const std::optional<Timeline::Hit> hit = m_timeline->last_hit_before(ic, &interrupted);
  if (interrupted) return "S02";   // Ctrl-C: where the search had got to
  if (!hit) {
    m_timeline->seek(m_timeline->start());
    return "T05replaylog:begin;";
  }
  m_timeline->seek(hit->icount);
  if (hit->watch) return watch_reply(*hit->watch);
  m_pc.cpu().reset_debugger_stop(true);   // going forward from here passes this breakpoint, as after a stop
  return "S05";
}

void GdbStub::update_breakpoints() { m_pc.cpu().set_debugger_breakpoints({m_breaks.begin(), m_breaks.end()}); }

std::string GdbStub::handle(const std::string& p, bool& resume, bool& step, bool& quit, bool& detach) {
  if (p.empty()) return "";
  const char c = p[0];
  const std::string a = p.substr(1);
  switch (c) {
    case '?': return "S05";
    case 'g': return read_registers();
    case 'p': {
      u64 n;
      if (!parse_hex(a, n) || n >= kRegCount) return "E01";
      return read_registers().substr(2 * reg_offset(static_cast<unsigned>(n)), 2 * kRegSize[n]);
    }
    case 'b':
      if (!m_timeline) return "";
      if (a == "s") return reverse_step();
      if (a == "c") return reverse_continue();
      return "";
    case 'G': {
      if (m_pc.recording_or_replaying()) return "E01";   // the replayed machine is the log's (see gdb_stub.h)
      // All registers; the segment selectors must be unchanged (they cannot be loaded here).
      const std::string cur = read_registers();
      if (a.size() != cur.size()) return "E01";
      for (unsigned n = 0; n < kRegCount; n++) {
        const std::string part = a.substr(2 * reg_offset(n), 2 * kRegSize[n]);
        if (part == cur.substr(2 * reg_offset(n), 2 * kRegSize[n])) continue;
        if (!write_register(n, part)) return "E01";
      }
      return "OK";
    }
    case 'P': {
      if (m_pc.recording_or_replaying()) return "E01";
      const size_t eq = a.find('=');
      u64 n;
      if (eq == std::string::npos || !parse_hex(a.substr(0, eq), n)) return "E01";
      return write_register(static_cast<unsigned>(n), a.substr(eq + 1)) ? "OK" : "E01";
    }
    case 'm': {
      const size_t comma = a.find(',');
      u64 addr, len;
      if (comma == std::string::npos || !parse_hex(a.substr(0, comma), addr) || !parse_hex(a.substr(comma + 1), len))
        return "E01";
      return read_memory(addr, std::min<u64>(len, 0x800));
    }
    case 'M': {
      if (m_pc.recording_or_replaying()) return "E01";
      const size_t comma = a.find(','), colon = a.find(':');
      u64 addr, len;
      if (comma == std::string::npos || colon == std::string::npos || !parse_hex(a.substr(0, comma), addr) ||
          !parse_hex(a.substr(comma + 1, colon - comma - 1), len) || (a.size() - colon - 1) != 2 * len)
        return "E01";
      return write_memory(addr, a.substr(colon + 1)) ? "OK" : "E14";
    }
    case 'c':
    case 's': {
      u64 addr;
      if (!a.empty()) {
        if (!parse_hex(a, addr) || m_pc.recording_or_replaying()) return "E01";
        Cpu& cpu = m_pc.cpu();
        cpu.state().rip = cpu.long64() ? addr : (addr - cpu.state().seg[CS].base) & 0xFFFFFFFF;   // linear
        m_pc.cpu().state_changed();
      }
      resume = true;
      step = c == 's';
      return "";
    }
    case 'Z':
    case 'z': {
      // Z0 (software) and Z1 (hardware) breakpoints: both stop before the instruction.
      // Z2/Z3/Z4 write/read/access watchpoints: after the instruction that accessed.
      if (p.size() < 3 || p[1] < '0' || p[1] > '4' || p[2] != ',') return "";
      const std::string rest = p.substr(3);
      const size_t comma = rest.find(',');
      u64 addr, kind = 1;
      if (comma == std::string::npos || !parse_hex(rest.substr(0, comma), addr) ||
          !parse_hex(rest.substr(comma + 1, rest.find(';', comma) - comma - 1), kind))
        return "E01";
      if (p[1] <= '1') {
        if (c == 'Z') m_breaks.insert(addr);
        else m_breaks.erase(addr);
        update_breakpoints();
        return "OK";
      }
      Cpu::DebugWatch w;
      w.addr = addr;
      w.len = kind;
      w.write = p[1] != '3';
      w.read = p[1] != '2';
      auto same = [&](const Cpu::DebugWatch& x) { return x.addr == w.addr && x.len == w.len && x.read == w.read && x.write == w.write; };
      if (c == 'Z') {
        if (kind < 1 || kind > 8 || m_watches.size() >= Cpu::kMaxDebugWatches) return "E01";
        m_watches.push_back(w);
      } else {
        std::erase_if(m_watches, same);
      }
      m_pc.cpu().set_debugger_watchpoints(m_watches);
      return "OK";
    }
    case 'k':
      quit = true;
      return "";
    case 'D':
      detach = true;
      return "OK";
    case 'H':
    case 'T':
      return "OK";
    case 'q':
      if (p.rfind("qSupported", 0) == 0)
        return m_timeline ? "PacketSize=1000;qXfer:features:read+;ReverseStep+;ReverseContinue+" : "PacketSize=1000;qXfer:features:read+";
      if (p == "qAttached") return "1";
      if (p.rfind("qRcmd,", 0) == 0) return monitor_command(p.substr(6));
      if (p == "qC") return "QC1";
      if (p == "qfThreadInfo") return "m1";
      if (p == "qsThreadInfo") return "l";
      if (p.rfind("qXfer:features:read:target.xml:", 0) == 0) {
        const std::string range = p.substr(std::strlen("qXfer:features:read:target.xml:"));
        const size_t comma = range.find(',');
        u64 off, len;
        if (comma == std::string::npos || !parse_hex(range.substr(0, comma), off) ||
            !parse_hex(range.substr(comma + 1), len))
          return "E01";
        const std::string xml = kTargetXml;
        if (off >= xml.size()) return "l";
        const std::string part = xml.substr(off, len);
        return (off + part.size() >= xml.size() ? "l" : "m") + part;
      }
      return "";
    default:
      return "";   // not supported: gdb falls back or says so
  }
}

// gdb's `monitor CMD`: the monitor's commands that look at the machine (frontends/monitor.h).
// Those that would change the run under gdb's feet (an engine switch, loadvm, quit) are
// refused: gdb has its own (kill, detach), and the debugger needs the interpreter.
std::string GdbStub::monitor_command(const std::string& hex) {
  std::vector<u8> bytes;
  if (!unhex(hex, bytes)) return "E01";
  const std::string line(bytes.begin(), bytes.end());
  size_t first = line.find_first_not_of(" \t");
  const std::string word = first == std::string::npos ? "" : line.substr(first, line.find_first_of(" \t", first) - first);
  std::string text;
  if (word == "engine" || word == "loadvm" || word == "quit" || word == "q") {
    text = "error: monitor " + word + ": not from gdb (gdb: kill, detach; the debugger runs the interpreter)\n";
  } else {
    Monitor m(m_pc);
    text = m.execute(line).text;
    if (m_timeline && word == "info" && line.find("replay") != std::string::npos && text.rfind("replaying", 0) == 0)
      text += m_timeline->describe();
  }
  if (text.empty()) return "OK";
  std::string out;
  hex_bytes(out, text.data(), text.size());
  return out;
}

RunResult GdbStub::serve() {
  std::fprintf(stderr, "retrovisor: waiting for gdb on localhost:%d (gdb: target remote :%d)\n", m_port, m_port);
  m_conn = accept4(m_listen, nullptr, nullptr, SOCK_CLOEXEC);
  if (m_conn < 0) throw ConfigError(std::string("--gdb: accept: ") + std::strerror(errno));
  for (;;) {
    if (std::optional<RunResult> r = serve_connection()) return *r;
    // Detached or disconnected: the machine runs on without stops for gdb, and a gdb that
    // connects again (target remote :PORT) stops it where it is. A replay already at the
    // recording's end has ended.
    if (m_timeline && m_timeline->at_end()) return *m_timeline->end_result();
    close(m_conn);
    m_conn = -1;
    m_closed = false;
    m_pending.clear();
    m_breaks.clear();
    update_breakpoints();
    m_watches.clear();
    m_pc.cpu().set_debugger_watchpoints({});
    m_pc.set_debugger_poll([this] {
      pollfd p{m_listen, POLLIN, 0};
      if (::poll(&p, 1, 0) <= 0) return false;
      m_conn = accept4(m_listen, nullptr, nullptr, SOCK_CLOEXEC);
      return m_conn >= 0;
    });
    for (;;) {
      RunResult r = m_pc.run();
      if (r.kind == StopKind::DebuggerInterrupt && m_conn >= 0) break;   // a new gdb: serve it
      if (r.kind != StopKind::Breakpoint && r.kind != StopKind::Stepped && r.kind != StopKind::DebuggerInterrupt)
        return r;
    }
    std::fprintf(stderr, "retrovisor: gdb attached again\n");
  }
}

std::optional<RunResult> GdbStub::serve_connection() {
  const int one = 1;
  setsockopt(m_conn, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  m_pc.set_debugger_poll([this] { return poll_interrupt(); });
  std::string pkt;
  for (;;) {
    if (m_closed || !read_packet(pkt)) return std::nullopt;   // gdb went away: run on without it
    bool resume = false, step = false, quit = false, detach = false;
    const std::string reply = handle(pkt, resume, step, quit, detach);
    if (quit) {
      RunResult r;
      r.kind = StopKind::Quit;
      r.message = "killed by the debugger";
      return r;
    }
    if (!resume) {
      send_packet(reply);
      if (detach) return std::nullopt;
      continue;
    }
    // A replay under gdb stops at the recording's end instead of ending (gdb can go back).
    if (m_timeline && m_timeline->at_end()) {
      send_packet("T05replaylog:end;");
      continue;
    }
    if (step) m_pc.request_single_step();
    RunResult r = m_pc.run();
    switch (r.kind) {
      case StopKind::Breakpoint: {
        std::string stop = "S05";
        if (const Cpu::DebugWatch* w = m_pc.cpu().debugger_watch_hit()) stop = watch_reply(*w);
        m_pc.cpu().clear_debugger_hit();
        if (m_timeline) m_timeline->prepare_back();
        send_packet(stop);
        break;
      }
      case StopKind::Stepped:
        send_packet("S05");
        break;
      case StopKind::DebuggerInterrupt:
        if (m_timeline) m_timeline->prepare_back();
        send_packet("S02");
        break;
      default: {   // the guest's run ended
        if (m_timeline) {
          m_timeline->set_end(m_pc.cpu().state().icount, r);
          if (!r.message.empty()) std::fprintf(stderr, "retrovisor: the recording ends here: %s\n", r.message.c_str());
          m_timeline->prepare_back();
          send_packet("T05replaylog:end;");
          break;
        }
        char w[8];
        std::snprintf(w, sizeof w, "W%02x", r.exit_status & 0xFF);
        send_packet(w);
        return r;
      }
    }
  }
}

}  // namespace rv
