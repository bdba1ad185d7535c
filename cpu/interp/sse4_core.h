// Shared helpers of the SSSE3 / SSE4.1 / SSE4.2 handlers (sse4_*.cpp): XMM and MMX register
// access in the FXSAVE image, memory operands with the legacy-SSE alignment rule, the MMX
// precondition checks, and running a floating-point operation on the host with the guest's
// MXCSR. Integer results come from host intrinsics, floating-point ones from the host's SSE
// unit, so both are bit-exact by construction.
// TODO(lead): sse_core.h (MMX/SSE/SSE2/SSE3) has similar helpers; merge the two later.
#pragma once
#include <immintrin.h>

#include <array>
#include <cstring>
#include <utility>

#include "cpu/interp/handlers.h"
#include "cpu/interp/simd_checks.h"
#include "cpu/interp/x87_core.h"

namespace rv::interp::s4 {

using V = __m128i;

// ---- XMM registers ----
inline V xmm_get(Cpu& c, unsigned i) {
  V v;
  std::memcpy(&v, fx::xmm(c, i), 16);
  return v;
}
inline void xmm_set(Cpu& c, unsigned i, V v) { std::memcpy(fx::xmm(c, i), &v, 16); }

inline V make_v(u64 lo, u64 hi) { return _mm_set_epi64x(static_cast<i64>(hi), static_cast<i64>(lo)); }
inline u64 lo64(V v) { return static_cast<u64>(_mm_cvtsi128_si64(v)); }
inline u64 hi64(V v) { return static_cast<u64>(_mm_extract_epi64(v, 1)); }

// 16-byte memory operand. Legacy-SSE 128-bit operands must be 16-byte aligned (#GP(0)) unless
// the instruction's Exceptions section says otherwise (SDM Vol.2 §2.4: the PCMPxSTRx family
// does not require alignment). The check is on the linear address.
// The alignment check comes before the canonical-address / segment checks: a misaligned
// operand that is also non-canonical via RSP/RBP gives #GP(0), not #SS (observed natively).
inline V read_m128(Cpu& c, const DecodedInsn& d, bool aligned) {
  const u64 off = c.ea(d);
  if (aligned) {
    const u64 base = (!c.long64() || d.seg >= FS) ? c.state().seg[d.seg].base : 0;
    if ((base + off) & 15) c.fault(kGP, 0);
  }
  u64 la = c.seg_linear(d.seg, off, 16, Access::Read);
  u64 lo = c.read_lin(la, 8);
  u64 hi = c.read_lin(c.long64() ? la + 8 : (la + 8) & 0xFFFFFFFFu, 8);   // linear addresses wrap at 4 GiB
  return make_v(lo, hi);
}
// The xmm/m128 source operand (ModRM.rm).
inline V src_xmm(Cpu& c, const DecodedInsn& d, bool aligned = true) {
  return d.mod == 3 ? xmm_get(c, d.rm) : read_m128(c, d, aligned);
}
// An xmm/mN source that reads only N bytes from memory (N <= 8), or the whole register.
inline V src_xmm_narrow(Cpu& c, const DecodedInsn& d, unsigned n) {
  if (d.mod == 3) return xmm_get(c, d.rm);
  return make_v(c.read_mem(d.seg, c.ea(d), n), 0);
}

// ---- MMX registers (SDM Vol.1 §9.5: MMi aliases the mantissa of physical x87 register Ri) ----
// Precondition of an instruction on MMX registers (SDM Vol.2 "Exception Conditions for
// Legacy SIMD/MMX Instructions"): CR0.EM -> #UD, CR0.TS -> #NM, a pending unmasked x87
// exception -> #MF (x87_wait_check, shared with the x87 and MMX files). CR4.OSFXSR is not
// required, as for the other MMX-register forms (sse_core.h mmx_check).
inline u16 fpu_sw(Cpu& c) {
  u16 fsw;
  std::memcpy(&fsw, c.state().fpu.fxsave + fx::kFsw, 2);
  return fsw;
}
inline void mmx_check(Cpu& c) {
  const CpuState& s = c.state();
  if (s.cr0 & kCr0Em) c.fault_no_error(kUD);
  if (s.cr0 & kCr0Ts) c.fault_no_error(kNM);
  if (fpu_sw(c) & 0x3F) x87_wait_check(c);
}
// The x87 -> MMX transition (TOP = 0, all tags valid) is interp::mmx_enter (x87_core.h); call
// it after every check that can fault.
// Reads MMi before mmx_enter (works for any TOP).
inline u64 mm_get(Cpu& c, unsigned i) {
  u64 v;
  std::memcpy(&v, c.state().fpu.fxsave + fx::kSt0 + 16 * ((i - ((fpu_sw(c) >> 11) & 7)) & 7), 8);
  return v;
}
// Writes MMi after mmx_enter (TOP = 0): the mantissa, and all-ones sign/exponent (§9.5.1).
inline void mm_set(Cpu& c, unsigned i, u64 v) {
  u8* p = c.state().fpu.fxsave + fx::kSt0 + 16 * (i & 7);
  std::memcpy(p, &v, 8);
  p[8] = 0xFF;
  p[9] = 0xFF;
}
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
