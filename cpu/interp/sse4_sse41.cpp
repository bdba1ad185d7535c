// SSE4.1 integer and data-movement instructions (SDM Vol.2, per instruction): PBLENDVB,
// BLENDVPS/PD, BLENDPS/PD, PBLENDW, PTEST, PMOVSX*/PMOVZX*, PMULDQ, PCMPEQQ, MOVNTDQA,
// PACKUSDW, PMINxx/PMAXxx, PMULLD, PHMINPOSUW, MPSADBW, PEXTRB/W/D/Q, EXTRACTPS, PINSRB/D/Q,
// INSERTPS; and SSE4.2's PCMPGTQ. Results come from the host's SSE4.1/4.2 instructions.
#include "cpu/interp/sse4_core.h"

namespace rv::interp::s4 {
namespace {

using VecOp = V (*)(V, V);

V op_pmuldq(V a, V b) { return _mm_mul_epi32(a, b); }
V op_pcmpeqq(V a, V b) { return _mm_cmpeq_epi64(a, b); }
V op_packusdw(V a, V b) { return _mm_packus_epi32(a, b); }
V op_pcmpgtq(V a, V b) { return _mm_cmpgt_epi64(a, b); }
V op_pminsb(V a, V b) { return _mm_min_epi8(a, b); }
V op_pminsd(V a, V b) { return _mm_min_epi32(a, b); }
V op_pminuw(V a, V b) { return _mm_min_epu16(a, b); }
V op_pminud(V a, V b) { return _mm_min_epu32(a, b); }
V op_pmaxsb(V a, V b) { return _mm_max_epi8(a, b); }
V op_pmaxsd(V a, V b) { return _mm_max_epi32(a, b); }
V op_pmaxuw(V a, V b) { return _mm_max_epu16(a, b); }
V op_pmaxud(V a, V b) { return _mm_max_epu32(a, b); }
V op_pmulld(V a, V b) { return _mm_mullo_epi32(a, b); }
V op_phminposuw(V, V b) { return _mm_minpos_epu16(b); }
V op_movntdqa(V, V b) { return b; }   // a non-temporal hint only: an ordinary aligned load

// The implicit-XMM0 blends: byte / dword / qword selected by the mask element's sign bit.
template <int kKind>
V blendv(V a, V b, V m) {
  if constexpr (kKind == 0) return _mm_blendv_epi8(a, b, m);
  else if constexpr (kKind == 1) return _mm_castps_si128(_mm_blendv_ps(_mm_castsi128_ps(a), _mm_castsi128_ps(b), _mm_castsi128_ps(m)));
  else return _mm_castpd_si128(_mm_blendv_pd(_mm_castsi128_pd(a), _mm_castsi128_pd(b), _mm_castsi128_pd(m)));
}

V op_pmovsxbw(V, V b) { return _mm_cvtepi8_epi16(b); }
V op_pmovsxbd(V, V b) { return _mm_cvtepi8_epi32(b); }
V op_pmovsxbq(V, V b) { return _mm_cvtepi8_epi64(b); }
V op_pmovsxwd(V, V b) { return _mm_cvtepi16_epi32(b); }
V op_pmovsxwq(V, V b) { return _mm_cvtepi16_epi64(b); }
V op_pmovsxdq(V, V b) { return _mm_cvtepi32_epi64(b); }
V op_pmovzxbw(V, V b) { return _mm_cvtepu8_epi16(b); }
V op_pmovzxbd(V, V b) { return _mm_cvtepu8_epi32(b); }
V op_pmovzxbq(V, V b) { return _mm_cvtepu8_epi64(b); }
V op_pmovzxwd(V, V b) { return _mm_cvtepu16_epi32(b); }
V op_pmovzxwq(V, V b) { return _mm_cvtepu16_epi64(b); }
V op_pmovzxdq(V, V b) { return _mm_cvtepu32_epi64(b); }

// xmm1 = op(xmm1, xmm2/m128), aligned memory.
template <VecOp F>
void exec_xmm(Cpu& c, const DecodedInsn& d) {
  sse_check(c);
  V s = src_xmm(c, d);
  xmm_set(c, d.reg, F(xmm_get(c, d.reg), s));
}

// PMOVSX/PMOVZX: the memory form reads only the bytes it widens, without alignment rule.
template <VecOp F, unsigned kBytes>
void exec_pmov(Cpu& c, const DecodedInsn& d) {
  sse_check(c);
  V s = src_xmm_narrow(c, d, kBytes);
  xmm_set(c, d.reg, F(_mm_setzero_si128(), s));
}

template <int kKind>
void exec_blendv(Cpu& c, const DecodedInsn& d) {
  sse_check(c);
  V s = src_xmm(c, d);
  xmm_set(c, d.reg, blendv<kKind>(xmm_get(c, d.reg), s, xmm_get(c, 0)));
}

// BLENDPS/BLENDPD/PBLENDW: element i from the source when imm8 bit i is set.
template <unsigned kElemBytes>
void exec_blend_imm(Cpu& c, const DecodedInsn& d) {
  sse_check(c);
  V s = src_xmm(c, d);
  V a = xmm_get(c, d.reg);
  u8 ab[16], sb[16];
  std::memcpy(ab, &a, 16);
  std::memcpy(sb, &s, 16);
  for (unsigned i = 0; i < 16 / kElemBytes; i++)
    if ((d.imm >> i) & 1) std::memcpy(ab + i * kElemBytes, sb + i * kElemBytes, kElemBytes);
  std::memcpy(&a, ab, 16);
  xmm_set(c, d.reg, a);
}

// PTEST: ZF = (src AND dest) == 0, CF = (src AND NOT dest) == 0; AF OF PF SF cleared.
void exec_PTEST_Vdq_Wdq(Cpu& c, const DecodedInsn& d) {
  sse_check(c);
  V s = src_xmm(c, d);
  V a = xmm_get(c, d.reg);
  u64 f = 0;
  if (_mm_testz_si128(a, s)) f |= kFlagZF;
  if (_mm_testc_si128(a, s)) f |= kFlagCF;
  c.set_arith_flags(f, kArithFlags);
}

// MPSADBW: the block offsets are imm8[2] (destination) and imm8[1:0] (source).
struct Mpsadbw {
  template <int I> static V run(V a, V b) { return _mm_mpsadbw_epu8(a, b, I); }
};
constexpr auto kMpsadbw = imm_table<Mpsadbw, 8>();
void exec_MPSADBW_Vdq_Wdq_Ib(Cpu& c, const DecodedInsn& d) {
  sse_check(c);
  V s = src_xmm(c, d);
  xmm_set(c, d.reg, kMpsadbw[d.imm & 7](xmm_get(c, d.reg), s));
}

// ---- extracts: register destinations are zero-extended (SDM: "upper bits of r64 zeroed") ----
template <unsigned kBytes>
void extract(Cpu& c, const DecodedInsn& d, unsigned index_mask, unsigned size_reg) {
  V s = xmm_get(c, d.reg);
  u8 b[16];
  std::memcpy(b, &s, 16);
  u64 v = 0;
  std::memcpy(&v, b + (d.imm & index_mask) * kBytes, kBytes);
  if (d.mod == 3) c.write_reg(d.rm, size_reg, d.rex, v);
  else c.write_mem(d.seg, c.ea(d), kBytes, v);
}
void exec_PEXTRB(Cpu& c, const DecodedInsn& d) {
  sse_check(c);
  extract<1>(c, d, 15, 4);
}
void exec_PEXTRW(Cpu& c, const DecodedInsn& d) {
  sse_check(c);
  extract<2>(c, d, 7, 4);
}
void exec_PEXTRD(Cpu& c, const DecodedInsn& d) {
  sse_check(c);
  if (d.rex & 8) extract<8>(c, d, 1, 8);   // PEXTRQ
  else extract<4>(c, d, 3, 4);
}
void exec_EXTRACTPS(Cpu& c, const DecodedInsn& d) {
  sse_check(c);
  extract<4>(c, d, 3, 4);
}

// ---- inserts ----
template <unsigned kBytes>
void insert(Cpu& c, const DecodedInsn& d, unsigned index_mask) {
  u64 v = d.mod == 3 ? c.read_reg(d.rm, kBytes == 1 ? 4 : kBytes, d.rex) : c.read_mem(d.seg, c.ea(d), kBytes);
  V a = xmm_get(c, d.reg);
  u8 b[16];
  std::memcpy(b, &a, 16);
  std::memcpy(b + (d.imm & index_mask) * kBytes, &v, kBytes);
  std::memcpy(&a, b, 16);
  xmm_set(c, d.reg, a);
}
void exec_PINSRB(Cpu& c, const DecodedInsn& d) {
  sse_check(c);
  insert<1>(c, d, 15);
}
void exec_PINSRD(Cpu& c, const DecodedInsn& d) {
  sse_check(c);
  if (d.rex & 8) insert<8>(c, d, 1);   // PINSRQ
  else insert<4>(c, d, 3);
}
// INSERTPS: element imm8[7:6] of the register source (or the m32), into element imm8[5:4];
// then elements whose imm8[3:0] bit is set are zeroed.
void exec_INSERTPS(Cpu& c, const DecodedInsn& d) {
  sse_check(c);
  u32 v;
  if (d.mod == 3) {
    V s = xmm_get(c, d.rm);
    u32 e[4];
    std::memcpy(e, &s, 16);
    v = e[(d.imm >> 6) & 3];
  } else {
    v = static_cast<u32>(c.read_mem(d.seg, c.ea(d), 4));
  }
  V a = xmm_get(c, d.reg);
  u32 e[4];
  std::memcpy(e, &a, 16);
  e[(d.imm >> 4) & 3] = v;
  for (unsigned i = 0; i < 4; i++)
    if ((d.imm >> i) & 1) e[i] = 0;
  std::memcpy(&a, e, 16);
  xmm_set(c, d.reg, a);
}

}  // namespace

void register_sse41(Table& t) {
  auto put = [&t](OpId op, Handler h) { t[static_cast<unsigned>(op)] = h; };
  put(OpId::PMULDQ_Vdq_Wdq, exec_xmm<op_pmuldq>);
  put(OpId::PCMPEQQ_Vdq_Wdq, exec_xmm<op_pcmpeqq>);
  put(OpId::PACKUSDW_Vdq_Wdq, exec_xmm<op_packusdw>);
  put(OpId::PCMPGTQ_Vdq_Wdq, exec_xmm<op_pcmpgtq>);
  put(OpId::PMINSB_Vdq_Wdq, exec_xmm<op_pminsb>);
  put(OpId::PMINSD_Vdq_Wdq, exec_xmm<op_pminsd>);
  put(OpId::PMINUW_Vdq_Wdq, exec_xmm<op_pminuw>);
  put(OpId::PMINUD_Vdq_Wdq, exec_xmm<op_pminud>);
  put(OpId::PMAXSB_Vdq_Wdq, exec_xmm<op_pmaxsb>);
  put(OpId::PMAXSD_Vdq_Wdq, exec_xmm<op_pmaxsd>);
  put(OpId::PMAXUW_Vdq_Wdq, exec_xmm<op_pmaxuw>);
  put(OpId::PMAXUD_Vdq_Wdq, exec_xmm<op_pmaxud>);
  put(OpId::PMULLD_Vdq_Wdq, exec_xmm<op_pmulld>);
  put(OpId::PHMINPOSUW_Vdq_Wdq, exec_xmm<op_phminposuw>);
  put(OpId::MOVNTDQA_Vdq_Mdq, exec_xmm<op_movntdqa>);
  put(OpId::PBLENDVB_Vdq_Wdq, exec_blendv<0>);
  put(OpId::BLENDVPS_Vps_Wps, exec_blendv<1>);
  put(OpId::BLENDVPD_Vpd_Wpd, exec_blendv<2>);
  put(OpId::BLENDPS_Vps_Wps_Ib, exec_blend_imm<4>);
  put(OpId::BLENDPD_Vpd_Wpd_Ib, exec_blend_imm<8>);
  put(OpId::PBLENDW_Vdq_Wdq_Ib, exec_blend_imm<2>);
  put(OpId::PTEST_Vdq_Wdq, exec_PTEST_Vdq_Wdq);
  put(OpId::PMOVSXBW_Vdq_Wq, exec_pmov<op_pmovsxbw, 8>);
  put(OpId::PMOVSXBD_Vdq_Wd, exec_pmov<op_pmovsxbd, 4>);
  put(OpId::PMOVSXBQ_Vdq_Ww, exec_pmov<op_pmovsxbq, 2>);
  put(OpId::PMOVSXWD_Vdq_Wq, exec_pmov<op_pmovsxwd, 8>);
  put(OpId::PMOVSXWQ_Vdq_Wd, exec_pmov<op_pmovsxwq, 4>);
  put(OpId::PMOVSXDQ_Vdq_Wq, exec_pmov<op_pmovsxdq, 8>);
  put(OpId::PMOVZXBW_Vdq_Wq, exec_pmov<op_pmovzxbw, 8>);
  put(OpId::PMOVZXBD_Vdq_Wd, exec_pmov<op_pmovzxbd, 4>);
  put(OpId::PMOVZXBQ_Vdq_Ww, exec_pmov<op_pmovzxbq, 2>);
  put(OpId::PMOVZXWD_Vdq_Wq, exec_pmov<op_pmovzxwd, 8>);
  put(OpId::PMOVZXWQ_Vdq_Wd, exec_pmov<op_pmovzxwq, 4>);
  put(OpId::PMOVZXDQ_Vdq_Wq, exec_pmov<op_pmovzxdq, 8>);
  put(OpId::MPSADBW_Vdq_Wdq_Ib, exec_MPSADBW_Vdq_Wdq_Ib);
  put(OpId::PEXTRB_Rd_Mb_Vdq_Ib, exec_PEXTRB);
  put(OpId::PEXTRW_Rd_Mw_Vdq_Ib, exec_PEXTRW);
  put(OpId::PEXTRD_Ey_Vdq_Ib, exec_PEXTRD);
  put(OpId::EXTRACTPS_Ed_Vdq_Ib, exec_EXTRACTPS);
  put(OpId::PINSRB_Vdq_Rd_Mb_Ib, exec_PINSRB);
  put(OpId::PINSRD_Vdq_Ey_Ib, exec_PINSRD);
  put(OpId::INSERTPS_Vdq_Wd_Ib, exec_INSERTPS);
}

}  // namespace rv::interp::s4
