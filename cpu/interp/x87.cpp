// x87 floating point: the D8..DF escape opcodes (SDM Vol.2 Appendix A.4, x87 opcode map).
//
// Order of events for every x87 instruction (SDM Vol.1 §8.6, Vol.3A Table 12-8):
//   1. CR0.EM or CR0.TS -> #NM.
//   2. Waiting instructions (all but FNINIT, FNCLEX, FNSTCW, FNSTSW, FNSTENV, FNSAVE):
//      a pending unmasked exception -> #MF (CR0.NE=1).
//   3. Memory operand read (or, for stores, the write probed) -> #GP/#SS/#PF/#AC.
//   4. The operation. Computational instructions run on the host x87: the common ones with
//      every exception masked on their operands alone (x87_fast.cpp), the rest with the whole
//      guest state loaded (x87_host.cpp). FLDCW/FNSTCW/FNSTSW/FNCLEX/FNINIT and the
//      environment images (x87_env.cpp) are ours. An unmasked exception only sets ES/B here;
//      #MF comes at step 2 of the next waiting instruction.
//   5. All but FNINIT, FNCLEX, FLDCW, FNSTCW, FNSTSW, FNSTENV, FLDENV, FNSAVE and FRSTOR record
//      FOP, FIP and (memory forms) FDP (SDM Vol.1 §8.1.8-9; FNOP, FINCSTP, FDECSTP and FFREE
//      do too, as the host shows).
#include "cpu/interp/handlers.h"
#include "cpu/interp/x87_core.h"

