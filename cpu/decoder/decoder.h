// The x86 decoder: bytes + mode -> DecodedInsn. Pure: it reads no CPU state.
#pragma once
#include "cpu/decoder/decoded_insn.h"

namespace rv {

enum class CpuMode : u8 { Real16, Prot16, Prot32, Long64 };   // code-segment mode
// Real16 and Prot16 decode identically; Real mode matters to callers only.

enum class DecodeStatus : u8 {
  Ok,
  Truncated,   // ran out of bytes (caller supplies up to 15; fewer only at the end of memory)
  TooLong,     // more than 15 bytes: #GP(0)
};

// Decodes one instruction from `bytes` (`avail` of them valid, at most 15 used).
// On Ok, `out` is filled; op may be OpId::Invalid (an encoding without a meaning: #UD).
DecodeStatus decode(const u8* bytes, unsigned avail, CpuMode mode, DecodedInsn& out);

}  // namespace rv
