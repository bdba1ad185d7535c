#include "tests/oracle/generator.h"

#include <cpuid.h>

#include <algorithm>
#include <cstring>

namespace rv::oracle {

bool g_native_compat32 = true;

// ---- random numbers ----

static u64 splitmix(u64& x) {
  u64 z = (x += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

u64 mix_seed(u64 a, u64 b) {
  u64 x = a ^ (b * 0xD1B54A32D192ED03ull);
  return splitmix(x);
}

Rng::Rng(u64 seed) {
  for (u64& s : m_s) s = splitmix(seed);
}

u64 Rng::next() {
  auto rotl = [](u64 x, int k) { return (x << k) | (x >> (64 - k)); };
  u64 r = rotl(m_s[1] * 5, 7) * 9, t = m_s[1] << 17;
  m_s[2] ^= m_s[0]; m_s[3] ^= m_s[1]; m_s[1] ^= m_s[2]; m_s[0] ^= m_s[3];
  m_s[2] ^= t; m_s[3] = rotl(m_s[3], 45);
  return r;
}

const std::vector<u8>& ro_page_pattern() {
  static const std::vector<u8> p = [] {
    std::vector<u8> v(kPage);
    Rng r(0x0DDBA11);
    for (u8& b : v) b = static_cast<u8>(r.next() >> 56);
    return v;
  }();
  return p;
}

u32 host_features() {
  unsigned a, b, c, d;
  u32 f = 0;
  if (__get_cpuid(1, &a, &b, &c, &d)) {
    if (c & (1u << 23)) f |= kFeatPopcnt;
    if (c & (1u << 22)) f |= kFeatMovbe;
    if (c & (1u << 13)) f |= kFeatCx16;
    if (c & (1u << 0)) f |= kFeatSse3;
    if (c & (1u << 9)) f |= kFeatSsse3;
    if (c & (1u << 19)) f |= kFeatSse41;
    if (c & (1u << 20)) f |= kFeatSse42;
  }
  if (__get_cpuid_count(7, 0, &a, &b, &c, &d) && (b & (1u << 3))) f |= kFeatBmi1;
  if (__get_cpuid(0x80000001, &a, &b, &c, &d) && (c & (1u << 5))) f |= kFeatLzcnt;
  return f;
}

const std::vector<Template>& all_templates() {
  static const std::vector<Template> t = [] {
    std::vector<Template> v;
    add_alu_templates(v);
    add_bits_templates(v);
    add_misc_templates(v);
    add_flow_templates(v);
    add_fp_templates(v);
    add_simd_templates(v);
    return v;
  }();
  return t;
}

const char* flag_names(u64 flags, std::string& buf) {
  buf.clear();
  static const std::pair<u64, const char*> kNames[] = {{kFlagCF, "CF"}, {kFlagPF, "PF"}, {kFlagAF, "AF"}, {kFlagZF, "ZF"},
                                                       {kFlagSF, "SF"}, {0x100, "TF"}, {0x200, "IF"}, {kFlagDF, "DF"},
                                                       {kFlagOF, "OF"}, {0x10000, "RF"}, {kFlagAC, "AC"},
                                                       {kFccC0, "C0"}, {kFccC1, "C1"}, {kFccC2, "C2"}, {kFccC3, "C3"}};
  for (auto& [bit, name] : kNames)
    if (flags & bit) { if (!buf.empty()) buf += ' '; buf += name; }
  if (buf.empty()) buf = "-";
  return buf.c_str();
}

u64 Case::undef_at(u64 rip) const {
  for (size_t i = 0; i < item_offset.size(); i++) {
    u64 lo = kSeqAddr + item_offset[i];
    u64 hi = i + 1 < item_offset.size() ? kSeqAddr + item_offset[i + 1] : kSeqAddr + code.size();
    if (rip >= lo && rip < hi) return item_undef_in[i] | item_undef_out[i] | item_undef_any[i];
  }
  return kArith6 | kFccAll;
}

// ---- Gen ----

Gen::Gen(u64 seed, Mode m, unsigned n) : rng(seed), mode(m), l64(m == Mode::Long64), a(l64), n_items(n) {
  pending_undef.assign(n + 1, 0);
}

unsigned Gen::osize_v() {
  u32 r = rng.below(10);
  if (r < 3) return 2;
  if (r < 6 || !l64) return 4;
  return 8;
}

unsigned Gen::osize_any() { return rng.chance(25) ? 1 : osize_v(); }

u8 Gen::gpr_dst() {
  for (;;) {
    u8 r = static_cast<u8>(rng.below(l64 ? 16 : 8));
    if (r != 4) return r;
  }
}

u8 Gen::gpr_low8() {
  for (;;) {
    u8 r = static_cast<u8>(rng.below(8));
    if (r != 4) return r;
  }
}

u8 Gen::reg_dst(unsigned size) {
  if (size != 1) return gpr_dst();
  if (legacy_bytes) { static const u8 k[] = {0, 1, 2, 3, kAH, kCH, kDH, kBH}; return rng.pick(k); }
  return gpr_dst();   // REX byte set without SPL
}

u8 Gen::reg_src(unsigned size) {
  if (size != 1) return static_cast<u8>(rng.below(l64 ? 16 : 8));
  if (legacy_bytes) { static const u8 k[] = {0, 1, 2, 3, kAH, kCH, kDH, kBH}; return rng.pick(k); }
  return static_cast<u8>(rng.below(16));
}

u64 Gen::value(unsigned size) {
  static const u64 kSpecial[] = {0, 1, 2, 3, 0x7F, 0x80, 0xFF, 0x7FFF, 0x8000, 0xFFFF, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF,
                                 0x7FFFFFFFFFFFFFFFull, 0x8000000000000000ull, ~0ull, ~1ull, 0x100, 0x10000, 0x100000000ull,
                                 0x0F, 0x10, 0x99, 0x09, 0xFFFFFFFF00000000ull};
  unsigned bits = size * 8;
  switch (rng.below(7)) {
    case 0: case 1: return rng.pick(kSpecial);
    case 2: return rng.next();
    case 3: return rng.next() >> rng.below(64);
    case 4: {   // near a sign boundary of this width
      u64 b = bits >= 64 ? 1ull << 63 : 1ull << (bits - 1);
      return b + static_cast<u64>(static_cast<i64>(rng.below(5)) - 2);
    }
    case 5: return static_cast<u64>(static_cast<i64>(rng.below(33)) - 16);
    default: return rng.next() & (bits >= 64 ? ~0ull : (1ull << bits) - 1);
  }
}

u8 Gen::count_for(unsigned size) {
  unsigned bits = size * 8;
  u8 k[] = {0, 1, 1, 2, static_cast<u8>(bits - 1), static_cast<u8>(bits), static_cast<u8>(bits + 1), 31, 32, 33, 63, 64,
            9, 17, 255, static_cast<u8>(rng.below(256)), static_cast<u8>(rng.below(bits))};
  return rng.pick(k);
}

RM Gen::rm(unsigned size, bool dst, unsigned mem_percent, unsigned align) {
  if (rng.chance(mem_percent)) return RM::m(mem(size, align));
  return RM::r(dst ? reg_dst(size) : reg_src(size));
}

Mem Gen::mem(unsigned size, unsigned align, bool allow_rip) {
  // With EFLAGS.AC possibly set, a misaligned 16-byte SSE operand (MOVUPS, MOVDQU, LDDQU...)
  // may or may not raise #AC "depending on processor implementation" (SDM Vol.3A §6.15,
  // Interrupt 17; this AMD host checks 16-byte alignment, Intel only 8): keep those aligned.
  if (ac_maybe && size >= 16 && align < 16) align = 16;
  bool low_only = size == 1 && legacy_bytes;
  auto pick_reg = [&](u8 avoid) {
    for (;;) {
      u8 r = static_cast<u8>(rng.below(l64 && !low_only ? 16 : 8));
      if (r != 4 && r != avoid && !(reserved & (1u << r))) return r;
    }
  };
  u32 lo = (mem_lo + align - 1) / align * align;
  u32 slots = (mem_hi - std::max(size, 1u) - lo) / align + 1;
  u64 target = kDataBase + lo + static_cast<u64>(rng.below(slots)) * align;
  // A few operands fault on purpose: #PF across either edge of the data page, or #GP from a
  // non-canonical address (64-bit); both runs must fault the same way, leaving state exact.
  u64 noncanon = 0;
  if (fault_percent && rng.chance(fault_percent) && mem_lo == 0 && mem_hi == kPage) {
    u32 k = size > 1 ? 1 + rng.below(size - 1) : rng.below(2);
    u32 how = rng.below(10);
    if (l64 && how < 3) noncanon = 1ull << 47;
    else if (how < 5 || (ac_maybe && size >= 16))   // (a 16-byte operand across a page edge is misaligned: see above)
      target = kRoBase + (ac_maybe && size >= 16 ? rng.below((kPage - size) / 16 + 1) * 16 : rng.below(kPage - size + 1));   // reads work, writes #PF
    else target = how < 8 ? kDataBase + kPage - k : kDataBase - (k ? k : 1);
  }
  Mem m;
  u32 form = rng.below(l64 && allow_rip ? 9 : 8);
  if (noncanon && form > 3 && form != 8) form = 0;
  // GS-relative: the worker sets GS.base to the data page (arch_prctl), the interpreter too;
  // in compatibility mode GS is null and the access is a #GP.
  u64 seg_base = 0;
  if (form <= 2 && rng.chance(l64 ? 5 : 1) && mem_lo == 0 && mem_hi == kPage) {
    m.seg = 0x65;
    if (l64) seg_base = kDataBase;
  }
  if (form == 7 && (align > 1 || mem_lo > 0 || mem_hi < kPage)) form = 0;
  bool narrow = !l64;   // addresses computed mod 2^32
  if (l64 && form <= 4 && rng.chance(20)) { m.addr32 = true; narrow = true; }
  auto disp_for = [&](u32 kind) -> i32 {
    if (kind == 0) return 0;
    if (kind == 1) return static_cast<i32>(rng.below(256)) - 128;
    return static_cast<i32>(rng.below(0x2000000)) - 0x1000000;
  };
  auto set = [&](u8 r, u64 v) { set_reg(r, narrow ? v & 0xFFFFFFFF : v); };
  switch (form) {
    case 0: case 1: case 2: {   // [base], [base+disp8], [base+disp32]
      m.base = pick_reg(kNone);
      m.disp = disp_for(form);
      if (form == 2 && rng.chance(30)) m.force_disp32 = true;
      set(m.base, (target - seg_base - static_cast<u64>(static_cast<i64>(m.disp))) ^ (narrow ? 0 : noncanon));
      break;
    }
    case 3: case 8: {           // [base+index*scale+disp]
      m.base = pick_reg(kNone);
      m.index = pick_reg(m.base);
      m.scale = static_cast<u8>(rng.below(4));
      m.disp = disp_for(rng.below(3));
      i64 idx = static_cast<i64>(rng.below(33)) - 16;
      set(m.index, static_cast<u64>(idx));
      set(m.base, (target - static_cast<u64>(static_cast<i64>(m.disp)) - (static_cast<u64>(idx) << m.scale)) ^
                      (narrow ? 0 : noncanon));
      break;
    }
    case 4: {                   // [index*scale+disp32]
      m.index = pick_reg(kNone);
      m.scale = static_cast<u8>(rng.below(4));
      u64 idx = rng.chance(50) ? static_cast<u64>(rng.below(64)) : (target >> m.scale) - rng.below(4096);
      m.disp = static_cast<i32>(target - (idx << m.scale));
      set(m.index, idx);
      break;
    }
    case 5:                     // [disp32]
      m.disp = static_cast<i32>(target);
      break;
    case 6:                     // [rip+disp32] (64-bit) or [disp32]
      if (l64 && allow_rip) { m.rip = true; pending_rip_target = target; }
      else m.disp = static_cast<i32>(target);
      break;
    case 7: {                   // [rsp+disp] into the stack page
      m.base = 4;
      m.disp = static_cast<i32>(rng.below(0x800 - size)) - 0x400;
      if (rng.chance(30)) {
        m.index = pick_reg(4);
        m.scale = static_cast<u8>(rng.below(4));
        i64 idx = static_cast<i64>(rng.below(9)) - 4;
        set(m.index, static_cast<u64>(idx));
        m.disp -= static_cast<i32>(idx * (1 << m.scale));
      }
      break;
    }
  }
  return m;
}

void Gen::noise() {
  if (l64) {
    // ES CS SS DS overrides are ignored in 64-bit mode; a REX not directly before the
    // opcode is ignored too (SDM Vol.2 §2.2.1).
    static const u8 kSeg[] = {0x26, 0x2E, 0x36, 0x3E};
    if (rng.chance(30)) a.byte(static_cast<u8>(0x40 | rng.below(16)));
    a.byte(rng.pick(kSeg));
  } else {
    // Flat segments; CS (2E) makes writes #GP, which must match too.
    static const u8 kSeg[] = {0x26, 0x36, 0x3E, 0x26, 0x36, 0x3E, 0x2E};
    a.byte(rng.pick(kSeg));
  }
}

void Gen::rip_fixup(int disp_at, u64 target) {
  if (disp_at < 0) return;
  fixups.push_back({Fixup::RipDisp, static_cast<u32>(disp_at), static_cast<u32>(a.size()), 0, target, 0, 0});
}

void Gen::reads(u64 flags) {
  if (!(flags & undef)) return;
  if (flags & undef & kFccAll) {
    a.raw({0xD9, 0xE5});   // FXAM defines C0..C3 whatever ST(0) holds
    undef &= ~kFccAll;
    if (!(flags & undef)) return;
  }
  if ((undef & flags) == kFlagCF && rng.chance(50)) {
    a.byte(rng.chance(50) ? 0xF8 : 0xF9);   // CLC / STC
    undef &= ~kFlagCF;
    return;
  }
  unsigned size = l64 && rng.chance(50) ? 8 : 4;
  if (rng.chance(50)) a.modrm(size, {0x39}, reg_src(size), true, RM::r(reg_src(size)));   // CMP r/m, r
  else a.modrm(size, {0x83}, 7, false, RM::r(reg_src(size)), 1, rng.below(256));          // CMP r/m, imm8
  undef &= ~kArith6;
}

int Gen::pick_target() {
  unsigned t = item_index + 1 + rng.below(3);
  return static_cast<int>(std::min(t, n_items));
}

void Gen::jump_fixup(Fixup::Kind kind, unsigned field_size, int target) {
  if (target < 0) target = pick_target();
  Fixup f{kind, static_cast<u32>(a.size() - field_size), static_cast<u32>(a.size()), target, 0, undef, 0};
  if (kind == Fixup::Abs32) f.insn_end = f.at + 4;
  fixups.push_back(f);
  pending_undef[static_cast<unsigned>(target)] |= undef;
}

// ---- floating-point operands: the hard cases ----

namespace {
// binary32 (SDM Vol.1 §4.2.2, §4.8): zeros, infinities, QNaN/SNaN of both signs, denormals,
// the smallest/largest normals, ties for rounding, and the integer-conversion limits 2^15,
// 2^31, 2^32, 2^63 (CVT*2SI, FIST: in range, exactly at, just over).
const u32 kF32[] = {0x00000000, 0x80000000, 0x7F800000, 0xFF800000, 0x7FC00000, 0xFFC00000, 0x7F800001, 0xFFA00000,
                    0x7FBFFFFF, 0x00000001, 0x807FFFFF, 0x00400000, 0x00800000, 0x80800000, 0x7F7FFFFF, 0xFF7FFFFF,
                    0x3F800000, 0xBF800000, 0x3F000000, 0xBF000000, 0x3FC00000, 0x40200000, 0xC0200000, 0x3F7FFFFF,
                    0x46FFFE00, 0x47000000, 0xC7000000, 0x4EFFFFFF, 0x4F000000, 0xCF000000, 0xCF000001, 0x4F800000,
                    0x5EFFFFFF, 0x5F000000, 0xDF000000, 0xDF000001, 0x5F800000, 0x34000000, 0x0C000000, 0x72000000};
// binary64, the same classes.
const u64 kF64[] = {0x0000000000000000ull, 0x8000000000000000ull, 0x7FF0000000000000ull, 0xFFF0000000000000ull,
                    0x7FF8000000000000ull, 0xFFF8000000000000ull, 0x7FF0000000000001ull, 0xFFF4000000000000ull,
                    0x7FF7FFFFFFFFFFFFull, 0x0000000000000001ull, 0x800FFFFFFFFFFFFFull, 0x0008000000000000ull,
                    0x0010000000000000ull, 0x8010000000000000ull, 0x7FEFFFFFFFFFFFFFull, 0xFFEFFFFFFFFFFFFFull,
                    0x3FF0000000000000ull, 0xBFF0000000000000ull, 0x3FE0000000000000ull, 0xBFE0000000000000ull,
                    0x3FF8000000000000ull, 0x4004000000000000ull, 0xC004000000000000ull, 0x3FEFFFFFFFFFFFFFull,
                    0x40DFFFC000000000ull, 0x40E0000000000000ull, 0xC0E0000000000000ull, 0x41DFFFFFFFC00000ull,
                    0x41DFFFFFFFE00000ull, 0x41E0000000000000ull, 0xC1E0000000000000ull, 0xC1E0000000100000ull,
                    0xC1E0000000200000ull, 0x41EFFFFFFFE00000ull, 0x41F0000000000000ull, 0x43DFFFFFFFFFFFFFull,
                    0x43E0000000000000ull, 0xC3E0000000000000ull, 0xC3E0000000000001ull, 0x43F0000000000000ull,
                    0x3690000000000000ull, 0x0690000000000000ull, 0x47E0000000000000ull, 0x400921FB54442D18ull};
}  // namespace

u32 fp_hard32(Rng& r) {
  u32 v = r.pick(kF32);
  if (r.chance(15)) v ^= static_cast<u32>(r.below(4));             // neighbours: rounding, NaN payloads
  if (r.chance(10)) v = (v & 0x807FFFFF) | (static_cast<u32>(r.next()) & 0x7F800000);   // random exponent
  return v;
}

u64 fp_hard64(Rng& r) {
  switch (r.below(4)) {
    case 0: return static_cast<u64>(fp_hard32(r)) | static_cast<u64>(fp_hard32(r)) << 32;   // two floats
    case 1: return static_cast<u64>(fp_hard32(r)) | (r.next() & 0xFFFFFFFF00000000ull);
    default: {
      u64 v = r.pick(kF64);
      if (r.chance(15)) v ^= r.below(4);
      if (r.chance(10)) v ^= r.next() & 0x000FFFFFFFFFFFFFull;
      return v;
    }
  }
}

void fp_hard80(Rng& r, u8 out[10]) {
  // Extended precision (SDM Vol.1 §8.2.2, Table 8-3): also pseudo-denormals (exponent 0, J=1),
  // unnormals, pseudo-infinities and pseudo-NaNs (J=0: unsupported, #IA).
  u64 mant;
  u16 se;
  switch (r.below(10)) {
    case 0: { // a double's value, widened (exact)
      u64 d = r.pick(kF64);
      u16 e = static_cast<u16>((d >> 52) & 0x7FF);
      u64 f = d & 0x000FFFFFFFFFFFFFull;
      se = static_cast<u16>((d >> 63) << 15);
      if (e == 0x7FF) { se |= 0x7FFF; mant = 0x8000000000000000ull | f << 11; }
      else if (e == 0 && f == 0) mant = 0;
      else if (e == 0) { int msb = 63 - __builtin_clzll(f); mant = f << (63 - msb); se |= static_cast<u16>(msb - 1074 + 16383); }
      else { se |= static_cast<u16>(e - 1023 + 16383); mant = 0x8000000000000000ull | f << 11; }
      break;
    }
    case 1: se = 0x7FFF; mant = 0xC000000000000000ull | (r.chance(50) ? 0 : r.next() >> 2); break;   // QNaN
    case 2: se = 0x7FFF; mant = 0x8000000000000000ull | (r.next() >> 2 | 1); break;                  // SNaN
    case 3: se = 0x7FFF; mant = 0x8000000000000000ull; break;                                       // infinity
    case 4: se = 0; mant = r.next() >> (1 + r.below(63)); break;                                   // denormal/zero
    case 5: se = 0; mant = 0x8000000000000000ull | (r.next() >> 1); break;                          // pseudo-denormal
    case 6: {   // integer-conversion limits: 2^15, 2^31, 2^63, 10^18 (FBSTP) and neighbours
      static const u16 kE[] = {16383 + 15, 16383 + 31, 16383 + 32, 16383 + 63, 16383 + 59, 16383 + 14, 16383 + 62};
      se = r.pick(kE);
      mant = 0x8000000000000000ull;
      if (r.chance(50)) mant += r.below(3) ? (1ull << (r.below(64))) : 0;
      if (r.chance(30)) mant = 0xFFFFFFFFFFFFFFFFull << r.below(40);
      if (se == 16383 + 59 && r.chance(50)) mant = 0xDE0B6B3A76400000ull;   // 10^18
      break;
    }
    case 7: se = static_cast<u16>(r.below(0x7FFF)); mant = r.next() & 0x7FFFFFFFFFFFFFFFull; break;  // unnormal
    case 8: se = 0x7FFF; mant = r.next() & 0x7FFFFFFFFFFFFFFFull; break;                             // pseudo-NaN/inf
    default: se = static_cast<u16>(16383 - 70 + r.below(140)); mant = 0x8000000000000000ull | r.next(); break;
  }
  if (r.chance(50)) se ^= 0x8000;
  std::memcpy(out, &mant, 8);
  std::memcpy(out + 8, &se, 2);
}

std::vector<u8> initial_fpu(Rng& setup, Gen& g) {
  std::vector<u8> f(512, 0);
  // FCW: FNINIT's 037F with random precision (24/53/64 bits) and rounding control; rarely an
  // unmasked exception (#MF at the next waiting instruction that sees it pending).
  u16 fcw = 0x037F;
  if (setup.chance(50)) fcw = static_cast<u16>((fcw & ~0xC00) | (setup.below(4) << 10));
  if (setup.chance(30)) { static const u16 kPc[] = {0x000, 0x200, 0x300}; fcw = static_cast<u16>((fcw & ~0x300) | setup.pick(kPc)); }
  if (setup.chance(3)) fcw = static_cast<u16>(fcw & ~(1u << setup.below(6)));
  // MXCSR: rounding, DAZ, FTZ; rarely an unmasked exception (#XM).
  u32 mxcsr = 0x1F80;
  if (setup.chance(50)) mxcsr = (mxcsr & ~0x6000u) | (setup.below(4) << 13);
  if (setup.chance(25)) mxcsr |= 0x0040;
  if (setup.chance(25)) mxcsr |= 0x8000;
  if (setup.chance(3)) mxcsr &= ~(0x80u << setup.below(6));
  std::memcpy(&f[0], &fcw, 2);
  std::memcpy(&f[24], &mxcsr, 4);
  // The x87 stack: random TOP and tags, values from the hard cases (FXRSTOR recomputes the
  // full tags from the contents). Often empty, as after FNINIT.
  if (setup.chance(60)) {
    u16 top = static_cast<u16>(setup.below(8));
    u16 fsw = static_cast<u16>(top << 11);
    std::memcpy(&f[2], &fsw, 2);
    u8 ftw = 0;
    unsigned depth = setup.below(9);
    for (unsigned k = 0; k < depth; k++) ftw |= static_cast<u8>(1u << ((top + k) & 7));   // ST0..ST(depth-1)
    if (setup.chance(20)) ftw = static_cast<u8>(setup.next());
    f[4] = ftw;
    for (unsigned k = 0; k < 8; k++) {
      if (setup.chance(70)) fp_hard80(setup, &f[32 + 16 * k]);
      else { u64 v = g.value(8); std::memcpy(&f[32 + 16 * k], &v, 8); u16 e = static_cast<u16>(setup.next()); std::memcpy(&f[40 + 16 * k], &e, 2); }
    }
  }
  for (unsigned x = 0; x < 16; x++)
    for (unsigned h = 0; h < 2; h++) {
      u64 v = setup.chance(60) ? fp_hard64(setup) : g.value(8);
      std::memcpy(&f[160 + 16 * x + 8 * h], &v, 8);
    }
  return f;
}

// ---- programs ----

namespace {

// A small pool of floating-point bit patterns for the pages (frozen with fill_pages): zeros,
// ones, infinities, quiet and signalling NaNs, denormal and normal limits, as doubles and as
// pairs of floats.
constexpr u64 kPageFp[] = {
    0x0000000000000000ull, 0x8000000000000000ull, 0x3FF0000000000000ull, 0xBFF0000000000000ull,
    0x7FF0000000000000ull, 0xFFF0000000000000ull, 0x7FF8000000000000ull, 0xFFF8000000000000ull,
    0x7FF0000000000001ull, 0x7FF4000000000000ull, 0x0000000000000001ull, 0x800FFFFFFFFFFFFFull,
    0x0010000000000000ull, 0x7FEFFFFFFFFFFFFFull, 0x41E0000000000000ull, 0xC1E0000000000000ull,
    0x43E0000000000000ull, 0x3FE0000000000000ull, 0x4330000000000000ull, 0x3CB0000000000000ull,
    0x3F8000007F800000ull, 0xFF8000007FC00000ull, 0x7FA0000000000001ull, 0x00800000007FFFFFull,
    0x4F0000004EFFFFFFull, 0xCF000000BF000000ull, 0x3F0000003FC00000ull, 0x80000000FFC00001ull};

}  // namespace

// Frozen (see generator.h).
void fill_pages(u64 page_seed, std::vector<u8>& data, std::vector<u8>& stack) {
  data.assign(kPage, 0);
  stack.assign(kPage, 0);
  Rng r(page_seed);
  constexpr unsigned kPool = sizeof kPageFp / sizeof kPageFp[0];
  for (unsigned i = 0; i < kPage; i += 8) {
    u64 v = r.next(), w = r.next();
    unsigned k = r.below(100);
    if (k < 10) v = 0;
    else if (k < 45) {   // FP operands: a hard case, sometimes one ulp off it
      v = kPageFp[r.below(kPool)];
      if (r.chance(20)) v ^= r.below(4);
    }
    std::memcpy(&data[i], &v, 8);
    std::memcpy(&stack[i], &w, 8);
  }
}


Program generate(u64 seed, Mode mode, const std::vector<const Template*>& enabled, unsigned max_items,
                 unsigned fault_percent, bool cpl3) {
  Program p;
  p.seed = seed;
  p.mode = mode;
  Rng setup(mix_seed(seed, 1));
  unsigned n = 1 + setup.below(max_items);
  Gen g(seed, mode, n);
  g.cpl3 = cpl3;
  for (u64& r : p.gpr) r = g.value(8);
  p.gpr[4] = kStackTop;
  p.rflags = 0x202 | (setup.next() & kArith6) | (setup.chance(20) ? kFlagDF : 0);
  // The pages come from their own seed through a frozen function, so that the recorded
  // corpus can store the seed instead of 8 KiB of page contents (corpus.h).
  p.page_seed = setup.next();
  fill_pages(p.page_seed, p.data, p.stack);
  p.fpu = initial_fpu(setup, g);
  for (unsigned i = 0; i < n; i++) {
    g.item_index = i;
    g.undef |= g.pending_undef[i];
    u64 undef_in = g.undef;
    std::vector<u64> pending_saved = g.pending_undef;
    Item item;
    for (int attempt = 0;; attempt++) {
      const Template* t = enabled[g.rng.below(static_cast<u32>(enabled.size()))];
      g.a = Asm(g.l64);
      g.fixups.clear();
      g.undef = undef_in;
      g.pending_undef = pending_saved;
      g.pending_rip_target = 0;
      g.reserved = 0;
      g.undef_any = undef_in;
      g.mem_lo = 0;
      g.mem_hi = kPage;
      g.fault_percent = fault_percent;
      g.legacy_bytes = true;
      try {
        t->fn(g);
      } catch (const EncodeError&) {
        if (attempt < 20) continue;
        throw;
      }
      item.name = t->name;
      break;
    }
    item.bytes = std::move(g.a.bytes());
    item.fixups = g.fixups;
    item.undef_in = undef_in;
    item.undef_out = g.undef;
    item.undef_any = g.undef_any | g.undef;
    p.items.push_back(std::move(item));
  }
  p.tail = g.tail;
  return p;
}

bool layout(const Program& p, size_t first, size_t last, Case& out) {
  out.seed = p.seed;
  out.mode = p.mode;
  out.page_seed = p.page_seed;
  out.gpr = p.gpr;
  out.rflags = p.rflags;
  out.data = p.data;
  out.stack = p.stack;
  out.fpu = p.fpu;
  out.tail = p.tail;
  out.code.clear();
  out.item_offset.clear(); out.item_undef_in.clear(); out.item_undef_out.clear(); out.item_name.clear();
  out.item_undef_any.clear();
  for (size_t i = first; i < last; i++) {
    out.item_offset.push_back(static_cast<u32>(out.code.size()));
    out.item_undef_in.push_back(p.items[i].undef_in);
    out.item_undef_out.push_back(p.items[i].undef_out);
    out.item_undef_any.push_back(p.items[i].undef_any);
    out.item_name.push_back(p.items[i].name);
    out.code.insert(out.code.end(), p.items[i].bytes.begin(), p.items[i].bytes.end());
  }
  u64 end = out.code.size();
  if (end > kSeqMax) return false;
  out.undef_end = last > first ? p.items[last - 1].undef_out : 0;
  for (size_t i = first; i < last; i++) {
    u64 base = out.item_offset[i - first];
    for (const Fixup& f : p.items[i].fixups) {
      u8* field = &out.code[base + f.at];
      if (f.kind == Fixup::RipDisp) {
        i64 rel = static_cast<i64>(f.target_abs) - static_cast<i64>(kSeqAddr + base + f.insn_end);
        u32 v = static_cast<u32>(rel);
        std::memcpy(field, &v, 4);
        continue;
      }
      bool to_end = f.target_item >= static_cast<int>(last);
      u64 t = to_end ? end : out.item_offset[static_cast<size_t>(f.target_item) - first] + f.target_off;
      if (to_end) out.undef_end |= f.undef;
      i64 rel = static_cast<i64>(t) - static_cast<i64>(base + f.insn_end);
      if (f.kind == Fixup::Rel8) {
        if (rel > 127 || rel < -128) return false;
        *field = static_cast<u8>(rel);
      } else if (f.kind == Fixup::Rel32) {
        u32 v = static_cast<u32>(rel);
        std::memcpy(field, &v, 4);
      } else {
        u32 v = static_cast<u32>(kSeqAddr + t);
        std::memcpy(field, &v, 4);
      }
    }
  }
  return true;
}

}  // namespace rv::oracle
