// Real-hardware conformance: runs the SingleStepTests 80286 vectors (shared/conformance/80286,
// described in its README.md) on the interpreter and compares registers, flags and RAM.
//
//   rv_conformance_286 --data DIR [--verbose] [PREFIX...]
//
// Runs every XX[.N].json.gz in DIR whose name starts with one of the PREFIXes (all when none
// are given), prints per-opcode-form pass/fail counts and a closing "N passed, N failed"
// line, and exits non-zero if any vector failed or the data is missing.
//
// For each vector: real mode, segment bases = selector << 4 with 64 KiB limits, the listed
// RAM bytes at their 24-bit physical addresses (no A20 wrap), execution until the CPU halts
// on the HLT placed after the instruction (or in the exception handler). Compared: the
// general registers, segment selectors and IP; FLAGS masked with metadata.json's
// undefined-flag mask for the form and without bits 12-15; every listed final RAM byte (the
// FLAGS image an exception pushed, at exception.flag_address, masked the same way); every
// initial RAM byte that the vector says did not change; and, per file, that nothing else in
// RAM was written.
//
// The 286 differs from a current x86 CPU in a few places: those vectors are listed in
// kKnownDifferences (known_differences.cpp) with the reason and the SDM reference, and are
// checked against the modern behaviour where one is defined (for example #UD), else skipped.
#include <zlib.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
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

// Records the first exception the CPU delivers and stops the run there (used for vectors
// whose expected modern behaviour is an exception: the 286's handler address is not set up
// for it, so running on would execute whatever is at 0000:0000).
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

// The opcode form of a vector: the file stem ("80.3", "A4").
struct Form {
  std::string name;
  u16 flags_mask = 0xFFFF;   // metadata.json "flags-mask": 0 bits are undefined flags
};

class Bench {
 public:
  Bench() : m_mem(kRamSize), m_cpu(m_mem, m_io), m_hook(m_cpu) { m_mem.map_ram(0, kRamSize, 0); }

