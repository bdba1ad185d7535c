// Random instruction sequences for the oracle.
//
// A sequence is a list of items; each item comes from one template (templates_*.cpp) and is
// self-contained: it first emits the MOVs that point base/index registers at the data page
// or set a shift count, then its main instruction(s). Forward jumps only target item starts,
// so skipping code never skips a setup.
//
// Undefined flags (SDM "Flags Affected" of each instruction) are tracked while generating:
// each template declares which flags its main instruction reads, defines and leaves
// undefined. Before an instruction that reads a flag that is currently undefined, the
// generator inserts a CMP that defines all six; at the end the still-undefined flags are
// masked out of the comparison. A forward jump merges its undefined set into its target.
#pragma once
#include <array>
#include <string>
#include <vector>

#include "tests/oracle/encoder.h"
#include "tests/oracle/oracle.h"

namespace rv::oracle {

// splitmix64 seeding + xoshiro256**: fast, and the same stream on every host.
class Rng {
 public:
  explicit Rng(u64 seed);
  u64 next();
  u32 below(u32 n) { return static_cast<u32>((next() >> 32) * n >> 32); }
  bool chance(u32 percent) { return below(100) < percent; }
  template <class T, size_t N> const T& pick(const T (&arr)[N]) { return arr[below(N)]; }

 private:
  u64 m_s[4];
};
u64 mix_seed(u64 a, u64 b);

// Host CPU features that gate templates (CPUID).
enum Feature : u32 { kFeatNone = 0, kFeatLzcnt = 1, kFeatPopcnt = 2, kFeatMovbe = 4, kFeatBmi1 = 8, kFeatCx16 = 16,
                     kFeatSse3 = 32, kFeatSsse3 = 64, kFeatSse41 = 128, kFeatSse42 = 256 };
u32 host_features();
// Whether the host runs 32-bit code natively (NativeRunner::probe; false also with
// RV_ORACLE_NO_COMPAT32=1): without it no template emits a 64-bit sequence that far-jumps to
// 32-bit code.
extern bool g_native_compat32;

class Gen;
struct Template {
  const char* name;
  u8 modes;        // 1: 64-bit, 2: 32-bit, 3: both
  u32 feature;     // required host feature (kFeat*), 0 none
  void (*fn)(Gen&);
  bool opt_in = false;   // used only when named in --ops
  bool simd = false;     // x87/MMX/SSE family: selected together by --ops simd
};
const std::vector<Template>& all_templates();
// templates_*.cpp
void add_alu_templates(std::vector<Template>& t);
void add_bits_templates(std::vector<Template>& t);
void add_misc_templates(std::vector<Template>& t);
void add_flow_templates(std::vector<Template>& t);
void add_fp_templates(std::vector<Template>& t);
void add_simd_templates(std::vector<Template>& t);

struct Fixup {
  enum Kind : u8 { Rel8, Rel32, Abs32, RipDisp } kind;
  u32 at;              // offset of the field inside the item
  u32 insn_end;        // offset of the end of the instruction inside the item
  int target_item;     // Rel8/Rel32/Abs32: item index (>= items.size() means the end)
  u64 target_abs;      // RipDisp: absolute target address
  u64 undef;           // flags undefined where the jump leaves (merged into the target)
  u32 target_off = 0;  // added to the target item's start (self-references: SMC, far jumps)
};

struct Item {
  std::string name;
  std::vector<u8> bytes;
  std::vector<Fixup> fixups;
  u64 undef_in = 0, undef_out = 0;
  u64 undef_any = 0;   // undefined somewhere inside (a fault there masks these)
};

struct Program {
  u64 seed = 0;
  Mode mode = Mode::Long64;
  std::vector<Item> items;
  std::array<u64, 16> gpr{};
  u64 rflags = 0x202;
  u64 page_seed = 0;        // data and stack come from fill_pages(page_seed) (corpus.h)
  std::vector<u8> data, stack;
  std::vector<u8> fpu;      // FXSAVE image
  std::vector<u8> tail;     // bytes at kTailAddr
};

// The start contents of the data and stack pages from a seed. Frozen: the recorded corpus
// (corpus.h) stores the seed, not the pages, so changing this function means recording the
// corpus again on a host with compatibility mode (each entry keeps a hash of its start
// pages, so a load after such a change fails and says so).
void fill_pages(u64 page_seed, std::vector<u8>& data, std::vector<u8>& stack);

// Generates the program for `seed` from the enabled templates (deterministic).
Program generate(u64 seed, Mode mode, const std::vector<const Template*>& enabled, unsigned max_items,
                 unsigned fault_percent = 2, bool cpl3 = true);
// Lays out items [first, last) at kSeqAddr; jumps past `last` go to the end. False if a rel8
// jump does not reach (the caller then regenerates).
bool layout(const Program& p, size_t first, size_t last, Case& out);

// The generator's view while one template runs.
class Gen {
 public:
  Gen(u64 seed, Mode mode, unsigned n_items);
  Rng rng;
  Mode mode;
  bool l64;
  Asm a{true};
  unsigned item_index = 0;
  unsigned n_items = 0;

