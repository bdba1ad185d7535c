// Shared helpers of the SSSE3 / SSE4.1 / SSE4.2 handlers (sse4_*.cpp): XMM and MMX register
// access in the FXSAVE image, memory operands with the legacy-SSE alignment rule, the MMX
// precondition checks, and running a floating-point operation on the host with the guest's
// MXCSR. Integer results come from host intrinsics, floating-point ones from the host's SSE
// unit, so both are bit-exact by construction.
#pragma once
#include <immintrin.h>

#include <array>
#include <cstring>
#include <utility>

#include "cpu/interp/handlers.h"
#include "cpu/interp/simd_checks.h"
#include "cpu/interp/sse_core.h"
#include "cpu/interp/x87_core.h"

namespace rv::interp::s4 {

// XMM/MMX register access, 16-byte memory operands (alignment checked before the segment and
// canonical checks) and the MMX precondition are sse_core.h's: xmm_get, xmm_set, make_v, lo64,
// hi64, read_m128, mmx_check, mm_get, mm_set, fsw.

// The xmm/m128 source operand (ModRM.rm).
inline V src_xmm(Cpu& c, const DecodedInsn& d, bool aligned = true) { return read_Wx(c, d, aligned); }
// An xmm/mN source that reads only N bytes from memory (N <= 8), or the whole register.
inline V src_xmm_narrow(Cpu& c, const DecodedInsn& d, unsigned n) {
  if (d.mod == 3) return xmm_get(c, d.rm);
  return make_v(c.read_mem(d.seg, c.ea(d), n), 0);
}
// The x87 -> MMX transition (TOP = 0, all tags valid) is interp::mmx_enter (x87_core.h); call
// it after every check that can fault. mm_get works for any TOP, mm_set after the transition.
// The mm/m64 source operand (ModRM.rm; register numbers ignore REX.B: SDM Vol.2 §2.2.1.2).
inline u64 src_mm(Cpu& c, const DecodedInsn& d) {
  return d.mod == 3 ? mm_get(c, d.rm & 7) : c.read_mem(d.seg, c.ea(d), 8);
}

// ---- floating point on the host with the guest's MXCSR ----
constexpr u32 kMxIE = 1, kMxDE = 2, kMxZE = 4, kMxFlags = 0x3F;

// Runs fn() with the guest's rounding/DAZ/FTZ and every exception masked on the host; returns
// the exception flags it raised. The compiler does not order FP arithmetic against LDMXCSR,
// so fn must reach the operation through an out-of-line call (the imm8 tables of noinline
// functions do).
template <class Fn>
inline u32 with_guest_mxcsr(Cpu& c, Fn&& fn, u32 extra_bits = 0) {
  const u32 host = _mm_getcsr();
  _mm_setcsr((fx::mxcsr(c) & ~kMxFlags) | 0x1F80 | extra_bits);
  fn();
  const u32 flags = _mm_getcsr() & kMxFlags;
  _mm_setcsr(host);
  return flags;
}

// Host run of fn() that reports the exception flags an unmasked-exception guest would see.
// With UE masked the host flags underflow only for tiny *and inexact* results, whereas an
// unmasked UE is signalled for every tiny result (SDM Vol.1 §4.9.1.5). When the guest has UE
// unmasked, a second host run with FTZ set (which flags UE for every tiny result, §10.2.3.3)
// supplies that flag; its result is discarded.
template <class Fn, class Fn2>
inline u32 guest_fp_flags(Cpu& c, Fn&& fn, Fn2&& fn_discard) {
  u32 flags = with_guest_mxcsr(c, fn);
  constexpr u32 kMxUE = 0x10, kUnderflowMask = 1u << 11, kFtz = 1u << 15;
  if (!(fx::mxcsr(c) & kUnderflowMask) && !(flags & kMxUE)) flags |= with_guest_mxcsr(c, fn_discard, kFtz) & kMxUE;
  return flags;
}

// Applies the SIMD floating-point exception rules to the flags one instruction raised
// (SDM Vol.1 §11.5.1): precomputation exceptions (IE, DE, ZE) that are unmasked stop the
// instruction before the post-computation ones (OE, UE, PE) are looked at. Masked-only:
// flags are ORed into MXCSR and the caller writes its result. Unmasked: the flags are set,
// the destination is left alone, and #XM (CR4.OSXMMEXCPT = 1) or #UD is raised.
inline void simd_fp_commit(Cpu& c, u32 flags) {
  const u32 mx = fx::mxcsr(c);
  const u32 unmasked = ~(mx >> 7) & kMxFlags;
  const u32 pre = flags & (kMxIE | kMxDE | kMxZE);
  u32 raise = 0;
  if (pre & unmasked) {
    raise = pre;
  } else if (flags & unmasked) {
    raise = flags;
  }
  if (raise) {
    fx::set_mxcsr(c, mx | raise);
    c.fault_no_error((c.state().cr4 & kCr4Osxmmexcpt) ? kXM : kUD);
  }
  fx::set_mxcsr(c, mx | flags);
}

// ---- imm8-templated host operations ----
// Builds std::array{&T::template run<0>, ..., &T::template run<N-1>}.
template <class T, std::size_t... I>
constexpr auto imm_table_impl(std::index_sequence<I...>) {
  return std::array{&T::template run<static_cast<int>(I)>...};
}
template <class T, std::size_t N>
constexpr auto imm_table() {
  return imm_table_impl<T>(std::make_index_sequence<N>{});
}

// Register files of sse4_*.cpp.
void register_ssse3(Table& t);   // sse4_ssse3.cpp
void register_sse41(Table& t);   // sse4_sse41.cpp, sse4_sse41_fp.cpp
void register_sse41_fp(Table& t);
void register_sse42(Table& t);   // sse4_sse42.cpp

}  // namespace rv::interp::s4
