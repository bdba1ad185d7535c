// Threaded dispatch: every hot handler F gets a wrapper threaded<F> that runs the instruction
// and tail-calls the next slot. Each wrapper thus ends in its own indirect jump, which the
// host's branch predictor can learn per guest instruction (where one shared dispatch loop
// mispredicts constantly). Handlers without a wrapper run through threaded_generic.
// Without tail-call optimisation this stays correct: a block has at most 64 slots, and
// chain_sentinel bounds how many blocks follow each other, so the call depth is bounded.
#pragma once
#include "cpu/cpu.h"

namespace rv::interp {

inline void threaded_generic(Cpu& c, const Slot* s) {
  c.insn_begin(s->d.len);
  s->h(c, s->d);
  if (RV_LIKELY(c.insn_end())) {
    ++s;
    return s->t(c, s);
  }
}

// threaded_generic with its own copy per operation (select_threaded() uses these for every
// operation without a wrapper of its own): the handler call and the jump to the next slot
// then sit at one address per operation, so the branch predictor learns them per operation
// instead of sharing one call site among all of SSE, x87, IMUL, DIV, MOVSX, BT, strings...
// The asm makes the copies differ, so that identical-code folding cannot merge them.
template <unsigned Op>
void threaded_op(Cpu& c, const Slot* s) {
  asm volatile("" ::"i"(Op));
  c.insn_begin(s->d.len);
  s->h(c, s->d);
  if (RV_LIKELY(c.insn_end())) {
    ++s;
    return s->t(c, s);
  }
}

template <Handler F>
__attribute__((flatten)) void threaded(Cpu& c, const Slot* s) {
  c.insn_begin(s->d.len);
  F(c, s->d);
  if (RV_LIKELY(c.insn_end())) {
    ++s;
    return s->t(c, s);
  }
}

inline void threaded_stop(Cpu&, const Slot*) {}

// 64-bit-mode fast path with fallback: `Fast(c, d, next_rip)` either completes the
// instruction without any possible fault and returns true, or changes nothing and returns
// false, and the full handler then runs through threaded_generic. The fast path makes no
// out-of-line calls, so these wrappers need no callee-saved registers.
using FastFn = bool (*)(Cpu&, const DecodedInsn&, u64);
template <FastFn Fast>
__attribute__((flatten)) void threaded_fast(Cpu& c, const Slot* s) {
  const u64 next = c.state().rip + s->d.len;
  if (RV_UNLIKELY(!Fast(c, s->d, next))) return threaded_generic(c, s);
  if (RV_LIKELY(c.fast_retire(next))) {
    ++s;
    return s->t(c, s);
  }
}

// The same for near branches in 64-bit mode: `Fn(c, d, next_rip)` returns the new RIP, or
// kBail (non-canonical, so never a valid result) to run the full handler instead, which
// raises the fault the fast path does not.
constexpr u64 kBail = 0x8000000000000000ull;
using FastBranchFn = u64 (*)(Cpu&, const DecodedInsn&, u64);
template <FastBranchFn Fn>
__attribute__((flatten)) void threaded_branch(Cpu& c, const Slot* s) {
  const u64 target = Fn(c, s->d, c.state().rip + s->d.len);
  if (RV_UNLIKELY(target == kBail)) return threaded_generic(c, s);
  if (RV_LIKELY(c.fast_retire(target))) {
    ++s;
    return s->t(c, s);
  }
}

using ThreadedTable = Threaded[static_cast<unsigned>(OpId::Count)];

// Registration helpers: a file lists its handlers once in `template <class Set> void
// register_all(Set set)` with RV_SET(op, handler) lines, and fills the plain table with
// register_all(PlainSet{t}) and the threaded one with register_all(ThreadedSet{t}).
#define RV_SET(op, ...) set.template put<__VA_ARGS__>(OpId::op)
struct PlainSet {
  Handler* t;
  template <Handler F> void put(OpId op) const { t[static_cast<unsigned>(op)] = F; }
};
struct ThreadedSet {
  Threaded* t;
  template <Handler F> void put(OpId op) const { t[static_cast<unsigned>(op)] = threaded<F>; }
};
const Threaded* threaded_table();
void register_alu_threaded(ThreadedTable& t);       // alu.cpp
void register_control_threaded(ThreadedTable& t);   // control.cpp
// Forms specialised on decode-time facts (operand size, condition code): nullptr if none.
Threaded specialize_alu(const DecodedInsn& d, CpuMode mode);   // alu.cpp
Threaded specialize_control(const DecodedInsn& d);   // control.cpp
Threaded specialize_shift(const DecodedInsn& d);     // shift.cpp

}  // namespace rv::interp