  // Runs one vector; returns "" on success, else a description of the differences.
  std::string run(const json::Value& t, const Form& form, Expectation expect) {
    const json::Value* init = t.find("initial");
    const json::Value* fin = t.find("final");
    if (!init || !fin || !init->find("regs") || !fin->find("regs")) return "malformed vector";
    const json::Value& iregs = *init->find("regs");
    u8* ram = m_mem.ram();
    std::map<u32, u8> initial_ram;
    for (const json::Value& e : init->find("ram")->arr) {
      u32 a = static_cast<u32>(e.arr.at(0).num);
      if (a >= kRamSize) return "address outside RAM";
      ram[a] = static_cast<u8>(e.arr.at(1).num);
      initial_ram[a] = ram[a];
      m_touched.push_back(a);
    }

    m_cpu.reset();
    CpuState& s = m_cpu.state();
    for (const RegName& r : kRegs) {
      u64 v = static_cast<u64>(iregs.int_or(r.name, 0)) & 0xFFFF;
      if (r.gpr >= 0) s.gpr[r.gpr] = v;
      else s.seg[r.seg] = Segment{static_cast<u16>(v), static_cast<u16>(r.seg == CS ? 0x9B : 0x93), 0xFFFF, v << 4};
    }
    s.rip = static_cast<u64>(iregs.int_or("ip", 0)) & 0xFFFF;
    // A 286 in real mode keeps FLAGS bits 12-15 clear (it pushes them as 0): start so.
    s.rflags = (static_cast<u64>(iregs.int_or("flags", 0)) & 0x0FFF) | kFixed1;
    s.lazy.op = LazyOp::None;
    m_cpu.state_changed();

    bool has_rep = false;
    for (const json::Value& b : t.find("bytes")->arr)
      if (b.num == 0xF2 || b.num == 0xF3) has_rep = true;
    const u64 budget = has_rep ? 70000 : 64;

    if (expect == Expectation::UD) {
      m_hook.clear();
      m_cpu.set_trace(&m_hook);
      m_cpu.run(budget);
      m_cpu.set_trace(nullptr);
      for (const auto& kv : fin->find("ram")->arr) m_touched.push_back(static_cast<u32>(kv.arr.at(0).num));
      // Delivering the #UD pushed FLAGS, CS and IP below the initial SS:SP.
      const u64 ss = static_cast<u64>(iregs.int_or("ss", 0)) & 0xFFFF, sp = static_cast<u64>(iregs.int_or("sp", 0));
      for (u64 k = 1; k <= 6; k++) m_touched.push_back(static_cast<u32>((ss << 4) + ((sp - k) & 0xFFFF)));
      if (m_hook.vector() != kUD) return "expected #UD (modern behaviour), got " +
                                         (m_hook.vector() < 0 ? std::string("no exception") : "vector " + std::to_string(m_hook.vector()));
      return "";
    }

    StopReason why = m_cpu.run(budget);
    std::ostringstream diff;
    if (why != StopReason::Halted && why != StopReason::HaltIdle)
      diff << " did-not-halt(reason " << static_cast<int>(why) << ", ip " << std::hex << s.rip << std::dec << ")";

    const json::Value& fregs = *fin->find("regs");
    auto expected = [&](const char* name) { return static_cast<u64>(fregs.int_or(name, iregs.int_or(name, 0))); };
    for (const RegName& r : kRegs) {
      u64 want = expected(r.name) & 0xFFFF;
      u64 got = r.gpr >= 0 ? s.gpr[r.gpr] : s.seg[r.seg].sel;
      if (got != want) diff << " " << r.name << "=" << std::hex << got << " want " << want << std::dec;
    }
    if (s.rip != (expected("ip") & 0xFFFF))
      diff << " ip=" << std::hex << s.rip << " want " << expected("ip") << std::dec;
    const u64 fmask = form.flags_mask & 0x0FFF;
    u64 got_flags = m_cpu.rflags() & fmask, want_flags = expected("flags") & fmask;
    if (got_flags != want_flags)
      diff << " flags=" << std::hex << got_flags << " want " << want_flags << " (masked " << fmask << ")" << std::dec;

    // RAM: listed final bytes, the pushed FLAGS image masked like FLAGS.
    i64 flag_addr = -1;
    if (const json::Value* ex = t.find("exception")) flag_addr = ex->int_or("flag_address", -1);
    std::set<u32> changed;
    for (const json::Value& e : fin->find("ram")->arr) {
      u32 a = static_cast<u32>(e.arr.at(0).num);
      u8 want = static_cast<u8>(e.arr.at(1).num);
      changed.insert(a);
      m_touched.push_back(a);
      if (a >= kRamSize) { diff << " ram[" << a << "] outside RAM"; continue; }
      u8 m = 0xFF;
      if (flag_addr >= 0 && a == flag_addr) m = static_cast<u8>(fmask);
      if (flag_addr >= 0 && a == flag_addr + 1) m = static_cast<u8>(fmask >> 8);
      if ((ram[a] & m) != (want & m))
        diff << " ram[" << std::hex << a << "]=" << unsigned(ram[a]) << " want " << unsigned(want) << std::dec;
    }
    for (const auto& [a, v] : initial_ram)
      if (!changed.count(a) && ram[a] != v)
        diff << " ram[" << std::hex << a << "]=" << unsigned(ram[a]) << " changed, want " << unsigned(v) << std::dec;
    return diff.str();
  }

  // Zeroes what the last vectors wrote; returns false if anything else in RAM is non-zero.
  void clean() {
    for (u32 a : m_touched) m_mem.ram()[a] = 0;
    m_touched.clear();
  }
  bool ram_is_zero() {
    const u8* p = m_mem.ram();
    static const u8 zero[4096] = {};
    for (u64 off = 0; off < kRamSize; off += sizeof zero)
      if (std::memcmp(p + off, zero, sizeof zero) != 0) return false;
    return true;
  }
  void wipe() { std::memset(m_mem.ram(), 0, kRamSize); }