  // ---- choices ----
  unsigned osize_v();              // 2, 4 or 8 (8 only in 64-bit mode)
  unsigned osize_any();            // 1, 2, 4 or 8
  bool legacy_bytes = true;        // byte registers of this instruction: AH..BH (true) or REX set
  void pick_byte_class() { legacy_bytes = !l64 || rng.chance(50); }
  u8 reg_dst(unsigned size);       // never RSP/SPL
  u8 reg_src(unsigned size);
  u8 gpr_dst();                    // a full register, never RSP
  u8 gpr_low8();                   // a register 0..7 other than RSP (usable with AH..BH)
  u64 value(unsigned size);        // an "interesting" value
  u8 count_for(unsigned size);     // interesting shift counts
  // A register or memory operand; memory setup MOVs are emitted now.
  RM rm(unsigned size, bool dst, unsigned mem_percent = 50, unsigned align = 1);
  // A memory operand into the data page (or the stack page via RSP), setup emitted now.
  Mem mem(unsigned size, unsigned align = 1, bool allow_rip = true);
  void set_reg(u8 reg, u64 v) { a.mov_imm(reg, v); }
  u32 mem_lo = 0, mem_hi = kPage;  // page offsets mem() may target
  u32 fault_percent = 2;           // chance that mem() picks a faulting address
  bool cpl3 = true;                // the interpreter runs at CPL 3 (alignment checks apply)
  bool ac_maybe = false;           // an earlier item may have set EFLAGS.AC
  void noise();                    // redundant prefixes before an instruction (ignored by the CPU)
  u16 reserved = 0;                // registers mem() must not use as base/index (bit per reg)
  // Emits a ModRM instruction and records the RIP-relative fixup if `rm` needs one.
  void insn(unsigned osize, std::initializer_list<u8> opcode, u8 reg, bool reg_is_reg, const RM& rm,
            unsigned imm_size = 0, u64 imm_value = 0, const Prefixes& p = {}) {
    if (rng.chance(4)) noise();
    int at = a.modrm(osize, opcode, reg, reg_is_reg, rm, imm_size, imm_value, p);
    if (rm.is_mem && rm.mem.rip) rip_fixup(at, pending_rip_target);
  }
  // Records a RIP-relative displacement to patch (after the instruction is emitted).
  void rip_fixup(int disp_at, u64 target);

  // ---- flags ----
  u64 undef = 0;                   // flags undefined now
  void reads(u64 flags);           // call before an instruction that reads `flags`
  void effect(u64 defined, u64 undefined) { undef = (undef & ~defined) | undefined; undef_any |= undef; }
  u64 undef_any = 0;               // every flag undefined at some point inside the current item
  std::vector<u8> tail = std::vector<u8>(16, 0xCC);   // bytes at kTailAddr
  u64 tail_start = 0;              // where the instruction placed in the tail starts (0: none yet)
  // A forward jump: emit the instruction with a zero rel field, then call this.
  void jump_fixup(Fixup::Kind kind, unsigned field_size, int items_ahead = -1);
  int pick_target();               // an item index > item_index, or n_items (the end)
  // A reference from the field at `at` (4 bytes) to byte `offset` of this item.
  void self_fixup(Fixup::Kind kind, u32 at, u32 offset) {
    fixups.push_back({kind, at, at + 4, static_cast<int>(item_index), 0, undef, offset});
  }

  // ---- item assembly (generate() only) ----
  std::vector<Fixup> fixups;
  u64 pending_rip_target = 0;
  int pending_rip_at = -1;
  std::vector<u64> pending_undef;  // per target item, merged from jumps
};

const char* flag_names(u64 flags, std::string& buf);

// Floating-point hard cases (generator.cpp): NaNs (quiet, signalling, both signs), infinities,
// denormals, zeros of both signs, integer-conversion limits, rounding ties; 80-bit also
// pseudo-denormals, unnormals, pseudo-NaNs/infinities.
u32 fp_hard32(Rng& r);
u64 fp_hard64(Rng& r);      // one double, or two floats
void fp_hard80(Rng& r, u8 out[10]);
// The start x87/SSE state (FXSAVE image): random FCW precision/rounding, MXCSR rounding/DAZ/
// FTZ (exceptions masked but rarely one), x87 stack with random TOP/tags, XMM hard cases.
std::vector<u8> initial_fpu(Rng& setup, Gen& g);

}  // namespace rv::oracle
