#include "tests/oracle/encoder.h"

namespace rv::oracle {
namespace {

bool fits8(i32 v) { return v >= -128 && v <= 127; }
u8 low3(u8 reg) { return reg >= kAH ? static_cast<u8>(reg - kAH + 4) : reg & 7; }

}  // namespace

void Asm::prefixes(unsigned osize, const Prefixes& p, bool addr_override) {
  if (p.lock) byte(0xF0);
  if (p.seg) byte(p.seg);
  if (osize == 2 && !p.no_66) byte(0x66);
  if (addr_override || p.a67) byte(0x67);
  if (p.rep) byte(p.rep);     // last, so it also serves as a mandatory prefix (F3 0F B8)
}

void Asm::rex_and_opcode(std::initializer_list<u8> opcode, u8 rex, bool need_rex, bool forbid_rex) {
  if (need_rex || rex) {
    if (!m_long64) throw EncodeError("REX outside 64-bit mode");
    if (forbid_rex) throw EncodeError("AH..BH cannot be encoded with REX");
    byte(static_cast<u8>(0x40 | rex));
  }
  raw(opcode);
}

int Asm::modrm(unsigned osize, std::initializer_list<u8> opcode, u8 reg, bool reg_is_reg, const RM& rm,
               unsigned imm_size, u64 imm_value, const Prefixes& p) {
  const Mem& m = rm.mem;
  bool addr_override = rm.is_mem && (m_long64 ? m.addr32 : m.a16);
  Prefixes eff = p;
  if (rm.is_mem && m.seg && !eff.seg) eff.seg = m.seg;
  prefixes(osize, eff, addr_override);

  u8 rex = 0;
  bool need_rex = p.force_rex, forbid_rex = false;
  if (osize == 8 || p.rex_w) rex |= 8;
  if (reg_is_reg) {
    if (reg >= kAH) forbid_rex = true;
    else {
      if (reg >= 8) rex |= 4;
      if (osize == 1 && reg >= 4 && reg < 8) need_rex = true;
    }
  }
  if (!rm.is_mem) {
    if (rm.reg >= kAH) forbid_rex = true;
    else {
      if (rm.reg >= 8) rex |= 1;
      if ((osize == 1 || p.rm_byte) && rm.reg >= 4 && rm.reg < 8) need_rex = true;
    }
  } else if (!m.a16) {
    if (m.base != kNone && m.base >= 8) rex |= 1;
    if (m.index != kNone && m.index >= 8) rex |= 2;
  }
  rex_and_opcode(opcode, rex, need_rex, forbid_rex);

  u8 regf = static_cast<u8>(low3(reg) << 3);
  int rip_disp_at = -1;
  if (!rm.is_mem) {
    byte(static_cast<u8>(0xC0 | regf | low3(rm.reg)));
  } else if (m.a16) {
    // SDM Vol.2 Table 2-1. rm16 == 8 encodes the absolute [disp16] form.
    if (m.rm16 == 8) { byte(static_cast<u8>(0x06 | regf)); imm(static_cast<u16>(m.disp), 2); }
    else if (m.disp == 0 && m.rm16 != 6 && !m.force_disp32) byte(static_cast<u8>(regf | m.rm16));
    else if (fits8(m.disp) && !m.force_disp32) { byte(static_cast<u8>(0x40 | regf | m.rm16)); imm(static_cast<u32>(m.disp), 1); }
    else { byte(static_cast<u8>(0x80 | regf | m.rm16)); imm(static_cast<u32>(m.disp), 2); }
  } else if (m.rip) {
    if (!m_long64) throw EncodeError("RIP-relative outside 64-bit mode");
    byte(static_cast<u8>(0x05 | regf));
    rip_disp_at = static_cast<int>(size());
    imm(static_cast<u32>(m.disp), 4);
  } else {
    if (m.index == 4) throw EncodeError("RSP cannot be an index");
    // No base in 64-bit mode needs SIB (mod=00 rm=101 is RIP-relative there).
    bool sib = m.index != kNone || (m.base == kNone && m_long64) || (m.base != kNone && (m.base & 7) == 4);
    u8 mod;
    if (m.base == kNone) mod = 0;
    else if (m.disp == 0 && (m.base & 7) != 5 && !m.force_disp32) mod = 0;
    else if (fits8(m.disp) && !m.force_disp32) mod = 1;
    else mod = 2;
    if (sib) {
      byte(static_cast<u8>((mod << 6) | regf | 4));
      u8 idx = m.index == kNone ? 4 : m.index & 7;
      u8 base = m.base == kNone ? 5 : m.base & 7;
      byte(static_cast<u8>((m.scale << 6) | (idx << 3) | base));
    } else {
      byte(static_cast<u8>((mod << 6) | regf | (m.base == kNone ? 5 : m.base & 7)));
    }
    if (m.base == kNone || mod == 2) imm(static_cast<u32>(m.disp), 4);
    else if (mod == 1) imm(static_cast<u32>(m.disp), 1);
  }
  imm(imm_value, imm_size);
  return rip_disp_at;
}

void Asm::opreg(unsigned osize, std::initializer_list<u8> opcode_prefix, u8 opcode_base, u8 reg,
                unsigned imm_size, u64 imm_value, const Prefixes& p) {
  prefixes(osize, p, false);
  u8 rex = 0;
  bool need_rex = p.force_rex, forbid_rex = false;
  if (osize == 8 || p.rex_w) rex |= 8;
  if (reg >= kAH) forbid_rex = true;
  else {
    if (reg >= 8) rex |= 1;
    if (osize == 1 && reg >= 4 && reg < 8) need_rex = true;
  }
  if (need_rex || rex) {
    if (!m_long64) throw EncodeError("REX outside 64-bit mode");
    if (forbid_rex) throw EncodeError("AH..BH cannot be encoded with REX");
    byte(static_cast<u8>(0x40 | rex));
  }
  raw(opcode_prefix);
  byte(static_cast<u8>(opcode_base + low3(reg)));
  imm(imm_value, imm_size);
}

void Asm::plain(unsigned osize, std::initializer_list<u8> opcode, unsigned imm_size, u64 imm_value,
                const Prefixes& p) {
  prefixes(osize, p, false);
  bool w = osize == 8 || p.rex_w;
  if (w || p.force_rex) {
    if (!m_long64) throw EncodeError("REX outside 64-bit mode");
    byte(w ? 0x48 : 0x40);
  }
  raw(opcode);
  imm(imm_value, imm_size);
}

void Asm::mov_imm(u8 reg, u64 v) {
  if (!m_long64 || v <= 0xFFFFFFFFull) {
    opreg(4, {}, 0xB8, reg, 4, v);                       // MOV r32, imm32 (zero-extends)
  } else if (static_cast<u64>(static_cast<i64>(static_cast<i32>(v))) == v) {
    modrm(8, {0xC7}, 0, false, RM::r(reg), 4, v);        // MOV r/m64, imm32 (sign-extends)
  } else {
    opreg(8, {}, 0xB8, reg, 8, v);                       // MOV r64, imm64
  }
}

}  // namespace rv::oracle
