// CPU models and the decode-time gate for unadvertised instructions (cpu_features.h).
// Encodings are classified by map, opcode and mandatory prefix (SDM Vol.2 Appendix A), so the
// gate does not depend on how the opcode files name them.
#include "cpu/cpu_features.h"

namespace rv {

std::optional<CpuFeatures> CpuFeatures::named(std::string_view name) {
  if (name == "max") return CpuFeatures{};
  if (name == "v1") {
    CpuFeatures f;
    f.sse3 = f.ssse3 = f.sse41 = f.sse42 = f.popcnt = f.cx16 = f.movbe = f.lahf_lm = f.lzcnt = f.xsave =
        f.xsaveopt = false;
    return f;
  }
  return std::nullopt;
}

std::string CpuFeatures::model_names() { return "max, v1"; }

namespace {

bool in(u8 v, u8 lo, u8 hi) { return v >= lo && v <= hi; }

// 0F 38 map (SDM Vol.2 Table A-4).
bool map38_allowed(const CpuFeatures& f, const DecodedInsn& d) {
  const u8 o = d.opcode;
  if (o == 0xF0 || o == 0xF1) return d.rep == 2 ? f.sse42 : f.movbe;   // CRC32 : MOVBE
  if (in(o, 0x00, 0x0B) || in(o, 0x1C, 0x1E)) return f.ssse3;
  if (o == 0x37) return f.sse42;   // PCMPGTQ
  if (o == 0x10 || o == 0x14 || o == 0x15 || o == 0x17 || in(o, 0x20, 0x25) || in(o, 0x28, 0x2B) ||
      in(o, 0x30, 0x35) || in(o, 0x38, 0x41))
    return f.sse41;
  return true;
}

// 0F 3A map (Table A-5).
bool map3a_allowed(const CpuFeatures& f, const DecodedInsn& d) {
  const u8 o = d.opcode;
  if (o == 0x0F) return f.ssse3;   // PALIGNR
  if (in(o, 0x08, 0x0E) || in(o, 0x14, 0x17) || in(o, 0x20, 0x22) || in(o, 0x40, 0x42)) return f.sse41;
  if (in(o, 0x60, 0x63)) return f.sse42;   // PCMPxSTRx
  return true;
}

bool map0f_allowed(const CpuFeatures& f, const DecodedInsn& d) {
  const u8 o = d.opcode;
  switch (o) {
    case 0x7C: case 0x7D: case 0xD0: return f.sse3;       // HADDPx/HSUBPx, ADDSUBPx
    case 0xF0: return d.rep == 2 ? f.sse3 : true;       // LDDQU
    case 0x12: return d.rep ? f.sse3 : true;            // MOVSLDUP, MOVDDUP
    case 0x16: return d.rep == 3 ? f.sse3 : true;       // MOVSHDUP
    case 0xB8: return d.rep == 3 ? f.popcnt : true;
    case 0xC7: return (d.reg & 7) == 1 && (d.rex & 8) ? f.cx16 : true;   // CMPXCHG16B
    case 0x01:
      if (d.mod == 3 && (d.reg & 7) == 7 && (d.rm & 7) == 1) return f.rdtscp;   // RDTSCP
      return d.mod == 3 && (d.reg & 7) == 2 && (d.rm & 7) <= 1 ? f.xsave : true;   // XGETBV/XSETBV
    case 0xAE:
      if (d.mod == 3 || d.rep || d.pfx66) return true;
      if ((d.reg & 7) == 4 || (d.reg & 7) == 5) return f.xsave;
      if ((d.reg & 7) == 6) return f.xsave && f.xsaveopt;
      return true;
    default: return true;
  }
}

bool map1_allowed(const CpuFeatures& f, CpuMode mode, const DecodedInsn& d) {
  const u8 o = d.opcode;
  if ((o == 0x9E || o == 0x9F) && mode == CpuMode::Long64) return f.lahf_lm;
  // FISTTP m16/m32/m64 (DF /1, DB /1, DD /1) is SSE3.
  if ((o == 0xDB || o == 0xDD || o == 0xDF) && d.mod != 3 && (d.reg & 7) == 1) return f.sse3;
  return true;
}

}  // namespace

void restrict_to_features(const CpuFeatures& f, CpuMode mode, DecodedInsn& d) {
  if (d.op == OpId::Invalid) return;
  if (d.map == 2 && d.rep == 3 && !f.lzcnt) {
    // Without LZCNT (ABM) the F3 prefix is ignored: the bytes mean BSR, and the TZCNT encoding
    // BSF (BMI1, never advertised; the max model keeps the integer core's TZCNT).
    if (d.opcode == 0xBD) { d.op = OpId::BSR_Gv_Ev; return; }
    if (d.opcode == 0xBC) { d.op = OpId::BSF_Gv_Ev; return; }
  }
  bool ok = true;
  switch (d.map) {
    case 1: ok = map1_allowed(f, mode, d); break;
    case 2: ok = map0f_allowed(f, d); break;
    case 3: ok = map38_allowed(f, d); break;
    case 4: ok = map3a_allowed(f, d); break;
    default: break;
  }
  if (!ok) d.op = OpId::Invalid;
}

}  // namespace rv
