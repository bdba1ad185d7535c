// Probes for what the host's KVM cannot do like hardware (kvm_harness.h, KvmProbe).
//
// On a KVM backed by VT-x/AMD-V every probe passes and nothing is left out. A KVM that is
// itself an emulator (the software-nested KVM of our build machines) fails some: instructions
// it cannot emulate at all ("KVM internal error 1 (instruction emulation failed)") and a few
// results that differ from the SDM's (and from the interpreter's, which oracle_test checks
// against a real CPU). Each probe states the SDM's result, so a probe never hides a
// difference that is the interpreter's fault: it only says what this KVM gets wrong.
#include <cstdio>
#include <cstring>

#include "cpu/cpu.h"

#include "tests/kvm/kvm_harness.h"
#include "tests/kvm/long_mode_env.h"

namespace rv::kvmtest {
namespace {

std::vector<u8> mov_imm64(u8 rex, u8 op, u64 v) {   // REX.W B8+r imm64
  std::vector<u8> b = {rex, op};
  for (int i = 0; i < 8; i++) b.push_back(static_cast<u8>(v >> (8 * i)));
  return b;
}
std::vector<u8> cat(std::initializer_list<std::vector<u8>> parts) {
  std::vector<u8> out;
  for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

std::string hex64(u64 v) {
  char b[24];
  std::snprintf(b, sizeof b, "%016llx", static_cast<unsigned long long>(v));
  return b;
}

// "" when `o` is a clean halt that `ok` accepts; else what went wrong.
std::string verdict(const Outcome& o, bool ok) {
  if (!o.note.empty()) return o.note;
  if (o.kind != StopKind::Halted) return o.message;
  return ok ? "" : "a result other than the SDM's";
}

}  // namespace

void probe_limits(KvmProbe& p) {
  const CpuFeatures f = p.features;
  auto run = [&](std::vector<u8> code, u8 filler = 0xCC) {
    const oracle::Case c = probe_case(std::move(code));
    RunSpec spec = on_engine(Accel::Kvm);
    spec.filler = filler;
    return run_isolated([&] { return run_case(c, spec, f); }, kKvmRunTimeout);
  };

  // Instructions it may not run at all; each leaves out the oracle template emitting them.
  struct Insn {
    const char* templ;
    const char* what;
    std::vector<u8> code;
  };
  const Insn insns[] = {
      {"cmpxchg8b", "CMPXCHG16B", {0xBF, 0x00, 0x00, 0x00, 0x20, 0x48, 0x0F, 0xC7, 0x0F}},   // mov edi, data; cmpxchg16b [rdi]
      {"enter_leave", "ENTER with a nesting level",
       {0x48, 0xC7, 0xC5, 0x00, 0x07, 0x00, 0x30, 0xC8, 0x08, 0x00, 0x02}},   // mov rbp, stack+0x700; enter 8, 2
  };
  for (const Insn& i : insns) {
    const Outcome o = run(i.code);
    if (std::string v = verdict(o, vector_taken(o) == kNoVector); !v.empty())
      p.template_limits.emplace_back(i.templ, std::string(i.what) + " does not run under this KVM (" + v + ")");
  }

  // CMPXCHG r32, r32 whose compare fails loads EAX and leaves the destination alone, upper
  // half included (SDM Vol.2 CMPXCHG: the write-back happens for memory destinations only;
  // a real CPU leaves the register untouched).
  {
    const Outcome o = run(cat({mov_imm64(0x48, 0xB8, 0x1111111122222222ull),    // mov rax, ...
                               mov_imm64(0x49, 0xBF, 0x3333333344444444ull),    // mov r15, ...
                               {0x41, 0xB9, 0x05, 0x00, 0x00, 0x00},            // mov r9d, 5
                               {0x45, 0x0F, 0xB1, 0xCF}}));                     // cmpxchg r15d, r9d
    const bool ok = o.cpu.gpr[R15] == 0x3333333344444444ull && o.cpu.gpr[RAX] == 0x44444444;
    if (std::string v = verdict(o, ok); !v.empty())
      p.template_limits.emplace_back("cmpxchg", "a failed CMPXCHG r32 changes the destination register under this KVM (" +
                                                    v + ": r15 = " + hex64(o.cpu.gpr[R15]) + ")");
  }

  // A 4-byte store at the last 2 bytes of the data page runs into the read-only page: #PF,
  // and nothing is written (SDM Vol.3A §6.5: a fault is reported before the instruction
  // changes state).
  {
    const Outcome o = run({0xB8, 0x44, 0x33, 0x22, 0x11,    // mov eax, 0x11223344
                           0xBF, 0xFE, 0x0F, 0x00, 0x20,    // mov edi, data + 0xFFE
                           0x89, 0x07});                    // mov [rdi], eax
    const std::vector<u8> data = area_bytes(o, "data");
    const bool ok = vector_taken(o) == kPF && data.size() == oracle::kPage && data[0xFFE] == 0 && data[0xFFF] == 0;
    if (std::string v = verdict(o, ok); !v.empty())
      p.partial_store = "a store straddling into a read-only page writes its first bytes before the #PF under this KVM (" +
                        v + ")";
  }

  // REPNE SCASQ from the end of the data page through the read-only page into the unmapped
  // page: #PF after 0x202 iterations, none of which found RAX = 1 (the data page is zero, the
  // read-only pattern has no such qword), so the last one left ZF = 0; ZF was 1 before it.
  {
    const Outcome o = run({0xFC,                                      // cld
                           0xBF, 0xF0, 0x0F, 0x00, 0x20,              // mov edi, data + 0xFF0
                           0xB9, 0x00, 0x30, 0x00, 0x00,              // mov ecx, 0x3000
                           0x39, 0xC0,                                // cmp eax, eax (ZF = 1)
                           0x48, 0xC7, 0xC0, 0x01, 0x00, 0x00, 0x00,  // mov rax, 1
                           0xF2, 0x48, 0xAF});                        // repne scasq
    const std::vector<u8> ist = area_bytes(o, "ist stack");
    u64 frame_flags = ~0ull;
    if (ist.size() == kIstTop - kIstBase) std::memcpy(&frame_flags, &ist[kIstTop - 24 - kIstBase], 8);
    const bool ok = vector_taken(o) == kPF && !(frame_flags & kFlagZF) && o.cpu.gpr[RCX] == 0x3000 - 0x202;
    if (std::string v = verdict(o, ok); !v.empty())
      p.rep_flags = "REPNE SCAS cut short by a #PF leaves other arithmetic flags than its last iteration's under this KVM (" +
                    v + ": frame RFLAGS " + hex64(frame_flags) + ", RCX " + hex64(o.cpu.gpr[RCX]) + ")";
  }

  // MOVSX EAX, byte SS:[RCX] with RCX non-canonical. In 64-bit mode the SS prefix is a null
  // prefix (SDM Vol.1 §3.3.7.1) and a real CPU raises #GP(0) (the oracle's host: SIGSEGV,
  // where an RSP-based access gets #SS, SIGBUS); the interpreter does the same.
  {
    const Outcome o = run(cat({mov_imm64(0x48, 0xB9, 0x00008000200009A7ull),   // mov rcx, non-canonical
                               {0x36, 0x0F, 0xBE, 0x01}}));                   // movsx eax, byte ss:[rcx]
    if (std::string v = verdict(o, vector_taken(o) == kGP); !v.empty())
      p.ss_override = "a non-canonical access with an SS prefix (no RSP/RBP base) raises vector " +
                      std::to_string(vector_taken(o)) + " instead of #GP under this KVM (" + v + ")";
  }

  // INT3 (#BP) fills unused code; if this KVM cannot deliver it, 0xD6 (#UD in 64-bit mode).
  {
    const Outcome o = run({0xCC});
    if (std::string v = verdict(o, vector_taken(o) == kBP); !v.empty()) {
      const Outcome u = run({0xD6}, 0xD6);
      if (verdict(u, vector_taken(u) == kUD).empty()) {
        p.filler = 0xD6;
        p.filler_why = "INT3 (#BP) does not run under this KVM (" + v + "): unused code is filled with 0xD6 (#UD) instead";
      }
    }
  }
}

}  // namespace rv::kvmtest
