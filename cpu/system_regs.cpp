// Control registers, EFER, MSRs and CPUID.
//
// The set_cr* / set_efer functions implement MOV CRn / WRMSR semantics including their #GP
// checks (SDM Vol.2 MOV-Control Registers, Vol.3A §2.5, §9.8.5 for IA-32e activation), and
// flush the TLB as hardware does (SDM Vol.3A §4.10.4.1).
//
// CPUID advertises exactly what is implemented, filtered by the CPU model (CpuFeatures, the
// --cpu option): the integer/system core, x87, MMX, SSE..SSE4.2, POPCNT, XSAVE for x87|SSE.
#include <cstring>

#include "cpu/descriptor.h"
#include "memory/log.h"

namespace rv {
namespace {

constexpr u64 kCr4Allowed = kCr4Tsd | kCr4De | kCr4Pse | kCr4Pae | kCr4Mce | kCr4Pge | kCr4Pce | kCr4Osfxsr |
                            kCr4Osxmmexcpt;   // + OSXSAVE, PCIDE when the model has them
constexpr unsigned kPhysBits = 40;
constexpr u64 kPhysMask = (1ull << kPhysBits) - 1;

bool pat_valid(u64 v) {
  for (int i = 0; i < 8; i++) {
    u8 t = (v >> (8 * i)) & 0xFF;
    if (t == 2 || t == 3 || t > 7) return false;
  }
  return true;
}

// MTRR memory types valid in MTRRs: UC WC WT WP WB.
bool mtrr_type_valid(u8 t) { return t == 0 || t == 1 || t == 4 || t == 5 || t == 6; }

int fixed_mtrr_index(u32 index) {
  if (index == msr::kMtrrFix64k) return 0;
  if (index == msr::kMtrrFix16k80) return 1;
  if (index == msr::kMtrrFix16kA0) return 2;
  if (index >= msr::kMtrrFix4kC0 && index <= msr::kMtrrFix4kC0 + 7) return 3 + static_cast<int>(index - msr::kMtrrFix4kC0);
  return -1;
}

constexpr u32 kMsrBiosSignId = 0x8B;   // microcode revision: reads 0, writes ignored
constexpr u32 kMsrPlatformId = 0x17, kMsrMcgCap = 0x179, kMsrMcgStatus = 0x17A;

}  // namespace

void Cpu::set_cr0(u64 v) {
  const u64 old = m_s.cr0;
  if (v >> 32) fault(kGP, 0);
  v |= kCr0Et;   // hardwired to 1 since the i486
  v &= kCr0Pe | kCr0Mp | kCr0Em | kCr0Ts | kCr0Et | kCr0Ne | kCr0Wp | kCr0Am | kCr0Nw | kCr0Cd | kCr0Pg;
  if ((v & kCr0Pg) && !(v & kCr0Pe)) fault(kGP, 0);
  if ((v & kCr0Nw) && !(v & kCr0Cd)) fault(kGP, 0);
  u64 efer = m_s.efer;
  if ((v & kCr0Pg) && !(old & kCr0Pg) && (efer & kEferLme)) {
    // IA-32e activation (SDM Vol.3A §9.8.5): needs PAE and may not start in a 64-bit CS.
    if (!(m_s.cr4 & kCr4Pae) || m_s.seg[CS].l()) fault(kGP, 0);
    efer |= kEferLma;
  }
  if (!(v & kCr0Pg) && (old & kCr0Pg) && (efer & kEferLma)) {
    if (m_mode == CpuMode::Long64) fault(kGP, 0);
    efer &= ~kEferLma;
  }
  if (!(v & kCr0Pe) && (efer & kEferLma)) fault(kGP, 0);
  m_s.cr0 = v;
  m_s.efer = efer;
  if ((old ^ v) & (kCr0Pg | kCr0Wp | kCr0Pe)) tlb_flush(true);
  mode_changed();
}

void Cpu::set_cr3(u64 v) {
  const bool pcide = m_s.cr4 & kCr4Pcide;
  if (m_s.efer & kEferLma) {
    u64 check = pcide ? v & ~(1ull << 63) : v;
    if (check & ~kPhysMask) fault(kGP, 0);
    if (pcide) v &= ~(1ull << 63);
  } else {
    v &= 0xFFFFFFFF;
  }
  m_s.cr3 = v;
  // PCIDs are not tagged in our TLB: every CR3 write drops the non-global entries, which is
  // what a CPU without PCID retention does and is always safe.
  tlb_flush(false);
  end_block();
}

void Cpu::set_cr4(u64 v) {
  const u64 old = m_s.cr4;
  const u64 allowed = kCr4Allowed | (m_features.xsave ? kCr4Osxsave : 0) | (m_features.pcid ? kCr4Pcide : 0);
  if (v & ~allowed) fault(kGP, 0);
  if ((m_s.efer & kEferLma) && !(v & kCr4Pae)) fault(kGP, 0);
  if ((v & kCr4Pcide) && !(old & kCr4Pcide)) {
    if (!(m_s.efer & kEferLma) || (m_s.cr3 & 0xFFF)) fault(kGP, 0);
  }
  m_s.cr4 = v;
  if ((old ^ v) & (kCr4Pge | kCr4Pae | kCr4Pse | kCr4Pcide | kCr4Smep | kCr4Smap)) tlb_flush(true);
  if ((old ^ v) & kCr4De) debug_regs_changed();   // I/O breakpoints exist only with DE
  mode_changed();
}

void Cpu::set_efer(u64 v) {
  const u64 old = m_s.efer;
  if (v & ~(kEferSce | kEferLme | kEferLma | kEferNxe)) fault(kGP, 0);
  if (((v ^ old) & kEferLme) && (m_s.cr0 & kCr0Pg)) fault(kGP, 0);
  v = (v & ~kEferLma) | (old & kEferLma);   // LMA is read-only
  m_s.efer = v;
  if ((old ^ v) & kEferNxe) tlb_flush(true);
  mode_changed();
}

bool Cpu::read_msr(u32 index, u64& value) {
  if (index >= msr::kMtrrPhysBase0 && index < msr::kMtrrPhysBase0 + 16) {
    value = m_s.mtrr_var[index - msr::kMtrrPhysBase0];
    return true;
  }
  if (int f = fixed_mtrr_index(index); f >= 0) {
    value = m_s.mtrr_fixed[f];
    return true;
  }
  switch (index) {
    case msr::kTsc: value = tsc(); return true;
    case msr::kApicBase: value = m_s.apic_base; return true;
    case msr::kMtrrCap: value = 0x508; return true;   // 8 variable MTRRs, fixed MTRRs, WC
    case msr::kSysenterCs: value = m_s.sysenter_cs; return true;
    case msr::kSysenterEsp: value = m_s.sysenter_esp; return true;
    case msr::kSysenterEip: value = m_s.sysenter_eip; return true;
    case msr::kMiscEnable: value = m_s.misc_enable; return true;
    case msr::kPat: value = m_s.pat; return true;
    case msr::kMtrrDefType: value = m_s.mtrr_def_type; return true;
    case msr::kEfer: value = m_s.efer; return true;
    case msr::kStar: value = m_s.star; return true;
    case msr::kLstar: value = m_s.lstar; return true;
    case msr::kCstar: value = m_s.cstar; return true;
    case msr::kSfmask: value = m_s.sfmask; return true;
    case msr::kFsBase: value = m_s.seg[FS].base; return true;
    case msr::kGsBase: value = m_s.seg[GS].base; return true;
    case msr::kKernelGsBase: value = m_s.kernel_gs_base; return true;
    case msr::kTscAux: value = m_s.tsc_aux; return true;
    case kMsrBiosSignId: value = 0; return true;
    // IA32_PLATFORM_ID (SDM Vol.4 Table 2-2; read-only): platform ID 0. Linux's microcode
    // code reads it on every GenuineIntel CPU at boot; a #GP here was an "unchecked MSR
    // access error" in its log.
    case kMsrPlatformId: value = 0; return true;
    // IA32_MCG_CAP / IA32_MCG_STATUS (SDM Vol.3B §15.3.1): no error-reporting banks, no
    // machine check in progress.
    case kMsrMcgCap: value = 0; return true;
    case kMsrMcgStatus: value = 0; return true;
    default: return m_platform && m_platform->platform_read_msr(index, value);
  }
}

bool Cpu::write_msr(u32 index, u64 v) {
  if (index >= msr::kMtrrPhysBase0 && index < msr::kMtrrPhysBase0 + 16) {
    bool is_mask = (index - msr::kMtrrPhysBase0) & 1;
    u64 reserved = is_mask ? ~(kPhysMask & ~0xFFFull) & ~(1ull << 11) : ~(kPhysMask & ~0xFFFull) & ~0xFFull;
    if (v & reserved) return false;
    if (!is_mask && !mtrr_type_valid(v & 0xFF)) return false;
    m_s.mtrr_var[index - msr::kMtrrPhysBase0] = v;
    return true;
  }
  if (int f = fixed_mtrr_index(index); f >= 0) {
    for (int i = 0; i < 8; i++)
      if (!mtrr_type_valid((v >> (8 * i)) & 0xFF)) return false;
    m_s.mtrr_fixed[f] = v;
    return true;
  }
  switch (index) {
    case msr::kTsc: m_s.tsc_offset = v - (tsc() - m_s.tsc_offset); return true;
    case msr::kApicBase: {
      // BSP (8), x2APIC enable (10, when the platform's APIC has it), global enable (11),
      // base (12..39). The APIC itself judges mode transitions (SDM Vol.3A §10.12.5).
      const u64 x2 = m_platform && m_platform->x2apic_supported() ? 0x400ull : 0;
      if (v & ~(0x900ull | x2 | (kPhysMask & ~0xFFFull))) return false;
      if (m_platform && !m_platform->apic_base_written(v)) return false;
      m_s.apic_base = v;
      return true;
    }
    case msr::kMtrrCap: return false;
    case msr::kSysenterCs: m_s.sysenter_cs = v & 0xFFFFFFFF; return true;
    case msr::kSysenterEsp:
      if (!desc::canonical(v)) return false;
      m_s.sysenter_esp = v;
      return true;
    case msr::kSysenterEip:
      if (!desc::canonical(v)) return false;
      m_s.sysenter_eip = v;
      return true;
    case msr::kMiscEnable: m_s.misc_enable = v; return true;
    case msr::kPat:
      if (!pat_valid(v)) return false;
      m_s.pat = v;
      return true;
    case msr::kMtrrDefType:
      if ((v & ~0xCFFull) || !mtrr_type_valid(v & 0xFF)) return false;
      m_s.mtrr_def_type = v;
      return true;
    case msr::kEfer: {
      // set_efer faults itself; keep the bool contract for reserved bits.
      if (v & ~(kEferSce | kEferLme | kEferLma | kEferNxe)) return false;
      set_efer(v);
      return true;
    }
    case msr::kStar: m_s.star = v; return true;
    case msr::kLstar:
    case msr::kCstar:
      if (!desc::canonical(v)) return false;
      (index == msr::kLstar ? m_s.lstar : m_s.cstar) = v;
      return true;
    case msr::kSfmask:
      if (v >> 32) return false;
      m_s.sfmask = v;
      return true;
    case msr::kFsBase:
    case msr::kGsBase:
    case msr::kKernelGsBase:
      if (!desc::canonical(v)) return false;
      if (index == msr::kFsBase) m_s.seg[FS].base = v;
      else if (index == msr::kGsBase) m_s.seg[GS].base = v;
      else m_s.kernel_gs_base = v;
      return true;
    case msr::kTscAux:
      if (v >> 32) return false;
      m_s.tsc_aux = v;
      return true;
    case kMsrBiosSignId: return true;
    case kMsrMcgStatus: return v == 0;   // clearing it is allowed; nothing is in progress
    default: return m_platform && m_platform->platform_write_msr(index, v);
  }
}

// CPUID (SDM Vol.2 CPUID, Table 3-8). GenuineIntel family 6 model 0x3A stepping 9 (Ivy
// Bridge: a signature every x86-64 kernel knows; features come from the bits, not the model).
void Cpu::cpuid(u32 leaf, u32 subleaf, u32 out[4]) const {
  constexpr u32 kMaxBasic = 0xD, kMaxExt = 0x80000008;
  const CpuFeatures& f = m_features;
  auto bit = [](bool on, unsigned n) { return on ? 1u << n : 0u; };
  out[0] = out[1] = out[2] = out[3] = 0;
  // Intel: leaves above the maximum return the highest basic leaf's data.
  if ((leaf > kMaxBasic && leaf < 0x80000000) || leaf > kMaxExt) leaf = kMaxBasic, subleaf = 0;
  switch (leaf) {
    case 0:
      out[0] = kMaxBasic;
      std::memcpy(&out[1], "Genu", 4);   // EBX EDX ECX = "GenuineIntel"
      std::memcpy(&out[3], "ineI", 4);
      std::memcpy(&out[2], "ntel", 4);
      break;
    case 1: {
      out[0] = 0x000306A9;
      out[1] = (8u << 8) | (1u << 16);    // CLFLUSH line 8 qwords; 1 logical CPU; APIC ID 0
      out[2] = bit(f.sse3, 0)             // SSE3
               | bit(f.ssse3, 9)          // SSSE3
               | bit(f.cx16, 13)          // CMPXCHG16B
               | bit(f.pcid, 17)          // PCID
               | bit(f.sse41, 19)         // SSE4.1
               | bit(f.sse42, 20)         // SSE4.2 (incl. CRC32, PCMPxSTRx)
               | bit(m_platform && m_platform->x2apic_supported(), 21)   // x2APIC
               | bit(f.movbe, 22)         // MOVBE
               | bit(f.popcnt, 23)        // POPCNT
               | bit(f.xsave, 26)         // XSAVE/XRSTOR/XSETBV/XGETBV
               | bit(f.xsave && (m_s.cr4 & kCr4Osxsave), 27);   // OSXSAVE mirrors CR4.OSXSAVE
      u32 edx = (1u << 0)                 // FPU
                | (1u << 2)               // DE
                | (1u << 3)               // PSE
                | (1u << 4)               // TSC
                | (1u << 5)               // MSR
                | (1u << 6)               // PAE
                | (1u << 8)               // CX8
                | (1u << 11)              // SEP
                | (1u << 12)              // MTRR
                | (1u << 13)              // PGE
                | (1u << 15)              // CMOV
                | (1u << 16)              // PAT
                | (1u << 19)              // CLFSH
                | (1u << 23)              // MMX
                | (1u << 24)              // FXSR (FXSAVE/FXRSTOR, CR4.OSFXSR)
                | (1u << 25)              // SSE
                | (1u << 26);             // SSE2
      if (m_s.apic_base & (1u << 11)) edx |= 1u << 9;   // APIC, cleared when globally disabled
      out[3] = edx;
      break;
    }
    case 7:   // structured extended features, sub-leaf 0 only (EAX = max sub-leaf = 0)
      if (subleaf == 0) out[1] = 1u << 13;   // FCS/FDS deprecated: stored as 0 (FXSAVE, FSAVE, ...)
      break;
    case 0xD:   // processor extended state enumeration (SDM Vol.1 §13.2)
      if (!f.xsave) break;
      if (subleaf == 0) {
        out[0] = 3;      // XCR0 bits supported: x87, SSE
        out[1] = 576;    // size for the components enabled in XCR0: legacy region + header
        out[2] = 576;    // size for all supported components
        out[3] = 0;      // XCR0 bits 63:32 supported
      } else if (subleaf == 1) {
        out[0] = bit(f.xsaveopt, 0);   // XSAVEOPT; no XSAVEC, XGETBV ECX=1, XSAVES
      }   // sub-leaves 2..: components not supported, all 0
      break;
    case 0x80000000: out[0] = kMaxExt; break;
    case 0x80000001:
      out[2] = bit(f.lahf_lm, 0)          // LAHF/SAHF in 64-bit mode
               | bit(f.lzcnt, 5);         // LZCNT (ABM)
      out[3] = (1u << 11)                 // SYSCALL/SYSRET
               | (1u << 20)               // NX
               | bit(f.rdtscp, 27)        // RDTSCP
               | (1u << 29);              // LM
      break;
    case 0x80000002:
    case 0x80000003:
    case 0x80000004: {
      static const char kBrand[49] = "Retrovisor virtual CPU";
      std::memcpy(out, kBrand + 16 * (leaf - 0x80000002), 16);
      break;
    }
    case 0x80000006: out[2] = (256u << 16) | (6u << 12) | 64; break;   // L2: 256 KiB, 8-way, 64 B
    case 0x80000008: out[0] = (48u << 8) | kPhysBits; break;
    default: break;   // leaves 2..6, 8..0xC: nothing to report
  }
}

}  // namespace rv