 private:
  PhysMemory m_mem;
  IoBus m_io;
  Cpu m_cpu;
  FirstException m_hook;
  std::vector<u32> m_touched;
};

std::string bytes_hex(const json::Value& t) {
  std::string s;
  char b[4];
  for (const json::Value& v : t.find("bytes")->arr) {
    std::snprintf(b, sizeof b, "%02X ", static_cast<unsigned>(v.num));
    s += b;
  }
  return s;
}

// Leading prefix bytes of a vector and the byte after them.
bool has_lock_prefix(const json::Value& t, std::vector<u8>& insn) {
  bool lock = false;
  size_t i = 0;
  const auto& a = t.find("bytes")->arr;
  for (; i < a.size(); i++) {
    u8 b = static_cast<u8>(a[i].num);
    if (b == 0xF0) lock = true;
    else if (b != 0x26 && b != 0x2E && b != 0x36 && b != 0x3E && b != 0xF2 && b != 0xF3) break;
  }
  for (; i < a.size(); i++) insn.push_back(static_cast<u8>(a[i].num));
  return lock;
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
    json::Value vectors = json::parse(text);
    Form form{stem, flags_mask_for(stem)};
    Totals t;
    unsigned reported = 0;
    auto run_one = [&](const json::Value& v, bool report) {
      std::string hash = v.find("hash") ? v.find("hash")->str : "";
      if (revoked.count(hash)) { t.skipped++; return; }
      std::vector<u8> insn;
      bool lock = has_lock_prefix(v, insn);
      const KnownDifference* kd = find_known_difference(stem, lock, insn);
      if (kd && kd->expect == Expectation::Skip) { t.skipped++; bench.clean(); return; }
      std::string diff = bench.run(v, form, kd ? kd->expect : Expectation::Same);
      bench.clean();
      if (diff.empty()) { (kd ? t.known : t.pass)++; return; }
      t.fail++;
      if (report && (verbose || reported++ < 3))
        std::printf("  FAIL %s #%lld %s[%s]%s%s\n", stem.c_str(), static_cast<long long>(v.int_or("idx", -1)),
                    v.find("name") ? (v.find("name")->str + " ").c_str() : "", bytes_hex(v).c_str(),
                    diff.c_str(), kd ? (std::string(" (known difference: ") + kd->reason + ")").c_str() : "");
    };
    for (const json::Value& v : vectors.arr) run_one(v, true);
    if (!bench.ram_is_zero()) {
      // Something wrote outside the bytes the vectors list: find which vectors did.
      bench.wipe();
      for (const json::Value& v : vectors.arr) {
        Totals dummy = t;
        run_one(v, false);
        t = dummy;
        if (!bench.ram_is_zero()) {
          t.fail++;
          std::printf("  FAIL %s #%lld %s[%s] wrote RAM outside the listed bytes\n", stem.c_str(),
                      static_cast<long long>(v.int_or("idx", -1)), v.find("name") ? v.find("name")->str.c_str() : "",
                      bytes_hex(v).c_str());
          bench.wipe();
        }
      }
    }
    std::printf("%-6s %4u passed, %3u failed, %3u known-difference checked, %3u skipped\n", stem.c_str(), t.pass,
                t.fail, t.known, t.skipped);
    all.pass += t.pass + t.known;
    all.fail += t.fail;
    all.known += t.known;
    all.skipped += t.skipped;
  }
  std::printf("(%u of the passes are vectors checked against documented modern behaviour instead of the 286's)\n",
              all.known);
  std::printf("%u passed, %u failed, %u skipped\n", all.pass, all.fail, all.skipped);
  return all.fail ? 1 : 0;
}

}  // namespace
}  // namespace rv::conformance

int main(int argc, char** argv) { return rv::conformance::run_main(argc, argv); }
