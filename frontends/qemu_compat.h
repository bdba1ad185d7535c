// QEMU's command-line spellings beside our own (README "QEMU flag -> Retrovisor").
//
// translate_qemu_args() rewrites the single-dash QEMU options whose meaning Retrovisor has
// (-kernel, -initrd, -append, -m, -bios, -serial, -monitor, -nographic, -display, -smp,
// -cpu, -accel, -enable-kvm, -no-reboot, -s, -S, -gdb, -d, -D, -machine ...) into our
// double-dash ones before parsing, and refuses the ones it does not have with one line
// naming the option and why ("not supported by retrovisor: -machine q35 (this board is an
// i440FX PC)"), so that no QEMU option is ever misparsed as a cluster of short options
// (-monitor as -m onitor). Our own spellings pass through unchanged.
#pragma once
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace rv {

struct QemuTranslation {
  std::vector<std::string> args;   // argv[0] then the arguments to parse
  std::string error;               // non-empty: the one-line refusal (without "retrovisor: error: ")
};

// `takes_value(name)`: whether our long option --name takes a value (its value, the next
// argument, passes through untouched even when it starts with a dash).
QemuTranslation translate_qemu_args(int argc, const char* const* argv,
                                    const std::function<bool(const std::string&)>& takes_value);

}  // namespace rv
