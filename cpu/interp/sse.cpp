// Placeholder until the handlers land; every OpId of opcodes_sse.inc raises #UD meanwhile.
#include "cpu/interp/handlers.h"

namespace rv::interp {
void register_sse(Table&) {}
}  // namespace rv::interp
