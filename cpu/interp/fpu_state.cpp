// Saving and restoring the x87/SSE state: FXSAVE/FXRSTOR (SDM Vol.2 "FXSAVE", "FXRSTOR",
// Vol.1 §10.5), LDMXCSR/STMXCSR, and the XSAVE feature set for components 0 (x87) and 1 (SSE)
// in the standard (non-compacted) format (SDM Vol.1 ch.13).
//
// CpuState::fpu.fxsave holds the state in the 64-bit FXSAVE layout, so saving is mostly a copy.
// What the instructions add:
//  * Format. FXSAVE64/XSAVE64 (REX.W) store 64-bit FIP/FDP; the plain forms store FIP[31:0],
//    FCS, FDP[31:0], FDS. CPUID.(7,0):EBX[13] (FCS/FDS deprecated) is advertised, so FCS and
//    FDS are stored as 0000H (SDM Vol.1 §8.1.8).
//  * Reserved bytes. Hardware writes zeros to byte 5 and to bytes 10..15 of every ST slot,
//    and never writes bytes 416..511 (464..511 are the software-available area; 416..463 are
//    left alone by the processors we checked, the host and QEMU alike). Outside 64-bit mode
//    only XMM0..7 are saved and restored (bytes 288..415 untouched).
//  * CR4.OSFXSR = 0: FXSAVE/FXRSTOR "may not" save/restore MXCSR and XMM (implementation
//    dependent, SDM Vol.2 FXSAVE); we skip them, as QEMU does, and MXCSR is then not checked.
//  * Loading FCW keeps bits 0..5, 8..12 with bit 6 reading as 1; loading FSW recomputes ES and
//    B from the unmasked exception flags (what the host CPU does on FXRSTOR). FOP is 11 bits.
//  * XINUSE (SDM Vol.1 §13.6) is computed exactly: a component is "in use" unless it is in its
//    initial configuration. Hardware may report 1 for an init component; 0 is what it reports
//    after an XRSTOR that initialised it, which this model also gives.
//  * XSAVEOPT behaves as XSAVE (allowed: the modified/init optimisations are optional).
#include "cpu/interp/handlers.h"
#include "cpu/interp/simd_checks.h"
#include "cpu/interp/x87_core.h"
#include "cpu/interp/threaded.h"

