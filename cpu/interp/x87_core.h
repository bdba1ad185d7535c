// x87 FPU state helpers shared by the x87 handlers (x87*.cpp), MMX (TOP/tag rules) and FWAIT.
//
// The state lives in CpuState::fpu.fxsave in the FXSAVE layout (SDM Vol.1 Table 10-2): FCW,
// FSW (TOP in bits 13..11), the abridged tag word (one bit per PHYSICAL register, 1 = not
// empty), FOP, FIP/FDP (64-bit offsets; FCS/FDS are not kept: we behave as a processor with
// CPUID.(EAX=7,ECX=0):EBX[13] "FCS and FDS deprecated", which stores them as 0), and the eight
// registers in ST order: slot i is ST(i) = physical register (TOP + i) & 7. Changing TOP
// therefore rotates the slots (set_top).
#pragma once
#include <cstring>

#include "cpu/interp/simd_checks.h"

namespace rv::interp {

namespace x87 {
// FSW bits (SDM Vol.1 Figure 8-4).
constexpr u16 kIE = 1, kDE = 2, kZE = 4, kOE = 8, kUE = 0x10, kPE = 0x20, kSF = 0x40, kES = 0x80, kC0 = 0x100,
              kC1 = 0x200, kC2 = 0x400, kC3 = 0x4000, kB = 0x8000, kTopMask = 0x3800;
constexpr u16 kExcMask = 0x3F;
constexpr u16 kFcwInit = 0x037F;

inline u16 rd16(const u8* p) { u16 v; std::memcpy(&v, p, 2); return v; }
inline void wr16(u8* p, u16 v) { std::memcpy(p, &v, 2); }
inline u64 rd64(const u8* p) { u64 v; std::memcpy(&v, p, 8); return v; }
inline void wr64(u8* p, u64 v) { std::memcpy(p, &v, 8); }

inline u8* img(Cpu& c) { return c.state().fpu.fxsave; }
inline const u8* img(const Cpu& c) { return c.state().fpu.fxsave; }
inline u16 fcw(const Cpu& c) { return rd16(img(c) + fx::kFcw); }
inline u16 fsw(const Cpu& c) { return rd16(img(c) + fx::kFsw); }
inline u8 ftw(const Cpu& c) { return img(c)[fx::kFtw]; }   // abridged, physical order
inline unsigned top(const Cpu& c) { return (fsw(c) >> 11) & 7; }
inline void set_fcw(Cpu& c, u16 v) { wr16(img(c) + fx::kFcw, v); }
inline void set_fsw(Cpu& c, u16 v) { wr16(img(c) + fx::kFsw, v); }
inline void set_ftw(Cpu& c, u8 v) { img(c)[fx::kFtw] = v; }

// ES and B follow the exception flags that the control word leaves unmasked (SDM Vol.1 §8.1.3.1).
inline u16 with_summary(u16 sw, u16 cw) {
  return (sw & kExcMask & ~cw) ? (sw | kES | kB) : (sw & ~(kES | kB));
}

// Moves TOP to `t`, rotating the ST-order slots so physical registers keep their contents.
void set_top(Cpu& c, unsigned t);

// The full 2-bit-per-register tag word (valid 00, zero 01, special 10, empty 11) derived from
// the abridged tags and the register contents (SDM Vol.1 §8.1.7, §10.5.1.1).
u16 full_tag_word(const Cpu& c);
// Abridged tags from a full tag word: only "empty" matters on load (SDM Vol.1 §8.1.7).
inline u8 abridged_from_full(u16 tw) {
  u8 a = 0;
  for (unsigned i = 0; i < 8; i++)
    if (((tw >> (2 * i)) & 3) != 3) a |= 1u << i;
  return a;
}

// Physical register access for MMX: mantissa (bytes 0..7) and sign/exponent (bytes 8..9).
inline u8* phys_reg(Cpu& c, unsigned i) { return fx::st(c, (i - top(c)) & 7); }
inline u64 phys_mant(const Cpu& c, unsigned i) {
  return rd64(img(c) + fx::kSt0 + 16 * ((i - top(c)) & 7));
}
inline u16 phys_exp(const Cpu& c, unsigned i) {
  return rd16(img(c) + fx::kSt0 + 16 * ((i - top(c)) & 7) + 8);
}
inline void set_phys(Cpu& c, unsigned i, u64 mant, u16 sign_exp) {
  u8* p = phys_reg(c, i);
  wr64(p, mant);
  wr16(p + 8, sign_exp);
}
// ---- execution (x87_host.cpp, x87_env.cpp) ----
struct HostResult {
  u16 new_unmasked = 0;   // exception flags this instruction raised that FCW leaves unmasked
  u8 eflags = 0;          // host SF ZF AF PF CF after it (LAHF layout), for FCOMI/FUCOMI
};
// Runs D8+opc with `modrm` on the host x87 with the guest state (see x87_host.cpp). For a
// memory form (`modrm` < 0xC0) `mem` is the host copy of the operand (10 bytes at most).
HostResult run_on_host(Cpu& c, unsigned opc, u8 modrm, u8* mem);

// x87_fast.cpp: the common instructions with all exceptions masked and no stack fault,
// operands only. False: not handled, nothing changed. Memory forms: `mem` holds the loaded
// operand, or receives the stored one (the caller writes it).
enum class FastMem : u8 { None, Load, Store };
bool try_fast(Cpu& c, const DecodedInsn& d, unsigned opc, unsigned reg, unsigned rm, u8* mem, FastMem mk);

// Guest memory <-> host buffer in pieces of at most 8 bytes (offsets wrap at the address
// size). `align` is the operand's #AC alignment (SDM Vol.3A Table 6-7: 8 for m80, 2 or 4 for
// the environment/state images), checked once for the whole operand; the pieces never fault
// #AC themselves. read_bytes faults before anything is returned; callers run probe_dest
// (segment, #AC and page checks of the whole destination) before write_bytes.
void read_bytes(Cpu& c, const DecodedInsn& d, u64 off, u8* buf, unsigned n, unsigned align);
void probe_dest(Cpu& c, const DecodedInsn& d, u64 off, unsigned n, unsigned align);
void write_bytes(Cpu& c, const DecodedInsn& d, u64 off, const u8* buf, unsigned n, unsigned align);
// #AC alignment of an n-byte x87 operand (2, 4, 8; 10-byte real/BCD operands need 8).
constexpr unsigned mem_align(unsigned n) { return n > 8 ? 8 : n; }

// FNINIT's state (SDM Vol.2A FINIT): FCW 037FH, FSW 0 (TOP 0), all tags empty, FOP/FIP/FDP 0.
void init_state(Cpu& c);
// FLDENV/FNSTENV/FRSTOR/FNSAVE image formats (SDM Vol.1 §8.1.10, Figures 8-9..8-12).
void load_env(Cpu& c, const DecodedInsn& d, bool with_regs);
void store_env(Cpu& c, const DecodedInsn& d, bool with_regs);

}  // namespace x87

// A pending unmasked x87 exception (FSW flags not masked by FCW): the next waiting x87
// instruction or FWAIT raises #MF (SDM Vol.1 §8.6).
bool x87_pending_exception(const Cpu& c);
// FWAIT and every waiting x87 instruction: #MF when an exception is pending and CR0.NE=1.
// With CR0.NE=0 the PC-style FERR#/IRQ13 path is not modelled: logged once, execution goes on
// and the exception stays pending.
void x87_wait_check(Cpu& c);

// MMX entry (every MMX instruction except EMMS): TOP = 0, all registers valid (SDM Vol.1 §9.5.1).
void mmx_enter(Cpu& c);
// EMMS: all registers empty.
void mmx_emms(Cpu& c);

}  // namespace rv::interp
