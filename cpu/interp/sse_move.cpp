// SSE/SSE2/SSE3 data movement: MOVUPS/UPD/APS/APD/DQA/DQU, MOVSS/SD, MOVLPS/HPS/LPD/HPD,
// MOVHLPS/LHPS, MOVSLDUP/SHDUP/DDUP, LDDQU, the non-temporal stores, MOVD/MOVQ to and from XMM
// registers, MOVQ2DQ/MOVDQ2Q, MOVMSKPS/PD, PMOVMSKB, PINSRW/PEXTRW and MASKMOVDQU/MASKMOVQ.
// Semantics: SDM Vol.2, per instruction. Alignment: SDM Vol.1 §11.4.1 (legacy SSE m128 operands
// must be 16-byte aligned except MOVUPS/MOVUPD/MOVDQU/LDDQU).
#include "cpu/interp/sse_core.h"

namespace rv::interp {
namespace {

// Full 128-bit loads and stores; `Aligned` selects the #GP(0) alignment check.
template <bool Aligned>
void exec_load128(Cpu& c, const DecodedInsn& d) {
  sse_check(c);
  xmm_set(c, d.reg, read_Wx(c, d, Aligned));
}
template <bool Aligned>
void exec_store128(Cpu& c, const DecodedInsn& d) {
  sse_check(c);
  V v = xmm_get(c, d.reg);
  if (d.mod == 3) xmm_set(c, d.rm, v);
  else write_m128(c, d, v, Aligned);
}
void exec_LDDQU_Vx_Mx(Cpu& c, const DecodedInsn& d) {
  sse_check(c);
  xmm_set(c, d.reg, read_m128(c, d, false));
}

// MOVSS/MOVSD: register form merges the low element, load form zeroes the rest.
template <unsigned Size>
void exec_movs_load(Cpu& c, const DecodedInsn& d) {
  sse_check(c);
  if (d.mod != 3) return xmm_set(c, d.reg, v64(c.read_mem(d.seg, c.ea(d), Size)));
  V dst = xmm_get(c, d.reg), src = xmm_get(c, d.rm);
  if constexpr (Size == 4) dst = vi(_mm_move_ss(ps(dst), ps(src)));
  else dst = vi(_mm_move_sd(pd(dst), pd(src)));
  xmm_set(c, d.reg, dst);
}
template <unsigned Size>
void exec_movs_store(Cpu& c, const DecodedInsn& d) {
  sse_check(c);
  V src = xmm_get(c, d.reg);
  if (d.mod != 3) return c.write_mem(d.seg, c.ea(d), Size, lo64(src));
  V dst = xmm_get(c, d.rm);
  if constexpr (Size == 4) dst = vi(_mm_move_ss(ps(dst), ps(src)));
  else dst = vi(_mm_move_sd(pd(dst), pd(src)));
  xmm_set(c, d.rm, dst);
}

// 64-bit halves.
void exec_MOVHLPS_Vq_Uq(Cpu& c, const DecodedInsn& d) {
  sse_check(c);
  V dst = xmm_get(c, d.reg);
  xmm_set(c, d.reg, make_v(hi64(xmm_get(c, d.rm)), hi64(dst)));
}
void exec_MOVLHPS_Vq_Uq(Cpu& c, const DecodedInsn& d) {
  sse_check(c);
  V dst = xmm_get(c, d.reg);
  xmm_set(c, d.reg, make_v(lo64(dst), lo64(xmm_get(c, d.rm))));
}
void exec_movl_load(Cpu& c, const DecodedInsn& d) {   // MOVLPS/MOVLPD xmm, m64
  sse_check(c);
  u64 m = c.read_mem(d.seg, c.ea(d), 8);
  xmm_set(c, d.reg, make_v(m, hi64(xmm_get(c, d.reg))));
}
void exec_movh_load(Cpu& c, const DecodedInsn& d) {   // MOVHPS/MOVHPD xmm, m64
  sse_check(c);
  u64 m = c.read_mem(d.seg, c.ea(d), 8);
  xmm_set(c, d.reg, make_v(lo64(xmm_get(c, d.reg)), m));
}
void exec_movl_store(Cpu& c, const DecodedInsn& d) {
  sse_check(c);
  c.write_mem(d.seg, c.ea(d), 8, lo64(xmm_get(c, d.reg)));
}
void exec_movh_store(Cpu& c, const DecodedInsn& d) {
  sse_check(c);
  c.write_mem(d.seg, c.ea(d), 8, hi64(xmm_get(c, d.reg)));
}

// SSE3 duplicating loads.
void exec_MOVSLDUP_Vps_Wps(Cpu& c, const DecodedInsn& d) {
  sse_check(c);
  xmm_set(c, d.reg, _mm_shuffle_epi32(read_Wx(c, d), 0xA0));
}
void exec_MOVSHDUP_Vps_Wps(Cpu& c, const DecodedInsn& d) {
  sse_check(c);
  xmm_set(c, d.reg, _mm_shuffle_epi32(read_Wx(c, d), 0xF5));
}
void exec_MOVDDUP_Vpd_Wq(Cpu& c, const DecodedInsn& d) {
  sse_check(c);
  u64 lo = lo64(read_Wq(c, d));
  xmm_set(c, d.reg, make_v(lo, lo));
}

// MOVNTI m32/m64, r: a general-purpose instruction (no SSE state checks).
void exec_MOVNTI_My_Gy(Cpu& c, const DecodedInsn& d) {
  unsigned size = (d.rex & 8) ? 8 : 4;
  c.write_mem(d.seg, c.ea(d), size, c.read_reg(d.reg, size, d.rex));
}

// MOVD/MOVQ between XMM and r/m32, r/m64 (66 0F 6E / 7E; REX.W selects 64 bits).
void exec_MOVD_Vy_Ey(Cpu& c, const DecodedInsn& d) {
  sse_check(c);
  xmm_set(c, d.reg, v64(c.read_E(d, (d.rex & 8) ? 8 : 4)));
}
void exec_MOVD_Ey_Vy(Cpu& c, const DecodedInsn& d) {
  sse_check(c);
  c.write_E(d, (d.rex & 8) ? 8 : 4, lo64(xmm_get(c, d.reg)));
}
void exec_MOVQ_Vq_Wq(Cpu& c, const DecodedInsn& d) {   // F3 0F 7E
  sse_check(c);
  xmm_set(c, d.reg, v64(lo64(read_Wq(c, d))));
}
void exec_MOVQ_Wq_Vq(Cpu& c, const DecodedInsn& d) {   // 66 0F D6
  sse_check(c);
  u64 v = lo64(xmm_get(c, d.reg));
  if (d.mod == 3) xmm_set(c, d.rm, v64(v));
  else c.write_mem(d.seg, c.ea(d), 8, v);
}
void exec_MOVQ2DQ_Vdq_Nq(Cpu& c, const DecodedInsn& d) {
  sse_mmx_check(c);
  u64 v = mm_get(c, d.rm);
  to_mmx_state(c);
  xmm_set(c, d.reg, v64(v));
}
void exec_MOVDQ2Q_Pq_Uq(Cpu& c, const DecodedInsn& d) {
  sse_mmx_check(c);
  to_mmx_state(c);
  mm_set(c, d.reg, lo64(xmm_get(c, d.rm)));
}

// Sign masks into a 32-bit register (upper bits of a 64-bit register cleared).
void exec_MOVMSKPS_Gy_Ups(Cpu& c, const DecodedInsn& d) {
  sse_check(c);
  c.write_reg(d.reg, 4, d.rex, static_cast<u32>(_mm_movemask_ps(ps(xmm_get(c, d.rm)))));
}
void exec_MOVMSKPD_Gy_Upd(Cpu& c, const DecodedInsn& d) {
  sse_check(c);
  c.write_reg(d.reg, 4, d.rex, static_cast<u32>(_mm_movemask_pd(pd(xmm_get(c, d.rm)))));
}
void exec_PMOVMSKB_Gd_Ux(Cpu& c, const DecodedInsn& d) {
  sse_check(c);
  c.write_reg(d.reg, 4, d.rex, static_cast<u32>(_mm_movemask_epi8(xmm_get(c, d.rm))));
}

// PINSRW/PEXTRW, XMM forms (the MMX forms are in mmx.cpp).
void exec_PINSRW_Vx_Ew_Ib(Cpu& c, const DecodedInsn& d) {
  sse_check(c);
  u16 w = static_cast<u16>(c.read_E(d, 2));
  u8 b[16];
  std::memcpy(b, fx::xmm(c, d.reg), 16);
  std::memcpy(b + 2 * (d.imm & 7), &w, 2);
  std::memcpy(fx::xmm(c, d.reg), b, 16);
}
void exec_PEXTRW_Gd_Ux_Ib(Cpu& c, const DecodedInsn& d) {
  sse_check(c);
  u16 w;
  std::memcpy(&w, fx::xmm(c, d.rm) + 2 * (d.imm & 7), 2);
  c.write_reg(d.reg, 4, d.rex, w);
}

}  // namespace

// Byte-masked store to DS:rDI (MASKMOVQ/MASKMOVDQU, SDM Vol.2). The whole destination is
// probed first so a fault leaves memory untouched. With an all-zero mask the SDM leaves
// faults implementation-specific; like the hosts we compare with, the segment checks still
// apply (a CS override #GPs) but no page is touched.
void masked_store(Cpu& c, const DecodedInsn& d, const u8* data, const u8* mask, unsigned n) {
  u64 off = c.gpr(RDI) & kSizeMask[d.asize];
  bool any = false;
  for (unsigned i = 0; i < n; i++) any |= (mask[i] & 0x80) != 0;
  if (!any) {
    c.seg_linear(d.seg, off, n, Access::Write);
    return;
  }
  probe_store(c, d, off, n);
  for (unsigned i = 0; i < n; i++)
    if (mask[i] & 0x80) c.write_mem(d.seg, off + i, 1, data[i]);
}

namespace {
void exec_MASKMOVDQU_Vdq_Udq(Cpu& c, const DecodedInsn& d) {
  sse_check(c);
  masked_store(c, d, fx::xmm(c, d.reg), fx::xmm(c, d.rm), 16);
}
}  // namespace

#define RV_REG(op, fn) t[static_cast<unsigned>(OpId::op)] = fn
void register_sse_move(Table& t) {
  RV_REG(MOVUPS_Vps_Wps, exec_load128<false>);
  RV_REG(MOVUPD_Vpd_Wpd, exec_load128<false>);
  RV_REG(MOVDQU_Vx_Wx, exec_load128<false>);
  RV_REG(MOVAPS_Vps_Wps, exec_load128<true>);
  RV_REG(MOVAPD_Vpd_Wpd, exec_load128<true>);
  RV_REG(MOVDQA_Vx_Wx, exec_load128<true>);
  RV_REG(LDDQU_Vx_Mx, exec_LDDQU_Vx_Mx);
  RV_REG(MOVUPS_Wps_Vps, exec_store128<false>);
  RV_REG(MOVUPD_Wpd_Vpd, exec_store128<false>);
  RV_REG(MOVDQU_Wx_Vx, exec_store128<false>);
  RV_REG(MOVAPS_Wps_Vps, exec_store128<true>);
  RV_REG(MOVAPD_Wpd_Vpd, exec_store128<true>);
  RV_REG(MOVDQA_Wx_Vx, exec_store128<true>);
  RV_REG(MOVNTPS_Mps_Vps, exec_store128<true>);
  RV_REG(MOVNTPD_Mpd_Vpd, exec_store128<true>);
  RV_REG(MOVNTDQ_Mx_Vx, exec_store128<true>);
  RV_REG(MOVSS_Vss_Wss, exec_movs_load<4>);
  RV_REG(MOVSD_Vsd_Wsd, exec_movs_load<8>);
  RV_REG(MOVSS_Wss_Vss, exec_movs_store<4>);
  RV_REG(MOVSD_Wsd_Vsd, exec_movs_store<8>);
  RV_REG(MOVHLPS_Vq_Uq, exec_MOVHLPS_Vq_Uq);
  RV_REG(MOVLHPS_Vq_Uq, exec_MOVLHPS_Vq_Uq);
  RV_REG(MOVLPS_Vq_Mq, exec_movl_load);
  RV_REG(MOVLPD_Vq_Mq, exec_movl_load);
  RV_REG(MOVHPS_Vq_Mq, exec_movh_load);
  RV_REG(MOVHPD_Vq_Mq, exec_movh_load);
  RV_REG(MOVLPS_Mq_Vq, exec_movl_store);
  RV_REG(MOVLPD_Mq_Vq, exec_movl_store);
  RV_REG(MOVHPS_Mq_Vq, exec_movh_store);
  RV_REG(MOVHPD_Mq_Vq, exec_movh_store);
  RV_REG(MOVSLDUP_Vps_Wps, exec_MOVSLDUP_Vps_Wps);
  RV_REG(MOVSHDUP_Vps_Wps, exec_MOVSHDUP_Vps_Wps);
  RV_REG(MOVDDUP_Vpd_Wq, exec_MOVDDUP_Vpd_Wq);
  RV_REG(MOVNTI_My_Gy, exec_MOVNTI_My_Gy);
  RV_REG(MOVD_Vy_Ey, exec_MOVD_Vy_Ey);
  RV_REG(MOVD_Ey_Vy, exec_MOVD_Ey_Vy);
  RV_REG(MOVQ_Vq_Wq, exec_MOVQ_Vq_Wq);
  RV_REG(MOVQ_Wq_Vq, exec_MOVQ_Wq_Vq);
  RV_REG(MOVQ2DQ_Vdq_Nq, exec_MOVQ2DQ_Vdq_Nq);
  RV_REG(MOVDQ2Q_Pq_Uq, exec_MOVDQ2Q_Pq_Uq);
  RV_REG(MOVMSKPS_Gy_Ups, exec_MOVMSKPS_Gy_Ups);
  RV_REG(MOVMSKPD_Gy_Upd, exec_MOVMSKPD_Gy_Upd);
  RV_REG(PMOVMSKB_Gd_Ux, exec_PMOVMSKB_Gd_Ux);
  RV_REG(PINSRW_Vx_Ew_Ib, exec_PINSRW_Vx_Ew_Ib);
  RV_REG(PEXTRW_Gd_Ux_Ib, exec_PEXTRW_Gd_Ux_Ib);
  RV_REG(MASKMOVDQU_Vdq_Udq, exec_MASKMOVDQU_Vdq_Udq);
}
#undef RV_REG

}  // namespace rv::interp
