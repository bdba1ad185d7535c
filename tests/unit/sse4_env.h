// Test bench for the SSSE3/SSE4 handlers: a 64-bit guest (low 2 MiB identity-mapped) and a
// native runner that executes the same instruction bytes on the host CPU, so the host is the
// oracle for every register, flag, MXCSR and memory result.
#pragma once
#include <sys/mman.h>

#include <cstring>
#include <random>
#include <vector>

#include "tests/unit/cpu_env.h"

namespace rv::test::sse4 {

// Records the first exception and stops the run there.
class FirstFault final : public TraceHook {
 public:
  explicit FirstFault(Cpu& cpu) : m_cpu(cpu) {}
  void before(const Cpu&, u64, const u8*, unsigned) override {}
  void after(const Cpu&) override {}
  void exception(const Cpu&, u8 vector, bool, u32 error) override {
    if (m_vector < 0) {
      m_vector = vector;
      m_error = error;
    }
    m_cpu.request_stop();
  }
  int m_vector = -1;
  u32 m_error = 0;

 private:
  Cpu& m_cpu;
};

// Register/memory state shared by the guest and the native runs. Offsets are used by the
// native runner's assembly: keep the layout.
struct Regs {
  alignas(16) u8 xmm[16][16];   // 0
  u64 mm[8];                    // 256
  u64 gpr[4];                   // 320: rax rcx rdx rbx
  u64 rsi;                      // 352
  u64 flags;                    // 360
  u32 mxcsr;                    // 368
  u32 host_mxcsr;               // 372
};
static_assert(offsetof(Regs, mm) == 256 && offsetof(Regs, gpr) == 320 && offsetof(Regs, rsi) == 352 &&
              offsetof(Regs, flags) == 360 && offsetof(Regs, mxcsr) == 368);

constexpr u64 kData = 0x8000;        // guest data buffer (RSI)
constexpr u64 kCodeBase = 0x10000;   // code slots, 32 bytes each, each used once per env
constexpr unsigned kDataSize = 64;
constexpr u64 kGdt = 0x7000, kIdt = 0x6000, kHandler = 0x5000;

// Runs `insn` natively: loads the registers from r, calls the bytes (followed by RET) and
// stores the registers back. RSI points at r.rsi (a host buffer).
class NativeRunner {
 public:
  NativeRunner() {
    m_page = static_cast<u8*>(mmap(nullptr, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
  }
  ~NativeRunner() { munmap(m_page, 4096); }
  bool ok() const { return m_page != MAP_FAILED; }
  void run(const std::vector<u8>& insn, Regs& r) {
    std::memcpy(m_page, insn.data(), insn.size());
    m_page[insn.size()] = 0xC3;
    __builtin___clear_cache(reinterpret_cast<char*>(m_page), reinterpret_cast<char*>(m_page + insn.size() + 1));
    register Regs* rr asm("r12") = &r;
    register void* fn asm("r13") = m_page;
    asm volatile(
        "sub $128, %%rsp\n\t"
        "stmxcsr 372(%%r12)\n\tldmxcsr 368(%%r12)\n\t"
        "movdqu 0(%%r12), %%xmm0\n\tmovdqu 16(%%r12), %%xmm1\n\tmovdqu 32(%%r12), %%xmm2\n\t"
        "movdqu 48(%%r12), %%xmm3\n\tmovdqu 64(%%r12), %%xmm4\n\tmovdqu 80(%%r12), %%xmm5\n\t"
        "movdqu 96(%%r12), %%xmm6\n\tmovdqu 112(%%r12), %%xmm7\n\tmovdqu 128(%%r12), %%xmm8\n\t"
        "movdqu 144(%%r12), %%xmm9\n\tmovdqu 160(%%r12), %%xmm10\n\tmovdqu 176(%%r12), %%xmm11\n\t"
        "movdqu 192(%%r12), %%xmm12\n\tmovdqu 208(%%r12), %%xmm13\n\tmovdqu 224(%%r12), %%xmm14\n\t"
        "movdqu 240(%%r12), %%xmm15\n\t"
        "movq 256(%%r12), %%mm0\n\tmovq 264(%%r12), %%mm1\n\tmovq 272(%%r12), %%mm2\n\tmovq 280(%%r12), %%mm3\n\t"
        "movq 288(%%r12), %%mm4\n\tmovq 296(%%r12), %%mm5\n\tmovq 304(%%r12), %%mm6\n\tmovq 312(%%r12), %%mm7\n\t"
        "mov 320(%%r12), %%rax\n\tmov 328(%%r12), %%rcx\n\tmov 336(%%r12), %%rdx\n\tmov 344(%%r12), %%rbx\n\t"
        "mov 352(%%r12), %%rsi\n\t"
        "pushq 360(%%r12)\n\tpopfq\n\t"
        "call *%%r13\n\t"
        "pushfq\n\tpopq 360(%%r12)\n\t"
        "mov %%rax, 320(%%r12)\n\tmov %%rcx, 328(%%r12)\n\tmov %%rdx, 336(%%r12)\n\tmov %%rbx, 344(%%r12)\n\t"
        "mov %%rsi, 352(%%r12)\n\t"
        "movdqu %%xmm0, 0(%%r12)\n\tmovdqu %%xmm1, 16(%%r12)\n\tmovdqu %%xmm2, 32(%%r12)\n\t"
        "movdqu %%xmm3, 48(%%r12)\n\tmovdqu %%xmm4, 64(%%r12)\n\tmovdqu %%xmm5, 80(%%r12)\n\t"
        "movdqu %%xmm6, 96(%%r12)\n\tmovdqu %%xmm7, 112(%%r12)\n\tmovdqu %%xmm8, 128(%%r12)\n\t"
        "movdqu %%xmm9, 144(%%r12)\n\tmovdqu %%xmm10, 160(%%r12)\n\tmovdqu %%xmm11, 176(%%r12)\n\t"
        "movdqu %%xmm12, 192(%%r12)\n\tmovdqu %%xmm13, 208(%%r12)\n\tmovdqu %%xmm14, 224(%%r12)\n\t"
        "movdqu %%xmm15, 240(%%r12)\n\t"
        "movq %%mm0, 256(%%r12)\n\tmovq %%mm1, 264(%%r12)\n\tmovq %%mm2, 272(%%r12)\n\tmovq %%mm3, 280(%%r12)\n\t"
        "movq %%mm4, 288(%%r12)\n\tmovq %%mm5, 296(%%r12)\n\tmovq %%mm6, 304(%%r12)\n\tmovq %%mm7, 312(%%r12)\n\t"
        "emms\n\t"
        "stmxcsr 368(%%r12)\n\tldmxcsr 372(%%r12)\n\t"
        "add $128, %%rsp\n\t"
        :
        : "r"(rr), "r"(fn)
        : "rax", "rcx", "rdx", "rbx", "rsi", "memory", "cc", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5",
          "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15");
  }

 private:
  u8* m_page;
};

// The guest: 64-bit mode, CR0.MP, CR4.OSFXSR|OSXMMEXCPT, FPU in its FNINIT state.
struct Guest : CpuEnv {
  CpuState& s = cpu.state();
  u64 next_code = kCodeBase;

  Guest() {
    const u64 pml4 = 0x100000, pdpt = 0x101000, pd = 0x102000, pt = 0x103000;
    for (u64 t = pml4; t < pt + 0x1000; t += 8) mem.write(t, 0, 8);
    mem.write(pml4, pdpt | 7, 8);
    mem.write(pdpt, pd | 7, 8);
    mem.write(pd, pt | 7, 8);
    for (u64 i = 0; i < 512; i++) mem.write(pt + 8 * i, (i << 12) | 7, 8);
    s.cr0 = kCr0Pe | kCr0Pg | kCr0Wp | kCr0Mp | kCr0Ne;
    s.cr4 = kCr4Pae | kCr4Osfxsr | kCr4Osxmmexcpt;
    s.efer = kEferLme | kEferLma;
    s.cr3 = pml4;
    s.seg[CS] = Segment{0x08, 0x209B, 0xFFFFFFFF, 0};
    s.seg[SS] = Segment{0x10, 0x4093, 0xFFFFFFFF, 0};
    for (int r : {ES, DS, FS, GS}) s.seg[r] = Segment{0x10, 0x4093, 0xFFFFFFFF, 0};
    s.gpr[RSP] = 0x80000;
    // GDT (null, 64-bit code 08h, data 10h) and an IDT whose 32 exception gates all lead to a
    // HLT, so a fault is delivered cleanly instead of escalating to a triple fault.
    mem.write(kGdt + 8, 0x00209A0000000000ull, 8);
    mem.write(kGdt + 16, 0x0000920000000000ull, 8);
    s.gdtr.base = kGdt;
    s.gdtr.limit = 23;
    for (u64 v = 0; v < 32; v++) {
      mem.write(kIdt + 16 * v, (kHandler & 0xFFFF) | (0x08ull << 16) | (0x8Eull << 40) | ((kHandler >> 16) << 48), 8);
      mem.write(kIdt + 16 * v + 8, 0, 8);
    }
    s.idtr.base = kIdt;
    s.idtr.limit = 32 * 16 - 1;
    mem.write(kHandler, 0xF4, 1);
    u16 fcw = 0x037F;
    std::memcpy(s.fpu.fxsave + 0, &fcw, 2);
    set_mxcsr(0x1F80);
  }
  void set_mxcsr(u32 v) { std::memcpy(s.fpu.fxsave + 24, &v, 4); }
  u32 mxcsr() {
    u32 v;
    std::memcpy(&v, s.fpu.fxsave + 24, 4);
    return v;
  }
  u8* xmm(unsigned i) { return s.fpu.fxsave + 160 + 16 * i; }
  u8* st(unsigned i) { return s.fpu.fxsave + 32 + 16 * i; }

  // Places the code (plus HLT) in a fresh slot and points RIP at it.
  void load(const std::vector<u8>& insn) {
    std::vector<u8> c = insn;
    c.push_back(0xF4);
    mem.write_bytes(next_code, c.data(), c.size());
    s.rip = next_code;
    s.halted = false;
    next_code += 32;
    cpu.state_changed();
  }
  // Runs to the HLT; returns the first exception vector, or -1.
  int run_checked() {
    FirstFault hook(cpu);
    cpu.set_trace(&hook);
    StopReason why = cpu.run(100);
    cpu.set_trace(nullptr);
    if (hook.m_vector < 0) {
      EXPECT_TRUE(why == StopReason::Halted || why == StopReason::HaltIdle)
          << "stop " << int(why) << " " << cpu.triple_fault_message();
    }
    return hook.m_vector;
  }

  // Copies r into the guest (MMi = ST(i) with TOP = 0, the state after any MMX instruction).
  void put(const Regs& r, const u8* data) {
    for (unsigned i = 0; i < 16; i++) std::memcpy(xmm(i), r.xmm[i], 16);
    for (unsigned i = 0; i < 8; i++) {
      std::memcpy(st(i), &r.mm[i], 8);
      st(i)[8] = st(i)[9] = 0xFF;
    }
    s.fpu.fxsave[4] = 0xFF;
    for (unsigned i = 0; i < 4; i++) s.gpr[i] = r.gpr[i];
    s.gpr[RSI] = kData;
    cpu.set_rflags((r.flags & kArithFlags) | kFixed1);
    set_mxcsr(r.mxcsr);
    mem.write_bytes(kData, data, kDataSize);
  }
  void get(Regs& r, u8* data) {
    for (unsigned i = 0; i < 16; i++) std::memcpy(r.xmm[i], xmm(i), 16);
    for (unsigned i = 0; i < 8; i++) std::memcpy(&r.mm[i], st(i), 8);
    for (unsigned i = 0; i < 4; i++) r.gpr[i] = s.gpr[i];
    r.rsi = s.gpr[RSI];
    r.flags = cpu.rflags();
    r.mxcsr = mxcsr();
    mem.read_bytes(kData, data, kDataSize);
  }
};

}  // namespace rv::test::sse4
