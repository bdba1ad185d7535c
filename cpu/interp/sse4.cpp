// SSSE3, SSE4.1, SSE4.2 and CRC32 (opcodes_sse4.inc): registration of the sse4_*.cpp files.
#include "cpu/interp/sse4_core.h"

namespace rv::interp {
void register_sse4(Table& t) {
  s4::register_ssse3(t);
  s4::register_sse41(t);
  s4::register_sse41_fp(t);
  s4::register_sse42(t);
}
}  // namespace rv::interp
