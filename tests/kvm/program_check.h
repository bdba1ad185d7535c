// Checking one random program's runs against the interpreter's, and the statistics printed
// after a batch (how many ran to the end, which vectors the others took, the templates used).
#pragma once
#include <map>
#include <string>

#include "tests/kvm/kvm_harness.h"
#include "tests/oracle/oracle.h"

namespace rv::kvmtest {

struct ProgramStats {
  unsigned programs = 0, ran_to_end = 0, failures = 0, reported = 0;
  std::map<u32, unsigned> vectors;          // exception vector -> programs that ended there
  std::map<std::string, unsigned> items;    // template name -> items generated
  u64 engine_switches = 0;
  std::map<std::string, unsigned> not_compared;   // reason -> programs (what this KVM gets wrong)
  std::string summary() const;
};

// Compares `got` (named `got_name`) with the interpreter's `ref` for case `c`; on a difference
// records a GoogleTest failure with the seed, the listing (Capstone), the start state and the
// differences (the first few in full, then one line each). The interpreter's run must itself
// have halted cleanly, else that is the failure.
void check_program(const oracle::Case& c, const Outcome& ref, const Outcome& got, const char* got_name,
                   ProgramStats& stats);

// The RFLAGS bits (and x87 C0-C3) the SDM leaves undefined where `ref` stopped, plus the
// arithmetic flags at a fault inside REPx CMPS/SCAS when this KVM gets those wrong
// (KvmProbe::rep_flags).
u64 undefined_at_end(const oracle::Case& c, const Outcome& ref);

}  // namespace rv::kvmtest
