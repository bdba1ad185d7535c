// SSE4.2 string compares PCMPESTRI/PCMPESTRM/PCMPISTRI/PCMPISTRM (SDM Vol.2 §4.1 and per
// instruction) and CRC32. The string compares run on the host's own instruction, one
// instantiation per imm8 value (the immediate is encoded in the instruction), so every mode
// and the flags are the hardware's. PCMPGTQ lives in sse4_sse41.cpp with the other
// element-wise compares.
#include "cpu/interp/sse4_core.h"

namespace rv::interp::s4 {
namespace {

// CF ZF SF OF as the instruction sets them; AF and PF are cleared (SDM §4.1.6).
inline u64 str_flags(u8 cf, u8 zf, u8 sf, u8 of) {
  u64 f = 0;
  if (cf) f |= kFlagCF;
  if (zf) f |= kFlagZF;
  if (sf) f |= kFlagSF;
  if (of) f |= kFlagOF;
  return f;
}

struct StrOut {
  V mask;     // xmm0 for the M forms
  u32 index;  // ecx for the I forms
  u64 flags;
};

struct Pcmpestri {
  template <int I> static StrOut run(V a, V b, u32 la, u32 lb) {
    u32 idx;
    u8 cf, zf, sf, of;
    asm("pcmpestri %[imm], %[b], %[a]\n\tsetc %[cf]\n\tsetz %[zf]\n\tsets %[sf]\n\tseto %[of]"
        : "=c"(idx), [cf] "=&q"(cf), [zf] "=&q"(zf), [sf] "=&q"(sf), [of] "=&q"(of)
        : [a] "x"(a), [b] "x"(b), "a"(la), "d"(lb), [imm] "i"(I)
        : "cc");
    return {_mm_setzero_si128(), idx, str_flags(cf, zf, sf, of)};
  }
};
struct Pcmpestrm {
  template <int I> static StrOut run(V a, V b, u32 la, u32 lb) {
    V m;
    u8 cf, zf, sf, of;
    asm("pcmpestrm %[imm], %[b], %[a]\n\tsetc %[cf]\n\tsetz %[zf]\n\tsets %[sf]\n\tseto %[of]"
        : "=Yz"(m), [cf] "=&q"(cf), [zf] "=&q"(zf), [sf] "=&q"(sf), [of] "=&q"(of)
        : [a] "x"(a), [b] "x"(b), "a"(la), "d"(lb), [imm] "i"(I)
        : "cc");
    return {m, 0, str_flags(cf, zf, sf, of)};
  }
};
struct Pcmpistri {
  template <int I> static StrOut run(V a, V b, u32, u32) {
    u32 idx;
    u8 cf, zf, sf, of;
    asm("pcmpistri %[imm], %[b], %[a]\n\tsetc %[cf]\n\tsetz %[zf]\n\tsets %[sf]\n\tseto %[of]"
        : "=c"(idx), [cf] "=&q"(cf), [zf] "=&q"(zf), [sf] "=&q"(sf), [of] "=&q"(of)
        : [a] "x"(a), [b] "x"(b), [imm] "i"(I)
        : "cc");
    return {_mm_setzero_si128(), idx, str_flags(cf, zf, sf, of)};
  }
};
struct Pcmpistrm {
  template <int I> static StrOut run(V a, V b, u32, u32) {
    V m;
    u8 cf, zf, sf, of;
    asm("pcmpistrm %[imm], %[b], %[a]\n\tsetc %[cf]\n\tsetz %[zf]\n\tsets %[sf]\n\tseto %[of]"
        : "=Yz"(m), [cf] "=&q"(cf), [zf] "=&q"(zf), [sf] "=&q"(sf), [of] "=&q"(of)
        : [a] "x"(a), [b] "x"(b), [imm] "i"(I)
        : "cc");
    return {m, 0, str_flags(cf, zf, sf, of)};
  }
};
constexpr auto kPcmpestri = imm_table<Pcmpestri, 256>();
constexpr auto kPcmpestrm = imm_table<Pcmpestrm, 256>();
constexpr auto kPcmpistri = imm_table<Pcmpistri, 256>();
constexpr auto kPcmpistrm = imm_table<Pcmpistrm, 256>();

// Explicit length: EAX/EDX (RAX/RDX with REX.W) as signed integers; the absolute value
// saturates at the element count, 16 bytes or 8 words (SDM §4.1.1). The host instruction
// sees the already-saturated value, which it treats identically.
inline u32 explicit_len(Cpu& c, u8 r, bool w, unsigned imm) {
  const u64 v = c.gpr(r);
  const i64 sv = w ? static_cast<i64>(v) : static_cast<i64>(static_cast<i32>(v));
  const u64 mag = sv < 0 ? 0 - static_cast<u64>(sv) : static_cast<u64>(sv);
  const u64 lim = (imm & 1) ? 8 : 16;
  return static_cast<u32>(mag > lim ? lim : mag);
}

// xmm1 = first operand (register), xmm2/m128 = second; the memory operand may be unaligned.
template <const auto& kTable, bool kExplicit, bool kIndex>
void exec_pcmpstr(Cpu& c, const DecodedInsn& d) {
  sse_check(c);
  V b = src_xmm(c, d, false);
  V a = xmm_get(c, d.reg);
  const unsigned imm = static_cast<u8>(d.imm);
  u32 la = 0, lb = 0;
  if constexpr (kExplicit) {
    const bool w = d.rex & 8;
    la = explicit_len(c, RAX, w, imm);
    lb = explicit_len(c, RDX, w, imm);
  }
  StrOut o = kTable[imm](a, b, la, lb);
  if constexpr (kIndex) c.write_reg(RCX, 4, false, o.index);
  else xmm_set(c, 0, o.mask);
  c.set_arith_flags(o.flags, kArithFlags);
}

// CRC32 (CRC-32C, polynomial 11EDC6F41h) accumulates the source into the low 32 bits of the
// destination; the result is zero-extended. Flags are unaffected. Not an SSE-state
// instruction: no CR0/CR4 checks.
void exec_CRC32_Gy_Eb(Cpu& c, const DecodedInsn& d) {
  const u8 v = static_cast<u8>(c.read_E(d, 1));
  const u32 crc = static_cast<u32>(c.gpr(d.reg));
  c.write_reg(d.reg, 4, false, _mm_crc32_u8(crc, v));
}
void exec_CRC32_Gy_Ev(Cpu& c, const DecodedInsn& d) {
  const unsigned size = d.osize;
  const u64 v = c.read_E(d, size);
  const u32 crc = static_cast<u32>(c.gpr(d.reg));
  u32 r;
  switch (size) {
    case 2: r = _mm_crc32_u16(crc, static_cast<u16>(v)); break;
    case 4: r = _mm_crc32_u32(crc, static_cast<u32>(v)); break;
    default: r = static_cast<u32>(_mm_crc32_u64(crc, v)); break;
  }
  c.write_reg(d.reg, 4, false, r);
}

}  // namespace

void register_sse42(Table& t) {
  auto put = [&t](OpId op, Handler h) { t[static_cast<unsigned>(op)] = h; };
  put(OpId::PCMPESTRI_Vdq_Wdq_Ib, exec_pcmpstr<kPcmpestri, true, true>);
  put(OpId::PCMPESTRM_Vdq_Wdq_Ib, exec_pcmpstr<kPcmpestrm, true, false>);
  put(OpId::PCMPISTRI_Vdq_Wdq_Ib, exec_pcmpstr<kPcmpistri, false, true>);
  put(OpId::PCMPISTRM_Vdq_Wdq_Ib, exec_pcmpstr<kPcmpistrm, false, false>);
  put(OpId::CRC32_Gy_Eb, exec_CRC32_Gy_Eb);
  put(OpId::CRC32_Gy_Ev, exec_CRC32_Gy_Ev);
}

}  // namespace rv::interp::s4
