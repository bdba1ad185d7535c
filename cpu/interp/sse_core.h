// Shared pieces of the MMX/SSE/SSE2/SSE3 handlers (sse_*.cpp, mmx.cpp): register and memory
// operand access, the MMX state transition, and running an SSE floating-point operation on the
// host's own unit under the guest's MXCSR.
//
// Vectors are held as __m128i everywhere (V). MMX operations run on the low 64 bits of a V, so
// one SSE2 implementation serves both the MMX and the XMM form; no host MMX instruction is ever
// used (it would disturb the host's x87 state).
#pragma once
#include <immintrin.h>

#include <cmath>
#include <cstring>
#include <type_traits>

#include "cpu/interp/handlers.h"
#include "cpu/interp/simd_checks.h"
#include "cpu/interp/x87_core.h"
#include "memory/log.h"

namespace rv::interp {

using V = __m128i;

// MXCSR bits (SDM Vol.1 §10.2.3).
constexpr u32 kMxIe = 1, kMxDe = 2, kMxZe = 4, kMxOe = 8, kMxUe = 16, kMxPe = 32, kMxFlags = 0x3F,
              kMxMasks = 0x1F80, kMxDaz = 0x40, kMxFtz = 0x8000;

// ---- XMM registers ----
RV_INLINE V xmm_get(Cpu& c, unsigned i) {
  V v;
  std::memcpy(&v, fx::xmm(c, i), 16);
  return v;
}
RV_INLINE void xmm_set(Cpu& c, unsigned i, V v) { std::memcpy(fx::xmm(c, i), &v, 16); }
RV_INLINE u64 lo64(V v) { return static_cast<u64>(_mm_cvtsi128_si64(v)); }
RV_INLINE u64 hi64(V v) { return static_cast<u64>(_mm_cvtsi128_si64(_mm_unpackhi_epi64(v, v))); }
RV_INLINE V make_v(u64 lo, u64 hi) { return _mm_set_epi64x(static_cast<i64>(hi), static_cast<i64>(lo)); }
RV_INLINE V v64(u64 lo) { return _mm_cvtsi64_si128(static_cast<i64>(lo)); }   // upper half zero

// ---- x87 status / MMX registers ----
// MMX register MMi is physical x87 register Ri, stored in the FXSAVE image at ST((i-TOP)&7).
RV_INLINE u16 fsw(Cpu& c) {
  u16 v;
  std::memcpy(&v, c.state().fpu.fxsave + fx::kFsw, 2);
  return v;
}
RV_INLINE unsigned fpu_top(Cpu& c) { return (fsw(c) >> 11) & 7; }
RV_INLINE u64 mm_get(Cpu& c, unsigned i) {
  u64 v;
  std::memcpy(&v, fx::st(c, ((i & 7) - fpu_top(c)) & 7), 8);
  return v;
}
// The x87 -> MMX transition every MMX instruction makes (SDM Vol.1 §9.5.1): TOP = 0 and every
// tag valid (x87_core.h mmx_enter rotates the ST-order slots). Call only after every check
// that can fault; afterwards ST order = physical order.
RV_INLINE void to_mmx_state(Cpu& c) {
  const u8* img = c.state().fpu.fxsave;
  if (RV_UNLIKELY(img[fx::kFtw] != 0xFF || (img[fx::kFsw + 1] & 0x38))) mmx_enter(c);
}
// Writing an MMX register also sets bits 79:64 of the x87 register to all ones (SDM Vol.1 §9.5.2).
RV_INLINE void mm_set(Cpu& c, unsigned i, u64 v) {
  u8* p = fx::st(c, i & 7);
  std::memcpy(p, &v, 8);
  p[8] = 0xFF;
  p[9] = 0xFF;
}

// MMX precondition (SDM Vol.3B, "Exception Conditions for Legacy SIMD/MMX Instructions" tables):
// CR0.EM -> #UD, CR0.TS -> #NM, pending unmasked x87 exception -> #MF (x87_wait_check). No
// CR4.OSFXSR needed, also for the SSE integer additions on MMX registers (PAVGB mm, ...).
inline void mmx_check(Cpu& c) {
  const CpuState& s = c.state();
  if (s.cr0 & kCr0Em) c.fault_no_error(kUD);
  if (s.cr0 & kCr0Ts) c.fault_no_error(kNM);
  if (RV_UNLIKELY(fsw(c) & 0x3F)) x87_wait_check(c);
}
// Legacy SSE instructions that touch MMX registers (CVTPI2PS, MOVQ2DQ, ...): the SSE checks,
// then a pending x87 exception -> #MF (SDM Vol.3B, "Exception Conditions for Legacy SIMD/MMX
// Instructions with XMM and FP Exception").
inline void sse_mmx_check(Cpu& c) {
  sse_check(c);
  if (RV_UNLIKELY(fsw(c) & 0x3F)) x87_wait_check(c);
}

// ---- memory operands ----
RV_INLINE u64 linear_of(Cpu& c, u8 seg, u64 off) {
  if (c.long64()) return off + (seg >= FS ? c.state().seg[seg].base : 0);
  return (c.state().seg[seg].base + off) & 0xFFFFFFFFu;
}
// A 16-byte operand of a legacy SSE instruction: #GP(0) when `aligned` and the address is not
// 16-byte aligned (SDM Vol.1 §11.4.1). Outside 64-bit mode the segment limit is checked for
// all 16 bytes first (the halves do not wrap at the address size: SDM Vol.3A §5.3).
// Fast path (64-bit mode, TLB hit, within one page): one lookup for all 16 bytes. A TLB hit
// implies a canonical address, and the TLB set with alignment checking is never filled.
RV_INLINE u8* host16(Cpu& c, const DecodedInsn& d, u64 off, Access acc) {
  if (!c.long64()) return nullptr;
  const u64 la = linear_of(c, d.seg, off);
  if ((la & (kPageSize - 1)) > kPageSize - 16) return nullptr;
  return c.host_ptr(la, acc);
}
RV_INLINE V read_m128(Cpu& c, const DecodedInsn& d, bool aligned) {
  u64 off = c.ea(d);
  if (aligned && (linear_of(c, d.seg, off) & 15)) c.fault(kGP, 0);
  if (const u8* p = host16(c, d, off, Access::Read)) {
    V v;
    std::memcpy(&v, p, 16);
    return v;
  }
  if (!c.long64()) c.seg_linear(d.seg, off, 16, Access::Read);
  u64 lo = c.read_mem(d.seg, off, 8);
  u64 hi = c.read_mem(d.seg, off + 8, 8);
  return make_v(lo, hi);
}
// Checks that an n-byte store can complete. A store that crosses a page is probed page by
// page, so a #PF on the second page reports its first byte in CR2, as hardware does.
RV_INLINE void probe_store(Cpu& c, const DecodedInsn& d, u64 off, unsigned n) {
  if (!c.long64()) c.seg_linear(d.seg, off, n, Access::Write);
  const unsigned in_page = kPageSize - (linear_of(c, d.seg, off) & (kPageSize - 1));
  if (RV_LIKELY(in_page >= n)) return c.probe_write(d.seg, off, n);
  c.probe_write(d.seg, off, in_page);
  c.probe_write(d.seg, off + in_page, n - in_page);
}
RV_INLINE void write_m128(Cpu& c, const DecodedInsn& d, V v, bool aligned) {
  u64 off = c.ea(d);
  if (aligned && (linear_of(c, d.seg, off) & 15)) c.fault(kGP, 0);
  if (u8* p = host16(c, d, off, Access::Write)) {
    std::memcpy(p, &v, 16);
    return;
  }
  probe_store(c, d, off, 16);
  c.write_mem(d.seg, off, 8, lo64(v));
  c.write_mem(d.seg, off + 8, 8, hi64(v));
}
// Wx: XMM register or m128 (aligned unless told otherwise).
RV_INLINE V read_Wx(Cpu& c, const DecodedInsn& d, bool aligned = true) {
  return d.mod == 3 ? xmm_get(c, d.rm) : read_m128(c, d, aligned);
}
// Scalar operand: the whole register, or m64/m32 in the low bits of a zeroed vector.
RV_INLINE V read_Wq(Cpu& c, const DecodedInsn& d) {
  return d.mod == 3 ? xmm_get(c, d.rm) : v64(c.read_mem(d.seg, c.ea(d), 8));
}
RV_INLINE V read_Wd(Cpu& c, const DecodedInsn& d) {
  return d.mod == 3 ? xmm_get(c, d.rm) : v64(c.read_mem(d.seg, c.ea(d), 4));
}
// Operand of `size` bytes (16: aligned m128, 8, 4).
template <unsigned Size>
RV_INLINE V read_W(Cpu& c, const DecodedInsn& d) {
  if constexpr (Size == 16) return read_Wx(c, d, true);
  else if constexpr (Size == 8) return read_Wq(c, d);
  else return read_Wd(c, d);
}
// Qq: MMX register or m64 (MMX operands are never alignment-checked beyond #AC).
RV_INLINE u64 read_Qq(Cpu& c, const DecodedInsn& d) {
  return d.mod == 3 ? mm_get(c, d.rm) : c.read_mem(d.seg, c.ea(d), 8);
}

// ---- host floating point under the guest MXCSR ----
// Keeps the compiler from moving a computation across the MXCSR switch.
RV_INLINE void opaque(V& v) { asm volatile("" : "+x"(v)); }
RV_INLINE void opaque(__m128& v) { asm volatile("" : "+x"(v)); }
RV_INLINE void opaque(__m128d& v) { asm volatile("" : "+x"(v)); }
RV_INLINE void opaque(i64& v) { asm volatile("" : "+r"(v)); }
RV_INLINE void opaque(u32& v) { asm volatile("" : "+r"(v)); }

// Runs f() with the guest's rounding, DAZ and FTZ and every exception masked, and returns the
// exception flags it raised in `flags`. FTZ applies only while underflow is masked (SDM Vol.1
// §10.2.3.3), so it is dropped when the guest unmasks UE.
//
// LDMXCSR is slow, so it is skipped when it cannot matter: if the host already runs with the
// wanted control bits and every flag already set on the host is also set and masked in the
// guest's MXCSR, a re-raised old flag changes nothing, and the host's flags afterwards are
// those to merge. The host's control bits are always restored; its flags may stay set.
template <class F>
RV_INLINE auto host_fp(u32 mxcsr, u32& flags, F&& f) {
  u32 want = (mxcsr & ~kMxFlags) | kMxMasks;
  if (RV_UNLIKELY(!(mxcsr & (kMxUe << 7)))) want &= ~kMxFtz;
  const u32 saved = _mm_getcsr();
  const bool reuse = (saved & ~kMxFlags) == want && !(saved & kMxFlags & ~(mxcsr & (mxcsr >> 7)));
  if (!reuse) _mm_setcsr(want);
  auto r = f();
  opaque(r);
  flags = _mm_getcsr() & kMxFlags;
  if ((saved & ~kMxFlags) != want) _mm_setcsr(saved);
  return r;
}

[[noreturn]] void simd_fp_fault(Cpu& c, u32 mxcsr, u32 flags);

// The SIMD floating-point exception rules (SDM Vol.1 §11.5.1-11.5.2): masked exceptions only
// set flags; an unmasked one sets its flag, leaves the destination unchanged and raises #XM
// (or #UD when CR4.OSXMMEXCPT = 0). Returns only when the result may be written.
// An unmasked exception faults even when its flag is already set (the flags are sticky).
RV_INLINE void fp_commit(Cpu& c, u32 mxcsr, u32 flags) {
  if (RV_LIKELY(!flags)) return;
  if (flags & ~(mxcsr >> 7) & kMxFlags) simd_fp_fault(c, mxcsr, flags);
  if (flags & ~mxcsr) fx::set_mxcsr(c, mxcsr | flags);
}

// Casts between the float views and V.
RV_INLINE __m128 ps(V v) { return _mm_castsi128_ps(v); }
RV_INLINE __m128d pd(V v) { return _mm_castsi128_pd(v); }
RV_INLINE V vi(__m128 v) { return _mm_castps_si128(v); }
RV_INLINE V vi(__m128d v) { return _mm_castpd_si128(v); }

// Underflow with UE unmasked is signalled for every tiny result, exact or not; the host (UE
// masked) flags only tiny and inexact ones (SDM Vol.1 §4.9.1.5, §11.5.2.3). An exact tiny
// result is a denormal, so the result lanes are checked for one. Tiny says which lanes hold
// results: none (the operation cannot underflow), PS, SS (lane 0), PD, SD (lane 0).
enum class Tiny : u8 { None, PS, SS, PD, SD };
template <Tiny K>
RV_INLINE bool has_denormal(V r) {
  if constexpr (K == Tiny::PS || K == Tiny::SS) {
    u32 f[4];
    std::memcpy(f, &r, 16);
    for (unsigned i = 0; i < (K == Tiny::PS ? 4u : 1u); i++)
      if (!(f[i] & 0x7F800000u) && (f[i] & 0x007FFFFFu)) return true;
  } else if constexpr (K == Tiny::PD || K == Tiny::SD) {
    u64 f[2];
    std::memcpy(f, &r, 16);
    for (unsigned i = 0; i < (K == Tiny::PD ? 2u : 1u); i++)
      if (!(f[i] & 0x7FF0000000000000ull) && (f[i] & 0x000FFFFFFFFFFFFFull)) return true;
  }
  return false;
}
template <Tiny K>
RV_INLINE void exact_underflow(u32 mxcsr, u32& flags, V r) {
  if constexpr (K != Tiny::None) {
    if (RV_UNLIKELY(!(mxcsr & (kMxUe << 7))) && !(flags & kMxUe) && has_denormal<K>(r)) flags |= kMxUe;
  }
}

// Precision with an unmasked overflow or underflow. Hardware then reports PE only when the
// result rounded with unbounded exponent is inexact (IEEE 754 trapping semantics; SDM Vol.1
// §4.9.1.4-4.9.1.6), while the host, running with those exceptions masked, judges the
// overflowed or denormalized result. This slow path recomputes PE per element: elements
// without an unmasked overflow/underflow keep their own PE; for the others the operands are
// normalized (exactly) so the same rounding happens in range: MUL/DIV scale each operand to
// [1,2), ADD/SUB halve both (an overflowing sum is below twice the maximum), a tiny sum is
// always exact, CVTSD2SS/CVTPD2PS scale the double source. Other operations keep the host's PE.
enum class Refine : u8 { None, Add, Mul, Div, CvtD2S };
template <class T>
RV_INLINE T lane_get(V v, unsigned i) {
  T x;
  std::memcpy(&x, reinterpret_cast<const u8*>(&v) + i * sizeof(T), sizeof(T));
  return x;
}
template <class T>
RV_INLINE V lane_only(T x, unsigned i) {   // 1.0 everywhere but lane i
  T e[16 / sizeof(T)];
  for (T& y : e) y = T(1);
  e[i] = x;
  V v;
  std::memcpy(&v, e, 16);
  return v;
}
template <V (*Op)(V, V), Tiny K, Refine R>
[[gnu::noinline, gnu::cold]] u32 refine_precision(u32 mxcsr, u32 flags, V a, V b) {
  using T = std::conditional_t<K == Tiny::PS || K == Tiny::SS, float, double>;
  constexpr bool kCvt = R == Refine::CvtD2S;
  using S = std::conditional_t<kCvt, double, T>;   // source element type
  const unsigned lanes = (K == Tiny::PS) ? (kCvt ? 2 : 4) : (K == Tiny::PD) ? 2 : 1;
  const u32 unmasked_post = ~(mxcsr >> 7) & (kMxOe | kMxUe);
  bool pe = false;
  for (unsigned i = 0; i < lanes; i++) {
    const S x = lane_get<S>(a, kCvt ? 0 : i), y = lane_get<S>(b, i);
    u32 f;
    V A = lane_only<S>(x, i), B = lane_only<S>(y, i);
    host_fp(mxcsr, f, [&] {
      opaque(A);
      opaque(B);
      return Op(A, B);
    });
    if (!(f & unmasked_post)) {
      pe |= (f & kMxPe) != 0;
      continue;
    }
    if (R == Refine::Add && (f & kMxUe)) continue;   // a tiny sum is exact
    S sx = x, sy = y;
    int e;
    if (R == Refine::Add) {
      sx = x / 2;
      sy = y / 2;
    } else if (R == Refine::CvtD2S) {
      sy = std::frexp(y, &e);
    } else {
      sx = std::frexp(x, &e);
      sy = std::frexp(y, &e);
    }
    A = lane_only<S>(sx, i);
    B = lane_only<S>(sy, i);
    host_fp(mxcsr, f, [&] {
      opaque(A);
      opaque(B);
      return Op(A, B);
    });
    pe |= (f & kMxPe) != 0;
  }
  return (flags & ~kMxPe) | (pe ? kMxPe : 0);
}

// A floating-point operation with a Size-byte source (16: aligned m128; 8/4: scalar).
template <V (*Op)(V, V), unsigned Size, Tiny K = Tiny::None, Refine R = Refine::None>
void exec_fp(Cpu& c, const DecodedInsn& d) {
  sse_check(c);
  V b = read_W<Size>(c, d);
  V a = xmm_get(c, d.reg);
  const u32 mx = fx::mxcsr(c);
  u32 flags;
  V r = host_fp(mx, flags, [&] {
    opaque(a);
    opaque(b);
    return Op(a, b);
  });
  exact_underflow<K>(mx, flags, r);
  if constexpr (R != Refine::None) {
    const u32 unmasked = flags & ~(mx >> 7);
    if (RV_UNLIKELY((unmasked & (kMxOe | kMxUe)) && !(unmasked & (kMxIe | kMxDe | kMxZe)) && (flags & kMxPe)))
      flags = refine_precision<Op, K, R>(mx, flags, a, b);
  }
  fp_commit(c, mx, flags);
  xmm_set(c, d.reg, r);
}

// Byte-masked store of n bytes to DS:rDI (MASKMOVQ, MASKMOVDQU); sse_move.cpp.
void masked_store(Cpu& c, const DecodedInsn& d, const u8* data, const u8* mask, unsigned n);

// Registration per file.
void register_sse_move(Table& t);      // sse_move.cpp
void register_sse_arith(Table& t);     // sse_arith.cpp
void register_sse_convert(Table& t);   // sse_convert.cpp
void register_sse_int(Table& t);       // sse_int.cpp
void register_mmx(Table& t);           // mmx.cpp

}  // namespace rv::interp
