// MMX, SSE, SSE2 and SSE3 (opcodes_sse.inc): registration, and the SIMD floating-point
// exception delivery shared by the handler files sse_move.cpp, sse_arith.cpp,
// sse_convert.cpp, sse_int.cpp and mmx.cpp.
#include "cpu/interp/sse_core.h"

namespace rv::interp {

// An unmasked SIMD floating-point exception (SDM Vol.1 §11.5.2, §11.5.3). The pre-computation
// exceptions (invalid, denormal, divide-by-zero) of every element are found first; if one of
// them is unmasked, the computation does not happen and no post-computation flag (overflow,
// underflow, precision) is set. Otherwise every flag raised is set. The destination is left
// unchanged; the fault is #XM with CR4.OSXMMEXCPT, else #UD (SDM Vol.3A §2.5).
// (exec_fp's refine_precision has already corrected PE for unmasked overflow/underflow.)
void simd_fp_fault(Cpu& c, u32 mxcsr, u32 flags) {
  const u32 unmasked = flags & ~(mxcsr >> 7) & kMxFlags;
  if (unmasked & (kMxIe | kMxDe | kMxZe)) flags &= kMxIe | kMxDe | kMxZe;
  fx::set_mxcsr(c, mxcsr | flags);
  c.fault_no_error((c.state().cr4 & kCr4Osxmmexcpt) ? kXM : kUD);
}

void register_sse(Table& t) {
  register_sse_move(t);
  register_sse_arith(t);
  register_sse_convert(t);
  register_sse_int(t);
  register_mmx(t);
}

}  // namespace rv::interp
