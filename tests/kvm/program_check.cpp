#include "tests/kvm/program_check.h"

#include <gtest/gtest.h>

#include <cinttypes>
#include <cstring>

#include "cpu/cpu.h"
#include "cpu/disasm.h"
#include "tests/kvm/compare.h"
#include "tests/kvm/long_mode_env.h"
#include "tests/oracle/report.h"

namespace rv::kvmtest {

namespace {

constexpr unsigned kFullReports = 3;

// "at 10001011: cmpxchg16b xmmword ptr [rbp - 0x10] (item #2 cmpxchg8b)" for a run that
// stopped inside the program (an engine error names its RIP), else "".
std::string where_stopped(const oracle::Case& c, const Outcome& o) {
  const u64 rip = o.cpu.rip;
  const std::vector<u8> code = area_bytes(o, "code");
  if (o.kind == StopKind::Halted || code.empty() || rip < oracle::kCodeBase || rip + 15 > oracle::kCodeBase + code.size())
    return "";
  const u8* p = &code[rip - oracle::kCodeBase];
  std::string s = "  it stopped at " + hex_bytes(p, 4) + "...: " + disassemble(p, 15, CpuMode::Long64, rip);
  const u64 off = rip - oracle::kSeqAddr;
  for (size_t i = c.item_offset.size(); i-- > 0;)
    if (rip >= oracle::kSeqAddr && off >= c.item_offset[i]) {
      s += " (item #" + std::to_string(i) + " " + c.item_name[i] + ")";
      break;
    }
  return s + "\n";
}

// RIP in the exception frame (the faulting instruction), 0 if none.
u64 fault_rip(const Outcome& o) {
  const std::vector<u8> ist = area_bytes(o, "ist stack");
  u64 rip = 0;
  if (ist.size() == kIstTop - kIstBase) std::memcpy(&rip, &ist[kIstTop - 40 - kIstBase], 8);
  return rip;
}

// The legacy prefixes and opcode byte of the instruction at `rip` in o's code area.
struct InsnHead {
  bool found = false, rep = false, ss = false;
  u8 opcode = 0;
};
InsnHead head_at(const Outcome& o, u64 rip) {
  InsnHead h;
  const std::vector<u8> code = area_bytes(o, "code");
  if (rip < oracle::kCodeBase || rip >= oracle::kCodeBase + code.size()) return h;
  for (u64 at = rip - oracle::kCodeBase; at < code.size() && at < rip - oracle::kCodeBase + 15; at++) {
    const u8 b = code[at];
    if (b == 0xF2 || b == 0xF3) h.rep = true;
    else if (b == 0x36) h.ss = true;
    else if (b == 0x66 || b == 0x67 || b == 0xF0 || b == 0x26 || b == 0x2E || b == 0x3E || b == 0x64 || b == 0x65 ||
             (b >= 0x40 && b <= 0x4F)) continue;
    else {
      h.found = true;
      h.opcode = b;
      return h;
    }
  }
  return h;
}

// Why `ref` cannot be compared with a KVM run on this host (KvmProbe::ss_override), or "".
std::string not_comparable(const Outcome& ref) {
  if (kvm_probe().ss_override.empty() || vector_taken(ref) != kGP) return "";
  return head_at(ref, fault_rip(ref)).ss ? "#GP from an SS-prefixed access (KvmProbe::ss_override)" : "";
}

}  // namespace

u64 undefined_at_end(const oracle::Case& c, const Outcome& ref) {
  if (vector_taken(ref) == kNoVector) return c.undef_end;
  const u64 rip = fault_rip(ref);
  u64 undef = c.undef_at(rip);
  // KvmProbe::rep_flags: this KVM leaves other flags at a fault inside REPx CMPS/SCAS.
  const InsnHead h = head_at(ref, rip);
  if (!kvm_probe().rep_flags.empty() && h.rep && (h.opcode == 0xA6 || h.opcode == 0xA7 || h.opcode == 0xAE || h.opcode == 0xAF))
    undef |= kArithFlags;
  return undef;
}

void check_program(const oracle::Case& c, const Outcome& ref, const Outcome& got, const char* got_name,
                   ProgramStats& stats) {
  stats.programs++;
  for (const std::string& n : c.item_name) stats.items[n]++;
  stats.engine_switches += got.engine_switches;
  const u32 vec = vector_taken(ref);
  if (vec == kNoVector) stats.ran_to_end++;
  else stats.vectors[vec]++;

  std::string diff;
  if (!ref.note.empty() || ref.kind != StopKind::Halted) {
    diff = "  the interpreter's own run did not halt cleanly: " + ref.note + " " + ref.message + "\n";
  } else if (const std::string why = not_comparable(ref); !why.empty()) {
    stats.not_compared[why]++;
    return;
  } else if (!kvm_probe().partial_store.empty() && vec == kPF && ref.cpu.cr2 == oracle::kRoBase) {
    // A store ran from the data page into the read-only page; this KVM writes its first
    // bytes (KvmProbe::partial_store): those are not compared.
    Outcome a = ref, b = got;
    for (Outcome* o : {&a, &b}) mask_area(*o, "data", oracle::kPage - 16, 16);
    diff = compare(a, b, CompareOptions{undefined_at_end(c, ref)}, "interp", got_name);
  } else {
    diff = compare(ref, got, CompareOptions{undefined_at_end(c, ref)}, "interp", got_name);
  }
  if (diff.empty()) return;
  stats.failures++;
  diff = where_stopped(c, got) + diff;
  char head[200];
  std::snprintf(head, sizeof head, "seed 0x%" PRIx64 " (64-bit, CPL 0; re-run alone with RV_KVM_SEED=0x%" PRIx64
                "): interp and %s differ", c.seed, c.seed, got_name);
  if (stats.reported++ < kFullReports) {
    ADD_FAILURE() << head << "\n  program:\n"
                  << oracle::disassembly(c) << "  start state:\n"
                  << oracle::state_line(c) << "  interp end state:\n"
                  << brief_state(ref) << "  " << got_name << " end state:\n"
                  << brief_state(got) << "  differences:\n"
                  << diff;
  } else {
    ADD_FAILURE() << head << ":\n" << diff;
  }
}

std::string ProgramStats::summary() const {
  std::string s = std::to_string(programs) + " programs, " + std::to_string(failures) + " differing; " +
                  std::to_string(ran_to_end) + " ran to the end";
  for (const auto& [v, k] : vectors) s += ", " + std::to_string(k) + " took vector " + std::to_string(v);
  if (engine_switches) s += "; " + std::to_string(engine_switches) + " engine switches";
  for (const auto& [why, k] : not_compared) s += "; " + std::to_string(k) + " not compared: " + why;
  s += "\nitems by template:";
  for (const auto& [n, k] : items) s += " " + n + "=" + std::to_string(k);
  return s + "\n";
}

}  // namespace rv::kvmtest
