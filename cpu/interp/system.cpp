// System instructions, part 1: segment registers, far transfers, INT/IRET, flags (CLI STI
// PUSHF POPF), port I/O, HLT and the architectural no-ops/#UDs. Part 2 (control, debug and
// model-specific registers, descriptor tables, fast system calls, CPUID) is system_priv.cpp.
#include "cpu/descriptor.h"
#include "cpu/interp/handlers.h"
#include "cpu/interp/x87_core.h"
#include "memory/log.h"

namespace rv::interp {

void register_system_priv(Table& t);   // system_priv.cpp

namespace {

unsigned iopl(const Cpu& c) { return (c.rflags() >> 12) & 3; }
// PUSH/POP operand size: 64-bit mode pushes 8 bytes unless 66 gives 2 (SDM Vol.1 §6.2.5).
unsigned stack_size(const Cpu& c, const DecodedInsn& d) { return c.long64() ? (d.osize == 2 ? 2 : 8) : d.osize; }
u64 mem_off(const Cpu& c, const DecodedInsn& d, u64 delta) { return (c.ea(d) + delta) & Cpu::mask_of(d.asize); }

// ---- segment registers ----

void exec_MOV_Ev_Sw(Cpu& c, const DecodedInsn& d) {
  u8 sr = d.reg & 7;
  if (sr > GS) c.invalid(d, "segment register 6 or 7");
  u16 sel = c.state().seg[sr].sel;
  if (d.mod == 3) c.write_reg(d.rm, d.osize, d.rex, sel);   // upper bits zeroed (P6 and later)
  else c.write_mem(d.seg, c.ea(d), 2, sel);
}

void exec_MOV_Sw_Ew(Cpu& c, const DecodedInsn& d) {
  u8 sr = d.reg & 7;
  if (sr > GS || sr == CS) c.invalid(d, sr == CS ? "MOV to CS" : "segment register 6 or 7");
  u16 sel = static_cast<u16>(c.read_E(d, 2));
  c.load_seg(sr, sel);
  if (sr == SS) c.set_ss_shadow();   // MOV SS holds interrupts and debug traps for one instruction
  c.end_block();
}

template <u8 Seg>
void exec_PUSH_seg(Cpu& c, const DecodedInsn& d) {
  c.push(c.state().seg[Seg].sel, stack_size(c, d));
}

template <u8 Seg>
void exec_POP_seg(Cpu& c, const DecodedInsn& d) {
  unsigned s = stack_size(c, d);
  u64 w = c.stack_width();
  u64 m = Cpu::mask_of(w);
  u64 rsp = c.state().gpr[RSP];
  u16 sel = static_cast<u16>(c.read_mem(SS, rsp & m, s));
  c.load_seg(Seg, sel);
  u64 nsp = (rsp + s) & m;
  c.state().gpr[RSP] = w == 2 ? (rsp & ~0xFFFFull) | nsp : nsp;
  if (Seg == SS) c.set_ss_shadow();
  c.end_block();
}

template <u8 Seg>
void exec_LxS_Gz_Mp(Cpu& c, const DecodedInsn& d) {
  u64 off = c.read_mem(d.seg, c.ea(d), d.osize);
  u16 sel = static_cast<u16>(c.read_mem(d.seg, mem_off(c, d, d.osize), 2));
  c.load_seg(Seg, sel);
  c.write_G(d, d.osize, off);
  c.end_block();
}

// ---- far transfers ----

void exec_JMPF_Ap(Cpu& c, const DecodedInsn& d) { c.far_jump(d.imm2, d.imm, d.osize); }
void exec_CALLF_Ap(Cpu& c, const DecodedInsn& d) { c.far_call(d.imm2, d.imm, d.osize); }

void read_far_pointer(Cpu& c, const DecodedInsn& d, u16& sel, u64& off) {
  off = c.read_mem(d.seg, c.ea(d), d.osize);
  sel = static_cast<u16>(c.read_mem(d.seg, mem_off(c, d, d.osize), 2));
}
void exec_JMPF_Mp(Cpu& c, const DecodedInsn& d) {
  u16 sel;
  u64 off;
  read_far_pointer(c, d, sel, off);
  c.far_jump(sel, off, d.osize);
}
void exec_CALLF_Mp(Cpu& c, const DecodedInsn& d) {
  u16 sel;
  u64 off;
  read_far_pointer(c, d, sel, off);
  c.far_call(sel, off, d.osize);
}
void exec_RETF(Cpu& c, const DecodedInsn& d) { c.far_return(d.osize, 0); }
void exec_RETF_Iw(Cpu& c, const DecodedInsn& d) { c.far_return(d.osize, static_cast<u16>(d.imm)); }

// ---- interrupts ----

void exec_INT3(Cpu& c, const DecodedInsn&) { c.software_interrupt(kBP, 1); }
void exec_INT_Ib(Cpu& c, const DecodedInsn& d) { c.software_interrupt(static_cast<u8>(d.imm), 0); }
void exec_INTO(Cpu& c, const DecodedInsn&) {
  if (c.of()) c.software_interrupt(kOF, 2);
}
void exec_INT1(Cpu& c, const DecodedInsn&) { c.software_interrupt(kDB, 3); }
void exec_IRET(Cpu& c, const DecodedInsn& d) { c.iret(d.osize); }

// ---- flags (SDM Vol.2 CLI/STI/PUSHF/POPF; Vol.1 §3.4.3) ----

// Protected mode at CPL > IOPL, or V86 with IOPL < 3, may not touch IF (no PVI/VME).
void check_if_access(Cpu& c) {
  if (!c.protected_mode()) return;
  if (c.v86() ? iopl(c) < 3 : c.cpl() > iopl(c)) c.fault(kGP, 0);
}

void exec_CLI(Cpu& c, const DecodedInsn&) {
  check_if_access(c);
  c.write_flags_masked(0, kFlagIF);
  c.end_block();
}

void exec_STI(Cpu& c, const DecodedInsn&) {
  check_if_access(c);
  if (!(c.rflags() & kFlagIF)) c.set_int_shadow();   // shadow only when IF goes 0 -> 1
  c.write_flags_masked(kFlagIF, kFlagIF);
  c.end_block();
}

void exec_PUSHF(Cpu& c, const DecodedInsn& d) {
  if (c.v86() && iopl(c) < 3) c.fault(kGP, 0);
  unsigned s = stack_size(c, d);
  c.push(c.rflags() & ~(kFlagVM | kFlagRF) & Cpu::mask_of(s), s);   // VM, RF read as 0
}

void exec_POPF(Cpu& c, const DecodedInsn& d) {
  if (c.v86() && iopl(c) < 3) c.fault(kGP, 0);
  unsigned s = stack_size(c, d);
  u64 v = c.pop(s);
  u64 mask = kFlagCF | kFlagPF | kFlagAF | kFlagZF | kFlagSF | kFlagTF | kFlagDF | kFlagOF | kFlagNT | kFlagAC |
             kFlagID | kFlagRF;
  v &= ~kFlagRF;   // POPF clears RF; VM, VIF, VIP never change
  if (!c.protected_mode()) mask |= kFlagIF | kFlagIOPL;
  else if (c.v86()) mask |= kFlagIF;
  else {
    if (c.cpl() <= iopl(c)) mask |= kFlagIF;
    if (c.cpl() == 0) mask |= kFlagIOPL;
  }
  if (s == 2) mask &= 0xFFFF;
  c.write_flags_masked(v, mask);
  c.end_block();
}

// ---- port I/O ----

unsigned io_size(const DecodedInsn& d, bool byte) { return byte ? 1 : d.osize == 2 ? 2 : 4; }

template <bool Byte, bool Dx>
void exec_IN(Cpu& c, const DecodedInsn& d) {
  unsigned sz = io_size(d, Byte);
  u16 port = Dx ? static_cast<u16>(c.state().gpr[RDX]) : static_cast<u16>(d.imm & 0xFF);
  c.check_io(port, sz);
  u32 v = c.io().read(port, sz);
  c.write_reg(RAX, sz, false, v);
  c.end_block();
}

template <bool Byte, bool Dx>
void exec_OUT(Cpu& c, const DecodedInsn& d) {
  unsigned sz = io_size(d, Byte);
  u16 port = Dx ? static_cast<u16>(c.state().gpr[RDX]) : static_cast<u16>(d.imm & 0xFF);
  c.check_io(port, sz);
  c.io().write(port, static_cast<u32>(c.read_reg(RAX, sz, false)), sz);
  c.end_block();
}

// ---- misc ----

void require_cpl0(Cpu& c) {
  if (c.cpl() != 0) c.fault(kGP, 0);   // also V86 (CPL 3)
}

void exec_HLT(Cpu& c, const DecodedInsn&) {
  require_cpl0(c);
  c.halt();
}

void exec_UD(Cpu& c, const DecodedInsn&) { c.fault_no_error(kUD); }
void exec_NOP(Cpu&, const DecodedInsn&) {}

void exec_CLFLUSH_M(Cpu& c, const DecodedInsn& d) {
  c.seg_linear(d.seg, c.ea(d), 1, Access::Read);   // segment checks only; caches are not modelled
}

void exec_FWAIT(Cpu& c, const DecodedInsn&) {
  const u64 cr0 = c.state().cr0;
  if ((cr0 & kCr0Ts) && (cr0 & kCr0Mp)) c.fault_no_error(kNM);
  x87_wait_check(c);   // pending unmasked x87 exception -> #MF (x87_core.cpp)
}

void exec_ARPL_Ew_Gw(Cpu& c, const DecodedInsn& d) {
  if (!c.protected_mode() || c.v86()) c.invalid(d, "ARPL outside protected mode");
  u16 dst = static_cast<u16>(c.read_E(d, 2));
  u16 src = static_cast<u16>(c.read_G(d, 2));
  if ((dst & 3) < (src & 3)) {
    c.write_E(d, 2, (dst & ~3u) | (src & 3));
    c.set_arith_flags(kFlagZF, kFlagZF);
  } else {
    c.set_arith_flags(0, kFlagZF);
  }
}

}  // namespace

#define RV_SET(op, fn) t[static_cast<unsigned>(OpId::op)] = fn

void register_system(Table& t) {
  RV_SET(MOV_Ev_Sw, exec_MOV_Ev_Sw);
  RV_SET(MOV_Sw_Ew, exec_MOV_Sw_Ew);
  RV_SET(PUSH_ES, exec_PUSH_seg<ES>);
  RV_SET(PUSH_CS, exec_PUSH_seg<CS>);
  RV_SET(PUSH_SS, exec_PUSH_seg<SS>);
  RV_SET(PUSH_DS, exec_PUSH_seg<DS>);
  RV_SET(PUSH_FS, exec_PUSH_seg<FS>);
  RV_SET(PUSH_GS, exec_PUSH_seg<GS>);
  RV_SET(POP_ES, exec_POP_seg<ES>);
  RV_SET(POP_SS, exec_POP_seg<SS>);
  RV_SET(POP_DS, exec_POP_seg<DS>);
  RV_SET(POP_FS, exec_POP_seg<FS>);
  RV_SET(POP_GS, exec_POP_seg<GS>);
  RV_SET(LES_Gz_Mp, exec_LxS_Gz_Mp<ES>);
  RV_SET(LDS_Gz_Mp, exec_LxS_Gz_Mp<DS>);
  RV_SET(LSS_Gz_Mp, exec_LxS_Gz_Mp<SS>);
  RV_SET(LFS_Gz_Mp, exec_LxS_Gz_Mp<FS>);
  RV_SET(LGS_Gz_Mp, exec_LxS_Gz_Mp<GS>);
  RV_SET(JMPF_Ap, exec_JMPF_Ap);
  RV_SET(JMPF_Mp, exec_JMPF_Mp);
  RV_SET(CALLF_Ap, exec_CALLF_Ap);
  RV_SET(CALLF_Mp, exec_CALLF_Mp);
  RV_SET(RETF, exec_RETF);
  RV_SET(RETF_Iw, exec_RETF_Iw);
  RV_SET(INT3, exec_INT3);
  RV_SET(INT_Ib, exec_INT_Ib);
  RV_SET(INTO, exec_INTO);
  RV_SET(INT1, exec_INT1);
  RV_SET(IRET, exec_IRET);
  RV_SET(CLI, exec_CLI);
  RV_SET(STI, exec_STI);
  RV_SET(PUSHF, exec_PUSHF);
  RV_SET(POPF, exec_POPF);
  RV_SET(IN_AL_Ib, (exec_IN<true, false>));
  RV_SET(IN_eAX_Ib, (exec_IN<false, false>));
  RV_SET(IN_AL_DX, (exec_IN<true, true>));
  RV_SET(IN_eAX_DX, (exec_IN<false, true>));
  RV_SET(OUT_Ib_AL, (exec_OUT<true, false>));
  RV_SET(OUT_Ib_eAX, (exec_OUT<false, false>));
  RV_SET(OUT_DX_AL, (exec_OUT<true, true>));
  RV_SET(OUT_DX_eAX, (exec_OUT<false, true>));
  RV_SET(HLT, exec_HLT);
  RV_SET(FWAIT, exec_FWAIT);
  RV_SET(ARPL_Ew_Gw, exec_ARPL_Ew_Gw);
  // Architectural no-ops: fences, prefetches and hint NOPs (no caches are modelled).
  RV_SET(LFENCE, exec_NOP);
  RV_SET(MFENCE, exec_NOP);
  RV_SET(SFENCE, exec_NOP);
  RV_SET(PREFETCH_M, exec_NOP);
  RV_SET(NOP_Ev, exec_NOP);
  RV_SET(CLFLUSH_M, exec_CLFLUSH_M);
  // #UD: undefined opcodes, and features CPUID does not advertise (SMAP, MONITOR/MWAIT,
  // RDRAND/RDSEED) or modes we never enter (SMM).
  for (OpId op : {OpId::UD0, OpId::UD1, OpId::UD2, OpId::CLAC, OpId::STAC, OpId::MONITOR, OpId::MWAIT, OpId::RSM,
                  OpId::RDRAND_Rv, OpId::RDSEED_Rv})
    t[static_cast<unsigned>(op)] = exec_UD;
  register_system_priv(t);
}

}  // namespace rv::interp
