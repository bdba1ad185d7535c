// Real-hardware conformance: runs the SingleStepTests 80286 vectors (shared/conformance/80286,
// described in its README.md) on the interpreter and compares registers, flags and RAM.
//
//   rv_conformance_286 --data DIR [--verbose] [PREFIX...]
//
// Runs every XX[.N].json.gz in DIR whose name starts with one of the PREFIXes (all when none
// are given), prints per-opcode-form pass/fail counts and a closing "N passed, N failed"
// line, and exits non-zero if any vector failed or the data is missing.
//
// For each vector: real mode, segment bases = selector << 4 with 64 KiB limits, FLAGS bits
// 12-15 clear (a 286 in real mode cannot set them), the listed RAM bytes at their 24-bit
// physical addresses (no A20 wrap), execution until the CPU halts on the HLT placed after the
// instruction (or in the exception handler). Compared: the general registers, segment
// selectors and IP; FLAGS masked with metadata.json's undefined-flag mask for the form and
// without bits 12-15; every listed final RAM byte (the FLAGS image an exception pushed, at
// SS:SP+4 in the handler, masked the same way); every initial RAM byte that the vector says
// did not change; and, per file, that nothing else in RAM was written. Vectors listed in
// revocation_list-80286.txt are skipped.
//
// The 286 differs from a current x86 CPU in a few places: known_differences.cpp has the
// rules and the per-form table, each with the reason and the manual reference; those vectors
// are checked against the modern behaviour instead (for example: #UD is raised). Emulator
// gaps with an owner are listed there as Pending: their mismatches count as skipped, and the
// runner says when such an entry has become unnecessary.
#include <zlib.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "cpu/cpu.h"
#include "memory/log.h"
#include "tests/conformance/json_lite.h"
#include "tests/conformance/known_differences.h"

