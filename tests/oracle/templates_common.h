// Helpers shared by the template files (templates_*.cpp).
#pragma once
#include "tests/oracle/generator.h"

namespace rv::oracle {

// Immediate size of an Ib/Iz operand for an operand size: 1, 2, or 4 (64-bit sign-extends imm32).
inline unsigned imm_bytes(unsigned size) { return size == 1 ? 1 : size == 2 ? 2 : 4; }

// Flags read by condition code `cc` (SDM Vol.1 Appendix B, Table B-1).
inline u64 cc_reads(u8 cc) {
  switch (cc >> 1) {
    case 0: return kFlagOF;
    case 1: return kFlagCF;
    case 2: return kFlagZF;
    case 3: return kFlagCF | kFlagZF;
    case 4: return kFlagSF;
    case 5: return kFlagPF;
    case 6: return kFlagSF | kFlagOF;
    default: return kFlagZF | kFlagSF | kFlagOF;
  }
}

}  // namespace rv::oracle
