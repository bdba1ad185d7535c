// The "real CPU as oracle" differential harness (DESIGN.md, testing ladder).
//
// A test case is a short random sequence of user-level instructions plus a start state
// (general registers, RFLAGS, x87/SSE state, a data page and a stack page). It runs twice from
// the same state: natively on the host (native_runner.cpp, in a forked worker, 64-bit code or
// a 32-bit compatibility-mode segment) and in our interpreter (interp_runner.cpp, long mode,
// 64-bit or compatibility-mode CS, CPL 3, an environment shaped like Linux's: GDT selectors,
// IDT gate DPLs, CR0.AM, null DS/ES in 64-bit mode, GS.base at the data page). Every general
// register, RFLAGS less the bits the SDM leaves undefined for the instructions executed, the
// data segment selectors, the x87/SSE state and the data and stack pages must match; so must
// the exception vector, error code, CR2 and state when the sequence faults: #DE from DIV, #PF
// and #GP from operands aimed off the data page or at non-canonical addresses, #UD/#GP from
// invalid or privileged instructions, #AC with EFLAGS.AC, #DB from TF, #BP/#OF/#BR...
//
// Files: generator.* (sequences, undefined-flag tracking, layout), encoder.* (x86 encoder),
// templates_*.cpp (instruction families; templates_fp.cpp and templates_simd.cpp are the x87,
// MMX and SSE..SSE4.2 ones, selected together by `--ops simd`; their operands come from the
// floating-point hard-case pools in generator.cpp, which also randomizes the start FCW, MXCSR,
// x87 stack and XMM registers), native_runner.*, interp_runner.*, report.* (comparison,
// Capstone listing; report.cpp's fpu_diff lists the FXSAVE fields not compared and why),
// oracle_main.cpp (CLI, fork/re-fork driver, culprit search). Usage: oracle_main.cpp's header.
//
// Both runs see the same virtual layout, so RIP-relative operands, CALL return addresses and
// absolute jump targets agree:
//
//   kCodeBase  0x10000000  native prologue/epilogue and control block (interpreter: unused)
//   kSeqAddr   0x10001000  the sequence; natively followed by the epilogue, in the
//                          interpreter by HLT (a #GP at CPL 3 that ends the run)
//   kDataBase  0x20000000  data page: every memory operand points into it
//   kRoBase    0x20001000  read-only page with a fixed pattern (a few operands reach into
//                          it: reads work, writes #PF); 0x1FFFF000 is unmapped
//   kStackBase 0x30000000  stack page: RSP starts at kStackTop
#pragma once
#include <array>
#include <string>
#include <vector>

#include "memory/types.h"

namespace rv::oracle {

constexpr u64 kCodeBase = 0x10000000;
constexpr u64 kSeqAddr = 0x10001000;
constexpr u64 kSeqMax = 0xC00;          // bytes of sequence; the rest of the page is epilogue
constexpr u64 kTailAddr = kCodeBase + 0x1FF0;   // 16 bytes at the end of the code area (the
                                                 // "fetch" template); 0x10002000 is a guard page
constexpr u64 kDataBase = 0x20000000;
constexpr u64 kRoBase = kDataBase + 0x1000;   // read-only page after the data page (writes #PF)
constexpr u64 kStackBase = 0x30000000;
constexpr u64 kStackTop = kStackBase + 0x800;
constexpr unsigned kPage = 4096;

enum class Mode : u8 { Long64, Compat32 };

inline const char* mode_name(Mode m) { return m == Mode::Long64 ? "64" : "32"; }

// The arithmetic flags plus DF: the RFLAGS bits a user-level sequence can change and we compare.
constexpr u64 kFlagCF = 1u << 0, kFlagPF = 1u << 2, kFlagAF = 1u << 4, kFlagZF = 1u << 6,
              kFlagSF = 1u << 7, kFlagDF = 1u << 10, kFlagOF = 1u << 11, kFlagAC = 1u << 18;
constexpr u64 kArith6 = kFlagCF | kFlagPF | kFlagAF | kFlagZF | kFlagSF | kFlagOF;
constexpr u64 kComparedFlags = kArith6 | kFlagDF | kFlagAC;
// The x87 condition codes C0 C1 C2 C3 (FSW bits 8 9 10 14) ride in the same "undefined"
// masks, shifted up by 32.
constexpr u64 kFccShift = 32;
constexpr u64 kFccC0 = 1ull << 40, kFccC1 = 1ull << 41, kFccC2 = 1ull << 42, kFccC3 = 1ull << 46;
constexpr u64 kFccAll = kFccC0 | kFccC1 | kFccC2 | kFccC3;

// A machine state as both runs report it.
struct Snapshot {
  std::array<u64, 16> gpr{};
  u64 rflags = 0;
  int vector = -1;       // -1: ran to the end; else the exception vector (0 #DE, 6 #UD, 13 #GP...)
  u64 fault_rip = 0;     // RIP of the faulting instruction (vector >= 0)
  u64 error = 0;         // error code (#GP, #PF, ...), CR2 for #PF
  u64 cr2 = 0;
  std::array<u16, 6> sreg{};   // ES CS SS DS FS GS selectors at the end (no fault only)
  std::string note;      // runner-level problem ("interpreter did not stop", ...), empty if none
  std::vector<u8> data;  // data page after the run
  std::vector<u8> stack; // stack page after the run
  std::vector<u8> fpu;   // x87/SSE state in the FXSAVE layout (512 bytes)
};

// The read-only page's contents (fixed).
const std::vector<u8>& ro_page_pattern();

// One generated case, ready to run.
struct Case {
  u64 seed = 0;
  Mode mode = Mode::Long64;
  std::vector<u8> code;                 // the sequence (placed at kSeqAddr)
  std::array<u64, 16> gpr{};
  u64 rflags = 0x202;
  u64 page_seed = 0;                    // the pages' seed (fill_pages in corpus.h)
  std::vector<u8> data, stack;          // initial page contents
  std::vector<u8> fpu;                  // initial x87/SSE state, FXSAVE layout (512 bytes)
  std::vector<u8> tail;                 // 16 bytes at kTailAddr (INT3s unless a template sets them)
  u64 undef_end = 0;                    // flags undefined at the end of the sequence
  // Per item: start offset in `code`, the flags undefined on entry and after it, and the
  // template that produced it (for fault masks and reports).
  std::vector<u32> item_offset;
  std::vector<u64> item_undef_in, item_undef_out, item_undef_any;
  std::vector<std::string> item_name;

  // Flags undefined at a fault at `rip` (conservative: everything undefined anywhere in the
  // item holding it).
  u64 undef_at(u64 rip) const;
};

}  // namespace rv::oracle
