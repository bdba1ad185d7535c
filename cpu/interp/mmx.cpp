// MMX data movement and state: MOVD/MOVQ with MMX registers, EMMS, MOVNTQ, and the SSE
// integer additions on MMX registers that move data (PINSRW, PEXTRW, PMOVMSKB, MASKMOVQ).
// Every MMX instruction checks CR0.EM (#UD), CR0.TS (#NM) and a pending x87 exception (#MF),
// needs no CR4.OSFXSR, and after its last possible fault moves the x87 unit to MMX state
// (TOP = 0, all tags valid; SDM Vol.1 §9.5). EMMS marks every tag empty (SDM Vol.2 EMMS)
// and, as observed on hardware, also leaves TOP = 0.
#include "cpu/interp/sse_core.h"

namespace rv::interp {
namespace {

// MOVD/MOVQ mm, r/m32 (r/m64 with REX.W): zero-extended into the MMX register.
void exec_MOVD_Pq_Ey(Cpu& c, const DecodedInsn& d) {
  mmx_check(c);
  u64 v = c.read_E(d, (d.rex & 8) ? 8 : 4);
  to_mmx_state(c);
  mm_set(c, d.reg, v);
}
// MOVD/MOVQ r/m32 (r/m64), mm.
void exec_MOVD_Ey_Pq(Cpu& c, const DecodedInsn& d) {
  mmx_check(c);
  c.write_E(d, (d.rex & 8) ? 8 : 4, mm_get(c, d.reg));
  to_mmx_state(c);
}
void exec_MOVQ_Pq_Qq(Cpu& c, const DecodedInsn& d) {
  mmx_check(c);
  u64 v = read_Qq(c, d);
  to_mmx_state(c);
  mm_set(c, d.reg, v);
}
// MOVQ mm/m64, mm and MOVNTQ m64, mm.
void exec_MOVQ_Qq_Pq(Cpu& c, const DecodedInsn& d) {
  mmx_check(c);
  u64 v = mm_get(c, d.reg);
  if (d.mod != 3) c.write_mem(d.seg, c.ea(d), 8, v);
  to_mmx_state(c);
  if (d.mod == 3) mm_set(c, d.rm, v);
}
// EMMS: every tag empty (SDM Vol.2 EMMS). Hardware also leaves TOP = 0, as after any MMX
// instruction (observed: FNSTSW after EMMS shows TOP 0 whatever it was before).
void exec_EMMS(Cpu& c, const DecodedInsn&) {
  mmx_check(c);
  to_mmx_state(c);
  mmx_emms(c);
}
void exec_PINSRW_Pq_Ew_Ib(Cpu& c, const DecodedInsn& d) {
  mmx_check(c);
  u64 w = c.read_E(d, 2) & 0xFFFF;
  const unsigned sh = 16 * (d.imm & 3);
  u64 v = (mm_get(c, d.reg) & ~(0xFFFFull << sh)) | (w << sh);
  to_mmx_state(c);
  mm_set(c, d.reg, v);
}
void exec_PEXTRW_Gd_Nq_Ib(Cpu& c, const DecodedInsn& d) {
  mmx_check(c);
  u64 w = (mm_get(c, d.rm) >> (16 * (d.imm & 3))) & 0xFFFF;
  to_mmx_state(c);
  c.write_reg(d.reg, 4, d.rex, w);
}
void exec_PMOVMSKB_Gd_Nq(Cpu& c, const DecodedInsn& d) {
  mmx_check(c);
  u32 m = static_cast<u32>(_mm_movemask_epi8(v64(mm_get(c, d.rm)))) & 0xFF;
  to_mmx_state(c);
  c.write_reg(d.reg, 4, d.rex, m);
}
// MASKMOVQ enters MMX state before its store is checked: a #GP from the store (a CS
// override, say) leaves TOP = 0 and all tags valid on the hardware we compare with.
void exec_MASKMOVQ_Pq_Nq(Cpu& c, const DecodedInsn& d) {
  mmx_check(c);
  u64 data = mm_get(c, d.reg), mask = mm_get(c, d.rm);
  to_mmx_state(c);
  // #AC for a misaligned m64 target even with an all-zero mask, as the host does (SDM Vol.3A
  // Table 6-7); segment checks come first.
  c.check_alignment(c.seg_linear(d.seg, c.gpr(RDI) & kSizeMask[d.asize], 8, Access::Write), 8);
  masked_store(c, d, reinterpret_cast<const u8*>(&data), reinterpret_cast<const u8*>(&mask), 8);
}

}  // namespace

#define RV_REG(op, ...) t[static_cast<unsigned>(OpId::op)] = __VA_ARGS__
void register_mmx(Table& t) {
  RV_REG(MOVD_Pq_Ey, exec_MOVD_Pq_Ey);
  RV_REG(MOVD_Ey_Pq, exec_MOVD_Ey_Pq);
  RV_REG(MOVQ_Pq_Qq, exec_MOVQ_Pq_Qq);
  RV_REG(MOVQ_Qq_Pq, exec_MOVQ_Qq_Pq);
  RV_REG(MOVNTQ_Mq_Pq, exec_MOVQ_Qq_Pq);
  RV_REG(EMMS, exec_EMMS);
  RV_REG(PINSRW_Pq_Ew_Ib, exec_PINSRW_Pq_Ew_Ib);
  RV_REG(PEXTRW_Gd_Nq_Ib, exec_PEXTRW_Gd_Nq_Ib);
  RV_REG(PMOVMSKB_Gd_Nq, exec_PMOVMSKB_Gd_Nq);
  RV_REG(MASKMOVQ_Pq_Nq, exec_MASKMOVQ_Pq_Nq);
}
#undef RV_REG

}  // namespace rv::interp
