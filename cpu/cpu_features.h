// CpuFeatures: the instruction-set extensions this virtual CPU model offers (the --cpu option).
// CPUID (system_regs.cpp) advertises exactly these, and restrict_to_features() turns an
// instruction of a feature the model lacks into what a CPU without it does: #UD, or for
// LZCNT/TZCNT the older BSR/BSF meaning of the same bytes. Everything not listed here (x87,
// MMX, SSE, SSE2, FXSR, CMOV, CX8, SYSCALL, NX, ...) is part of every model.
#pragma once
#include <optional>
#include <string>
#include <string_view>

#include "cpu/decoder/decoder.h"

namespace rv {

struct CpuFeatures {
  bool sse3 = true, ssse3 = true, sse41 = true, sse42 = true, popcnt = true, cx16 = true, movbe = true,
       lahf_lm = true, lzcnt = true, xsave = true, xsaveopt = true;
  // In both named models; cleared only when the host's KVM cannot offer them (machine/kvm.h).
  bool pcid = true, rdtscp = true;

  bool operator==(const CpuFeatures&) const = default;
  bool all() const { return *this == CpuFeatures{}; }

  // Named models: "max" (everything implemented: x86-64-v2 plus MOVBE, LZCNT, XSAVE) and "v1"
  // (the x86-64 baseline: SSE2, no SSE3+/POPCNT/CX16/LAHF-LM/XSAVE). nullopt for unknown names.
  static std::optional<CpuFeatures> named(std::string_view name);
  static std::string model_names();   // "max, v1" for help and error messages
};

// Rewrites `d.op` for an encoding whose feature `f` lacks (decoded in `mode`).
void restrict_to_features(const CpuFeatures& f, CpuMode mode, DecodedInsn& d);

}  // namespace rv
