// Placeholder until the handlers land; every OpId of opcodes_fpu_state.inc raises #UD meanwhile.
#include "cpu/interp/handlers.h"

namespace rv::interp {
void register_fpu_state(Table&) {}
}  // namespace rv::interp
