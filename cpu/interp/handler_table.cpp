// The one dispatch table: OpId -> handler. Filled once by the register_* functions of the
// cpu/interp/*.cpp files; every entry left empty raises #UD with a log line naming it.
#include "cpu/interp/handlers.h"
#include "cpu/interp/threaded.h"

namespace rv {
namespace {

void exec_unimplemented(Cpu& cpu, const DecodedInsn& d) { cpu.ud(d); }

struct HandlerTable {
  interp::Table t{};
  HandlerTable() {
    interp::register_alu(t);
    interp::register_control(t);
    interp::register_integer(t);
    interp::register_string(t);
    interp::register_system(t);
    interp::register_x87(t);
    interp::register_sse(t);
    interp::register_sse4(t);
    interp::register_fpu_state(t);
    for (Handler& h : t)
      if (!h) h = exec_unimplemented;
    // Encodings without a meaning, and AVX/AVX-512/XOP (CPUID does not advertise them).
    t[static_cast<unsigned>(OpId::Invalid)] = exec_unimplemented;
  }
};

struct ThreadedHandlers {
  interp::ThreadedTable t{};
  ThreadedHandlers() {
    interp::register_alu_threaded(t);
    interp::register_control_threaded(t);
  }
};

}  // namespace

const Threaded* interp::threaded_table() {
  static const ThreadedHandlers table;
  return table.t;
}

const Handler* handler_table() {
  static const HandlerTable table;
  return table.t;
}

}  // namespace rv
