// A small x86 encoder for the oracle's generator: legacy prefixes, REX, one- and two-byte
// opcodes, ModRM/SIB/displacement and immediates (SDM Vol.2 §2.1-2.2). It encodes exactly what
// it is asked for and throws EncodeError for combinations x86 cannot express (AH with REX,
// RSP as an index), so the generator can retry instead of emitting wrong bytes.
#pragma once
#include <initializer_list>
#include <stdexcept>
#include <vector>

#include "memory/types.h"

namespace rv::oracle {

struct EncodeError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

constexpr u8 kNone = 0xFF;
// Byte registers: 0..15 are the low bytes (4..7 = SPL..DIL, which need a REX prefix);
// kAH..kBH are the legacy high bytes (encodings 4..7 without REX).
constexpr u8 kAH = 16, kCH = 17, kDH = 18, kBH = 19;

// A memory operand. In 64-bit mode `addr32` adds the 0x67 prefix (32-bit addressing);
// `rip` makes it RIP-relative (disp is then patched by the caller). In 32-bit mode `a16`
// selects 16-bit addressing with `rm16` = ModRM.rm (0 [BX+SI] .. 7 [BX]; 6 with no
// displacement means disp16) - used by LEA only, the data page is above 64 KiB.
struct Mem {
  u8 base = kNone;
  u8 index = kNone;
  u8 scale = 0;          // log2
  i32 disp = 0;
  bool rip = false;
  bool addr32 = false;
  bool a16 = false;
  u8 rm16 = 0;
  bool force_disp32 = false;   // use a 32-bit displacement even when 8 bits would do
  u8 seg = 0;                  // segment override prefix byte for this operand (0x65 = GS)
};

// The r/m operand: a register (of the instruction's width) or memory.
struct RM {
  bool is_mem = false;
  u8 reg = 0;
  Mem mem;
  static RM r(u8 reg) { RM x; x.reg = reg; return x; }
  static RM m(const Mem& m) { RM x; x.is_mem = true; x.mem = m; return x; }
};

struct Prefixes {
  bool lock = false;
  u8 rep = 0;            // 0, 0xF2 or 0xF3
  u8 seg = 0;            // segment override byte (0x26 0x2E 0x36 0x3E), 0 none
  bool rex_w = false;    // REX.W regardless of the operand size
  bool force_rex = false;
  bool no_66 = false;    // size 2 without 0x66 (caller encodes the size some other way)
  bool a67 = false;      // address-size prefix without a memory operand (MOV moffs, string ops)
  bool rm_byte = false;  // the r/m register is a byte register although osize != 1 (MOVZX Gv,Eb)
};

class Asm {
 public:
  explicit Asm(bool long64) : m_long64(long64) {}
  bool long64() const { return m_long64; }
  std::vector<u8>& bytes() { return m_buf; }
  size_t size() const { return m_buf.size(); }

  void byte(u8 b) { m_buf.push_back(b); }
  void raw(std::initializer_list<u8> bs) { m_buf.insert(m_buf.end(), bs); }
  void imm(u64 v, unsigned n) { for (unsigned i = 0; i < n; i++) m_buf.push_back(static_cast<u8>(v >> (8 * i))); }

  // An instruction with a ModRM byte. `osize` 1/2/4/8 picks 0x66 or REX.W (1 and 4 add
  // nothing: the opcode says byte vs full size). `reg` is a register when `reg_is_reg`
  // (byte registers follow the kAH convention when osize == 1), else a /digit.
  // `imm_size` bytes of `imm` follow the displacement. Returns the offset of the disp32 of
  // a RIP-relative operand (or -1), for patching.
  int modrm(unsigned osize, std::initializer_list<u8> opcode, u8 reg, bool reg_is_reg, const RM& rm,
            unsigned imm_size = 0, u64 imm_value = 0, const Prefixes& p = {});
  // An instruction without ModRM whose low opcode bits (and REX.B) name a register.
  void opreg(unsigned osize, std::initializer_list<u8> opcode_prefix, u8 opcode_base, u8 reg,
             unsigned imm_size = 0, u64 imm_value = 0, const Prefixes& p = {});
  // An instruction without ModRM: prefixes, optional REX, opcode, immediate.
  void plain(unsigned osize, std::initializer_list<u8> opcode, unsigned imm_size = 0, u64 imm_value = 0,
             const Prefixes& p = {});

  // Sets a general register to `v` with MOV (never touches flags). Width-appropriate:
  // 64-bit mode picks MOV r32,imm32 (zero-extends), MOV r/m64,imm32 (sign-extends) or
  // MOV r64,imm64.
  void mov_imm(u8 reg, u64 v);

 private:
  void prefixes(unsigned osize, const Prefixes& p, bool addr32);
  void rex_and_opcode(std::initializer_list<u8> opcode, u8 rex, bool need_rex, bool forbid_rex);

  bool m_long64;
  std::vector<u8> m_buf;
};

}  // namespace rv::oracle
