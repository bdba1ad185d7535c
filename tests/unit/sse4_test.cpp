// SSSE3 / SSE4.1 / SSE4.2 / CRC32 against the host CPU: every encoding of opcodes_sse4.inc
// runs with random operands (NaNs, infinities, denormals, signed zeros, rounding ties,
// integer limits mixed in) both natively and in the interpreter, and every register, the
// arithmetic flags, MXCSR and the memory buffer must agree. Exception paths: sse4_fault_test.cpp.
#include <gtest/gtest.h>

#include <cctype>
#include <cstdio>
#include <string>

#include "tests/unit/sse4_env.h"

namespace rv::test::sse4 {
namespace {

enum Kind : u8 {
  kXX,    // xmm, xmm/m
  kMM,    // mm, mm/m64
  kXG,    // xmm, r/m (PINSRx)
  kGX,    // r/m, xmm (PEXTRx, EXTRACTPS)
  kGG,    // r32/64, r/m (CRC32)
};
enum Mem : u8 { kNoMem, kAligned, kUnaligned, kMemOnly };

struct Form {
  const char* name;
  u8 pfx;     // 0, 0x66 or 0xF2
  u8 map;     // 0x38 or 0x3A
  u8 op;
  Kind kind;
  Mem mem;
  bool rexw_random = false;   // REX.W selects a different form (PEXTRQ, PINSRQ, CRC32 r64, PCMPESTRx)
  bool pfx66_random = false;  // CRC32 F1: 66 selects the 16-bit source
};

const Form kForms[] = {
#define SSSE3(n, op) {n " mm", 0, 0x38, op, kMM, kUnaligned}, {n " xmm", 0x66, 0x38, op, kXX, kAligned},
    SSSE3("pshufb", 0x00) SSSE3("phaddw", 0x01) SSSE3("phaddd", 0x02) SSSE3("phaddsw", 0x03)
    SSSE3("pmaddubsw", 0x04) SSSE3("phsubw", 0x05) SSSE3("phsubd", 0x06) SSSE3("phsubsw", 0x07)
    SSSE3("psignb", 0x08) SSSE3("psignw", 0x09) SSSE3("psignd", 0x0A) SSSE3("pmulhrsw", 0x0B)
    SSSE3("pabsb", 0x1C) SSSE3("pabsw", 0x1D) SSSE3("pabsd", 0x1E)
#undef SSSE3
    {"palignr mm", 0, 0x3A, 0x0F, kMM, kUnaligned},
    {"palignr xmm", 0x66, 0x3A, 0x0F, kXX, kAligned},
    {"pblendvb", 0x66, 0x38, 0x10, kXX, kAligned},
    {"blendvps", 0x66, 0x38, 0x14, kXX, kAligned},
    {"blendvpd", 0x66, 0x38, 0x15, kXX, kAligned},
    {"ptest", 0x66, 0x38, 0x17, kXX, kAligned},
    {"pmovsxbw", 0x66, 0x38, 0x20, kXX, kUnaligned},
    {"pmovsxbd", 0x66, 0x38, 0x21, kXX, kUnaligned},
    {"pmovsxbq", 0x66, 0x38, 0x22, kXX, kUnaligned},
    {"pmovsxwd", 0x66, 0x38, 0x23, kXX, kUnaligned},
    {"pmovsxwq", 0x66, 0x38, 0x24, kXX, kUnaligned},
    {"pmovsxdq", 0x66, 0x38, 0x25, kXX, kUnaligned},
    {"pmuldq", 0x66, 0x38, 0x28, kXX, kAligned},
    {"pcmpeqq", 0x66, 0x38, 0x29, kXX, kAligned},
    {"movntdqa", 0x66, 0x38, 0x2A, kXX, kMemOnly},
    {"packusdw", 0x66, 0x38, 0x2B, kXX, kAligned},
    {"pmovzxbw", 0x66, 0x38, 0x30, kXX, kUnaligned},
    {"pmovzxbd", 0x66, 0x38, 0x31, kXX, kUnaligned},
    {"pmovzxbq", 0x66, 0x38, 0x32, kXX, kUnaligned},
    {"pmovzxwd", 0x66, 0x38, 0x33, kXX, kUnaligned},
    {"pmovzxwq", 0x66, 0x38, 0x34, kXX, kUnaligned},
    {"pmovzxdq", 0x66, 0x38, 0x35, kXX, kUnaligned},
    {"pcmpgtq", 0x66, 0x38, 0x37, kXX, kAligned},
    {"pminsb", 0x66, 0x38, 0x38, kXX, kAligned},
    {"pminsd", 0x66, 0x38, 0x39, kXX, kAligned},
    {"pminuw", 0x66, 0x38, 0x3A, kXX, kAligned},
    {"pminud", 0x66, 0x38, 0x3B, kXX, kAligned},
    {"pmaxsb", 0x66, 0x38, 0x3C, kXX, kAligned},
    {"pmaxsd", 0x66, 0x38, 0x3D, kXX, kAligned},
    {"pmaxuw", 0x66, 0x38, 0x3E, kXX, kAligned},
    {"pmaxud", 0x66, 0x38, 0x3F, kXX, kAligned},
    {"pmulld", 0x66, 0x38, 0x40, kXX, kAligned},
    {"phminposuw", 0x66, 0x38, 0x41, kXX, kAligned},
    {"crc32 r, r/m8", 0xF2, 0x38, 0xF0, kGG, kUnaligned, true},
    {"crc32 r, r/mv", 0xF2, 0x38, 0xF1, kGG, kUnaligned, true, true},
    {"roundps", 0x66, 0x3A, 0x08, kXX, kAligned},
    {"roundpd", 0x66, 0x3A, 0x09, kXX, kAligned},
    {"roundss", 0x66, 0x3A, 0x0A, kXX, kUnaligned},
    {"roundsd", 0x66, 0x3A, 0x0B, kXX, kUnaligned},
    {"blendps", 0x66, 0x3A, 0x0C, kXX, kAligned},
    {"blendpd", 0x66, 0x3A, 0x0D, kXX, kAligned},
    {"pblendw", 0x66, 0x3A, 0x0E, kXX, kAligned},
    {"pextrb", 0x66, 0x3A, 0x14, kGX, kUnaligned},
    {"pextrw", 0x66, 0x3A, 0x15, kGX, kUnaligned},
    {"pextrd/q", 0x66, 0x3A, 0x16, kGX, kUnaligned, true},
    {"extractps", 0x66, 0x3A, 0x17, kGX, kUnaligned, true},
    {"pinsrb", 0x66, 0x3A, 0x20, kXG, kUnaligned},
    {"insertps", 0x66, 0x3A, 0x21, kXX, kUnaligned},
    {"pinsrd/q", 0x66, 0x3A, 0x22, kXG, kUnaligned, true},
    {"dpps", 0x66, 0x3A, 0x40, kXX, kAligned},
    {"dppd", 0x66, 0x3A, 0x41, kXX, kAligned},
    {"mpsadbw", 0x66, 0x3A, 0x42, kXX, kAligned},
    {"pcmpestrm", 0x66, 0x3A, 0x60, kXX, kUnaligned, true},
    {"pcmpestri", 0x66, 0x3A, 0x61, kXX, kUnaligned, true},
    {"pcmpistrm", 0x66, 0x3A, 0x62, kXX, kUnaligned},
    {"pcmpistri", 0x66, 0x3A, 0x63, kXX, kUnaligned},
};

// Operand values: random bits mixed with the hard cases of every element width.
struct Gen {
  std::mt19937_64 rng;
  explicit Gen(u64 seed) : rng(seed) {}
  u64 bits() { return rng(); }
  unsigned below(unsigned n) { return static_cast<unsigned>(rng() % n); }

