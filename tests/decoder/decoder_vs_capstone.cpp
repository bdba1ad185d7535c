// Decoder vs Capstone on seeded random byte strings.
//
//   rv_decoder_vs_capstone --mode 16|32|64 [--count N] [--seed S] [--max-reports N] [--list-unnamed]
//
// Each string is kBufLen (16) bytes: a quarter fully random, the rest structured (random
// legacy prefixes, REX in 64-bit mode, then a one-byte opcode, a 0F / 0F 38 / 0F 3A escape,
// a VEX / EVEX / XOP prefix or a 3DNow! 0F 0F, followed by random opcode/ModRM/SIB/disp/imm
// bytes), so that every opcode map is covered heavily. Wherever Capstone decodes an
// instruction our decoder must give the same length; for our instructions with a meaning the
// mnemonic family must match, and in detail mode (1 string in 16) the ModRM memory operand
// too. Mismatches listed in disagreements.cpp are counted per reason and skipped.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "tests/decoder/oracle.h"

using namespace rv;
using namespace rv::dectest;

namespace {

// xoshiro256** seeded through splitmix64: fast, and the same sequence on every host.
class Rng {
 public:
  explicit Rng(u64 seed) {
    for (u64& s : m_s) {
      seed += 0x9E3779B97F4A7C15ull;
      u64 z = seed;
      z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
      z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
      s = z ^ (z >> 31);
    }
  }
  u64 next() {
    const u64 r = rotl(m_s[1] * 5, 7) * 9, t = m_s[1] << 17;
    m_s[2] ^= m_s[0]; m_s[3] ^= m_s[1]; m_s[1] ^= m_s[2]; m_s[0] ^= m_s[3];
    m_s[2] ^= t; m_s[3] = rotl(m_s[3], 45);
    return r;
  }
  unsigned below(unsigned n) { return static_cast<unsigned>((next() >> 32) * n >> 32); }
  u8 byte() { return static_cast<u8>(next() >> 56); }

