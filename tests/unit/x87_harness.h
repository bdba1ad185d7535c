// Test harness for the x87 tests: runs the same instruction bytes in the interpreter (64-bit
// guest) and natively on the host (an executable page between FXRSTOR64 and FXSAVE64) from
// the same FXSAVE image and data, and compares the FXSAVE images (FCW, FSW, abridged FTW,
// MXCSR, ST0..ST7; FOP/FIP/FDP are host-specific and checked separately) and the data the code
// stored. Memory operands are [rsi+disp8] so the bytes run unchanged on both.
#pragma once
#include <gtest/gtest.h>
#include <sys/mman.h>

#include <array>
#include <cmath>
#include <cstring>
#include <limits>

#include "cpu/interp/x87_core.h"
#include "tests/unit/cpu_env.h"

namespace rv::test {
namespace {

namespace x87 = interp::x87;
constexpr u64 kCode = 0x1000, kData = 0x20000;
constexpr unsigned kDataSize = 256;
using Bytes = std::vector<u8>;
using Data = std::array<u8, kDataSize>;
struct alignas(16) Image {
  u8 b[512] = {};
};

// Encodings: memory operand [rsi+disp8], register form, and concatenation.
Bytes M(u8 opc, unsigned reg, u8 disp) { return {opc, static_cast<u8>(0x46 | (reg << 3)), disp}; }
Bytes R(u8 opc, u8 modrm) { return {opc, modrm}; }
Bytes cat(std::initializer_list<Bytes> parts) {
  Bytes out;
  for (const Bytes& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}
const Bytes kFnstswAxToMem = {0xDF, 0xE0, 0x66, 0x89, 0x46, 0xF8};   // fnstsw ax; mov [rsi-8], ax
inline Bytes SW(u8 disp) { return {0xDF, 0xE0, 0x66, 0x89, 0x46, disp}; }      // fnstsw ax; mov [rsi+disp], ax

Image initial_image(u16 fcw = 0x037F) {
  Image im;
  std::memcpy(im.b + 0, &fcw, 2);
  const u32 mxcsr = 0x1F80, mask = 0xFFFF;
  std::memcpy(im.b + 24, &mxcsr, 4);
  std::memcpy(im.b + 28, &mask, 4);
  return im;
}

// ---- the host side ----
class HostExec {
 public:
  HostExec() {
    m_page = static_cast<u8*>(mmap(nullptr, 1 << 16, PROT_READ | PROT_WRITE | PROT_EXEC,
                                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
  }
  ~HostExec() { munmap(m_page, 1 << 16); }
  bool ok() const { return m_page != MAP_FAILED; }
  // rdi = image (FXRSTOR64 before, FXSAVE64 after), rsi = data + 16 (so [rsi-16] is usable).
  void run(const Bytes& code, Image& im, u8* data) {
    Bytes t = {0x48, 0x0F, 0xAE, 0x0F};   // fxrstor64 [rdi]
    t.insert(t.end(), code.begin(), code.end());
    for (u8 b : {0x48, 0x0F, 0xAE, 0x07, 0xDB, 0xE3, 0xC3}) t.push_back(b);   // fxsave64 [rdi]; fninit; ret
    std::memcpy(m_page, t.data(), t.size());
    reinterpret_cast<void (*)(u8*, u8*)>(m_page)(im.b, data + 16);
  }

 private:
  u8* m_page;
};

// Records the first exception (vector and faulting RIP) and stops.
class ExcHook final : public TraceHook {
 public:
  explicit ExcHook(Cpu& cpu) : m_cpu(cpu) {}
  void before(const Cpu&, u64, const u8*, unsigned) override {}
  void after(const Cpu&) override {}
  void exception(const Cpu& c, u8 vector, bool, u32) override {
    if (m_vector < 0) { m_vector = vector; m_rip = c.state().rip; }
    m_cpu.request_stop();
  }
  Cpu& m_cpu;
  int m_vector = -1;
  u64 m_rip = 0;
};

// ---- the guest side: 64-bit mode, identity-mapped low 2 MiB ----
struct X87Env : CpuEnv {
  CpuState& s = cpu.state();
  int vector = -1;
  u64 fault_rip = 0;

  void long_mode(const Bytes& code) {
    Bytes c = code;
    c.push_back(0xF4);
    mem.write_bytes(kCode, c.data(), c.size());
    const u64 pml4 = 0x100000, pdpt = 0x101000, pd = 0x102000, pt = 0x103000;
    for (u64 t = pml4; t < pt + 0x1000; t += 8) mem.write(t, 0, 8);
    mem.write(pml4, pdpt | 7, 8);
    mem.write(pdpt, pd | 7, 8);
    mem.write(pd, pt | 7, 8);
    for (u64 i = 0; i < 512; i++) mem.write(pt + 8 * i, (i << 12) | 7, 8);
    s.cr0 = kCr0Pe | kCr0Pg | kCr0Wp | kCr0Ne | kCr0Et | kCr0Mp;
    s.cr4 = kCr4Pae | kCr4Osfxsr;
    s.efer = kEferLme | kEferLma;
    s.cr3 = pml4;
    s.seg[CS] = Segment{0x08, 0x209B, 0xFFFFFFFF, 0};
    for (int r : {ES, SS, DS, FS, GS}) s.seg[r] = Segment{0x10, 0x4093, 0xFFFFFFFF, 0};
    s.rip = kCode;
    s.gpr[RSP] = 0x80000;
    s.gpr[RSI] = kData + 16;
    cpu.state_changed();
  }
  void run_code(const Bytes& code, const Image& im, u8* data) {
    long_mode(code);
    std::memcpy(s.fpu.fxsave, im.b, 512);
    mem.write_bytes(kData, data, kDataSize);
    ExcHook hook(cpu);
    cpu.set_trace(&hook);
    cpu.run(100000);
    cpu.set_trace(nullptr);
    vector = hook.m_vector;
    fault_rip = hook.m_rip;
    for (unsigned i = 0; i < kDataSize; i++) data[i] = static_cast<u8>(mem.read(kData + i, 1));
  }
  u16 fsw() const { return x87::rd16(s.fpu.fxsave + 2); }
  u16 fop() const { return x87::rd16(s.fpu.fxsave + 6); }
  u64 fip() const { return x87::rd64(s.fpu.fxsave + 8); }
  u64 fdp() const { return x87::rd64(s.fpu.fxsave + 16); }
};

std::string hex(const u8* p, unsigned n) {   // little-endian field as one hex number
  std::string s;
  char b[4];
  for (unsigned i = 0; i < n; i++) s += (std::snprintf(b, sizeof b, "%02x", p[n - 1 - i]), b);
  return s;
}

// Runs `code` both ways and compares. Returns the guest env for further checks.
struct Outcome {
  Image host, guest;
  Data host_data, guest_data;
  int vector;
};
Outcome compare(const Bytes& code, const Data& data_in, const Image& init = initial_image(),
                const char* what = "", unsigned data_cmp_end = kDataSize) {
  static HostExec host;
  EXPECT_TRUE(host.ok());
  Outcome o;
  o.host = init;
  o.host_data = data_in;
  host.run(code, o.host, o.host_data.data());
  X87Env e;
  o.guest_data = data_in;
  e.run_code(code, init, o.guest_data.data());
  std::memcpy(o.guest.b, e.s.fpu.fxsave, 512);
  o.vector = e.vector;
  EXPECT_EQ(e.vector, -1) << what << ": unexpected exception in the guest";
  const Image& h = o.host;
  const Image& g = o.guest;
  EXPECT_EQ(hex(h.b + 0, 2), hex(g.b + 0, 2)) << what << ": FCW";
  EXPECT_EQ(hex(h.b + 2, 2), hex(g.b + 2, 2)) << what << ": FSW";
  EXPECT_EQ(hex(h.b + 4, 2), hex(g.b + 4, 2)) << what << ": FTW";
  EXPECT_EQ(hex(h.b + 24, 4), hex(g.b + 24, 4)) << what << ": MXCSR";
  for (unsigned i = 0; i < 8; i++)
    EXPECT_EQ(hex(h.b + 32 + 16 * i, 16), hex(g.b + 32 + 16 * i, 16)) << what << ": ST" << i;
  for (unsigned i = 0; i < data_cmp_end; i += 8)
    EXPECT_EQ(hex(o.host_data.data() + i, 8), hex(o.guest_data.data() + i, 8)) << what << ": data at " << i;
  return o;
}

template <class T> void put(Data& d, unsigned off, T v) { std::memcpy(d.data() + off, &v, sizeof v); }
inline void put80(Data& d, unsigned off, u64 mant, u16 se) {
  std::memcpy(d.data() + off, &mant, 8);
  std::memcpy(d.data() + off + 8, &se, 2);
}

// Data layout (offsets from the buffer start; code addresses them as [rsi + off - 16]):
// 0x00 fcw, 0x10 a (m64), 0x18 b (m64), 0x20 m32, 0x24 m32int, 0x28 m16int, 0x30 m80,
// 0x40.. results.
constexpr u8 D(unsigned off) { return static_cast<u8>(off - 16); }

}  // namespace
}  // namespace rv::test
