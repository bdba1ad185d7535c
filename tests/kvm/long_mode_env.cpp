#include "tests/kvm/long_mode_env.h"

#include <cstring>

#include "cpu/cpu.h"
#include "memory/log.h"

namespace rv::kvmtest {

using oracle::kCodeBase;
using oracle::kDataBase;
using oracle::kRoBase;
using oracle::kStackBase;
using oracle::kPage;

namespace {

constexpr u64 kPteP = 1, kPteW = 2, kPteA = 0x20, kPteD = 0x40;

// Page-table writer over the board's RAM (physical = RAM offset below 640 KiB).
class Tables {
 public:
  explicit Tables(PhysMemory& m) : m_mem(m) {
    std::vector<u8> zero(kPtPoolEnd - kPtPool, 0);
    m_mem.write_bytes(kPtPool, zero.data(), zero.size());
  }
  void map4k(u64 va, u64 pa, bool writable) {
    u64 table = kPtPool;   // PML4
    for (int level = 3; level >= 1; level--) {
      const u64 at = table + ((va >> (12 + 9 * level)) & 511) * 8;
      u64 e = m_mem.read(at, 8);
      if (!(e & kPteP)) {
        m_next += kPage;
        RV_ASSERT(m_next < kPtPoolEnd);
        e = m_next | kPteP | kPteW | kPteA;
        m_mem.write(at, e, 8);
      }
      table = e & ~0xFFFull;
    }
    m_mem.write(table + ((va >> 12) & 511) * 8, pa | kPteP | kPteA | kPteD | (writable ? kPteW : 0), 8);
  }

 private:
  PhysMemory& m_mem;
  u64 m_next = kPtPool;
};

// Access byte (type, S, DPL, P) and flags nibble (AVL, L, D/B, G): SDM Vol.3A §3.4.5.
u64 descriptor(u8 access, u8 flags) {
  return 0xFFFF | (static_cast<u64>(access) << 40) | (0xFull << 48) | (static_cast<u64>(flags) << 52);
}

void put(PhysMemory& m, u64 pa, const std::vector<u8>& bytes) { m.write_bytes(pa, bytes.data(), bytes.size()); }

void build_system(PhysMemory& m) {
  Tables t(m);
  t.map4k(kCodeBase, kCodePhys, true);   // writable: programs may modify their own code
  t.map4k(kCodeBase + kPage, kCodePhys + kPage, true);
  t.map4k(kDataBase, kDataPhys, true);
  t.map4k(kRoBase, kRoPhys, false);
  t.map4k(kStackBase, kStackPhys, true);
  for (u64 pa = kGdt; pa <= kResult; pa += kPage) t.map4k(pa, pa, true);

  std::vector<u8> page(kPage, 0);
  auto put64 = [&](u64 off, u64 v) { std::memcpy(&page[off], &v, 8); };
  // GDT.
  put64(kCodeSel, descriptor(0x9B, 0xA));
  put64(kDataSel, descriptor(0x93, 0xC));
  // 64-bit TSS descriptor (16 bytes, busy), SDM Vol.3A §8.2.3.
  put64(kTssSel, 0x67 | ((kTss & 0xFFFFFF) << 16) | (0x8Bull << 40) | ((kTss >> 24 & 0xFF) << 56));
  put64(kTssSel + 8, kTss >> 32);
  put(m, kGdt, page);

  // TSS: RSP0 and IST1 at the top of the IST stack (SDM Vol.3A §8.7).
  std::fill(page.begin(), page.end(), 0);
  put64(4, kIstTop);
  put64(0x24, kIstTop);
  page[0x66] = 0x68;   // I/O map base: none
  put(m, kTss, page);

  // IDT: interrupt gates (DPL 0, IST1) to the stubs; SDM Vol.3A §6.14.1.
  std::fill(page.begin(), page.end(), 0);
  std::vector<u8> stubs(kPage, 0xCC);
  for (u64 v = 0; v < 256; v++) {
    const u64 off = kStubs + v * 16;
    put64(v * 16, (off & 0xFFFF) | (static_cast<u64>(kCodeSel) << 16) | (1ull << 32) | (0x8Eull << 40) |
                      ((off >> 16 & 0xFFFF) << 48));
    put64(v * 16 + 8, off >> 32);
    // MOV dword [kResult], v; HLT; JMP $-1 (to the HLT)
    const u8 stub[] = {0xC7, 0x04, 0x25, static_cast<u8>(kResult), static_cast<u8>(kResult >> 8),
                       static_cast<u8>(kResult >> 16), static_cast<u8>(kResult >> 24), static_cast<u8>(v), 0, 0, 0,
                       0xF4, 0xEB, 0xFD};
    std::memcpy(&stubs[v * 16], stub, sizeof stub);
  }
  put(m, kIdt, page);
  put(m, kStubs, stubs);

  std::vector<u8> ist(kIstTop - kIstBase, 0);
  put(m, kIstBase, ist);
  std::fill(page.begin(), page.end(), 0);
  std::memset(page.data(), 0xFF, 4);   // no vector yet
  put(m, kResult, page);
}

Segment seg(u16 sel, u8 access, u8 flags) { return Segment{sel, static_cast<u16>(access | (flags << 12)), 0xFFFFFFFF, 0}; }

class HookPort final : public PortDevice {
 public:
  HookPort(Pc& pc, bool toggle) : m_pc(pc), m_toggle(toggle) {}
  u32 io_read(u16, unsigned) override { return 0; }
  void io_write(u16, u32, unsigned) override {
    writes++;
    if (!m_toggle) return;
    std::string why;
    if (!m_pc.request_engine(m_pc.engine() == Engine::Kvm ? Engine::Interp : Engine::Kvm, why)) error = why;
  }
  u64 writes = 0;
  std::string error;

