// Placeholder until the handlers land; every OpId of opcodes_sse4.inc raises #UD meanwhile.
#include "cpu/interp/handlers.h"

namespace rv::interp {
void register_sse4(Table&) {}
}  // namespace rv::interp
