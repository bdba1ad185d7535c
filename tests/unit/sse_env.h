// Test bench for the MMX/SSE handlers: 64-bit mode with the low 16 MiB identity-mapped by
// 2 MiB pages, CR4.OSFXSR/OSXMMEXCPT set, code at kCode, data at kData (RBX points there).
// run() goes to the HLT and returns the first exception vector, or -1.
#pragma once
#include <gtest/gtest.h>
#include <immintrin.h>

#include <cstring>
#include <vector>

#include "tests/unit/cpu_env.h"

namespace rv::test {

class SseFaultHook final : public TraceHook {
 public:
  explicit SseFaultHook(Cpu& cpu) : m_cpu(cpu) {}
  void before(const Cpu&, u64, const u8*, unsigned) override {}
  void after(const Cpu&) override {}
  void exception(const Cpu&, u8 vector, bool, u32 error) override {
    if (m_vector < 0) { m_vector = vector; m_error = error; }
    m_cpu.request_stop();
  }
  int m_vector = -1;
  u32 m_error = 0;

 private:
  Cpu& m_cpu;
};

struct SseEnv : CpuEnv {
  static constexpr u64 kCode = 0x1000, kData = 0x20000;
  CpuState& s = cpu.state();

  SseEnv() {
    const u64 pml4 = 0x100000, pdpt = 0x101000, pd = 0x102000;
    for (u64 t = pml4; t < pd + 0x1000; t += 8) mem.write(t, 0, 8);
    mem.write(pml4, pdpt | 7, 8);
    mem.write(pdpt, pd | 7, 8);
    for (u64 i = 0; i < 8; i++) mem.write(pd + 8 * i, (i << 21) | 0x87, 8);
    s.cr0 = kCr0Pe | kCr0Pg | kCr0Mp | kCr0Ne | kCr0Et;
    s.cr4 = kCr4Pae | kCr4Osfxsr | kCr4Osxmmexcpt;
    s.efer = kEferLme | kEferLma;
    s.cr3 = pml4;
    s.seg[CS] = Segment{0x08, 0x209B, 0xFFFFFFFF, 0};
    for (int r : {ES, SS, DS, FS, GS}) s.seg[r] = Segment{0x10, 0x4093, 0xFFFFFFFF, 0};
    s.rip = kCode;
    s.gpr[RSP] = 0x80000;
    s.gpr[RBX] = kData;
    cpu.state_changed();
  }
  void code(std::vector<u8> c) {
    c.push_back(0xF4);
    mem.write_bytes(kCode, c.data(), c.size());
    s.rip = kCode;
  }
  int run(u64 n = 10000) {
    cpu.state_changed();
    SseFaultHook hook(cpu);
    cpu.set_trace(&hook);
    StopReason why = cpu.run(n);
    cpu.set_trace(nullptr);
    if (hook.m_vector < 0) EXPECT_TRUE(why == StopReason::Halted || why == StopReason::HaltIdle);
    last_error = hook.m_error;
    return hook.m_vector;
  }
  u32 last_error = 0;

  // XMM / MMX / MXCSR access
  __m128i xmm(unsigned i) {
    __m128i v;
    std::memcpy(&v, s.fpu.fxsave + 160 + 16 * i, 16);
    return v;
  }
  void set_xmm(unsigned i, __m128i v) { std::memcpy(s.fpu.fxsave + 160 + 16 * i, &v, 16); }
  void set_xmm_ps(unsigned i, __m128 v) { set_xmm(i, _mm_castps_si128(v)); }
  void set_xmm_pd(unsigned i, __m128d v) { set_xmm(i, _mm_castpd_si128(v)); }
  __m128 xmm_ps(unsigned i) { return _mm_castsi128_ps(xmm(i)); }
  __m128d xmm_pd(unsigned i) { return _mm_castsi128_pd(xmm(i)); }
  // MMX registers assume TOP = 0 (ST order = physical order).
  u64 mm(unsigned i) {
    u64 v;
    std::memcpy(&v, s.fpu.fxsave + 32 + 16 * i, 8);
    return v;
  }
  void set_mm(unsigned i, u64 v) {
    std::memcpy(s.fpu.fxsave + 32 + 16 * i, &v, 8);
    s.fpu.fxsave[32 + 16 * i + 8] = 0xFF;
    s.fpu.fxsave[32 + 16 * i + 9] = 0xFF;
  }
  u32 mxcsr() {
    u32 v;
    std::memcpy(&v, s.fpu.fxsave + 24, 4);
    return v;
  }
  void set_mxcsr(u32 v) { std::memcpy(s.fpu.fxsave + 24, &v, 4); }
  u16 fsw() { return static_cast<u16>(s.fpu.fxsave[2] | (s.fpu.fxsave[3] << 8)); }
  void set_fsw(u16 v) { std::memcpy(s.fpu.fxsave + 2, &v, 2); }
  u8 ftw() { return s.fpu.fxsave[4]; }

  void put(u64 addr, const void* p, unsigned n) { mem.write_bytes(addr, static_cast<const u8*>(p), n); }
  void put128(u64 addr, __m128i v) { put(addr, &v, 16); }
  __m128i get128(u64 addr) {
    u64 lo = mem.read(addr, 8), hi = mem.read(addr + 8, 8);
    return _mm_set_epi64x(static_cast<i64>(hi), static_cast<i64>(lo));
  }
};

inline bool same(__m128i a, __m128i b) { return _mm_movemask_epi8(_mm_cmpeq_epi8(a, b)) == 0xFFFF; }
inline bool same(__m128 a, __m128 b) { return same(_mm_castps_si128(a), _mm_castps_si128(b)); }
inline bool same(__m128d a, __m128d b) { return same(_mm_castpd_si128(a), _mm_castpd_si128(b)); }

// Hides a value from the optimiser so host computations happen at run time, under MXCSR.
template <class T>
T hide(T v) {
  asm volatile("" : "+x"(v));
  return v;
}

// Runs f() on the host with MXCSR = m (flags cleared) and returns the result and the flags.
template <class F>
auto host_with(u32 m, u32& flags, F f) {
  u32 saved = _mm_getcsr();
  _mm_setcsr(m & ~0x3Fu);
  auto r = f();
  asm volatile("" : "+x"(r));
  flags = _mm_getcsr() & 0x3F;
  _mm_setcsr(saved);
  return r;
}

}  // namespace rv::test