  u32 f32() {
    static const u32 k[] = {0x00000000, 0x80000000, 0x7F800000, 0xFF800000, 0x7FC00000, 0xFFC00001, 0x7F800001,
                            0xFFA00000, 0x00000001, 0x807FFFFF, 0x00800000, 0x3F800000, 0xBF800000, 0x3FC00000,
                            0x40200000, 0xC0200000, 0x3F000000, 0xBF000000, 0x4B000000, 0x4B7FFFFF, 0x7F7FFFFF,
                            0xFF7FFFFF, 0x3EFFFFFF, 0x3F400000};
    switch (below(4)) {
      case 0: return k[below(sizeof(k) / sizeof(k[0]))];
      case 1: {   // small values with fractions
        float f = static_cast<float>(static_cast<int>(below(4001)) - 2000) / 8.0f;
        u32 v;
        std::memcpy(&v, &f, 4);
        return v;
      }
      default: return static_cast<u32>(bits());
    }
  }
  u64 f64() {
    static const u64 k[] = {0, 0x8000000000000000, 0x7FF0000000000000, 0xFFF0000000000000, 0x7FF8000000000000,
                            0x7FF0000000000001, 0xFFF4000000000000, 1, 0x800FFFFFFFFFFFFF, 0x0010000000000000,
                            0x3FF0000000000000, 0x3FF8000000000000, 0x4004000000000000, 0xC004000000000000,
                            0x3FE0000000000000, 0x4330000000000000, 0x7FEFFFFFFFFFFFFF, 0x3FDFFFFFFFFFFFFF};
    switch (below(4)) {
      case 0: return k[below(sizeof(k) / sizeof(k[0]))];
      case 1: {
        double f = static_cast<double>(static_cast<int>(below(4001)) - 2000) / 8.0;
        u64 v;
        std::memcpy(&v, &f, 8);
        return v;
      }
      default: return bits();
    }
  }
  void vec(u8* out) {
    switch (below(6)) {
      case 0: for (unsigned i = 0; i < 4; i++) { u32 v = f32(); std::memcpy(out + 4 * i, &v, 4); } break;
      case 1: for (unsigned i = 0; i < 2; i++) { u64 v = f64(); std::memcpy(out + 8 * i, &v, 8); } break;
      case 2: {   // integer limits and small values per byte/word
        static const u8 kb[] = {0x00, 0x01, 0x7F, 0x80, 0x81, 0xFF, 0xFE, 0x40};
        for (unsigned i = 0; i < 16; i++) out[i] = kb[below(8)];
        break;
      }
      case 3: {   // strings for PCMPxSTRx: short ASCII runs with NULs
        for (unsigned i = 0; i < 16; i++) out[i] = below(5) == 0 ? 0 : static_cast<u8>('a' + below(4));
        break;
      }
      default: for (unsigned i = 0; i < 16; i += 8) { u64 v = bits(); std::memcpy(out + i, &v, 8); } break;
    }
  }
  u64 gpr_len() {   // PCMPESTRx lengths: mostly in range, sometimes beyond or huge
    switch (below(5)) {
      case 0: return bits();
      case 1: return static_cast<u64>(-static_cast<i64>(below(20)));
      case 2: return (bits() << 32) | below(20);   // differs between the 32- and 64-bit forms
      default: return below(20);
    }
  }
};

// Encodes pfx [66] [REX] 0F map op ModRM [disp8] [imm8]. reg/rm are 0..15 (rm < 0: memory
// operand [rsi + disp]).
std::vector<u8> encode(const Form& f, bool p66, bool rexw, unsigned reg, int rm, u8 disp, u8 imm) {
  std::vector<u8> b;
  if (p66 && f.pfx != 0x66) b.push_back(0x66);
  if (f.pfx) b.push_back(f.pfx);
  u8 rex = 0x40 | (rexw ? 8 : 0) | ((reg & 8) ? 4 : 0) | ((rm >= 0 && (rm & 8)) ? 1 : 0);
  if (rex != 0x40) b.push_back(rex);
  b.push_back(0x0F);
  b.push_back(f.map);
  b.push_back(f.op);
  if (rm < 0) {
    b.push_back(static_cast<u8>(0x40 | ((reg & 7) << 3) | 6));   // [rsi + disp8]
    b.push_back(disp);
  } else {
    b.push_back(static_cast<u8>(0xC0 | ((reg & 7) << 3) | (rm & 7)));
  }
  if (f.map == 0x3A) b.push_back(imm);
  return b;
}

std::string hex(const std::vector<u8>& v) {
  std::string s;
  char buf[4];
  for (u8 x : v) {
    std::snprintf(buf, sizeof buf, "%02X ", x);
    s += buf;
  }
  return s;
}

void compare(const Form& f, const std::vector<u8>& code, const Regs& want, const u8* want_mem, const Regs& got,
             const u8* got_mem, int& failures) {
  std::string where = std::string(f.name) + " [" + hex(code) + "]";
  bool ok = true;
  for (unsigned i = 0; i < 16; i++)
    if (std::memcmp(want.xmm[i], got.xmm[i], 16)) {
      ADD_FAILURE() << where << ": xmm" << i << " differs";
      ok = false;
    }
  for (unsigned i = 0; i < 8; i++)
    if (want.mm[i] != got.mm[i]) {
      ADD_FAILURE() << where << ": mm" << i << std::hex << " want " << want.mm[i] << " got " << got.mm[i];
      ok = false;
    }
  for (unsigned i = 0; i < 4; i++)
    if (want.gpr[i] != got.gpr[i]) {
      ADD_FAILURE() << where << ": gpr" << i << std::hex << " want " << want.gpr[i] << " got " << got.gpr[i];
      ok = false;
    }
  if ((want.flags & kArithFlags) != (got.flags & kArithFlags)) {
    ADD_FAILURE() << where << std::hex << ": flags want " << (want.flags & kArithFlags) << " got "
                  << (got.flags & kArithFlags);
    ok = false;
  }
  if (want.mxcsr != got.mxcsr) {
    ADD_FAILURE() << where << std::hex << ": mxcsr want " << want.mxcsr << " got " << got.mxcsr;
    ok = false;
  }
  if (std::memcmp(want_mem, got_mem, kDataSize)) {
    ADD_FAILURE() << where << ": memory differs";
    ok = false;
  }
  if (!ok) failures++;
}

class Sse4Oracle : public ::testing::TestWithParam<unsigned> {};

TEST_P(Sse4Oracle, MatchesHost) {
  const Form& f = kForms[GetParam()];
  NativeRunner native;
  ASSERT_TRUE(native.ok());
  Guest g;
  Gen gen(0x5EED0000u + GetParam());
  alignas(16) u8 host_mem[kDataSize];
  int failures = 0;
  constexpr int kCases = 2000;
  for (int n = 0; n < kCases && failures < 5; n++) {
    Regs r{};
    for (auto& x : r.xmm) gen.vec(x);
    for (auto& m : r.mm) m = gen.bits();
    for (auto& x : r.gpr) x = gen.bits();
    if (f.op == 0x60 || f.op == 0x61) {
      r.gpr[RAX] = gen.gpr_len();
      r.gpr[RDX] = gen.gpr_len();
    }
    r.flags = (gen.bits() & kArithFlags) | 0x202;
    r.mxcsr = 0x1F80 | (gen.below(4) << 13) | (gen.below(4) == 0 ? 0x8040 : 0);
    u8 data[kDataSize];
    for (unsigned i = 0; i < kDataSize; i += 16) gen.vec(data + i);

    const bool use_mem = f.mem == kMemOnly || (f.mem != kNoMem && gen.below(3) == 0);
    const bool rexw = f.rexw_random && gen.below(2);
    const bool p66 = f.pfx66_random && gen.below(2);
    const bool gpr_reg = f.kind == kGG;
    const bool gpr_rm = f.kind == kXG || f.kind == kGX || f.kind == kGG;
    // GPR operands stay in RAX..RBX (never RSP/RBP/RSI, which the runner needs). MMX register
    // numbers 8..15 encode REX.R/REX.B, which MMX operands ignore.
    unsigned reg = gpr_reg ? gen.below(4) : gen.below(16);
    int rm = use_mem ? -1 : gpr_rm ? static_cast<int>(gen.below(4)) : static_cast<int>(gen.below(16));
    u8 disp = f.mem == kUnaligned ? static_cast<u8>(gen.below(16)) : 0;
    u8 imm = static_cast<u8>(gen.bits());
    std::vector<u8> code = encode(f, p66, rexw, reg, rm, disp, imm);

    Regs want = r;
    std::memcpy(host_mem, data, kDataSize);
    want.rsi = reinterpret_cast<u64>(host_mem);
    native.run(code, want);
    want.rsi = kData;

    g.put(r, data);
    g.load(code);
    int vec = g.run_checked();
    if (vec >= 0) {
      ADD_FAILURE() << f.name << " [" << hex(code) << "]: guest exception " << vec;
      failures++;
      continue;
    }
    Regs got{};
    u8 got_mem[kDataSize];
    g.get(got, got_mem);
    compare(f, code, want, host_mem, got, got_mem, failures);
  }
}

INSTANTIATE_TEST_SUITE_P(AllForms, Sse4Oracle, ::testing::Range(0u, static_cast<unsigned>(std::size(kForms))),
                         [](const ::testing::TestParamInfo<unsigned>& i) {
                           std::string s = kForms[i.param].name;
                           for (char& ch : s)
                             if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
                           return s + "_" + std::to_string(i.param);
                         });

}  // namespace
}  // namespace rv::test::sse4