 private:
  static u64 rotl(u64 x, int k) { return (x << k) | (x >> (64 - k)); }
  u64 m_s[4];
};

constexpr u8 kLegacy[] = {0x66, 0x66, 0x66, 0xF2, 0xF2, 0xF3, 0xF3, 0x67, 0x67, 0xF0,
                          0x26, 0x2E, 0x36, 0x3E, 0x64, 0x65};
// 3DNow! suffix opcodes (AMD APM Vol.3 / Vol.5 opcode map).
constexpr u8 k3dNow[] = {0x0C, 0x0D, 0x1C, 0x1D, 0x8A, 0x8E, 0x90, 0x94, 0x96, 0x97, 0x9A, 0x9E,
                         0xA0, 0xA4, 0xA6, 0xA7, 0xAA, 0xAE, 0xB0, 0xB4, 0xB6, 0xB7, 0xBB, 0xBF};

void generate(Rng& rng, CpuMode mode, u8* b) {
  for (unsigned i = 0; i < kBufLen; i += 8) {
    u64 v = rng.next();
    std::memcpy(b + i, &v, 8);
  }
  if (rng.below(4) == 0) return;   // fully random
  const bool m64 = mode == CpuMode::Long64;
  unsigned p = 0;
  unsigned r = rng.below(100);
  unsigned npfx = r < 40 ? 0 : r < 70 ? 1 : r < 85 ? 2 : 3 + rng.below(4);
  for (unsigned i = 0; i < npfx; i++) b[p++] = kLegacy[rng.below(sizeof kLegacy)];
  if (m64 && rng.below(2)) b[p++] = 0x40 | rng.below(16);
  auto top_bits_11 = [&](u8 v) { return (!m64 && rng.below(5) != 0) ? static_cast<u8>(v | 0xC0) : v; };
  unsigned esc = rng.below(100);
  if (esc < 30) {
    // one-byte map: the random opcode byte is already in place
  } else if (esc < 60) {
    b[p++] = 0x0F;
  } else if (esc < 70) {
    b[p++] = 0x0F; b[p++] = 0x38;
  } else if (esc < 80) {
    b[p++] = 0x0F; b[p++] = 0x3A;
  } else if (esc < 85) {
    b[p++] = 0xC5; b[p] = top_bits_11(b[p]); p++;
  } else if (esc < 90) {
    b[p++] = 0xC4;
    u8 v = b[p];
    if (rng.below(5) != 0) v = static_cast<u8>((v & 0xE0) | (1 + rng.below(3)));
    b[p++] = top_bits_11(v);
  } else if (esc < 94) {
    b[p++] = 0x62;
    u8 p0 = b[p];
    if (rng.below(5) != 0) p0 = static_cast<u8>((p0 & 0xF0) | (1 + rng.below(3)));   // R' ok, 00mm
    b[p++] = top_bits_11(p0);
    if (rng.below(5) != 0) b[p] |= 0x04;   // P1 bit 2 is 1
    p += 2;
  } else if (esc < 97) {
    b[p++] = 0x8F;
    u8 v = b[p];
    if (rng.below(5) != 0) v = static_cast<u8>((v & 0xE0) | (8 + rng.below(3)));
    b[p++] = v;
  } else {
    b[p++] = 0x0F; b[p++] = 0x0F;
    if (rng.below(4) != 0) {   // register form, so the suffix lands right after ModRM
      b[p] |= 0xC0;
      b[p + 1] = k3dNow[rng.below(sizeof k3dNow)];
    }
  }
}

u64 g_max_reports = 40;
bool g_list_unnamed = false;   // --list-unnamed: Capstone mnemonics of encodings without an OpId
std::map<std::string, u64> g_unnamed;

struct Stats {
  u64 total = 0, cs_decoded = 0, matched = 0, ours_invalid_op = 0, mnemonic_checked = 0,
      mem_checked = 0, listed_cases = 0, failed = 0, reported = 0;
  std::vector<u64> listed;   // per disagreements() row
};

const char* status_name(DecodeStatus s) {
  switch (s) {
    case DecodeStatus::Ok: return "Ok";
    case DecodeStatus::Truncated: return "Truncated";
    case DecodeStatus::TooLong: return "TooLong";
  }
  return "?";
}

const char* check_name(Check c) {
  return c == Check::Length ? "length" : c == Check::Mnemonic ? "mnemonic" : "memory operand";
}

std::string describe_ours(const Case& c) {
  char buf[160];
  if (c.status != DecodeStatus::Ok) return status_name(c.status);
  const DecodedInsn& d = c.ours;
  std::snprintf(buf, sizeof buf, "len=%u %s (map %u opcode %02x osize %u asize %u)", d.len, op_name(d.op),
                d.map, d.opcode, d.osize, d.asize);
  return buf;
}

// Returns true when the mismatch is a listed disagreement (and counts it).
bool listed(const Case& c, Check check, Stats& st) {
  auto rows = disagreements();
  for (size_t i = 0; i < rows.size(); i++) {
    if (rows[i].check == check && rows[i].applies(c)) {
      st.listed[i]++;
      return true;
    }
  }
  return false;
}

void report(const Case& c, Check check, const std::string& extra, Stats& st, u64 seed, u64 n) {
  if (++st.reported > g_max_reports) return;
  std::printf("MISMATCH (%s) mode %d seed %llu string #%llu: %s\n  ours:     %s\n  capstone: len=%u %s %s\n",
              check_name(check), mode_bits(c.mode), static_cast<unsigned long long>(seed),
              static_cast<unsigned long long>(n), hex(c.bytes, kBufLen).c_str(), describe_ours(c).c_str(),
              c.cs.len, c.cs.mnemonic, c.cs.op_str);
  if (!extra.empty()) std::printf("  %s\n", extra.c_str());
}

int usage() {
  std::fprintf(stderr, "usage: rv_decoder_vs_capstone --mode 16|32|64 [--count N] [--seed S] [--max-reports N] [--list-unnamed]\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  int bits = 0;
  u64 count = 1000000, seed = 1;
  for (int i = 1; i < argc; i++) {
    std::string a = argv[i];
    if (i + 1 < argc && a == "--mode") bits = std::atoi(argv[++i]);
    else if (i + 1 < argc && a == "--count") count = std::strtoull(argv[++i], nullptr, 0);
    else if (i + 1 < argc && a == "--seed") seed = std::strtoull(argv[++i], nullptr, 0);
    else if (i + 1 < argc && a == "--max-reports") g_max_reports = std::strtoull(argv[++i], nullptr, 0);
    else if (a == "--list-unnamed") g_list_unnamed = true;
    else return usage();
  }
  if (bits != 16 && bits != 32 && bits != 64) return usage();
  const CpuMode mode = bits == 64 ? CpuMode::Long64 : bits == 32 ? CpuMode::Prot32 : CpuMode::Prot16;
  const auto t0 = std::chrono::steady_clock::now();

  Capstone cs(mode);
  Rng rng(seed * 0x100 + bits);
  Stats st;
  st.listed.assign(disagreements().size(), 0);
  u8 buf[kBufLen];
  CsResult res;
  DecodedInsn d;
  std::string why;
  for (u64 n = 0; n < count; n++) {
    generate(rng, mode, buf);
    const bool detail = (n & 15) == 0;
    st.total++;
    DecodeStatus status = decode(buf, kBufLen, mode, d);
    cs.disasm(buf, kBufLen, detail, res);
    if (!res.ok) continue;
    st.cs_decoded++;
    Case c{buf, mode, status, d, res};
    enum { kMatch, kListed, kFail } outcome = kMatch;
    auto judge = [&](Check check, bool good, const std::string& extra) {
      if (good || outcome == kFail) return;
      if (listed(c, check, st)) {
        outcome = kListed;
      } else {
        outcome = kFail;
        report(c, check, extra, st, seed, n);
      }
    };
    if (status != DecodeStatus::Ok || d.len != res.len) {
      judge(Check::Length, false, "");
    } else {
      if (d.op == OpId::Invalid) {
        st.ours_invalid_op++;
        if (g_list_unnamed) g_unnamed[res.mnemonic]++;
      } else if (d.op != OpId::Vex && d.op != OpId::Evex && d.op != OpId::Xop) {
        st.mnemonic_checked++;
        bool good = mnemonic_matches(c, why);
        judge(Check::Mnemonic, good, "expected one of: " + why);
      }
      if (detail && d.has_mem()) {
        st.mem_checked++;
        bool good = mem_operand_matches(c, why);
        judge(Check::MemOperand, good, why);
      }
    }
    st.matched += outcome == kMatch;
    st.listed_cases += outcome == kListed;
    st.failed += outcome == kFail;
  }

  for (const auto& [mn, n] : g_unnamed) std::printf("unnamed %-20s %llu\n", mn.c_str(), static_cast<unsigned long long>(n));
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("decoder vs %s, mode %d, seed %llu, %.2fs\n", capstone_version().c_str(), bits,
              static_cast<unsigned long long>(seed), secs);
  std::printf("  total strings:             %llu\n", static_cast<unsigned long long>(st.total));
  std::printf("  Capstone decoded:          %llu\n", static_cast<unsigned long long>(st.cs_decoded));
  std::printf("  matched:                   %llu\n", static_cast<unsigned long long>(st.matched));
  std::printf("  mnemonics checked:         %llu\n", static_cast<unsigned long long>(st.mnemonic_checked));
  std::printf("  memory operands checked:   %llu\n", static_cast<unsigned long long>(st.mem_checked));
  std::printf("  no OpId (length only):     %llu\n", static_cast<unsigned long long>(st.ours_invalid_op));
  auto rows = disagreements();
  for (size_t i = 0; i < rows.size(); i++)
    std::printf("  listed: %-34s %llu\n", rows[i].name, static_cast<unsigned long long>(st.listed[i]));
  if (st.failed) std::printf("FAILED: rerun with --mode %d --seed %llu --count %llu\n", bits,
                             static_cast<unsigned long long>(seed), static_cast<unsigned long long>(count));
  std::printf("%llu passed, %llu failed\n", static_cast<unsigned long long>(st.matched + st.listed_cases),
              static_cast<unsigned long long>(st.failed));
  return st.failed ? 1 : 0;
}
