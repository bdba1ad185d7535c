// A 64-bit, CPL 0 machine for the oracle's random programs, written straight into a Pc's RAM
// and CPU state (no firmware runs: the BIOS image is 64 KiB of HLT, only because Pc needs one).
//
// The oracle's generator (tests/oracle/generator.h) emits programs for a fixed virtual layout
// (oracle.h: code 0x10000000, data 0x20000000, read-only 0x20001000, stack 0x30000000), so
// 4-level page tables map those pages onto physical pages below 640 KiB (clear of the A20
// gate and the legacy hole); the system structures are identity-mapped:
//
//   phys 0x10000-0x1FFFF  page tables (PML4 first); every entry has A set (and D, in the
//                         leaves), so walks write nothing and the tables compare equal
//   phys 0x20000          GDT: 0x10 64-bit code (DPL 0), 0x18 data, 0x40 64-bit TSS (busy)
//   phys 0x21000          IDT: 256 interrupt gates, IST1, to stub v
//   phys 0x22000          TSS: RSP0 = IST1 = 0x26000
//   phys 0x23000          stub v (16 bytes each): MOV dword [0x26000], v; HLT; JMP back
//   phys 0x24000-0x25FFF  IST stack (the exception frame ends at 0x26000)
//   phys 0x26000          result page: dword 0 is the vector taken (0xFFFFFFFF: none)
//   phys 0x30000 (2 pages) code, virt 0x10000000: INT3s (or another filler), the program at 0x10001000 followed
//                         by CLI; HLT, the generator's 16 "tail" bytes at 0x10001FF0
//   phys 0x32000          data, virt 0x20000000     phys 0x33000  read-only, virt 0x20001000
//   phys 0x34000          stack, virt 0x30000000 (RSP starts at 0x30000800)
//
// CPU: long mode, CS 0x10, SS 0x18, DS/ES/FS null, GS null with base 0x20000000 (as the
// oracle's runners), CR0 PE MP ET NE WP AM PG, CR4 PAE OSFXSR OSXMMEXCPT, EFER SCE LME LMA NXE,
// the program's registers, RFLAGS and x87/SSE image. A program that runs to its end halts with
// IF = 0 (StopKind::Halted); one that faults halts in the stub (interrupt gates clear IF).
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "machine/pc.h"
#include "tests/kvm/kvm_harness.h"
#include "tests/oracle/generator.h"

namespace rv::kvmtest {

constexpr u64 kPtPool = 0x10000, kPtPoolEnd = 0x20000;
constexpr u64 kGdt = 0x20000, kIdt = 0x21000, kTss = 0x22000, kStubs = 0x23000;
constexpr u64 kIstBase = 0x24000, kIstTop = 0x26000, kResult = 0x26000;
constexpr u64 kCodePhys = 0x30000, kDataPhys = 0x32000, kRoPhys = 0x33000, kStackPhys = 0x34000;
constexpr u16 kCodeSel = 0x10, kDataSel = 0x18, kTssSel = 0x40;
constexpr u32 kNoVector = 0xFFFFFFFF;
// An unused port: every write is counted, and with RunSpec::toggle it asks the board for the
// other engine (Pc::request_engine) - the "device hook" that switches engines mid-program.
constexpr u16 kHookPort = 0xE0;

// Guest memory captured after a run, in Outcome::mem in this order.
struct Area {
  const char* name;
  u64 virt;      // address the program sees (for messages)
  u64 phys;
  u64 size;
};
const std::vector<Area>& areas();
// The bytes of area `name` inside an Outcome's mem (empty if not captured).
std::vector<u8> area_bytes(const Outcome& o, const char* name);
u32 vector_taken(const Outcome& o);   // from the result page; kNoVector if none
// Zeroes bytes [offset, offset + len) of area `name` in o.mem (bytes not to compare).
void mask_area(Outcome& o, const char* name, u64 offset, u64 len);

// 64 KiB of HLT (0xF4), the board's BIOS image.
std::shared_ptr<const std::vector<u8>> hlt_bios();

// Writes the environment and the case into the board's RAM and CPU state (Cpu::state_changed
// is called); either engine starts from it at the next Pc::run(). `filler` fills the unused
// code bytes (and replaces the INT3s of the generator's tail): KvmProbe::filler.
void install(Pc& pc, const oracle::Case& c, u8 filler = 0xCC);

struct RunSpec {
  Accel accel = Accel::Interp;
  std::vector<EngineSwitch> switches;   // PcConfig::engine_switches
  bool toggle = false;                  // hook-port writes switch engines
  bool kvm_ready = false;               // open KVM although the run starts on the interpreter
  u8 filler = 0xCC;                     // install()'s filler
};
inline RunSpec on_engine(Accel a, u8 filler = 0xCC) {
  RunSpec s;
  s.accel = a;
  s.filler = filler;
  return s;
}

// Builds a 16 MiB Pc with the probe's CPU model, installs the case, runs it and captures
// the outcome. Call it in a child (run_isolated) whenever KVM is involved.
Outcome run_case(const oracle::Case& c, const RunSpec& spec, const CpuFeatures& cpu);

// The oracle's templates that can run here, for the probe's CPU model and KVM limits.
// `excluded` (if given) gets one line per template left out, with the reason.
std::vector<const oracle::Template*> kvm_templates(const KvmProbe& probe, std::string* excluded = nullptr);

// The program for `seed` (64-bit, CPL 0), laid out into `c`. `hooks` > 0 inserts that many
// OUT kHookPort, AL items at random item boundaries (engine switches in the middle).
bool make_case(u64 seed, const std::vector<const oracle::Template*>& en, unsigned hooks, oracle::Case& c);

}  // namespace rv::kvmtest