 private:
  Pc& m_pc;
  bool m_toggle;
};

Outcome capture(Pc& pc, const RunResult& r) {
  Outcome o = outcome_of(pc, r);
  for (const Area& a : areas()) {
    std::vector<u8> b(a.size);
    pc.memory().read_bytes(a.phys, b.data(), a.size);
    o.mem.insert(o.mem.end(), b.begin(), b.end());
  }
  return o;
}

}  // namespace

const std::vector<Area>& areas() {
  static const std::vector<Area> a = {
      {"code", kCodeBase, kCodePhys, 2 * kPage},
      {"data", kDataBase, kDataPhys, kPage},
      {"ro", kRoBase, kRoPhys, kPage},
      {"stack", kStackBase, kStackPhys, kPage},
      {"page tables", kPtPool, kPtPool, kPtPoolEnd - kPtPool},
      {"gdt", kGdt, kGdt, kPage},
      {"tss", kTss, kTss, kPage},
      {"ist stack", kIstBase, kIstBase, kIstTop - kIstBase},
      {"result", kResult, kResult, 16},
  };
  return a;
}

std::vector<u8> area_bytes(const Outcome& o, const char* name) {
  u64 at = 0;
  for (const Area& a : areas()) {
    if (std::strcmp(a.name, name) == 0) {
      if (o.mem.size() < at + a.size) return {};
      return std::vector<u8>(o.mem.begin() + static_cast<long>(at), o.mem.begin() + static_cast<long>(at + a.size));
    }
    at += a.size;
  }
  return {};
}

void mask_area(Outcome& o, const char* name, u64 offset, u64 len) {
  u64 at = 0;
  for (const Area& a : areas()) {
    if (std::strcmp(a.name, name) == 0) {
      for (u64 k = offset; k < offset + len && k < a.size && at + k < o.mem.size(); k++) o.mem[at + k] = 0;
      return;
    }
    at += a.size;
  }
}

u32 vector_taken(const Outcome& o) {
  std::vector<u8> r = area_bytes(o, "result");
  if (r.size() < 4) return kNoVector;
  u32 v;
  std::memcpy(&v, r.data(), 4);
  return v;
}

std::shared_ptr<const std::vector<u8>> hlt_bios() {
  static const auto image = std::make_shared<const std::vector<u8>>(64 * KiB, 0xF4);
  return image;
}

void install(Pc& pc, const oracle::Case& c, u8 filler) {
  PhysMemory& m = pc.memory();
  build_system(m);
  std::vector<u8> code(2 * kPage, filler);
  const u64 seq = oracle::kSeqAddr - kCodeBase;
  std::memcpy(&code[seq], c.code.data(), c.code.size());
  code[seq + c.code.size()] = 0xFA;       // CLI
  code[seq + c.code.size() + 1] = 0xF4;   // HLT: the run ends with StopKind::Halted
  // The tail: INT3s then the start of the "fetch" template's instruction (never an 0xCC byte).
  for (size_t i = 0; i < c.tail.size() && i < 16; i++)
    code[oracle::kTailAddr - kCodeBase + i] = c.tail[i] == 0xCC ? filler : c.tail[i];
  put(m, kCodePhys, code);
  put(m, kDataPhys, c.data);
  put(m, kRoPhys, oracle::ro_page_pattern());
  put(m, kStackPhys, c.stack);

  CpuState& s = pc.cpu().state();   // the reset state: MSRs, APIC base, MXCSR_MASK stay
  s.cr0 = kCr0Pe | kCr0Mp | kCr0Et | kCr0Ne | kCr0Wp | kCr0Am | kCr0Pg;
  s.cr4 = kCr4Pae | kCr4Osfxsr | kCr4Osxmmexcpt;
  s.cr3 = kPtPool;
  s.efer = kEferSce | kEferLme | kEferLma | kEferNxe;
  s.gdtr = {kGdt, 0x7F};
  s.idtr = {kIdt, 0xFFF};
  s.tr = Segment{kTssSel, 0x8B, 0x67, kTss};
  s.ldtr = Segment{};
  s.seg[CS] = seg(kCodeSel, 0x9B, 0xA);
  s.seg[SS] = seg(kDataSel, 0x93, 0xC);
  s.seg[DS] = s.seg[ES] = s.seg[FS] = s.seg[GS] = Segment{};
  s.seg[GS].base = kDataBase;   // the generator's GS-relative operands (oracle.h)
  s.gpr = c.gpr;
  s.rip = oracle::kSeqAddr;
  s.rflags = c.rflags | kFixed1;
  s.lazy = LazyFlags{};
  // MXCSR_MASK (bytes 28..31) is the CPU's own, not part of the start state.
  u8 mask[4];
  std::memcpy(mask, s.fpu.fxsave + 28, 4);
  std::memcpy(s.fpu.fxsave, c.fpu.data(), 512);
  std::memcpy(s.fpu.fxsave + 28, mask, 4);
  s.halted = false;
  s.int_shadow_until = 0;
  pc.cpu().state_changed();
}

Outcome run_case(const oracle::Case& c, const RunSpec& spec, const CpuFeatures& cpu) {
  PcConfig cfg;
  cfg.ram_bytes = 16 * MiB;
  cfg.bios = hlt_bios();
  cfg.cpu = cpu;
  cfg.accel = spec.accel;
  cfg.kvm_device = kvm_device();
  cfg.engine_switches = spec.switches;
  cfg.kvm_ready = spec.kvm_ready;
  cfg.max_insns = 5'000'000;   // the interpreter's share; programs retire a few thousand
  Pc pc(cfg);
  HookPort hook(pc, spec.toggle);
  pc.io().map(kHookPort, 1, &hook, "kvmtest-hook");
  install(pc, c, spec.filler);
  const RunResult r = pc.run();
  Outcome o = capture(pc, r);
  o.hook_writes = hook.writes;
  if (!hook.error.empty()) o.note = "engine request refused: " + hook.error;
  return o;
}

std::vector<const oracle::Template*> kvm_templates(const KvmProbe& probe, std::string* excluded) {
  using namespace oracle;
  const CpuFeatures& cpu = probe.features;
  const u32 host = host_features();
  auto model_has = [&](u32 feat) {
    switch (feat) {
      case kFeatLzcnt: return cpu.lzcnt;
      case kFeatBmi1: return cpu.lzcnt;   // restrict_to_features: TZCNT is BSF without LZCNT
      case kFeatPopcnt: return cpu.popcnt;
      case kFeatMovbe: return cpu.movbe;
      case kFeatCx16: return cpu.cx16;
      case kFeatSse3: return cpu.sse3;
      case kFeatSsse3: return cpu.ssse3;
      case kFeatSse41: return cpu.sse41;
      case kFeatSse42: return cpu.sse42;
      default: return true;
    }
  };
  std::vector<const Template*> out;
  // "loop" draws its body from every 64-bit template (templates_flow.cpp), enabled or not,
  // so it goes whenever one is left out for what this KVM cannot do.
  std::string loop_why;
  for (const Template& t : all_templates()) {
    const std::string n = t.name;
    std::string why;       // left out for what this host or its KVM cannot do
    std::string policy;    // left out whatever the host (mode, privilege, opt-in)
    for (const auto& [templ, problem] : probe.template_limits)
      if (templ == n) why = problem;
    if (!(t.modes & 1)) policy = "32-bit only";
    else if (t.opt_in) policy = "opt-in only (as in oracle_test)";
    else if (n == "traps" || n == "segs" || n == "far")
      policy = "CPL 3 behaviour and Linux's user selectors (left out at CPL 0, as oracle_test --cpl0 does)";
    else if (!why.empty()) {
    } else if (t.simd && !probe.fpu_problem.empty())
      why = "x87/MMX/SSE: this host's KVM fails its self-test (" + probe.fpu_problem + ")";
    else if (t.feature && !(host & t.feature)) policy = "the host CPU lacks its feature";
    else if (t.feature && !model_has(t.feature))
      why = "KVM cannot offer its feature in CPUID: the interpreter then raises #UD (or runs BSF/BSR for "
            "LZCNT/TZCNT), while the vCPU runs the instruction anyway";
    if (!policy.empty()) {
      if (excluded) *excluded += "  " + n + ": " + policy + "\n";
    } else if (!why.empty()) {
      if (excluded) *excluded += "  " + n + ": " + why + "\n";
      if (loop_why.empty()) loop_why = "its body may use " + n + " (left out above)";
    } else if (n != "loop") {
      out.push_back(&t);
    }
  }
  if (loop_why.empty()) {
    for (const Template& t : all_templates())
      if (std::string(t.name) == "loop") out.push_back(&t);
  } else if (excluded) {
    *excluded += "  loop: " + loop_why + "\n";
  }
  return out;
}

bool make_case(u64 seed, const std::vector<const oracle::Template*>& en, unsigned hooks, oracle::Case& c) {
  using namespace oracle;
  for (u64 attempt = 0; attempt < 100; attempt++) {
    Program p = generate(attempt ? mix_seed(seed, attempt) : seed, Mode::Long64, en, 8, 2, false);
    p.seed = seed;
    Rng r(mix_seed(seed, 0x400C + attempt));
    for (unsigned h = 0; h < hooks; h++) {
      // OUT kHookPort, AL before item k (k == size: at the end). Jumps keep their targets.
      const size_t k = r.below(static_cast<u32>(p.items.size() + 1));
      Item hook;
      hook.name = "hook (OUT to the engine-switch port)";
      hook.bytes = {0xE6, static_cast<u8>(kHookPort)};
      hook.undef_in = hook.undef_out = hook.undef_any = k < p.items.size() ? p.items[k].undef_in : p.items.back().undef_out;
      for (Item& it : p.items)
        for (Fixup& f : it.fixups)
          if (f.kind != Fixup::RipDisp && f.target_item >= static_cast<int>(k)) f.target_item++;
      p.items.insert(p.items.begin() + static_cast<long>(k), hook);
    }
    if (layout(p, 0, p.items.size(), c)) return true;
  }
  return false;
}

}  // namespace rv::kvmtest
