// Near control transfers and the stack: JMP, Jcc, CALL, RET, LOOP/LOOPcc, JrCXZ, PUSH/POP of
// general registers, memory and immediates, ENTER, LEAVE. Far transfers are in system.cpp.
#include "cpu/interp/handlers.h"
#include "cpu/interp/threaded.h"

#include <array>
#include <utility>

namespace rv::interp {
namespace {

// Operand size of near branches and stack operations in 64-bit mode: near branches are
// forced to 64 bits (Intel ignores 66, SDM Vol.2 JMP/CALL/RET "64-bit mode"); PUSH/POP
// default to 64 bits and 66 selects 16.
inline unsigned branch_size(const Cpu& c, const DecodedInsn& d) { return c.long64() ? 8 : d.osize; }
inline unsigned stack_size(const Cpu& c, const DecodedInsn& d) { return c.long64() ? (d.osize == 2 ? 2 : 8) : d.osize; }

// Sets RIP to a near-branch target after the checks the SDM requires: the CS limit outside
// 64-bit mode, canonical form inside it (#GP(0) either way, with RIP at the branch).
inline void near_branch(Cpu& c, u64 target, unsigned osize) {
  if (c.long64()) {
    if (static_cast<u64>(static_cast<i64>(target << 16) >> 16) != target) c.fault(kGP, 0);
    c.state().rip = target;
    return;
  }
  target &= Cpu::mask_of(osize);
  if (target > c.state().seg[CS].limit) c.fault(kGP, 0);
  c.state().rip = target;
}

void exec_JMP_J(Cpu& c, const DecodedInsn& d) { near_branch(c, c.state().rip + d.imm, branch_size(c, d)); }
void exec_JCC(Cpu& c, const DecodedInsn& d) {
  if (c.cond(d.opcode & 0xF)) near_branch(c, c.state().rip + d.imm, branch_size(c, d));
}
void exec_CALL_Jz(Cpu& c, const DecodedInsn& d) {
  unsigned s = branch_size(c, d);
  u64 ret = c.state().rip;
  u64 target = ret + d.imm;
  if (!c.long64() && (target & Cpu::mask_of(s)) > c.state().seg[CS].limit) c.fault(kGP, 0);
  if (c.long64() && static_cast<u64>(static_cast<i64>(target << 16) >> 16) != target) c.fault(kGP, 0);
  c.push(ret, s);
  c.state().rip = c.long64() ? target : target & Cpu::mask_of(s);
}
void exec_JMP_Ev(Cpu& c, const DecodedInsn& d) {
  unsigned s = branch_size(c, d);
  near_branch(c, c.read_E(d, s), s);
}
void exec_CALL_Ev(Cpu& c, const DecodedInsn& d) {
  unsigned s = branch_size(c, d);
  u64 target = c.read_E(d, s);
  if (!c.long64() && target > c.state().seg[CS].limit) c.fault(kGP, 0);
  if (c.long64() && static_cast<u64>(static_cast<i64>(target << 16) >> 16) != target) c.fault(kGP, 0);
  c.push(c.state().rip, s);
  c.state().rip = target;
}
void ret_near(Cpu& c, const DecodedInsn& d, u16 extra) {
  unsigned s = branch_size(c, d);
  u64 saved_rsp = c.state().gpr[RSP];
  u64 target = c.pop(s);
  try {
    near_branch(c, target, s);
  } catch (...) {
    c.state().gpr[RSP] = saved_rsp;
    throw;
  }
  if (extra) {
    u64 m = c.sp_mask();
    u64& rsp = c.state().gpr[RSP];
    rsp = (rsp & ~m) | ((rsp + extra) & m);
  }
}
void exec_RET(Cpu& c, const DecodedInsn& d) { ret_near(c, d, 0); }
void exec_RET_Iw(Cpu& c, const DecodedInsn& d) { ret_near(c, d, static_cast<u16>(d.imm)); }

// LOOP family: the counter is CX/ECX/RCX by address size.
inline bool dec_count(Cpu& c, const DecodedInsn& d) {
  u64 m = Cpu::mask_of(d.asize);
  u64& rcx = c.state().gpr[RCX];
  u64 n = (rcx - 1) & m;
  rcx = d.asize == 4 ? n : (rcx & ~m) | n;   // a 32-bit register write zero-extends
  return n != 0;
}
void exec_LOOP(Cpu& c, const DecodedInsn& d) {
  if (dec_count(c, d)) near_branch(c, c.state().rip + d.imm, branch_size(c, d));
}
void exec_LOOPE(Cpu& c, const DecodedInsn& d) {
  if (dec_count(c, d) && c.zf()) near_branch(c, c.state().rip + d.imm, branch_size(c, d));
}
void exec_LOOPNE(Cpu& c, const DecodedInsn& d) {
  if (dec_count(c, d) && !c.zf()) near_branch(c, c.state().rip + d.imm, branch_size(c, d));
}
void exec_JCXZ(Cpu& c, const DecodedInsn& d) {
  if ((c.state().gpr[RCX] & Cpu::mask_of(d.asize)) == 0) near_branch(c, c.state().rip + d.imm, branch_size(c, d));
}

// ---- PUSH/POP ----
void exec_PUSH_Zv(Cpu& c, const DecodedInsn& d) {
  unsigned s = stack_size(c, d);
  c.push(c.read_reg(d.reg, s, d.rex), s);
}
void exec_POP_Zv(Cpu& c, const DecodedInsn& d) {
  unsigned s = stack_size(c, d);
  u64 v = c.pop(s);
  c.write_reg(d.reg, s, d.rex, v);
}
void exec_PUSH_Iz(Cpu& c, const DecodedInsn& d) {
  unsigned s = stack_size(c, d);
  c.push(d.imm & Cpu::mask_of(s), s);
}
void exec_PUSH_Ev(Cpu& c, const DecodedInsn& d) {
  unsigned s = stack_size(c, d);
  c.push(c.read_E(d, s), s);
}
void exec_POP_Ev(Cpu& c, const DecodedInsn& d) {
  // POP to memory: the address is computed after RSP is incremented (SDM POP, "If the ESP
  // register is used as a base register..."); the pop is undone if the store faults.
  unsigned s = stack_size(c, d);
  u64 saved = c.state().gpr[RSP];
  u64 v = c.pop(s);
  try {
    c.write_E(d, s, v);
  } catch (...) {
    c.state().gpr[RSP] = saved;
    throw;
  }
}

// ENTER Iw, Ib (SDM Vol.2 ENTER, the nested-frame algorithm). State is restored on a fault.
void exec_ENTER(Cpu& c, const DecodedInsn& d) {
  unsigned s = stack_size(c, d);
  u8 level = d.imm2 & 31;
  CpuState& st = c.state();
  u64 saved_rsp = st.gpr[RSP], saved_rbp = st.gpr[RBP];
  u64 m = c.sp_mask();
  try {
    c.push(st.gpr[RBP], s);
    // FrameTemp is RSP, ESP or SP by the operand size, not the stack size (SDM ENTER): with a
    // 32-bit operand size on a 16-bit stack, EBP keeps ESP's upper half.
    u64 frame = st.gpr[RSP] & Cpu::mask_of(s);
    if (level > 0) {
      u64 bp = st.gpr[RBP];
      for (unsigned i = 1; i < level; i++) {
        bp = (bp & ~m) | ((bp - s) & m);
        c.push(c.read_mem(SS, bp & m, s), s);
      }
      c.push(frame, s);
    }
    // The new stack top must be writable (checked as a probe of the lowest byte).
    u64 new_sp = (st.gpr[RSP] - static_cast<u16>(d.imm)) & m;
    if (static_cast<u16>(d.imm)) c.probe_write(SS, new_sp, 1);
    c.write_reg(RBP, s, false, frame);
    st.gpr[RSP] = (st.gpr[RSP] & ~m) | new_sp;
  } catch (...) {
    st.gpr[RSP] = saved_rsp;
    st.gpr[RBP] = saved_rbp;
    throw;
  }
}

void exec_LEAVE(Cpu& c, const DecodedInsn& d) {
  unsigned s = stack_size(c, d);
  CpuState& st = c.state();
  u64 m = c.sp_mask();
  u64 saved = st.gpr[RSP];
  st.gpr[RSP] = (st.gpr[RSP] & ~m) | (st.gpr[RBP] & m);
  try {
    u64 v = c.pop(s);
    c.write_reg(RBP, s, false, v);
  } catch (...) {
    st.gpr[RSP] = saved;
    throw;
  }
}

}  // namespace

// ---- Jcc specialised by condition and by 64-bit mode, chosen when a block is built ----
namespace {
template <u8 CC, bool L64>
void exec_JCC_t(Cpu& c, const DecodedInsn& d) {
  if (!eval_cond(c.state(), CC)) return;
  u64 target = c.state().rip + d.imm;
  if (L64) {
    if (RV_UNLIKELY(static_cast<u64>(static_cast<i64>(target << 16) >> 16) != target)) c.fault(kGP, 0);
  } else {
    target &= kSizeMask[d.osize];
    if (RV_UNLIKELY(target > c.state().seg[CS].limit)) c.fault(kGP, 0);
  }
  c.state().rip = target;
}

// 64-bit Jcc as a fast branch: no insn_start bookkeeping; a non-canonical target bails out
// to the full handler, which raises #GP.
template <u8 CC>
u64 fast_jcc64(Cpu& c, const DecodedInsn& d, u64 next) {
  if (!eval_cond(c.state(), CC)) return next;
  u64 target = next + d.imm;
  return static_cast<u64>(static_cast<i64>(target << 16) >> 16) == target ? target : kBail;
}

template <size_t... I>
constexpr std::array<Threaded, 32> make_jcc_table(std::index_sequence<I...>) {
  return {(I >> 4) ? threaded_branch<fast_jcc64<static_cast<u8>(I & 15)>>
                   : threaded<exec_JCC_t<static_cast<u8>(I & 15), false>>...};
}
constexpr auto kJccTable = make_jcc_table(std::make_index_sequence<32>{});
}  // namespace


Threaded specialize_control(const DecodedInsn& d) {
  if (d.op == OpId::JCC_Jb || d.op == OpId::JCC_Jz) return kJccTable[(d.opcode & 15) | (d.osize == 8 ? 16 : 0)];
  return nullptr;
}


// Internal linkage: every handler file has its own register_all (one shared name with
// external linkage would be an ODR violation, and a non-inlining build keeps one copy).
template <class Set>
static void register_all(Set set) {
  RV_SET(JMP_Jb, exec_JMP_J);
  RV_SET(JMP_Jz, exec_JMP_J);
  RV_SET(JCC_Jb, exec_JCC);
  RV_SET(JCC_Jz, exec_JCC);
  RV_SET(CALL_Jz, exec_CALL_Jz);
  RV_SET(JMP_Ev, exec_JMP_Ev);
  RV_SET(CALL_Ev, exec_CALL_Ev);
  RV_SET(RET, exec_RET);
  RV_SET(RET_Iw, exec_RET_Iw);
  RV_SET(LOOP_Jb, exec_LOOP);
  RV_SET(LOOPE_Jb, exec_LOOPE);
  RV_SET(LOOPNE_Jb, exec_LOOPNE);
  RV_SET(JCXZ_Jb, exec_JCXZ);
  RV_SET(PUSH_Zv, exec_PUSH_Zv);
  RV_SET(POP_Zv, exec_POP_Zv);
  RV_SET(PUSH_Iz, exec_PUSH_Iz);
  RV_SET(PUSH_Ib, exec_PUSH_Iz);
  RV_SET(PUSH_Ev, exec_PUSH_Ev);
  RV_SET(POP_Ev, exec_POP_Ev);
  RV_SET(ENTER_Iw_Ib, exec_ENTER);
  RV_SET(LEAVE, exec_LEAVE);
}



void register_control(Table& t) { register_all(PlainSet{t}); }
void register_control_threaded(ThreadedTable& t) { register_all(ThreadedSet{t}); }

}  // namespace rv::interp
