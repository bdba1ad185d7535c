// Packed integer arithmetic of MMX (NP 0F xx, MMX registers) and SSE2 (66 0F xx, XMM
// registers): add/sub with wrap and saturation, compares, multiplies, PMADDWD, PSADBW, PAVG,
// PMIN/PMAX, logic, shifts by register and by immediate, PSLLDQ/PSRLDQ, pack/unpack, and the
// PSHUFD/PSHUFHW/PSHUFLW/PSHUFW shuffles. Semantics: SDM Vol.2, per instruction.
//
// One SSE2 operation on a 128-bit vector implements both forms: the MMX form runs it on the
// low 64 bits. Lane-wise operations and PUNPCKL* take the low half of the result directly;
// PUNPCKH* take the high half of the low-half interleave; PACK* pack the concatenation (a, b).
#include "cpu/interp/sse_core.h"

namespace rv::interp {
namespace {

#define RV_OP(name, expr) \
  RV_INLINE V name(V a, V b) { return expr; }
RV_OP(op_paddb, _mm_add_epi8(a, b))
RV_OP(op_paddw, _mm_add_epi16(a, b))
RV_OP(op_paddd, _mm_add_epi32(a, b))
RV_OP(op_paddq, _mm_add_epi64(a, b))
RV_OP(op_psubb, _mm_sub_epi8(a, b))
RV_OP(op_psubw, _mm_sub_epi16(a, b))
RV_OP(op_psubd, _mm_sub_epi32(a, b))
RV_OP(op_psubq, _mm_sub_epi64(a, b))
RV_OP(op_paddsb, _mm_adds_epi8(a, b))
RV_OP(op_paddsw, _mm_adds_epi16(a, b))
RV_OP(op_paddusb, _mm_adds_epu8(a, b))
RV_OP(op_paddusw, _mm_adds_epu16(a, b))
RV_OP(op_psubsb, _mm_subs_epi8(a, b))
RV_OP(op_psubsw, _mm_subs_epi16(a, b))
RV_OP(op_psubusb, _mm_subs_epu8(a, b))
RV_OP(op_psubusw, _mm_subs_epu16(a, b))
RV_OP(op_pcmpeqb, _mm_cmpeq_epi8(a, b))
RV_OP(op_pcmpeqw, _mm_cmpeq_epi16(a, b))
RV_OP(op_pcmpeqd, _mm_cmpeq_epi32(a, b))
RV_OP(op_pcmpgtb, _mm_cmpgt_epi8(a, b))
RV_OP(op_pcmpgtw, _mm_cmpgt_epi16(a, b))
RV_OP(op_pcmpgtd, _mm_cmpgt_epi32(a, b))
RV_OP(op_pmullw, _mm_mullo_epi16(a, b))
RV_OP(op_pmulhw, _mm_mulhi_epi16(a, b))
RV_OP(op_pmulhuw, _mm_mulhi_epu16(a, b))
RV_OP(op_pmuludq, _mm_mul_epu32(a, b))
RV_OP(op_pmaddwd, _mm_madd_epi16(a, b))
RV_OP(op_psadbw, _mm_sad_epu8(a, b))
RV_OP(op_pavgb, _mm_avg_epu8(a, b))
RV_OP(op_pavgw, _mm_avg_epu16(a, b))
RV_OP(op_pminub, _mm_min_epu8(a, b))
RV_OP(op_pmaxub, _mm_max_epu8(a, b))
RV_OP(op_pminsw, _mm_min_epi16(a, b))
RV_OP(op_pmaxsw, _mm_max_epi16(a, b))
RV_OP(op_pand, _mm_and_si128(a, b))
RV_OP(op_pandn, _mm_andnot_si128(a, b))
RV_OP(op_por, _mm_or_si128(a, b))
RV_OP(op_pxor, _mm_xor_si128(a, b))
// Shifts: the count is the low 64 bits of b; counts beyond the lane width give 0 (or the sign).
RV_OP(op_psrlw, _mm_srl_epi16(a, b))
RV_OP(op_psrld, _mm_srl_epi32(a, b))
RV_OP(op_psrlq, _mm_srl_epi64(a, b))
RV_OP(op_psraw, _mm_sra_epi16(a, b))
RV_OP(op_psrad, _mm_sra_epi32(a, b))
RV_OP(op_psllw, _mm_sll_epi16(a, b))
RV_OP(op_pslld, _mm_sll_epi32(a, b))
RV_OP(op_psllq, _mm_sll_epi64(a, b))
RV_OP(op_punpcklbw, _mm_unpacklo_epi8(a, b))
RV_OP(op_punpcklwd, _mm_unpacklo_epi16(a, b))
RV_OP(op_punpckldq, _mm_unpacklo_epi32(a, b))
RV_OP(op_punpcklqdq, _mm_unpacklo_epi64(a, b))
RV_OP(op_punpckhbw, _mm_unpackhi_epi8(a, b))
RV_OP(op_punpckhwd, _mm_unpackhi_epi16(a, b))
RV_OP(op_punpckhdq, _mm_unpackhi_epi32(a, b))
RV_OP(op_punpckhqdq, _mm_unpackhi_epi64(a, b))
RV_OP(op_packsswb, _mm_packs_epi16(a, b))
RV_OP(op_packssdw, _mm_packs_epi32(a, b))
RV_OP(op_packuswb, _mm_packus_epi16(a, b))
#undef RV_OP

// XMM form: xmm, xmm/m128 (aligned).
template <V (*Op)(V, V)>
void exec_x(Cpu& c, const DecodedInsn& d) {
  sse_check(c);
  V b = read_Wx(c, d);
  xmm_set(c, d.reg, Op(xmm_get(c, d.reg), b));
}

// MMX form: mm, mm/m64 (m32 for PUNPCKL*). Kind: 0 lane-wise/PUNPCKL, 1 PUNPCKH, 2 PACK.
enum MmxKind { kLane, kUnpackHigh, kPack };
template <V (*Op)(V, V), MmxKind Kind, unsigned MemSize = 8>
void exec_m(Cpu& c, const DecodedInsn& d) {
  mmx_check(c);
  u64 b = d.mod == 3 ? mm_get(c, d.rm) : c.read_mem(d.seg, c.ea(d), MemSize);
  u64 a = mm_get(c, d.reg);
  u64 r;
  if constexpr (Kind == kLane) r = lo64(Op(v64(a), v64(b)));
  else if constexpr (Kind == kUnpackHigh) r = hi64(Op(v64(a), v64(b)));   // Op: the PUNPCKL* op
  else {
    V ab = make_v(a, b);
    r = lo64(Op(ab, ab));
  }
  to_mmx_state(c);
  mm_set(c, d.reg, r);
}


// Shift by immediate (groups 12-14): the register operand is ModRM.rm.
template <V (*Op)(V, V)>
void exec_shift_imm_x(Cpu& c, const DecodedInsn& d) {
  sse_check(c);
  xmm_set(c, d.rm, Op(xmm_get(c, d.rm), v64(d.imm & 0xFF)));
}
template <V (*Op)(V, V)>
void exec_shift_imm_m(Cpu& c, const DecodedInsn& d) {
  mmx_check(c);
  u64 a = mm_get(c, d.rm);
  to_mmx_state(c);
  mm_set(c, d.rm, lo64(Op(v64(a), v64(d.imm & 0xFF))));
}
// PSRLDQ/PSLLDQ xmm, imm8: whole-register byte shifts; counts above 15 clear the register.
template <bool Left>
void exec_byte_shift(Cpu& c, const DecodedInsn& d) {
  sse_check(c);
  const unsigned n = d.imm & 0xFF;
  u8 src[16], dst[16] = {};
  std::memcpy(src, fx::xmm(c, d.rm), 16);
  if (n < 16) {
    if (Left) std::memcpy(dst + n, src, 16 - n);
    else std::memcpy(dst, src + n, 16 - n);
  }
  std::memcpy(fx::xmm(c, d.rm), dst, 16);
}

// PSHUFD xmm, xmm/m128, imm8: dword i = source dword imm[2i+1:2i].
void exec_PSHUFD_Vx_Wx_Ib(Cpu& c, const DecodedInsn& d) {
  sse_check(c);
  V vs = read_Wx(c, d);
  // PSHUFB with the byte indices of the selected dwords, built in registers (filling an
  // array and reloading it as a vector stalls store forwarding).
  auto idx = [&](unsigned i) { return static_cast<int>(((d.imm >> (2 * i)) & 3) * 0x04040404u + 0x03020100u); };
  xmm_set(c, d.reg, _mm_shuffle_epi8(vs, _mm_setr_epi32(idx(0), idx(1), idx(2), idx(3))));
}
// PSHUFHW / PSHUFLW: shuffle the words of one half, copy the other.
template <bool High>
void exec_pshufxw(Cpu& c, const DecodedInsn& d) {
  sse_check(c);
  V vs = read_Wx(c, d);
  u16 s[8], r[8];
  std::memcpy(s, &vs, 16);
  std::memcpy(r, s, 16);
  const unsigned base = High ? 4 : 0;
  for (unsigned i = 0; i < 4; i++) r[base + i] = s[base + ((d.imm >> (2 * i)) & 3)];
  std::memcpy(fx::xmm(c, d.reg), r, 16);
}
// PSHUFW mm, mm/m64, imm8.
void exec_PSHUFW_Pq_Qq_Ib(Cpu& c, const DecodedInsn& d) {
  mmx_check(c);
  u64 s = read_Qq(c, d), r = 0;
  for (unsigned i = 0; i < 4; i++) r |= ((s >> (16 * ((d.imm >> (2 * i)) & 3))) & 0xFFFF) << (16 * i);
  to_mmx_state(c);
  mm_set(c, d.reg, r);
}

}  // namespace

#define RV_REG(op, ...) t[static_cast<unsigned>(OpId::op)] = __VA_ARGS__
#define RV_PINT(N, n)                               \
  RV_REG(N##_Pq_Qq, exec_m<op_##n, kLane>);         \
  RV_REG(N##_Vx_Wx, exec_x<op_##n>)
void register_sse_int(Table& t) {
  RV_PINT(PADDB, paddb);
  RV_PINT(PADDW, paddw);
  RV_PINT(PADDD, paddd);
  RV_PINT(PADDQ, paddq);
  RV_PINT(PSUBB, psubb);
  RV_PINT(PSUBW, psubw);
  RV_PINT(PSUBD, psubd);
  RV_PINT(PSUBQ, psubq);
  RV_PINT(PADDSB, paddsb);
  RV_PINT(PADDSW, paddsw);
  RV_PINT(PADDUSB, paddusb);
  RV_PINT(PADDUSW, paddusw);
  RV_PINT(PSUBSB, psubsb);
  RV_PINT(PSUBSW, psubsw);
  RV_PINT(PSUBUSB, psubusb);
  RV_PINT(PSUBUSW, psubusw);
  RV_PINT(PCMPEQB, pcmpeqb);
  RV_PINT(PCMPEQW, pcmpeqw);
  RV_PINT(PCMPEQD, pcmpeqd);
  RV_PINT(PCMPGTB, pcmpgtb);
  RV_PINT(PCMPGTW, pcmpgtw);
  RV_PINT(PCMPGTD, pcmpgtd);
  RV_PINT(PMULLW, pmullw);
  RV_PINT(PMULHW, pmulhw);
  RV_PINT(PMULHUW, pmulhuw);
  RV_PINT(PMULUDQ, pmuludq);
  RV_PINT(PMADDWD, pmaddwd);
  RV_PINT(PSADBW, psadbw);
  RV_PINT(PAVGB, pavgb);
  RV_PINT(PAVGW, pavgw);
  RV_PINT(PMINUB, pminub);
  RV_PINT(PMAXUB, pmaxub);
  RV_PINT(PMINSW, pminsw);
  RV_PINT(PMAXSW, pmaxsw);
  RV_PINT(PAND, pand);
  RV_PINT(PANDN, pandn);
  RV_PINT(POR, por);
  RV_PINT(PXOR, pxor);
  RV_PINT(PSRLW, psrlw);
  RV_PINT(PSRLD, psrld);
  RV_PINT(PSRLQ, psrlq);
  RV_PINT(PSRAW, psraw);
  RV_PINT(PSRAD, psrad);
  RV_PINT(PSLLW, psllw);
  RV_PINT(PSLLD, pslld);
  RV_PINT(PSLLQ, psllq);
  RV_REG(PUNPCKLBW_Pq_Qd, exec_m<op_punpcklbw, kLane, 4>);
  RV_REG(PUNPCKLWD_Pq_Qd, exec_m<op_punpcklwd, kLane, 4>);
  RV_REG(PUNPCKLDQ_Pq_Qd, exec_m<op_punpckldq, kLane, 4>);
  RV_REG(PUNPCKLBW_Vx_Wx, exec_x<op_punpcklbw>);
  RV_REG(PUNPCKLWD_Vx_Wx, exec_x<op_punpcklwd>);
  RV_REG(PUNPCKLDQ_Vx_Wx, exec_x<op_punpckldq>);
  RV_REG(PUNPCKLQDQ_Vx_Wx, exec_x<op_punpcklqdq>);
  RV_REG(PUNPCKHBW_Pq_Qq, exec_m<op_punpcklbw, kUnpackHigh>);
  RV_REG(PUNPCKHWD_Pq_Qq, exec_m<op_punpcklwd, kUnpackHigh>);
  RV_REG(PUNPCKHDQ_Pq_Qq, exec_m<op_punpckldq, kUnpackHigh>);
  RV_REG(PUNPCKHBW_Vx_Wx, exec_x<op_punpckhbw>);
  RV_REG(PUNPCKHWD_Vx_Wx, exec_x<op_punpckhwd>);
  RV_REG(PUNPCKHDQ_Vx_Wx, exec_x<op_punpckhdq>);
  RV_REG(PUNPCKHQDQ_Vx_Wx, exec_x<op_punpckhqdq>);
  RV_REG(PACKSSWB_Pq_Qq, exec_m<op_packsswb, kPack>);
  RV_REG(PACKSSDW_Pq_Qq, exec_m<op_packssdw, kPack>);
  RV_REG(PACKUSWB_Pq_Qq, exec_m<op_packuswb, kPack>);
  RV_REG(PACKSSWB_Vx_Wx, exec_x<op_packsswb>);
  RV_REG(PACKSSDW_Vx_Wx, exec_x<op_packssdw>);
  RV_REG(PACKUSWB_Vx_Wx, exec_x<op_packuswb>);
#define RV_SHIFT_IMM(N, n)                              \
  RV_REG(N##_Nq_Ib, exec_shift_imm_m<op_##n>);          \
  RV_REG(N##_Ux_Ib, exec_shift_imm_x<op_##n>)
  RV_SHIFT_IMM(PSRLW, psrlw);
  RV_SHIFT_IMM(PSRAW, psraw);
  RV_SHIFT_IMM(PSLLW, psllw);
  RV_SHIFT_IMM(PSRLD, psrld);
  RV_SHIFT_IMM(PSRAD, psrad);
  RV_SHIFT_IMM(PSLLD, pslld);
  RV_SHIFT_IMM(PSRLQ, psrlq);
  RV_SHIFT_IMM(PSLLQ, psllq);
#undef RV_SHIFT_IMM
  RV_REG(PSRLDQ_Ux_Ib, exec_byte_shift<false>);
  RV_REG(PSLLDQ_Ux_Ib, exec_byte_shift<true>);
  RV_REG(PSHUFD_Vx_Wx_Ib, exec_PSHUFD_Vx_Wx_Ib);
  RV_REG(PSHUFHW_Vx_Wx_Ib, exec_pshufxw<true>);
  RV_REG(PSHUFLW_Vx_Wx_Ib, exec_pshufxw<false>);
  RV_REG(PSHUFW_Pq_Qq_Ib, exec_PSHUFW_Pq_Qq_Ib);
}
#undef RV_PINT
#undef RV_REG

}  // namespace rv::interp
