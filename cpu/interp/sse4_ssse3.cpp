// SSSE3 (SDM Vol.2, per instruction): PSHUFB, PHADDW/D/SW, PHSUBW/D/SW, PMADDUBSW, PSIGNB/W/D,
// PMULHRSW, PABSB/W/D and PALIGNR, in MMX (no prefix) and XMM (66) forms. XMM results come
// from the host's own SSSE3 instructions. MMX forms run the same XMM operation on the 64-bit
// operands placed in an XMM register (never host MMX, which would disturb the host's x87
// state), with the horizontal ones packing destination and source into one register so the
// low 64 bits of the result are the MMX result.
#include "cpu/interp/sse4_core.h"

namespace rv::interp::s4 {
namespace {

using VecOp = V (*)(V, V);

V op_pshufb(V a, V b) { return _mm_shuffle_epi8(a, b); }
V op_phaddw(V a, V b) { return _mm_hadd_epi16(a, b); }
V op_phaddd(V a, V b) { return _mm_hadd_epi32(a, b); }
V op_phaddsw(V a, V b) { return _mm_hadds_epi16(a, b); }
V op_pmaddubsw(V a, V b) { return _mm_maddubs_epi16(a, b); }
V op_phsubw(V a, V b) { return _mm_hsub_epi16(a, b); }
V op_phsubd(V a, V b) { return _mm_hsub_epi32(a, b); }
V op_phsubsw(V a, V b) { return _mm_hsubs_epi16(a, b); }
V op_psignb(V a, V b) { return _mm_sign_epi8(a, b); }
V op_psignw(V a, V b) { return _mm_sign_epi16(a, b); }
V op_psignd(V a, V b) { return _mm_sign_epi32(a, b); }
V op_pmulhrsw(V a, V b) { return _mm_mulhrs_epi16(a, b); }
V op_pabsb(V, V b) { return _mm_abs_epi8(b); }
V op_pabsw(V, V b) { return _mm_abs_epi16(b); }
V op_pabsd(V, V b) { return _mm_abs_epi32(b); }

// XMM form: xmm1 = op(xmm1, xmm2/m128); the memory operand must be 16-byte aligned.
template <VecOp F>
void exec_xmm(Cpu& c, const DecodedInsn& d) {
  sse_check(c);
  V s = src_xmm(c, d);
  xmm_set(c, d.reg, F(xmm_get(c, d.reg), s));
}

// MMX form, element-wise op.
template <VecOp F>
void exec_mmx(Cpu& c, const DecodedInsn& d) {
  mmx_check(c);
  u64 s = src_mm(c, d);
  u64 a = mm_get(c, d.reg & 7);
  mmx_enter(c);
  mm_set(c, d.reg & 7, lo64(F(make_v(a, 0), make_v(s, 0))));
}

// MMX form, horizontal op: result = [pairs of dest, pairs of source].
template <VecOp F>
void exec_mmx_h(Cpu& c, const DecodedInsn& d) {
  mmx_check(c);
  u64 s = src_mm(c, d);
  u64 a = mm_get(c, d.reg & 7);
  mmx_enter(c);
  mm_set(c, d.reg & 7, lo64(F(make_v(a, s), _mm_setzero_si128())));
}

// PSHUFB mm: each result byte is 0 if the index byte's bit 7 is set, otherwise the
// destination byte selected by the index's low three bits.
void exec_PSHUFB_Pq_Qq(Cpu& c, const DecodedInsn& d) {
  mmx_check(c);
  u64 s = src_mm(c, d);
  u64 a = mm_get(c, d.reg & 7);
  u64 r = 0;
  for (unsigned i = 0; i < 8; i++) {
    u8 idx = static_cast<u8>(s >> (8 * i));
    if (!(idx & 0x80)) r |= ((a >> (8 * (idx & 7))) & 0xFF) << (8 * i);
  }
  mmx_enter(c);
  mm_set(c, d.reg & 7, r);
}

// PALIGNR: (dest:src) shifted right by imm8 bytes, low half kept; shifts past the
// concatenation give zero bytes.
void exec_PALIGNR_Pq_Qq_Ib(Cpu& c, const DecodedInsn& d) {
  mmx_check(c);
  u64 s = src_mm(c, d);
  u64 a = mm_get(c, d.reg & 7);
  u8 cat[16];
  std::memcpy(cat, &s, 8);
  std::memcpy(cat + 8, &a, 8);
  u64 r = 0;
  const unsigned sh = static_cast<u8>(d.imm);
  for (unsigned i = 0; i < 8; i++)
    if (sh + i < 16) r |= static_cast<u64>(cat[sh + i]) << (8 * i);
  mmx_enter(c);
  mm_set(c, d.reg & 7, r);
}

// kSlide[j] = j - 16 for 16 <= j < 32, else 0x80 (PSHUFB: zero): a window of it at offset k
// selects bytes k-16.. of a register, zero outside.
alignas(16) constexpr u8 kSlide[64] = {
    0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
    0,    1,    2,    3,    4,    5,    6,    7,    8,    9,    10,   11,   12,   13,   14,   15,
    0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
    0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80};

void exec_PALIGNR_Vdq_Wdq_Ib(Cpu& c, const DecodedInsn& d) {
  sse_check(c);
  V s = src_xmm(c, d);
  V a = xmm_get(c, d.reg);
  // Bytes sh.. of the 32-byte a:s, zero past the end: two PSHUFBs with windows of kSlide
  // (no store and reload of a byte array, which stalls store forwarding).
  const unsigned sh = static_cast<u8>(d.imm);
  V r = _mm_setzero_si128();
  if (sh < 32) {
    r = _mm_or_si128(_mm_shuffle_epi8(s, _mm_loadu_si128(reinterpret_cast<const __m128i*>(kSlide + 16 + sh))),
                     _mm_shuffle_epi8(a, _mm_loadu_si128(reinterpret_cast<const __m128i*>(kSlide + sh))));
  }
  xmm_set(c, d.reg, r);
}

}  // namespace

void register_ssse3(Table& t) {
  auto put = [&t](OpId op, Handler h) { t[static_cast<unsigned>(op)] = h; };
#define RV_PAIR(N, F, MMXFORM)                              \
  put(OpId::N##_Vdq_Wdq, exec_xmm<F>);                      \
  put(OpId::N##_Pq_Qq, MMXFORM<F>);
  RV_PAIR(PHADDW, op_phaddw, exec_mmx_h)
  RV_PAIR(PHADDD, op_phaddd, exec_mmx_h)
  RV_PAIR(PHADDSW, op_phaddsw, exec_mmx_h)
  RV_PAIR(PHSUBW, op_phsubw, exec_mmx_h)
  RV_PAIR(PHSUBD, op_phsubd, exec_mmx_h)
  RV_PAIR(PHSUBSW, op_phsubsw, exec_mmx_h)
  RV_PAIR(PMADDUBSW, op_pmaddubsw, exec_mmx)
  RV_PAIR(PSIGNB, op_psignb, exec_mmx)
  RV_PAIR(PSIGNW, op_psignw, exec_mmx)
  RV_PAIR(PSIGND, op_psignd, exec_mmx)
  RV_PAIR(PMULHRSW, op_pmulhrsw, exec_mmx)
  RV_PAIR(PABSB, op_pabsb, exec_mmx)
  RV_PAIR(PABSW, op_pabsw, exec_mmx)
  RV_PAIR(PABSD, op_pabsd, exec_mmx)
#undef RV_PAIR
  put(OpId::PSHUFB_Vdq_Wdq, exec_xmm<op_pshufb>);
  put(OpId::PSHUFB_Pq_Qq, exec_PSHUFB_Pq_Qq);
  put(OpId::PALIGNR_Pq_Qq_Ib, exec_PALIGNR_Pq_Qq_Ib);
  put(OpId::PALIGNR_Vdq_Wdq_Ib, exec_PALIGNR_Vdq_Wdq_Ib);
}

}  // namespace rv::interp::s4
