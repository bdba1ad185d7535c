// Where a current x86 CPU legitimately differs from the 80286 the vectors were recorded on
// (known_differences.cpp has the rules and the per-form table, with reasons and SDM
// references).
#pragma once
#include <string>
#include <vector>

#include "memory/types.h"

namespace rv::conformance {

enum class Expectation : u8 {
  Same,       // compare with the 286's results
  UD,         // a modern CPU raises #UD: check that we do (and nothing else)
  Executes,   // the 286 faults, a modern CPU executes it: check that we run it without an
              // exception to the HLT that follows
  Overrun,    // the 286 raised interrupt 13 for a segment overrun: we must raise #GP (then the
              // 286's results must match) or, for an SS-relative access, #SS; string
              // instructions: the vector only (the 286 has already stepped rSI/rDI)
  Skip,       // not comparable: not run
  Pending,    // an emulator gap with an owner: compared like Same, but a mismatch is reported
              // as pending (not a failure) and a match says the entry can go
};

struct KnownDifference {
  const char* form;      // opcode form (file stem), e.g. "C1.6"; "*" for a rule on any form
  Expectation expect;
  const char* reason;    // why, with the manual reference
};

// What a vector of `form` is checked against. `insn` holds its bytes after the prefixes (the
// trailing HLT removed), `length` the instruction length with prefixes, `lock` whether a
// LOCK prefix is present, `exception` the interrupt the 286 took (-1 for none). Null: the
// 286's results must be matched.
const KnownDifference* find_known_difference(const std::string& form, const std::vector<u8>& insn, unsigned length,
                                             bool lock, int exception);

// The form's Pending entry (an emulator gap): failures of its vectors, whatever rule checks
// them, are reported as pending rather than failed. Null when there is none.
const KnownDifference* pending_entry(const std::string& form);

// True if the instruction's memory operand or its stack accesses use SS (real mode).
bool ss_relative(const std::vector<u8>& bytes);
// True for the string instructions (MOVS CMPS STOS LODS SCAS INS OUTS).
bool is_string_insn(const std::vector<u8>& insn);

}  // namespace rv::conformance
