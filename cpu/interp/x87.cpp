// x87 floating point (D8..DF). Not emulated yet: the checks that come before any x87
// execution are (CR0.EM or CR0.TS raise #NM, SDM Vol.3A §2.5 and Table 12-8, so an OS's lazy
// FPU switching works); then the instruction raises #UD with a log line naming it.
// CPUID does not advertise the FPU (system_regs.cpp), so a guest that checks will not use it.
#include "cpu/interp/handlers.h"

namespace rv::interp {
namespace {

void exec_X87_ESC(Cpu& c, const DecodedInsn& d) {
  if (c.state().cr0 & (kCr0Em | kCr0Ts)) c.fault_no_error(kNM);
  c.ud(d);
}

}  // namespace

void register_x87(Table& t) { t[static_cast<unsigned>(OpId::X87_ESC)] = exec_X87_ESC; }

}  // namespace rv::interp
