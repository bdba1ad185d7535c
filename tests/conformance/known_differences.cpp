// The 286-vs-modern differences the conformance runner accepts. Every rule and table entry
// names what we check instead and why, with the manual reference. Anything not covered must
// match the 286 exactly (less the flags metadata.json marks undefined).
#include "tests/conformance/known_differences.h"

#include <vector>

#include "cpu/decoder/decoder.h"

namespace rv::conformance {
namespace {

const KnownDifference kLockRule = {
    "*", Expectation::UD,
    "LOCK on an instruction that is not a lockable read-modify-write of memory: the 286 executes "
    "it, later CPUs raise #UD (SDM Vol.2 \"LOCK\", Description)"};
const KnownDifference kLengthRule = {
    "*", Expectation::Executes,
    "instruction longer than 10 bytes (redundant prefixes): the 286 raises interrupt 13 (80286 "
    "PRM, instruction length limit), later CPUs accept up to 15 bytes (SDM Vol.2 §2.3.11)"};
const KnownDifference kFsGsRule = {
    "*", Expectation::Executes,
    "MOV to/from Sreg 4/5: FS and GS do not exist on the 286 (#UD there); they do on the 386 and "
    "later (SDM Vol.1 §3.4.2: six segment registers; Vol.2 \"MOV\": Sreg 4 = FS, 5 = GS)"};
const KnownDifference kOverrunRule = {
    "*", Expectation::Overrun,
    "segment overrun (a word at offset FFFFh): the 286 raises interrupt 13 for every segment and "
    "has already stepped rSI/rDI in string instructions; later CPUs raise #SS(0) for SS-relative "
    "accesses and #GP(0) otherwise, before changing any state (SDM Vol.3A §20.1.4 and the "
    "\"Real-Address Mode Exceptions\" of each instruction; faults are restartable, Vol.3A §6.5)"};

// Per-form table: entries apply to every vector of the form the rules above leave.
// Empty today: the D8 (x87 ESC) vectors pass since x87 arithmetic is emulated (the 286 rig had
// no coprocessor, and a modern FPU with its reset control word changes only x87 state).
const std::vector<KnownDifference> kKnownDifferences = {};

// SDM Vol.2 LOCK: ADD ADC AND BTC BTR BTS CMPXCHG CMPXCHG8B/16B DEC INC NEG NOT OR SBB SUB
// XOR XADD XCHG, with a memory destination. Only one-byte opcodes occur in the 286 vectors.
bool lockable_modern(const std::vector<u8>& insn) {
  if (insn.size() < 2) return false;
  const u8 op = insn[0], modrm = insn[1];
  const unsigned mod = modrm >> 6, reg = (modrm >> 3) & 7;
  if (mod == 3) return false;
  if (op < 0x38 && (op & 7) <= 1) return true;                 // ADD OR ADC SBB AND SUB XOR Eb,Gb / Ev,Gv
  if (op >= 0x80 && op <= 0x83) return reg != 7;               // group 1 except CMP
  if (op == 0x86 || op == 0x87) return true;                   // XCHG
  if (op == 0xF6 || op == 0xF7) return reg == 2 || reg == 3;   // NOT NEG
  if (op == 0xFE || op == 0xFF) return reg <= 1;               // INC DEC
  return false;
}

bool stack_op(u8 op, u8 modrm) {
  switch (op) {
    case 0x06: case 0x07: case 0x0E: case 0x16: case 0x17: case 0x1E: case 0x1F: case 0x60: case 0x61:
    case 0x68: case 0x6A: case 0x8F: case 0x9A: case 0x9C: case 0x9D: case 0xC2: case 0xC3: case 0xC8:
    case 0xC9: case 0xCA: case 0xCB: case 0xCC: case 0xCD: case 0xCE: case 0xCF: case 0xE8:
      return true;
    case 0xFF: {
      unsigned reg = (modrm >> 3) & 7;
      return reg == 2 || reg == 3 || reg == 6;
    }
    default:
      return op >= 0x50 && op <= 0x5F;
  }
}

}  // namespace

bool is_string_insn(const std::vector<u8>& insn) {
  if (insn.empty()) return false;
  u8 op = insn[0];
  return (op >= 0x6C && op <= 0x6F) || (op >= 0xA4 && op <= 0xA7) || (op >= 0xAA && op <= 0xAF);
}

bool ss_relative(const std::vector<u8>& bytes) {
  DecodedInsn d;
  if (decode(bytes.data(), static_cast<unsigned>(bytes.size()), CpuMode::Real16, d) != DecodeStatus::Ok) return false;
  if (d.has_mem() && d.seg == SS) return true;
  if (d.map == 1 && (d.opcode == 0xA4 || d.opcode == 0xA5 || d.opcode == 0xA6 || d.opcode == 0xA7 ||
                     d.opcode == 0xAC || d.opcode == 0xAD || d.opcode == 0x6E || d.opcode == 0x6F) && d.seg == SS)
    return true;   // string source with an SS override
  return d.map == 1 && stack_op(d.opcode, static_cast<u8>((d.mod << 6) | ((d.reg & 7) << 3) | (d.rm & 7)));
}

const KnownDifference* pending_entry(const std::string& form) {
  for (const KnownDifference& k : kKnownDifferences)
    if (k.expect == Expectation::Pending && form == k.form) return &k;
  return nullptr;
}

const KnownDifference* find_known_difference(const std::string& form, const std::vector<u8>& insn, unsigned length,
                                             bool lock, int exception) {
  if (lock && !lockable_modern(insn)) return &kLockRule;
  if (length > 10 && exception == 13) return &kLengthRule;
  if (insn.size() >= 2 && (insn[0] == 0x8C || insn[0] == 0x8E) && (((insn[1] >> 3) & 7) == 4 || ((insn[1] >> 3) & 7) == 5))
    return &kFsGsRule;
  if (exception == 13 && !(insn.size() >= 2 && insn[0] == 0xCD && insn[1] == 13)) return &kOverrunRule;
  for (const KnownDifference& k : kKnownDifferences)
    if (k.form[0] && form == k.form) return &k;
  return nullptr;
}

}  // namespace rv::conformance
