// Capstone as the decoding oracle for cpu/decoder (DESIGN.md "Testing ladder"), and the
// pieces the random-string test (decoder_vs_capstone.cpp) checks with it: the length, the
// mnemonic family of the OpId, the ModRM memory operand, and the table of the few places
// where Capstone 4.0.2 is wrong (disagreements.cpp).
#pragma once
#include <capstone/capstone.h>

#include <span>
#include <string>

#include "cpu/decoder/decoder.h"

namespace rv::dectest {

constexpr unsigned kBufLen = 16;   // every test string: one byte more than the 15-byte limit

// One Capstone decoding, reduced to what the checks compare.
struct CsResult {
  bool ok = false;
  unsigned len = 0;
  char mnemonic[32] = {};
  char op_str[160] = {};
  bool detail = false;   // the fields below are filled (detail mode)
  bool has_mem = false;  // an explicit memory operand (X86_OP_MEM)
  u8 base = kNoReg;      // registers as 0..15, kNoReg, kRipReg; kVecReg|n for a VSIB index
  u8 index = kNoReg;
  u8 scale = 1;          // 1, 2, 4, 8
  u8 seg = kNoSeg;       // override only (Capstone omits the default segment)
  i64 disp = 0;
};

constexpr u8 kVecReg = 0x40;

class Capstone {
 public:
  explicit Capstone(CpuMode mode);
  ~Capstone();
  Capstone(const Capstone&) = delete;
  Capstone& operator=(const Capstone&) = delete;

  // Decodes one instruction from bytes[0..n); detail mode fills the operand fields.
  void disasm(const u8* bytes, unsigned n, bool detail, CsResult& out);

 private:
  u8 map_reg(unsigned reg) const;
  csh m_plain = 0, m_detail = 0;
  cs_insn* m_insn_plain = nullptr;
  cs_insn* m_insn_detail = nullptr;
};

// Everything known about one test string.
struct Case {
  const u8* bytes;
  CpuMode mode;
  DecodeStatus status;
  const DecodedInsn& ours;
  const CsResult& cs;
};

enum class Check : u8 { Length, Mnemonic, MemOperand };

// A place where Capstone 4 and our decoder disagree and Capstone is wrong (or the encoding
// has no single right answer): the predicate selects the cases, `reference` is the manual
// text that settles it.
struct Disagreement {
  const char* name;
  Check check;
  bool (*applies)(const Case&);
  const char* reference;
};
std::span<const Disagreement> disagreements();

// The mnemonic Capstone printed (last word: "rep stosb" -> "stosb") belongs to our OpId's
// family; on a mismatch `expected` describes what we accept.
bool mnemonic_matches(const Case& c, std::string& expected);
// ModRM memory operand: base, index, scale (with an index), displacement, segment override.
bool mem_operand_matches(const Case& c, std::string& why);

std::string hex(const u8* bytes, unsigned n);
std::string capstone_version();
int mode_bits(CpuMode mode);

}  // namespace rv::dectest
