// Integer instructions outside the basic ALU set: BCD adjusts (DAA DAS AAA AAS AAM AAD),
// SALC, XLAT, PUSHA/POPA, BOUND, MOVSXD, BSWAP, MOVBE, XADD, CMPXCHG, CMPXCHG8B/16B. The
// registration also covers shift.cpp, muldiv.cpp and bitops.cpp (integer_parts.h).
#include "cpu/interp/integer_parts.h"

namespace rv::interp {
namespace {

using alu::mask;

u8 al(Cpu& cpu) { return cpu.gpr(RAX) & 0xFF; }
u8 ah(Cpu& cpu) { return (cpu.gpr(RAX) >> 8) & 0xFF; }
void set_al(Cpu& cpu, u64 v) { cpu.write_reg(RAX, 1, false, v); }
void set_ax(Cpu& cpu, u64 v) { cpu.write_reg(RAX, 2, false, v); }

// ---- BCD (SDM Vol.2 "DAA", "DAS", "AAA", "AAS", "AAM", "AAD"); all #UD in 64-bit mode, which
// the decoder encodes (N64). Undefined flags: see each handler. ----

void exec_DAA(Cpu& cpu, const DecodedInsn& d) {
  no_lock(cpu, d);
  u8 old_al = al(cpu), a = old_al;
  bool old_cf = cpu.cf(), af = cpu.af(), cf = false;
  if ((a & 0x0F) > 9 || af) {
    cf = old_cf || a > 0xF9;
    a += 6;
    af = true;
  } else {
    af = false;
  }
  if (old_al > 0x99 || old_cf) {
    a += 0x60;
    cf = true;
  } else {
    cf = false;
  }
  set_al(cpu, a);
  // OF is undefined: set as for the addition old_al + (a - old_al) (signed overflow).
  bool of = !(old_al & 0x80) && (a & 0x80);
  alu::set_result_flags(cpu, 1, a, flag_if(cf, kFlagCF) | flag_if(af, kFlagAF) | flag_if(of, kFlagOF));
}

void exec_DAS(Cpu& cpu, const DecodedInsn& d) {
  no_lock(cpu, d);
  u8 old_al = al(cpu), a = old_al;
  bool old_cf = cpu.cf(), af = cpu.af(), cf = false;
  if ((a & 0x0F) > 9 || af) {
    cf = old_cf || a < 6;
    a -= 6;
    af = true;
  } else {
    af = false;
  }
  if (old_al > 0x99 || old_cf) {
    a -= 0x60;
    cf = true;
  }
  set_al(cpu, a);
  // OF is undefined: set as for the subtraction old_al - (old_al - a).
  bool of = (old_al & 0x80) && !(a & 0x80);
  alu::set_result_flags(cpu, 1, a, flag_if(cf, kFlagCF) | flag_if(af, kFlagAF) | flag_if(of, kFlagOF));
}

// AAA/AAS: AF = CF = adjust taken; OF SF ZF PF undefined: SF ZF PF follow the final AL,
// OF is cleared.
void exec_AAA(Cpu& cpu, const DecodedInsn& d) {
  no_lock(cpu, d);
  u16 ax = cpu.gpr(RAX) & 0xFFFF;
  bool adj = (ax & 0x0F) > 9 || cpu.af();
  if (adj) ax += 0x106;   // 286 and later: AX + 106H (the 8086 added 6 to AL only)
  ax = (ax & 0xFF00) | (ax & 0x0F);
  set_ax(cpu, ax);
  alu::set_result_flags(cpu, 1, ax & 0xFF, flag_if(adj, (kFlagCF | kFlagAF)));
}

void exec_AAS(Cpu& cpu, const DecodedInsn& d) {
  no_lock(cpu, d);
  u16 ax = cpu.gpr(RAX) & 0xFFFF;
  bool adj = (ax & 0x0F) > 9 || cpu.af();
  if (adj) {
    ax -= 6;
    ax -= 0x100;
  }
  ax = (ax & 0xFF00) | (ax & 0x0F);
  set_ax(cpu, ax);
  alu::set_result_flags(cpu, 1, ax & 0xFF, flag_if(adj, (kFlagCF | kFlagAF)));
}

// AAM: #DE for a zero base; SF ZF PF from AL, OF AF CF (undefined) cleared.
void exec_AAM_Ib(Cpu& cpu, const DecodedInsn& d) {
  no_lock(cpu, d);
  u8 base = d.imm & 0xFF;
  if (base == 0) cpu.fault_no_error(kDE);
  u8 a = al(cpu);
  set_ax(cpu, ((a / base) << 8) | (a % base));
  alu::set_result_flags(cpu, 1, a % base, 0);
}

// AAD: AL = AL + AH * base, AH = 0; SF ZF PF from AL. OF AF CF are undefined: set as for the
// byte addition AL + (AH * base).
void exec_AAD_Ib(Cpu& cpu, const DecodedInsn& d) {
  no_lock(cpu, d);
  u8 t = static_cast<u8>(ah(cpu) * (d.imm & 0xFF));
  alu::Result r = alu::add(1, al(cpu), t);
  set_ax(cpu, r.value);
  alu::commit(cpu, 1, r);
}

// SALC (undocumented, D6): AL = CF ? FF : 00, flags unchanged.
void exec_SALC(Cpu& cpu, const DecodedInsn& d) {
  no_lock(cpu, d);
  set_al(cpu, cpu.cf() ? 0xFF : 0);
}

// XLAT: AL = [seg:rBX + AL] (the offset wraps at the address size).
void exec_XLAT(Cpu& cpu, const DecodedInsn& d) {
  no_lock(cpu, d);
  u64 off = (cpu.gpr(RBX) + al(cpu)) & mask(d.asize);
  set_al(cpu, cpu.read_mem(d.seg, off, 1));
}

// ---- PUSHA/POPA (SDM Vol.2 "PUSHA", "POPA"): every stack slot is checked before anything
// changes. ----

void exec_PUSHA(Cpu& cpu, const DecodedInsn& d) {
  no_lock(cpu, d);
  const unsigned size = d.osize;
  const u64 spm = cpu.sp_mask();
  const u64 sp = cpu.gpr(RSP) & spm;
  u64 vals[8];
  for (int r = 0; r < 8; r++) vals[r] = cpu.read_reg(r, size, false);   // [RSP] = SP before the push
  for (int i = 1; i <= 8; i++) cpu.probe_write(SS, (sp - i * size) & spm, size);
  for (int i = 1; i <= 8; i++) cpu.write_mem(SS, (sp - i * size) & spm, size, vals[i - 1]);
  cpu.gpr(RSP) = (cpu.gpr(RSP) & ~spm) | ((sp - 8 * size) & spm);
}

void exec_POPA(Cpu& cpu, const DecodedInsn& d) {
  no_lock(cpu, d);
  const unsigned size = d.osize;
  const u64 spm = cpu.sp_mask();
  const u64 sp = cpu.gpr(RSP) & spm;
  u64 vals[8];
  for (int i = 0; i < 8; i++) vals[7 - i] = cpu.read_mem(SS, (sp + i * size) & spm, size);
  for (int r = 0; r < 8; r++)
    if (r != RSP) cpu.write_reg(r, size, false, vals[r]);   // the saved SP is discarded
  cpu.gpr(RSP) = (cpu.gpr(RSP) & ~spm) | ((sp + 8 * size) & spm);
}

// BOUND: #BR when the signed index is outside [lower, upper] (SDM Vol.2 "BOUND").
void exec_BOUND_Gv_Ma(Cpu& cpu, const DecodedInsn& d) {
  no_lock(cpu, d);
  if (d.mod == 3) cpu.fault_no_error(kUD);
  const unsigned size = d.osize;
  u64 off = cpu.ea(d);
  i64 lower = alu::sext(cpu.read_mem(d.seg, off, size), size);
  i64 upper = alu::sext(cpu.read_mem(d.seg, (off + size) & mask(d.asize), size), size);
  i64 idx = alu::sext(cpu.read_G(d, size), size);
  if (idx < lower || idx > upper) cpu.fault_no_error(kBR);
}

// MOVSXD (64-bit mode only): sign-extends with REX.W; 32- and 16-bit forms are plain moves.
void exec_MOVSXD_Gv_Ed(Cpu& cpu, const DecodedInsn& d) {
  no_lock(cpu, d);
  if (d.osize == 8) cpu.write_G(d, 8, static_cast<u64>(alu::sext(cpu.read_E(d, 4), 4)));
  else cpu.write_G(d, d.osize, cpu.read_E(d, d.osize));
}

// BSWAP: the 16-bit form's result is undefined; CPUs clear the low word.
void exec_BSWAP_Zv(Cpu& cpu, const DecodedInsn& d) {
  no_lock(cpu, d);
  u64 v = cpu.read_reg(d.reg, d.osize, true);
  switch (d.osize) {
    case 2: cpu.write_reg(d.reg, 2, true, 0); break;
    case 4: cpu.write_reg(d.reg, 4, true, __builtin_bswap32(static_cast<u32>(v))); break;
    default: cpu.write_reg(d.reg, 8, true, __builtin_bswap64(v)); break;
  }
}

u64 byte_swap(u64 v, unsigned size) {
  switch (size) {
    case 2: return __builtin_bswap16(static_cast<u16>(v));
    case 4: return __builtin_bswap32(static_cast<u32>(v));
    default: return __builtin_bswap64(v);
  }
}
void exec_MOVBE_Gv_Mv(Cpu& cpu, const DecodedInsn& d) {
  no_lock(cpu, d);
  cpu.write_G(d, d.osize, byte_swap(cpu.read_E(d, d.osize), d.osize));
}
void exec_MOVBE_Mv_Gv(Cpu& cpu, const DecodedInsn& d) {
  no_lock(cpu, d);
  cpu.write_E(d, d.osize, byte_swap(cpu.read_G(d, d.osize), d.osize));
}

// ---- XADD, CMPXCHG (SDM Vol.2 "XADD", "CMPXCHG") ----

void xadd(Cpu& cpu, const DecodedInsn& d, unsigned size) {
  lockable(cpu, d);
  alu::EOperand e(cpu, d, size);
  u64 dst = e.read();
  u64 src = cpu.read_G(d, size);
  alu::Result r = alu::add(size, dst, src);
  // SRC <- DEST; DEST <- TEMP. With one register as both operands DEST's write wins; with a
  // memory destination the store (which can fault) goes first.
  if (e.is_mem()) { e.write(r.value); cpu.write_G(d, size, dst); }
  else { cpu.write_G(d, size, dst); e.write(r.value); }
  alu::commit(cpu, size, r);
}
void exec_XADD_Eb_Gb(Cpu& cpu, const DecodedInsn& d) { xadd(cpu, d, 1); }
void exec_XADD_Ev_Gv(Cpu& cpu, const DecodedInsn& d) { xadd(cpu, d, d.osize); }

// CMPXCHG: flags as CMP accumulator, DEST. Equal: DEST = SRC, the accumulator is not written
// (its upper half is kept). Not equal: the accumulator = DEST; a memory DEST is written back
// with its own value ("the destination operand receives a write cycle without regard to the
// result of the comparison"); a register DEST is not touched (not even zero-extended).
void cmpxchg(Cpu& cpu, const DecodedInsn& d, unsigned size) {
  lockable(cpu, d);
  alu::EOperand e(cpu, d, size);
  u64 dst = e.read();
  u64 src = cpu.read_G(d, size);
  u64 acc = cpu.read_reg(RAX, size, true);
  alu::Result r = alu::sub(size, acc, dst);
  if (r.value == 0) {
    e.write(src);
  } else {
    if (e.is_mem()) e.write(dst);
    cpu.write_reg(RAX, size, true, dst);
  }
  alu::commit(cpu, size, r);
}
void exec_CMPXCHG_Eb_Gb(Cpu& cpu, const DecodedInsn& d) { cmpxchg(cpu, d, 1); }
void exec_CMPXCHG_Ev_Gv(Cpu& cpu, const DecodedInsn& d) { cmpxchg(cpu, d, d.osize); }

// CMPXCHG8B m64 / CMPXCHG16B m128 (REX.W; #GP(0) unless 16-byte aligned). Only ZF changes.
// On a mismatch the memory is written back unchanged and rDX:rAX loaded (32-bit halves
// zero-extend, SDM Vol.2 "CMPXCHG8B/CMPXCHG16B").
void exec_CMPXCHG8B_Mq(Cpu& cpu, const DecodedInsn& d) {
  if (d.mod == 3) cpu.fault_no_error(kUD);
  const unsigned half = d.osize == 8 ? 8 : 4;
  u64 off = cpu.ea(d);
  if (half == 8 && (off & 15)) cpu.fault(kGP, 0);
  u64 la = cpu.seg_linear(d.seg, off, 2 * half, Access::Write);
  if (half == 8 && (la & 15)) cpu.fault(kGP, 0);
  alu::rmw_probe(cpu, la, 2 * half);
  u64 lo, hi;
  if (half == 8) {
    lo = cpu.read_lin(la, 8);
    hi = cpu.read_lin(la + 8, 8);
  } else {
    u64 v = cpu.read_lin(la, 8);
    lo = v & 0xFFFFFFFF;
    hi = v >> 32;
  }
  const u64 hm = mask(half);
  bool equal = lo == (cpu.gpr(RAX) & hm) && hi == (cpu.gpr(RDX) & hm);
  u64 nlo = equal ? cpu.gpr(RBX) & hm : lo, nhi = equal ? cpu.gpr(RCX) & hm : hi;
  if (half == 8) {
    cpu.write_lin(la, 8, nlo);   // both halves are in one page (16-byte aligned)
    cpu.write_lin(la + 8, 8, nhi);
  } else {
    cpu.write_lin(la, 8, nlo | (nhi << 32));
  }
  if (!equal) {
    cpu.write_reg(RAX, half, true, lo);
    cpu.write_reg(RDX, half, true, hi);
  }
  set_flags(cpu, kFlagZF, flag_if(equal, kFlagZF));
}

}  // namespace

void register_integer(Table& t) {
  register_shift(t);
  register_muldiv(t);
  register_bitops(t);
  set_handler(t, OpId::DAA, exec_DAA);
  set_handler(t, OpId::DAS, exec_DAS);
  set_handler(t, OpId::AAA, exec_AAA);
  set_handler(t, OpId::AAS, exec_AAS);
  set_handler(t, OpId::AAM_Ib, exec_AAM_Ib);
  set_handler(t, OpId::AAD_Ib, exec_AAD_Ib);
  set_handler(t, OpId::SALC, exec_SALC);
  set_handler(t, OpId::XLAT, exec_XLAT);
  set_handler(t, OpId::PUSHA, exec_PUSHA);
  set_handler(t, OpId::POPA, exec_POPA);
  set_handler(t, OpId::BOUND_Gv_Ma, exec_BOUND_Gv_Ma);
  set_handler(t, OpId::MOVSXD_Gv_Ed, exec_MOVSXD_Gv_Ed);
  set_handler(t, OpId::BSWAP_Zv, exec_BSWAP_Zv);
  set_handler(t, OpId::MOVBE_Gv_Mv, exec_MOVBE_Gv_Mv);
  set_handler(t, OpId::MOVBE_Mv_Gv, exec_MOVBE_Mv_Gv);
  set_handler(t, OpId::XADD_Eb_Gb, exec_XADD_Eb_Gb);
  set_handler(t, OpId::XADD_Ev_Gv, exec_XADD_Ev_Gv);
  set_handler(t, OpId::CMPXCHG_Eb_Gb, exec_CMPXCHG_Eb_Gb);
  set_handler(t, OpId::CMPXCHG_Ev_Gv, exec_CMPXCHG_Ev_Gv);
  set_handler(t, OpId::CMPXCHG8B_Mq, exec_CMPXCHG8B_Mq);
}

}  // namespace rv::interp
