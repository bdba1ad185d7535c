// CpuState: the one architectural state of the CPU (DESIGN.md decision 1). Every engine runs
// from it and leaves it exact at every exit. It is a plain struct: no pointers, no caches
// (derived data such as the TLB lives in Cpu and is rebuilt by Cpu::state_changed()).
#pragma once
#include <cstddef>
#include <array>

#include "cpu/decoder/decoded_insn.h"
#include "memory/types.h"

namespace rv {

enum Gpr : u8 { RAX, RCX, RDX, RBX, RSP, RBP, RSI, RDI, R8, R9, R10, R11, R12, R13, R14, R15 };

// RFLAGS bits (SDM Vol.1 §3.4.3). Named kFlagXX: kPF, kOF, kDF, kAC are exception vectors (cpu.h).
enum Rflag : u64 {
  kFlagCF = 1u << 0, kFixed1 = 1u << 1, kFlagPF = 1u << 2, kFlagAF = 1u << 4, kFlagZF = 1u << 6, kFlagSF = 1u << 7,
  kFlagTF = 1u << 8, kFlagIF = 1u << 9, kFlagDF = 1u << 10, kFlagOF = 1u << 11, kFlagIOPL = 3u << 12, kFlagNT = 1u << 14,
  kFlagRF = 1u << 16, kFlagVM = 1u << 17, kFlagAC = 1u << 18, kFlagVIF = 1u << 19, kFlagVIP = 1u << 20, kFlagID = 1u << 21,
};
constexpr u64 kArithFlags = kFlagCF | kFlagPF | kFlagAF | kFlagZF | kFlagSF | kFlagOF;

// A segment register with its hidden descriptor cache. `attr` packs descriptor bits 40..47
// (type, S, DPL, P) in bits 0..7 and bits 52..55 (AVL, L, D/B, G) in bits 12..15, the VMX
// access-rights layout. `limit` is the byte-granular limit (G already applied).
struct Segment {
  u16 sel = 0;
  u16 attr = 0;
  u32 limit = 0;
  u64 base = 0;
  bool operator==(const Segment&) const = default;
  u8 type() const { return attr & 0xF; }
  bool s() const { return attr & 0x10; }
  u8 dpl() const { return (attr >> 5) & 3; }
  bool present() const { return attr & 0x80; }
  bool l() const { return attr & 0x2000; }
  bool db() const { return attr & 0x4000; }
  bool g() const { return attr & 0x8000; }
};

struct DescTable {
  u64 base = 0;
  u32 limit = 0;
  bool operator==(const DescTable&) const = default;
};

// The lazy arithmetic flags (STYLE.md guideline 5). `op` says how OF SF ZF AF PF CF follow from
// the operands and result; LazyOp::None means rflags holds them all.
enum class LazyOp : u8 {
  None,
  Add,      // res = a + b (+ cin)
  Sub,      // res = a - b (- cin); also CMP, NEG (a = 0)
  Inc,      // res = a + 1, CF kept from rflags
  Dec,      // res = a - 1, CF kept from rflags
  Logic,    // SF ZF PF from res; CF = OF = AF = 0
  Result,   // SF ZF PF from res; CF OF AF already in rflags
};

struct LazyFlags {
  u64 res = 0, a = 0, b = 0;
  // op, size and cin are one 32-bit word (with pad): Cpu::set_lazy() writes them with one
  // store, since eval_cond() reads them with one load (two byte stores then a wider load
  // stall store forwarding: 23% of cpubench in one JB).
  LazyOp op = LazyOp::None;
  u8 size = 4;      // operand size in bytes
  u8 cin = 0;       // carry in for ADC/SBB
  u8 pad = 0;
  bool operator==(const LazyFlags&) const = default;
};
static_assert(offsetof(LazyFlags, size) == offsetof(LazyFlags, op) + 1 && offsetof(LazyFlags, cin) == offsetof(LazyFlags, op) + 2 &&
              offsetof(LazyFlags, pad) == offsetof(LazyFlags, op) + 3 && offsetof(LazyFlags, op) % 4 == 0);

// MSR indices we model (SDM Vol.4).
namespace msr {
constexpr u32 kTsc = 0x10, kApicBase = 0x1B, kMtrrCap = 0xFE, kSysenterCs = 0x174, kSysenterEsp = 0x175,
              kSysenterEip = 0x176, kMiscEnable = 0x1A0, kPat = 0x277, kMtrrDefType = 0x2FF,
              kMtrrPhysBase0 = 0x200, kMtrrFix64k = 0x250, kMtrrFix16k80 = 0x258, kMtrrFix16kA0 = 0x259,
              kMtrrFix4kC0 = 0x268, kEfer = 0xC0000080, kStar = 0xC0000081, kLstar = 0xC0000082,
              kCstar = 0xC0000083, kSfmask = 0xC0000084, kFsBase = 0xC0000100, kGsBase = 0xC0000101,
              kKernelGsBase = 0xC0000102, kTscAux = 0xC0000103;
}
constexpr u64 kEferSce = 1u << 0, kEferLme = 1u << 8, kEferLma = 1u << 10, kEferNxe = 1u << 11;
constexpr u64 kCr0Pe = 1u << 0, kCr0Mp = 1u << 1, kCr0Em = 1u << 2, kCr0Ts = 1u << 3, kCr0Et = 1u << 4,
              kCr0Ne = 1u << 5, kCr0Wp = 1u << 16, kCr0Am = 1u << 18, kCr0Nw = 1u << 29, kCr0Cd = 1u << 30,
              kCr0Pg = 1u << 31;
constexpr u64 kCr4Vme = 1u << 0, kCr4Pvi = 1u << 1, kCr4Tsd = 1u << 2, kCr4De = 1u << 3, kCr4Pse = 1u << 4,
              kCr4Pae = 1u << 5, kCr4Mce = 1u << 6, kCr4Pge = 1u << 7, kCr4Pce = 1u << 8,
              kCr4Osfxsr = 1u << 9, kCr4Osxmmexcpt = 1u << 10, kCr4Umip = 1u << 11, kCr4Fsgsbase = 1u << 16,
              kCr4Pcide = 1u << 17, kCr4Osxsave = 1u << 18, kCr4Smep = 1u << 20, kCr4Smap = 1u << 21;

// x87/SSE state in the FXSAVE layout (filled in by the x87/SSE work; kept here so snapshots
// and engine switches carry it from day one).
struct alignas(16) FpuState {
  u8 fxsave[512] = {};
  bool operator==(const FpuState&) const = default;
};

struct CpuState {
  std::array<u64, 16> gpr{};
  u64 rip = 0;
  u64 rflags = kFixed1;     // arithmetic flags are valid only where lazy.op says so
  LazyFlags lazy;
  std::array<Segment, 6> seg{};   // indexed by SegReg
  Segment ldtr, tr;
  DescTable gdtr, idtr;
  u64 cr0 = 0, cr2 = 0, cr3 = 0, cr4 = 0, cr8 = 0, xcr0 = 1;
  std::array<u64, 8> dr{};
  u64 efer = 0;
  u64 star = 0, lstar = 0, cstar = 0, sfmask = 0, kernel_gs_base = 0;
  u64 sysenter_cs = 0, sysenter_esp = 0, sysenter_eip = 0;
  u64 tsc_offset = 0;       // TSC = clock-derived count + tsc_offset
  u64 tsc_aux = 0;
  u64 apic_base = 0xFEE00900;   // BSP, enabled
  u64 pat = 0x0007040600070406ull;
  u64 misc_enable = 1;          // fast strings
  u64 mtrr_def_type = 0;
  std::array<u64, 16> mtrr_var{};   // base/mask pairs 0..7
  std::array<u64, 11> mtrr_fixed{};
  FpuState fpu;

  bool halted = false;
  bool nmi_pending = false;
  bool nmi_blocked = false;   // an NMI was delivered and no IRET has run since (SDM Vol.3A §6.7.1)
  u64 int_shadow_until = 0;   // interrupts inhibited while icount < this (STI, MOV SS, POP SS)
  u64 icount = 0;             // retired instructions (REP iterations count one each) plus
                              // event deliveries (one each: exceptions, interrupts, NMIs)

  bool operator==(const CpuState&) const = default;
};

}  // namespace rv