namespace rv::interp {
namespace {

constexpr unsigned kFxSize = 512, kXsaveHeader = 512, kXsaveSize = 576;

unsigned xmm_count(const Cpu& c) { return c.long64() ? 16 : 8; }
bool rex_w(const DecodedInsn& d) { return d.rex & 8; }

u16 get16(const u8* p) { u16 v; std::memcpy(&v, p, 2); return v; }
u32 get32(const u8* p) { u32 v; std::memcpy(&v, p, 4); return v; }
u64 get64(const u8* p) { u64 v; std::memcpy(&v, p, 8); return v; }
void put16(u8* p, u16 v) { std::memcpy(p, &v, 2); }
void put64(u8* p, u64 v) { std::memcpy(p, &v, 8); }

u32 mxcsr_mask(const Cpu& c) { return get32(c.state().fpu.fxsave + fx::kMxcsrMask); }

// ---- memory: whole areas, faults before any change ----

// Linear-address alignment check ("regardless of segment": SDM Vol.2 FXSAVE/XSAVE #GP(0)).
u64 checked_area(Cpu& c, const DecodedInsn& d, unsigned align) {
  u64 off = c.ea(d);
  u64 la = off + (c.long64() && d.seg < FS ? 0 : c.state().seg[d.seg].base);
  if (la & (align - 1)) c.fault(kGP, 0);
  return off;
}
void read_area(Cpu& c, const DecodedInsn& d, u64 off, u8* buf, unsigned size) {
  for (unsigned i = 0; i < size; i += 8) put64(buf + i, c.read_mem(d.seg, (off + i) & Cpu::mask_of(d.asize), 8));
}
// Writes the 8-byte chunks of [from, to) of `buf` (offsets multiples of 8).
void write_range(Cpu& c, const DecodedInsn& d, u64 off, const u8* buf, unsigned from, unsigned to) {
  for (unsigned i = from; i < to; i += 8) c.write_mem(d.seg, (off + i) & Cpu::mask_of(d.asize), 8, get64(buf + i));
}

// ---- the x87 part of the legacy region (bytes 0..23, 32..159) ----

void save_x87(const Cpu& c, u8* img, bool format64) {
  const u8* fx = c.state().fpu.fxsave;
  put16(img + 0, get16(fx + fx::kFcw));
  put16(img + 2, get16(fx + fx::kFsw));
  img[4] = fx[fx::kFtw];
  img[5] = 0;
  put16(img + 6, get16(fx + fx::kFop) & 0x7FF);
  u64 fip = get64(fx + fx::kFip), fdp = get64(fx + fx::kFdp);
  if (format64) {
    put64(img + 8, fip);
    put64(img + 16, fdp);
  } else {
    put64(img + 8, fip & 0xFFFFFFFF);   // FIP[31:0], FCS = 0, reserved = 0
    put64(img + 16, fdp & 0xFFFFFFFF);  // FDP[31:0], FDS = 0, reserved = 0
  }
  for (unsigned i = 0; i < 8; i++) {
    u8* slot = img + fx::kSt0 + 16 * i;
    std::memcpy(slot, fx + fx::kSt0 + 16 * i, 10);
    std::memset(slot + 10, 0, 6);
  }
}

void load_x87(Cpu& c, const u8* img, bool format64) {
  u8* fx = c.state().fpu.fxsave;
  const u16 fcw = static_cast<u16>((get16(img + 0) & 0x1F3F) | 0x40);   // as FLDCW/FLDENV (x87_env.cpp)
  put16(fx + fx::kFcw, fcw);
  put16(fx + fx::kFsw, x87::with_summary(get16(img + 2), fcw));   // ES and B from the unmasked flags
  fx[fx::kFtw] = img[4];
  fx[5] = 0;
  put16(fx + fx::kFop, get16(img + 6) & 0x7FF);
  put64(fx + fx::kFip, format64 ? get64(img + 8) : get32(img + 8));
  put64(fx + fx::kFdp, format64 ? get64(img + 16) : get32(img + 16));
  for (unsigned i = 0; i < 8; i++) {
    u8* slot = fx + fx::kSt0 + 16 * i;
    std::memcpy(slot, img + fx::kSt0 + 16 * i, 10);
    std::memset(slot + 10, 0, 6);
  }
}

// x87 initial configuration (SDM Vol.1 §13.6): FCW 037FH, FSW 0, FTW FFFFH, FOP/FIP/FDP 0,
// data registers 0.
void init_x87(Cpu& c) {
  u8* fx = c.state().fpu.fxsave;
  std::memset(fx, 0, fx::kMxcsr);
  std::memset(fx + fx::kSt0, 0, 128);
  put16(fx + fx::kFcw, 0x037F);
}
bool x87_in_init(const Cpu& c) {
  const u8* fx = c.state().fpu.fxsave;
  if (get16(fx + fx::kFcw) != 0x037F) return false;
  for (unsigned i = 2; i < fx::kMxcsr; i++)
    if (fx[i]) return false;
  for (unsigned i = 0; i < 8; i++)
    for (unsigned b = 0; b < 10; b++)
      if (fx[fx::kSt0 + 16 * i + b]) return false;
  return true;
}
// SSE initial configuration: XMM registers 0 (MXCSR is not part of it: §13.6).
bool sse_in_init(const Cpu& c) {
  const u8* fx = c.state().fpu.fxsave;
  for (unsigned i = 0; i < 16 * xmm_count(c); i++)
    if (fx[fx::kXmm0 + i]) return false;
  return true;
}
u64 xinuse(const Cpu& c) { return (x87_in_init(c) ? 0 : 1) | (sse_in_init(c) ? 0 : 2); }

void save_mxcsr(const Cpu& c, u8* img) { std::memcpy(img + fx::kMxcsr, c.state().fpu.fxsave + fx::kMxcsr, 8); }
void save_xmm(Cpu& c, u8* img) { std::memcpy(img + fx::kXmm0, fx::xmm(c, 0), 16 * xmm_count(c)); }
void load_xmm(Cpu& c, const u8* img) { std::memcpy(fx::xmm(c, 0), img + fx::kXmm0, 16 * xmm_count(c)); }
unsigned xmm_end(const Cpu& c) { return fx::kXmm0 + 16 * xmm_count(c); }

// ---- FXSAVE / FXRSTOR ----
// #NM when CR0.EM or CR0.TS (not #UD for EM: SDM Vol.2 FXSAVE exceptions), then alignment.

void exec_FXSAVE_M(Cpu& c, const DecodedInsn& d) {
  x87_check(c);
  u64 off = checked_area(c, d, 16);
  const bool osfxsr = c.state().cr4 & kCr4Osfxsr;
  const unsigned end = osfxsr ? xmm_end(c) : fx::kXmm0;
  c.probe_write(d.seg, off, end);
  alignas(16) u8 img[kFxSize] = {};
  save_x87(c, img, c.long64() && rex_w(d));
  if (osfxsr) {
    save_mxcsr(c, img);
    save_xmm(c, img);
    write_range(c, d, off, img, 0, end);
  } else {
    write_range(c, d, off, img, 0, fx::kMxcsr);
    write_range(c, d, off, img, fx::kSt0, fx::kXmm0);
  }
}

void exec_FXRSTOR_M(Cpu& c, const DecodedInsn& d) {
  x87_check(c);
  u64 off = checked_area(c, d, 16);
  const bool osfxsr = c.state().cr4 & kCr4Osfxsr;
  alignas(16) u8 img[kFxSize];
  read_area(c, d, off, img, osfxsr ? xmm_end(c) : fx::kXmm0);
  if (osfxsr && (get32(img + fx::kMxcsr) & ~mxcsr_mask(c))) c.fault(kGP, 0);
  load_x87(c, img, c.long64() && rex_w(d));
  if (osfxsr) {
    fx::set_mxcsr(c, get32(img + fx::kMxcsr));
    load_xmm(c, img);
  }
}

// ---- LDMXCSR / STMXCSR (SSE preconditions: #UD on EM or !OSFXSR, #NM on TS) ----

void exec_LDMXCSR_Md(Cpu& c, const DecodedInsn& d) {
  sse_check(c);
  u32 v = static_cast<u32>(c.read_mem(d.seg, c.ea(d), 4));
  if (v & ~mxcsr_mask(c)) c.fault(kGP, 0);
  fx::set_mxcsr(c, v);
}

void exec_STMXCSR_Md(Cpu& c, const DecodedInsn& d) {
  sse_check(c);
  c.write_mem(d.seg, c.ea(d), 4, fx::mxcsr(c));
}

// ---- XSAVE family (SDM Vol.1 §13.7, §13.8; Vol.2 XSAVE/XRSTOR) ----
// #UD without CR4.OSXSAVE; #NM on CR0.TS (CR0.EM is not checked); 64-byte alignment #GP(0).

void xsave_check(Cpu& c) {
  if (!(c.state().cr4 & kCr4Osxsave)) c.fault_no_error(kUD);
  if (c.state().cr0 & kCr0Ts) c.fault_no_error(kNM);
}
u64 rfbm(const Cpu& c) {
  const CpuState& s = c.state();
  return s.xcr0 & ((s.gpr[RDX] << 32) | (s.gpr[RAX] & 0xFFFFFFFF));
}

void exec_XSAVE_M(Cpu& c, const DecodedInsn& d) {
  xsave_check(c);
  u64 off = checked_area(c, d, 64);
  const u64 mask = rfbm(c);
  // The header's XSTATE_BV is read-modified-written: bits outside RFBM keep their value
  // (SDM Vol.1 §13.7). No other header byte is written.
  c.probe_write(d.seg, off, kXsaveHeader + 8);
  u64 xstate_bv = c.read_mem(d.seg, (off + kXsaveHeader) & Cpu::mask_of(d.asize), 8);
  alignas(16) u8 img[kFxSize] = {};
  if (mask & 1) {
    save_x87(c, img, c.long64() && rex_w(d));
    write_range(c, d, off, img, 0, fx::kMxcsr);
    write_range(c, d, off, img, fx::kSt0, fx::kXmm0);
  }
  if (mask & 2) {   // MXCSR is saved with SSE (or AVX, not supported) state
    save_mxcsr(c, img);
    save_xmm(c, img);
    write_range(c, d, off, img, fx::kMxcsr, fx::kSt0);
    write_range(c, d, off, img, fx::kXmm0, xmm_end(c));
  }
  xstate_bv = (xstate_bv & ~mask) | (xinuse(c) & mask);
  c.write_mem(d.seg, (off + kXsaveHeader) & Cpu::mask_of(d.asize), 8, xstate_bv);
}

void exec_XRSTOR_M(Cpu& c, const DecodedInsn& d) {
  xsave_check(c);
  u64 off = checked_area(c, d, 64);
  const u64 mask = rfbm(c);
  alignas(16) u8 img[kXsaveSize];
  read_area(c, d, off, img, kXsaveSize);
  const u64 xstate_bv = get64(img + kXsaveHeader), xcomp_bv = get64(img + kXsaveHeader + 8);
  // Compacted form (XCOMP_BV[63]) is not supported (CPUID.(0DH,1):EAX[1] = 0): #GP. Standard
  // form: XSTATE_BV may only name XCR0 components, header bytes 23:8 must be 0.
  if ((xstate_bv & ~c.state().xcr0) || xcomp_bv || get64(img + kXsaveHeader + 16)) c.fault(kGP, 0);
  // MXCSR loads whenever RFBM[1] is set, even if XSTATE_BV[1] = 0 (§13.8.1).
  if ((mask & 2) && (get32(img + fx::kMxcsr) & ~mxcsr_mask(c))) c.fault(kGP, 0);
  if (mask & 1) {
    if (xstate_bv & 1) load_x87(c, img, c.long64() && rex_w(d));
    else init_x87(c);
  }
  if (mask & 2) {
    fx::set_mxcsr(c, get32(img + fx::kMxcsr));
    if (xstate_bv & 2) load_xmm(c, img);
    else std::memset(fx::xmm(c, 0), 0, 16 * xmm_count(c));
  }
}

// Internal linkage: every handler file has its own register_all (one shared name with
// external linkage would be an ODR violation, and a non-inlining build keeps one copy).
template <class Set>
static void register_all(Set set) {
  RV_SET(FXSAVE_M, exec_FXSAVE_M);
  RV_SET(FXRSTOR_M, exec_FXRSTOR_M);
  RV_SET(LDMXCSR_Md, exec_LDMXCSR_Md);
  RV_SET(STMXCSR_Md, exec_STMXCSR_Md);
  RV_SET(XSAVE_M, exec_XSAVE_M);
  RV_SET(XRSTOR_M, exec_XRSTOR_M);
  RV_SET(XSAVEOPT_M, exec_XSAVE_M);
}

}  // namespace

void register_fpu_state(Table& t) { register_all(PlainSet{t}); }

}  // namespace rv::interp
