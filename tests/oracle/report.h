// Comparison of a native and an interpreted run, and the human-readable failure report
// (Capstone disassembly of the sequence, start state, differences).
#pragma once
#include <string>

#include "tests/oracle/oracle.h"

namespace rv::oracle {

extern bool g_strict_rf;   // also compare RF in exception frames (--strict-rf)

// Empty if the runs agree; else one line per difference.
std::string compare(const Case& c, const Snapshot& native, const Snapshot& interp);
// The sequence, one instruction per line, grouped by item.
std::string disassembly(const Case& c);
std::string hex(const std::vector<u8>& bytes);
std::string state_line(const Case& c);      // start registers and RFLAGS
std::string result_line(Mode mode, const Snapshot& s);

}  // namespace rv::oracle
