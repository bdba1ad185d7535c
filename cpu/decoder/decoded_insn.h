// DecodedInsn: the one decoded form of an x86 instruction, shared by the interpreter, the
// tracer/debugger and (later) the JIT. Produced by decode() (decoder.h), a pure function of
// the bytes and the CPU mode.
//
// Layout (32 bytes, trivially copyable):
//
//   op      OpId from opcodes.inc (Invalid if no entry matches; Vex/Evex/Xop for those)
//   len     total length in bytes, 1..15
//   osize   operand size in bytes: 2, 4 or 8  (byte forms are implied by the OpId)
//   asize   address size in bytes: 2, 4 or 8
//   seg     segment for the memory operand: override, or the default (SS for BP/SP bases)
//   rep     0 none, 2 = F2 (REPNE), 3 = F3 (REP/REPE); the last of F2/F3 wins
//   lock    LOCK prefix present
//   rex     the REX byte (0 if none); with REX any byte register index 4..7 means SPL..DIL
//   mod     ModRM.mod (3 = register operand); 0xFF when there is no ModRM
//   reg     ModRM.reg | REX.R<<3, or (no ModRM) the opcode's low 3 bits | REX.B<<3; condition
//           codes of Jcc/SETcc/CMOVcc are `opcode & 0xF`, not this field
//   rm      ModRM.rm | REX.B<<3 (the register when mod == 3)
//   base    memory base register 0..15, kNoReg, or kRipReg (RIP-relative)
//   index   memory index register 0..15 or kNoReg
//   scale   log2 of the SIB scale
//   opcode  the last opcode byte (to tell 40..47 or condition codes apart)
//   disp    displacement, sign-extended
//   imm     first immediate (sign- or zero-extended as the form says; branch targets are rel)
//   imm2    second immediate: ENTER's nesting level, or a far pointer's selector
#pragma once
#include "memory/types.h"

namespace rv {

enum class OpId : u16 {
  Invalid = 0,
#define X(name, map, opc, count, reg, form) name,
#include "cpu/decoder/opcodes.inc"
#undef X
  Vex,   // VEX-encoded (AVX): not implemented, #UD (CPUID does not advertise AVX)
  Evex,  // EVEX-encoded (AVX-512): #UD
  Xop,   // AMD XOP: #UD
  Count
};

constexpr u8 kNoReg = 0xFF;
constexpr u8 kRipReg = 0x10;

enum SegReg : u8 { ES = 0, CS = 1, SS = 2, DS = 3, FS = 4, GS = 5, kNoSeg = 0xFF };

struct DecodedInsn {
  OpId op = OpId::Invalid;
  u8 len = 0;
  u8 osize = 0;
  u8 asize = 0;
  u8 seg = DS;
  u8 rep = 0;
  bool lock = false;
  u8 rex = 0;
  u8 mod = 0xFF;
  u8 reg = 0;
  u8 rm = 0;
  u8 base = kNoReg;
  u8 index = kNoReg;
  u8 scale = 0;
  u8 opcode = 0;
  u8 map = 0;       // 1 one-byte, 2 0F, 3 0F38, 4 0F3A
  u8 pfx66 = 0;     // operand-size prefix present (mandatory-prefix decoding)
  i32 disp = 0;
  u64 imm = 0;
  u16 imm2 = 0;

  bool has_mem() const { return mod != 0xFF && mod != 3; }
};

const char* op_name(OpId op);

}  // namespace rv