namespace rv::conformance {
namespace {

namespace fs = std::filesystem;
constexpr u64 kRamSize = 2 << 20;   // 286 real mode reaches at most FFFF0 + FFFF = 10FFEF

bool read_gz(const fs::path& p, std::string& out) {
  gzFile f = gzopen(p.c_str(), "rb");
  if (!f) return false;
  char buf[1 << 16];
  int n;
  while ((n = gzread(f, buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
  bool ok = n == 0;
  gzclose(f);
  return ok;
}

// Records the first exception the CPU delivers and stops the run there (used where the
// vector's expected modern behaviour is an exception or its absence: the 286's handler
// address is not set up for a different vector, so running on would execute whatever is at
// 0000:0000).
class FirstException final : public TraceHook {
 public:
  explicit FirstException(Cpu& cpu) : m_cpu(cpu) {}
  void before(const Cpu&, u64, const u8*, unsigned) override {}
  void after(const Cpu&) override {}
  void exception(const Cpu&, u8 vector, bool, u32) override {
    if (m_vector < 0) m_vector = vector;
    m_cpu.request_stop();
  }
  int vector() const { return m_vector; }
  void clear() { m_vector = -1; }

 private:
  Cpu& m_cpu;
  int m_vector = -1;
};

struct RegName { const char* name; int gpr; int seg; };
constexpr RegName kRegs[] = {
    {"ax", RAX, -1}, {"bx", RBX, -1}, {"cx", RCX, -1}, {"dx", RDX, -1}, {"sp", RSP, -1}, {"bp", RBP, -1},
    {"si", RSI, -1}, {"di", RDI, -1}, {"cs", -1, CS},  {"ss", -1, SS},  {"ds", -1, DS},  {"es", -1, ES},
};

// One vector, decoded from JSON.
struct Vector {
  const json::Value* v = nullptr;
  const json::Value* iregs = nullptr;
  const json::Value* fregs = nullptr;
  const json::Value* iram = nullptr;
  const json::Value* fram = nullptr;
  std::vector<u8> bytes;   // the instruction with its prefixes (the trailing HLT removed)
  std::vector<u8> insn;    // after the prefixes
  bool lock = false, rep = false;
  int exception = -1;

  bool load(const json::Value& j) {
    v = &j;
    const json::Value* init = j.find("initial");
    const json::Value* fin = j.find("final");
    if (!init || !fin) return false;
    iregs = init->find("regs");
    fregs = fin->find("regs");
    iram = init->find("ram");
    fram = fin->find("ram");
    const json::Value* b = j.find("bytes");
    if (!iregs || !fregs || !iram || !fram || !b) return false;
    for (const json::Value& x : b->arr) bytes.push_back(static_cast<u8>(x.num));
    if (!bytes.empty() && bytes.back() == 0xF4) bytes.pop_back();
    size_t i = 0;
    for (; i < bytes.size(); i++) {
      u8 c = bytes[i];
      if (c == 0xF0) lock = true;
      else if (c == 0xF2 || c == 0xF3) rep = true;
      else if (c != 0x26 && c != 0x2E && c != 0x36 && c != 0x3E) break;
    }
    insn.assign(bytes.begin() + static_cast<long>(i), bytes.end());
    if (const json::Value* ex = j.find("exception")) exception = static_cast<int>(ex->int_or("number", -1));
    return true;
  }
  u64 initial(const char* reg) const { return static_cast<u64>(iregs->int_or(reg, 0)) & 0xFFFF; }
  u64 expected(const char* reg) const { return static_cast<u64>(fregs->int_or(reg, iregs->int_or(reg, 0))) & 0xFFFF; }
};

// The opcode form of a vector: the file stem ("80.3", "A4").
struct Form {
  std::string name;
  u16 flags_mask = 0xFFFF;   // metadata.json "flags-mask": 0 bits are undefined flags
};

class Bench {
 public:
  Bench() : m_mem(kRamSize), m_cpu(m_mem, m_io), m_hook(m_cpu) { m_mem.map_ram(0, kRamSize, 0); }

  // Loads the vector's initial state and RAM.
  bool setup(const Vector& t) {
    u8* ram = m_mem.ram();
    for (const json::Value& e : t.iram->arr) {
      u64 a = static_cast<u64>(e.arr.at(0).num);
      if (a >= kRamSize) return false;
      ram[a] = static_cast<u8>(e.arr.at(1).num);
      m_touched.push_back(static_cast<u32>(a));
    }
    m_cpu.reset();
    CpuState& s = m_cpu.state();
    for (const RegName& r : kRegs) {
      u64 v = t.initial(r.name);
      if (r.gpr >= 0) s.gpr[r.gpr] = v;
      else s.seg[r.seg] = Segment{static_cast<u16>(v), static_cast<u16>(r.seg == CS ? 0x9B : 0x93), 0xFFFF, v << 4};
    }
    s.rip = t.initial("ip");
    // A 286 in real mode keeps FLAGS bits 12-15 clear (it pushes them as 0): start so.
    s.rflags = (t.initial("flags") & 0x0FFF) | kFixed1;
    s.lazy.op = LazyOp::None;
    m_cpu.state_changed();
    return true;
  }

  // Runs the loaded vector; returns the first exception delivered when `observe` (the run
  // stops there), else -1.
  int execute(const Vector& t, bool observe, StopReason& why, u64 budget = 0) {
    if (!budget) budget = t.rep ? 70000 : 64;
    if (!observe) {
      why = m_cpu.run(budget);
      return -1;
    }
    m_hook.clear();
    m_cpu.set_trace(&m_hook);
    why = m_cpu.run(budget);
    m_cpu.set_trace(nullptr);
    return m_hook.vector();
  }

  // Compares with the vector's final state; returns "" or the differences.
  std::string compare(const Vector& t, const Form& form, StopReason why) {
    const CpuState& s = m_cpu.state();
    const u8* ram = m_mem.ram();
    std::ostringstream diff;
    diff << std::hex;
    if (why != StopReason::Halted && why != StopReason::HaltIdle)
      diff << " did-not-halt(reason " << static_cast<int>(why) << ", ip " << s.rip << ")";
    for (const RegName& r : kRegs) {
      u64 want = t.expected(r.name);
      u64 got = r.gpr >= 0 ? s.gpr[r.gpr] : s.seg[r.seg].sel;
      if (got != want) diff << " " << r.name << "=" << got << " want " << want;
    }
    if (s.rip != t.expected("ip")) diff << " ip=" << s.rip << " want " << t.expected("ip");
    const u64 fmask = form.flags_mask & 0x0FFF;
    u64 got_flags = m_cpu.rflags() & fmask, want_flags = t.expected("flags") & fmask;
    if (got_flags != want_flags) diff << " flags=" << got_flags << " want " << want_flags << " (mask " << fmask << ")";

    // The FLAGS image an exception pushed: at SS:SP+4 once the handler runs (the vectors'
    // flag_address is not reliable for odd SP). Masked like FLAGS.
    u64 flag_lo = ~0ull, flag_hi = ~0ull;
    if (t.exception >= 0) {
      u64 base = t.expected("ss") << 4, sp = t.expected("sp");
      flag_lo = base + ((sp + 4) & 0xFFFF);
      flag_hi = base + ((sp + 5) & 0xFFFF);
    }
    std::set<u64> changed;
    for (const json::Value& e : t.fram->arr) {
      u64 a = static_cast<u64>(e.arr.at(0).num);
      u8 want = static_cast<u8>(e.arr.at(1).num);
      changed.insert(a);
      m_touched.push_back(static_cast<u32>(a));
      if (a >= kRamSize) { diff << " ram[" << a << "] outside RAM"; continue; }
      u8 m = a == flag_lo ? static_cast<u8>(fmask) : a == flag_hi ? static_cast<u8>(fmask >> 8) : 0xFF;
      if ((ram[a] & m) != (want & m)) diff << " ram[" << a << "]=" << unsigned(ram[a]) << " want " << unsigned(want);
    }
    for (const json::Value& e : t.iram->arr) {
      u64 a = static_cast<u64>(e.arr.at(0).num);
      u8 v = static_cast<u8>(e.arr.at(1).num);
      if (!changed.count(a) && ram[a] != v) diff << " ram[" << a << "]=" << unsigned(ram[a]) << " changed, want " << unsigned(v);
    }
    return diff.str();
  }

  // Checks a vector against its plan; returns "" on success.
  std::string check(const Vector& t, const Form& form, const KnownDifference* kd) {
    StopReason why;
    if (!setup(t)) return "address outside RAM";
    if (!kd || kd->expect == Expectation::Pending) {
      execute(t, false, why);
      return compare(t, form, why);
    }
    int first = execute(t, true, why);
    m_dirty = true;   // exceptions the 286 did not take pushed onto the stack: wipe RAM after
    auto got = [&] { return first < 0 ? std::string("no exception") : "vector " + std::to_string(first); };
    switch (kd->expect) {
      case Expectation::UD:
        return first == kUD ? "" : "expected #UD, got " + got();
      case Expectation::Executes: {
        // Only the instruction itself (the 286 took an exception, so nothing after it is set
        // up): it must retire without an exception and continue where it says.
        wipe();
        setup(t);
        first = execute(t, true, why, 1);
        if (first >= 0) return "expected to execute, got " + got();
        u64 want_ip = (t.initial("ip") + t.bytes.size()) & 0xFFFF, want_cs = t.initial("cs");
        if (t.insn.size() == 5 && t.insn[0] == 0xEA) {   // JMP ptr16:16
          want_ip = t.insn[1] | (t.insn[2] << 8);
          want_cs = t.insn[3] | (t.insn[4] << 8);
        }
        if (m_cpu.state().rip != want_ip || m_cpu.state().seg[CS].sel != want_cs)
          return "expected to execute and continue at the next instruction";
        return "";
      }
      case Expectation::Overrun:
        if (first == kSS && ss_relative(t.bytes)) return "";
        if (first != kGP) return "expected #GP" + std::string(ss_relative(t.bytes) ? " or #SS" : "") + ", got " + got();
        if (is_string_insn(t.insn)) return "";
        // Same vector as the 286: its results must match; run again without stopping.
        wipe();
        setup(t);
        execute(t, false, why);
        return compare(t, form, why);
      default:
        return "";
    }
  }

  // Zeroes what the last vector wrote (everything, after a run that took a different path).
  void clean() {
    if (m_dirty) {
      wipe();
      m_dirty = false;
    }
    for (u32 a : m_touched) m_mem.ram()[a] = 0;
    m_touched.clear();
  }
  bool ram_is_zero() {
    static const u8 zero[4096] = {};
    for (u64 off = 0; off < kRamSize; off += sizeof zero)
      if (std::memcmp(m_mem.ram() + off, zero, sizeof zero) != 0) return false;
    return true;
  }
  void wipe() { std::memset(m_mem.ram(), 0, kRamSize); }

 private:
  PhysMemory m_mem;
  IoBus m_io;
  Cpu m_cpu;
  FirstException m_hook;
  std::vector<u32> m_touched;
  bool m_dirty = false;
};

std::string hex_bytes(const std::vector<u8>& b) {
  std::string s;
  char buf[4];
  for (u8 x : b) {
    std::snprintf(buf, sizeof buf, "%02X ", x);
    s += buf;
  }
  return s;
}

struct Totals { unsigned pass = 0, fail = 0, known = 0, skipped = 0; };

int run_main(int argc, char** argv) {
  std::string data;
  bool verbose = false;
  std::vector<std::string> prefixes;
  for (int i = 1; i < argc; i++) {
    std::string a = argv[i];
    if (a == "--data" && i + 1 < argc) data = argv[++i];
    else if (a == "--verbose") verbose = true;
    else prefixes.push_back(a);
  }
  if (data.empty() || !fs::is_directory(data) || !fs::exists(fs::path(data) / "metadata.json")) {
    std::fprintf(stderr,
                 "rv_conformance_286: conformance data not found at '%s'.\n"
                 "The 80286 vectors live in shared/conformance/80286 beside the repository "
                 "(CI clones it there); without them this test cannot pass.\n",
                 data.c_str());
    std::printf("0 passed, 1 failed\n");
    return 1;
  }
  set_log_quiet(true);

  // metadata.json: undefined-flag masks per form.
  std::ifstream mf(fs::path(data) / "metadata.json");
  std::stringstream mss;
  mss << mf.rdbuf();
  json::Value meta = json::parse(mss.str());
  const json::Value* opcodes = meta.find("opcodes");
  auto flags_mask_for = [&](const std::string& stem) -> u16 {
    std::string op = stem.substr(0, stem.find('.'));
    const json::Value* o = opcodes ? opcodes->find(op) : nullptr;
    if (!o) return 0xFFFF;
    if (stem.find('.') != std::string::npos) {
      const json::Value* reg = o->find("reg");
      const json::Value* r = reg ? reg->find(stem.substr(stem.find('.') + 1)) : nullptr;
      if (r) o = r;
    }
    return static_cast<u16>(o->int_or("flags-mask", 0xFFFF));
  };

  std::set<std::string> revoked;
  {
    std::ifstream rf(fs::path(data) / "revocation_list-80286.txt");
    std::string line;
    while (std::getline(rf, line))
      if (!line.empty() && line[0] != '#') revoked.insert(line.substr(0, line.find_first_of(" \r\t")));
  }

  std::vector<std::string> stems;
  for (const auto& e : fs::directory_iterator(data)) {
    std::string n = e.path().filename().string();
    if (n.size() < 9 || n.substr(n.size() - 8) != ".json.gz") continue;
    std::string stem = n.substr(0, n.size() - 8);
    bool want = prefixes.empty();
    for (const std::string& p : prefixes) want |= stem.rfind(p, 0) == 0;
    if (want) stems.push_back(stem);
  }
  std::sort(stems.begin(), stems.end());
  if (stems.empty()) {
    std::fprintf(stderr, "rv_conformance_286: no vector files match in %s\n", data.c_str());
    std::printf("0 passed, 1 failed\n");
    return 1;
  }

  Bench bench;
  Totals all;
  for (const std::string& stem : stems) {
    std::string text;
    if (!read_gz(fs::path(data) / (stem + ".json.gz"), text)) {
      std::printf("%-6s cannot read\n", stem.c_str());
      all.fail++;
      continue;
    }
    json::Value file = json::parse(text);
    Form form{stem, flags_mask_for(stem)};
    enum Status { kPass, kKnown, kSkip, kPending, kFail };
    std::vector<Status> status(file.arr.size(), kPass);
    unsigned reported = 0;
    const KnownDifference* pending = pending_entry(stem);
    bool pending_passed = false;
    auto report = [&](const json::Value& j, const Vector& t, const std::string& what, const KnownDifference* kd) {
      if (!verbose && reported++ >= 3) return;
      const json::Value* name = j.find("name");
      std::printf("  FAIL %s #%lld %s [%s]%s%s%s\n", stem.c_str(), static_cast<long long>(j.int_or("idx", -1)),
                  name ? name->str.c_str() : "", hex_bytes(t.bytes).c_str(), what.c_str(), kd ? " -- rule: " : "",
                  kd ? kd->reason : "");
    };
    auto run_vector = [&](size_t i) -> Status {
      const json::Value& j = file.arr[i];
      Vector t;
      if (!t.load(j)) { report(j, t, " malformed vector", nullptr); return kFail; }
      if (const json::Value* h = j.find("hash"); h && revoked.count(h->str)) return kSkip;
      const KnownDifference* kd =
          find_known_difference(stem, t.insn, static_cast<unsigned>(t.bytes.size()), t.lock, t.exception);
      if (kd && kd->expect == Expectation::Skip) return kSkip;
      std::string diff = bench.check(t, form, kd);
      bench.clean();
      if (pending) {
        if (diff.empty()) pending_passed = true;
        else return kPending;
      }
      if (!diff.empty()) { report(j, t, diff, kd); return kFail; }
      return kd ? kKnown : kPass;
    };
    for (size_t i = 0; i < file.arr.size(); i++) status[i] = run_vector(i);
    if (!bench.ram_is_zero()) {
      // Something wrote outside the bytes the vectors list: find which vectors did.
      bench.wipe();
      for (size_t i = 0; i < file.arr.size(); i++) {
        run_vector(i);
        if (!bench.ram_is_zero()) {
          if (status[i] == kPending) { bench.wipe(); continue; }
          status[i] = kFail;
          Vector t;
          t.load(file.arr[i]);
          report(file.arr[i], t, " wrote RAM outside the listed bytes", nullptr);
          bench.wipe();
        }
      }
    }
    Totals t;
    unsigned n_pending = 0;
    for (Status st : status) {
      if (st == kPass) t.pass++;
      else if (st == kKnown) t.known++;
      else if (st == kSkip) t.skipped++;
      else if (st == kPending) n_pending++;
      else t.fail++;
    }
    t.skipped += n_pending;
    std::printf("%-6s %4u passed, %3u failed, %3u passed as known differences, %3u skipped\n", stem.c_str(),
                t.pass, t.fail, t.known, t.skipped);
    if (pending && n_pending)
      std::printf("       PENDING %u vectors (counted as skipped): %s\n", n_pending, pending->reason);
    else if (pending && pending_passed)
      std::printf("       NOTE: every vector of %s passes: remove its Pending entry in known_differences.cpp\n",
                  stem.c_str());
    all.pass += t.pass + t.known;
    all.fail += t.fail;
    all.known += t.known;
    all.skipped += t.skipped;
  }
  std::printf("(%u of the passes are known 286 differences checked against the modern behaviour; see "
              "known_differences.cpp)\n",
              all.known);
  std::printf("%u passed, %u failed, %u skipped\n", all.pass, all.fail, all.skipped);
  return all.fail ? 1 : 0;
}

}  // namespace
}  // namespace rv::conformance

int main(int argc, char** argv) { return rv::conformance::run_main(argc, argv); }