namespace rv::interp {
namespace {

using namespace x87;

enum class Kind : u8 {
  Invalid,
  Compute,   // host-run, non-control (FOP/FIP/FDP recorded)
  Load,      // Compute with a memory source of `size` bytes
  Store,     // Compute with a memory destination of `size` bytes
  NoWaitNop, // FNENI, FNDISI, FNSETPM: 8087/287 leftovers, no operation on a 387 and later
  Fldenv, Fldcw, Fnstenv, Fnstcw, Frstor, Fnsave, Fnstsw, FnstswAx, Fnclex, Fninit,
};

struct Form {
  Kind kind = Kind::Invalid;
  u8 size = 0;
};

// Memory forms, indexed [opcode - D8][ModRM.reg].
constexpr Form L(u8 n) { return {Kind::Load, n}; }
constexpr Form S(u8 n) { return {Kind::Store, n}; }
constexpr Form kBad{};
constexpr Form kMem[8][8] = {
    {L(4), L(4), L(4), L(4), L(4), L(4), L(4), L(4)},   // D8: FADD..FDIVR m32fp
    {L(4), kBad, S(4), S(4), {Kind::Fldenv}, {Kind::Fldcw}, {Kind::Fnstenv}, {Kind::Fnstcw}},
    {L(4), L(4), L(4), L(4), L(4), L(4), L(4), L(4)},   // DA: FIADD..FIDIVR m32int
    {L(4), S(4), S(4), S(4), kBad, L(10), kBad, S(10)},  // DB: FILD FISTTP FIST FISTP - FLD m80 - FSTP m80
    {L(8), L(8), L(8), L(8), L(8), L(8), L(8), L(8)},   // DC: m64fp
    {L(8), S(8), S(8), S(8), {Kind::Frstor}, kBad, {Kind::Fnsave}, {Kind::Fnstsw}},
    {L(2), L(2), L(2), L(2), L(2), L(2), L(2), L(2)},   // DE: m16int
    {L(2), S(2), S(2), S(2), L(10), L(8), S(10), S(8)},  // DF: FILD FISTTP FIST FISTP FBLD FILD64 FBSTP FISTP64
};

// Register forms: ModRM C0..FF. The undocumented aliases that every x87 since the 8087 runs
// (FSTP1, FCOM2, FCOMP3, FXCH4, FCOMP5, FXCH7, FSTP8, FSTP9) run too: on the host's unit, as
// every computational form here does.
Form reg_form(unsigned opc, unsigned reg, unsigned rm) {
  const Form c{Kind::Compute}, h{Kind::Compute};   // h: FNOP FINCSTP FDECSTP FFREE(P), which record FOP too
  switch (opc) {
    case 0: return c;                                       // FADD FMUL FCOM FCOMP FSUB FSUBR FDIV FDIVR
    case 1:
      switch (reg) {
        case 0: case 1: case 7: return c;                   // FLD ST(i), FXCH, FPREM..FCOS
        case 3: return c;                                   // D9 D8+i: FSTP1, an alias of FSTP ST(i)
        case 2: return rm == 0 ? h : kBad;                  // FNOP
        case 4: return (rm == 0 || rm == 1 || rm == 4 || rm == 5) ? c : kBad;   // FCHS FABS FTST FXAM
        case 5: return rm != 7 ? c : kBad;                  // FLD1 .. FLDZ
        case 6: return rm >= 6 ? h : c;                     // F2XM1..FPREM1; FDECSTP FINCSTP
        default: return kBad;
      }
    case 2:
      if (reg < 4) return c;                                // FCMOVB/E/BE/U
      return (reg == 5 && rm == 1) ? c : kBad;              // FUCOMPP
    case 3:
      if (reg < 4 || reg == 5 || reg == 6) return c;        // FCMOVNB..NU, FUCOMI, FCOMI
      if (reg == 4) {
        if (rm == 2) return {Kind::Fnclex};
        if (rm == 3) return {Kind::Fninit};
        if (rm == 0 || rm == 1 || rm == 4) return {Kind::NoWaitNop};
      }
      return kBad;
    case 4: return c;   // FADD FMUL FSUBR FSUB FDIVR FDIV ST(i),ST; DC D0+i / D8+i: FCOM2/FCOMP3, aliases
    case 5:
      if (reg == 0) return h;                               // FFREE
      return (reg >= 1 && reg <= 5) ? c : kBad;             // DD C8+i: FXCH4 (alias); FST FSTP FUCOM FUCOMP
    case 6:
      if (reg == 3) return rm == 1 ? c : kBad;              // FCOMPP
      return c;                                             // FADDP FMULP FSUBRP FSUBP FDIVRP FDIVP; DE D0+i: FCOMP5
    default:
      if (reg == 0) return h;                               // FFREEP
      if (reg == 4 && rm == 0) return {Kind::FnstswAx};
      // DF C8+i FXCH7, D0+i FSTP8, D8+i FSTP9 (aliases); FUCOMIP FCOMIP
      return (reg >= 1 && reg <= 3) || reg == 5 || reg == 6 ? c : kBad;
  }
}

bool waits(Kind k) {
  return !(k == Kind::Fnstenv || k == Kind::Fnstcw || k == Kind::Fnsave || k == Kind::Fnstsw ||
           k == Kind::FnstswAx || k == Kind::Fnclex || k == Kind::Fninit || k == Kind::NoWaitNop);
}

// FOP, FIP and FDP of the last non-control instruction (SDM Vol.1 §8.1.8, §8.1.9). FCS/FDS
// are not kept (stored as 0: CPUID.(EAX=7,ECX=0):EBX[13]).
void record_pointers(Cpu& c, u16 fop, bool mem, u64 ea) {
  u8* p = img(c);
  wr16(p + fx::kFop, fop);
  wr64(p + fx::kFip, c.insn_start());
  if (mem) wr64(p + fx::kFdp, ea);
}

void exec_X87_ESC(Cpu& c, const DecodedInsn& d) {
  x87_check(c);
  const unsigned opc = d.opcode & 7, reg = d.reg & 7, rm = d.rm & 7;
  const bool is_mem = d.mod != 3;
  const u8 modrm = static_cast<u8>((d.mod << 6) | (reg << 3) | rm);
  const Form f = is_mem ? kMem[opc][reg] : reg_form(opc, reg, rm);
  if (f.kind == Kind::Invalid) c.invalid(d, "a reserved x87 form");
  if (waits(f.kind)) x87_wait_check(c);
  const u16 fop = static_cast<u16>((opc << 8) | modrm);

  switch (f.kind) {
    case Kind::Compute: {
      if (try_fast(c, d, opc, reg, rm, nullptr, FastMem::None)) {
        record_pointers(c, fop, false, 0);
        return;
      }
      const HostResult r = run_on_host(c, opc, modrm, nullptr);
      if ((opc == 3 || opc == 7) && (reg == 5 || reg == 6)) {
        // FUCOMI/FCOMI(P): ZF PF CF from the comparison, OF SF AF cleared (SDM Vol.2A FCOMI).
        const u64 bits = ((r.eflags & 0x40) ? u64{kFlagZF} : 0) | ((r.eflags & 4) ? u64{kFlagPF} : 0) |
                         ((r.eflags & 1) ? u64{kFlagCF} : 0);
        c.set_arith_flags(bits, kFlagZF | kFlagPF | kFlagCF | kFlagOF | kFlagSF | kFlagAF);
      }
      record_pointers(c, fop, false, 0);
      return;
    }
    case Kind::Load: {
      const u64 ea = c.ea(d);
      alignas(16) u8 buf[16] = {};
      read_bytes(c, d, ea, buf, f.size, mem_align(f.size));
      if (!try_fast(c, d, opc, reg, rm, buf, FastMem::Load)) run_on_host(c, opc, modrm, buf);
      record_pointers(c, fop, true, ea);
      return;
    }
    case Kind::Store: {
      const u64 ea = c.ea(d);
      const unsigned al = mem_align(f.size);   // #AC before any state change (m80: 8)
      probe_dest(c, d, ea, f.size, al);
      alignas(16) u8 buf[16] = {};
      if (try_fast(c, d, opc, reg, rm, buf, FastMem::Store)) {
        write_bytes(c, d, ea, buf, f.size, al);
        record_pointers(c, fop, true, ea);
        return;
      }
      const HostResult r = run_on_host(c, opc, modrm, buf);
      // An unmasked invalid/denormal/zero-divide/overflow/underflow exception suppresses a
      // memory store; an unmasked precision exception does not (SDM Vol.1 §8.5.1-§8.5.6).
      if (!(r.new_unmasked & (kIE | kDE | kZE | kOE | kUE))) write_bytes(c, d, ea, buf, f.size, al);
      record_pointers(c, fop, true, ea);
      return;
    }
    case Kind::NoWaitNop:
      return;
    case Kind::Fldcw: {
      const u16 v = static_cast<u16>(c.read_mem(d.seg, c.ea(d), 2));
      const u16 cw = static_cast<u16>((v & 0x1F3F) | 0x40);   // reserved bits read as on hardware
      set_fcw(c, cw);
      set_fsw(c, with_summary(fsw(c), cw));   // unmasking a set flag makes it pending
      return;
    }
    case Kind::Fnstcw:
      c.write_mem(d.seg, c.ea(d), 2, fcw(c));
      return;
    case Kind::Fnstsw:
      c.write_mem(d.seg, c.ea(d), 2, fsw(c));
      return;
    case Kind::FnstswAx:
      c.write_reg(RAX, 2, false, fsw(c));
      return;
    case Kind::Fnclex:
      set_fsw(c, fsw(c) & ~(kExcMask | kSF | kES | kB));
      return;
    case Kind::Fninit:
      init_state(c);
      return;
    case Kind::Fldenv: load_env(c, d, false); return;
    case Kind::Frstor: load_env(c, d, true); return;
    case Kind::Fnstenv: store_env(c, d, false); return;
    case Kind::Fnsave: store_env(c, d, true); return;
    case Kind::Invalid: break;
  }
  c.ud(d);
}

}  // namespace

void register_x87(Table& t) { t[static_cast<unsigned>(OpId::X87_ESC)] = exec_X87_ESC; }

}  // namespace rv::interp
