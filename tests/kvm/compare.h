// Comparison of two runs' outcomes (kvm_harness.h Outcome): empty when they agree, else one
// line per difference, naming the field and both values.
//
// Compared: how the run ended (StopKind, status), port 0xE9 output, hook-port writes; every
// general register, RIP, RFLAGS (less `undef_flags`, the bits the SDM leaves undefined after
// the instructions run); the six segment registers, LDTR and TR with their hidden parts;
// GDTR, IDTR, CR0 CR2 CR3 CR4 CR8, XCR0, DR0-3 DR6 DR7, EFER and every MSR CpuState holds;
// the halt and NMI state; the x87/SSE image: FCW, FSW (less undefined C0-C3), abridged FTW,
// FOP, FIP, FDP, MXCSR, the valid x87 registers, XMM0-15; and the guest memory areas, where
// the RFLAGS image of an exception frame is masked like RFLAGS.
// Not compared, each for a reason:
//   lazy flags: KVM returns RFLAGS materialised; the materialised values are compared;
//   icount, int_shadow_until: KVM retires instructions uncounted (the shadow is relative to it);
//   tsc_offset: under KVM the TSC follows the host clock (pc.h, now());
//   MXCSR_MASK (FXSAVE bytes 28..31): a property of the CPU (the host's under KVM), not state;
//   FXSAVE bytes 416..511 and reserved bytes of the ST slots: not state;
//   empty x87 registers: not architectural until an MMX write marks them valid.
#pragma once
#include <string>

#include "tests/kvm/kvm_harness.h"

namespace rv::kvmtest {

struct CompareOptions {
  u64 undef_flags = 0;   // RFLAGS bits, and FSW C0-C3 as the oracle's kFcc* bits (oracle.h)
  bool fpu = true;
};

std::string compare(const Outcome& a, const Outcome& b, const CompareOptions& opt, const char* a_name,
                    const char* b_name);

// "rax=... rip=... rflags=..." of one outcome, for failure messages.
std::string brief_state(const Outcome& o);

}  // namespace rv::kvmtest
