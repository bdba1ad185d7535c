// The interpreter's run loop, decoded-block cache, fault escalation and reset.
#include "cpu/cpu.h"

#include <array>
#include <utility>

#include <algorithm>
#include <unordered_map>

#include "cpu/disasm.h"
#include "cpu/interp/handlers.h"
#include "cpu/interp/threaded.h"
#include "memory/log.h"

namespace rv {

namespace {
constexpr unsigned kMaxBlockInsns = 64;
constexpr unsigned kFastBlocks = 4096;

// Instructions after which a block must end: control transfers, and instructions that can
// change how the following code decodes or whether interrupts/devices need attention.
struct EndsBlockTable {
  bool t[static_cast<unsigned>(OpId::Count)] = {};
  EndsBlockTable() {
    for (OpId op : {OpId::JCC_Jb, OpId::JCC_Jz, OpId::JMP_Jb, OpId::JMP_Jz, OpId::JMP_Ev, OpId::CALL_Jz,
                    OpId::CALL_Ev, OpId::RET, OpId::RET_Iw, OpId::LOOP_Jb, OpId::LOOPE_Jb, OpId::LOOPNE_Jb,
                    OpId::JCXZ_Jb, OpId::JMPF_Ap, OpId::JMPF_Mp, OpId::CALLF_Ap, OpId::CALLF_Mp, OpId::RETF,
                    OpId::RETF_Iw, OpId::INT3, OpId::INT_Ib, OpId::INTO, OpId::INT1, OpId::IRET, OpId::SYSCALL,
                    OpId::SYSRET, OpId::SYSENTER, OpId::SYSEXIT, OpId::HLT, OpId::MOV_Sw_Ew, OpId::POP_SS,
                    OpId::POP_ES, OpId::POP_DS, OpId::POP_FS, OpId::POP_GS, OpId::LSS_Gz_Mp, OpId::LDS_Gz_Mp,
                    OpId::LES_Gz_Mp, OpId::LFS_Gz_Mp, OpId::LGS_Gz_Mp, OpId::STI, OpId::CLI, OpId::POPF,
                    OpId::MOV_Cd_Rd, OpId::MOV_Dd_Rd, OpId::LMSW_Ew, OpId::CLTS, OpId::WRMSR, OpId::LGDT_Ms,
                    OpId::LIDT_Ms, OpId::LLDT_Ew, OpId::LTR_Ew, OpId::INVLPG_M, OpId::SWAPGS, OpId::IN_AL_Ib,
                    OpId::IN_eAX_Ib, OpId::OUT_Ib_AL, OpId::OUT_Ib_eAX, OpId::IN_AL_DX, OpId::IN_eAX_DX,
                    OpId::OUT_DX_AL, OpId::OUT_DX_eAX, OpId::INSB, OpId::INSv, OpId::OUTSB, OpId::OUTSv,
                    OpId::RSM, OpId::XSETBV, OpId::UD0, OpId::UD1, OpId::UD2, OpId::Invalid, OpId::Vex,
                    OpId::Evex, OpId::Xop, OpId::MWAIT, OpId::WBINVD, OpId::INVD, OpId::BOUND_Gv_Ma})
      t[static_cast<unsigned>(op)] = true;
  }
};
const EndsBlockTable kEndsBlock;

bool is_string_op(OpId op) {
  switch (op) {
    case OpId::MOVSB: case OpId::MOVSv: case OpId::CMPSB: case OpId::CMPSv: case OpId::STOSB: case OpId::STOSv:
    case OpId::LODSB: case OpId::LODSv: case OpId::SCASB: case OpId::SCASv: return true;
    default: return false;
  }
}

// LOCK is valid only on these read-modify-write forms with a memory destination (SDM Vol.2
// LOCK); anywhere else it raises #UD.
struct LockableTable {
  bool t[static_cast<unsigned>(OpId::Count)] = {};
  LockableTable() {
    for (OpId op : {OpId::ADD_Eb_Gb, OpId::ADD_Ev_Gv, OpId::OR_Eb_Gb, OpId::OR_Ev_Gv, OpId::ADC_Eb_Gb,
                    OpId::ADC_Ev_Gv, OpId::SBB_Eb_Gb, OpId::SBB_Ev_Gv, OpId::AND_Eb_Gb, OpId::AND_Ev_Gv,
                    OpId::SUB_Eb_Gb, OpId::SUB_Ev_Gv, OpId::XOR_Eb_Gb, OpId::XOR_Ev_Gv, OpId::GRP1_Eb_Ib,
                    OpId::GRP1_Ev_Iz, OpId::GRP1_Eb_Ib82, OpId::GRP1_Ev_Ib, OpId::INC_Eb, OpId::DEC_Eb,
                    OpId::INC_Ev, OpId::DEC_Ev, OpId::NOT_Eb, OpId::NOT_Ev, OpId::NEG_Eb, OpId::NEG_Ev,
                    OpId::XCHG_Eb_Gb, OpId::XCHG_Ev_Gv, OpId::BTS_Ev_Gv, OpId::BTR_Ev_Gv, OpId::BTC_Ev_Gv,
                    OpId::BTS_Ev_Ib, OpId::BTR_Ev_Ib, OpId::BTC_Ev_Ib, OpId::XADD_Eb_Gb, OpId::XADD_Ev_Gv,
                    OpId::CMPXCHG_Eb_Gb, OpId::CMPXCHG_Ev_Gv, OpId::CMPXCHG8B_Mq})
      t[static_cast<unsigned>(op)] = true;
  }
};
const LockableTable kLockable;

void exec_bad_lock(Cpu& cpu, const DecodedInsn& d) { cpu.invalid(d, "LOCK on an instruction or form that takes none"); }

template <size_t... I>
constexpr std::array<Threaded, sizeof...(I)> threaded_by_op(std::index_sequence<I...>) {
  return {&interp::threaded_op<static_cast<unsigned>(I)>...};
}
// One dispatch copy per operation (interp/threaded.h, threaded_op).
const std::array<Threaded, static_cast<size_t>(OpId::Count)> kThreadedByOp =
    threaded_by_op(std::make_index_sequence<static_cast<size_t>(OpId::Count)>());

Threaded select_threaded(const DecodedInsn& d, CpuMode mode) {
  if (RV_UNLIKELY(d.lock)) return interp::threaded_generic;
  if (Threaded t = interp::specialize_alu(d, mode)) return t;
  if (Threaded t = interp::specialize_control(d)) return t;
  if (Threaded t = interp::specialize_shift(d)) return t;
  Threaded t = interp::threaded_table()[static_cast<unsigned>(d.op)];
  return t ? t : kThreadedByOp[static_cast<unsigned>(d.op)];
}

Handler select_handler(const DecodedInsn& d) {
  if (RV_UNLIKELY(d.lock)) {
    bool grp1_cmp = (d.op == OpId::GRP1_Eb_Ib || d.op == OpId::GRP1_Ev_Iz || d.op == OpId::GRP1_Eb_Ib82 ||
                     d.op == OpId::GRP1_Ev_Ib) && (d.reg & 7) == 7;
    if (!kLockable.t[static_cast<unsigned>(d.op)] || d.mod == 3 || grp1_cmp) return exec_bad_lock;
  }
  return handler_table()[static_cast<unsigned>(d.op)];
}

bool vector_has_error(u8 v) {
  return v == kDF || (v >= kTS && v <= kPF) || v == kAC || v == 21 || v == 29 || v == 30;
}
// Exceptions reported as faults (the instruction can be restarted): SDM Vol.3A Table 6-1.
bool is_fault_class(u8 v) {
  return v == kDE || v == kBR || v == kUD || v == kNM || (v >= kTS && v <= kPF) || v == kMF || v == kAC ||
         v == kXM || v == 20;
}
bool contributory(u8 v) { return v == kDE || (v >= kTS && v <= kGP); }
}  // namespace

struct Cpu::Block {
  u64 key = 0;        // paddr << 2 | mode
  u64 la = 0;         // linear address when built (for CS limit checks: span)
  u32 span = 0;       // bytes covered
  bool valid = true;
  // A block of one instruction that crosses into the next page: that page's physical
  // address when built (checked at every lookup: the mapping of the second page may change
  // independently of the first), else ~0.
  u64 pa2 = ~0ull;
  // Direct links to the blocks that followed this one (block chaining), keyed by RIP. A link
  // is used only while the cache epoch is unchanged: TLB flushes, every CS load (mode_changed),
  // mode/CPL changes and invalidations bump it, so CS base and limit are those the link was
  // made (and limit-checked) under.
  Block* link[2] = {nullptr, nullptr};
  u64 link_rip[2] = {~0ull, ~0ull};
  u64 link_epoch[2] = {0, 0};
  u8 link_next = 0;
  std::vector<Slot> insns;   // the instructions, then a sentinel slot
};

struct Cpu::BlockCache {
  std::unordered_map<u64, std::unique_ptr<Block>> map;
  std::unordered_map<u64, std::vector<u64>> by_page;   // physical page -> block keys
  Block* fast[kFastBlocks] = {};
  std::vector<std::unique_ptr<Block>> graveyard;        // freed at the next safe point
  static unsigned slot(u64 key) { return static_cast<unsigned>((key >> 2) ^ (key >> 14)) & (kFastBlocks - 1); }

  void drop_page(u64 page) {
    auto it = by_page.find(page);
    if (it == by_page.end()) return;
    for (u64 key : it->second) drop_key(key);
    by_page.erase(it);
  }
  void drop_key(u64 key) {
    auto b = map.find(key);
    if (b == map.end()) return;
    b->second->valid = false;
    Block*& f = fast[slot(key)];
    if (f == b->second.get()) f = nullptr;
    graveyard.push_back(std::move(b->second));
    map.erase(b);   // (its by_page entries go when their pages are dropped; a missing key is skipped)
  }
  void clear() {
    for (auto& kv : map) { kv.second->valid = false; graveyard.push_back(std::move(kv.second)); }
    map.clear();
    by_page.clear();
    std::fill(std::begin(fast), std::end(fast), nullptr);
  }
};

Cpu::Cpu(PhysMemory& mem, IoBus& io) : m_mem(mem), m_io(io), m_blocks(std::make_unique<BlockCache>()) {
  m_mem.set_code_write_listener([this](u64 page) { on_code_write(page); });
  reset();
}

Cpu::~Cpu() { m_mem.set_code_write_listener(nullptr); }

void Cpu::reset() {
  // SDM Vol.3A §9.1.1, Table 9-1.
  m_s = CpuState{};
  m_s.rip = 0xFFF0;
  m_s.rflags = kFixed1;
  m_s.cr0 = kCr0Et | kCr0Cd | kCr0Nw;
  for (Segment& sg : m_s.seg) sg = Segment{0, 0x93, 0xFFFF, 0};
  m_s.seg[CS] = Segment{0xF000, 0x9B, 0xFFFF, 0xFFFF0000};
  m_s.gdtr = {0, 0xFFFF};
  m_s.idtr = {0, 0xFFFF};
  m_s.ldtr = Segment{0, 0x82, 0xFFFF, 0};
  m_s.tr = Segment{0, 0x8B, 0xFFFF, 0};
  m_s.gpr[RDX] = 0x000306A9;   // processor signature: family 6, model 0x3A, stepping 9
  // x87/SSE power-on state (SDM Vol.3A Table 9-1): FCW 0040H, MXCSR 1F80H, all tags empty.
  const u16 fcw = 0x0040;
  const u32 mxcsr = 0x1F80, mxcsr_mask = 0xFFFF;   // MXCSR_MASK: every bit incl. DAZ supported
  std::memcpy(m_s.fpu.fxsave + 0, &fcw, 2);
  std::memcpy(m_s.fpu.fxsave + 24, &mxcsr, 4);
  std::memcpy(m_s.fpu.fxsave + 28, &mxcsr_mask, 4);
  m_s.dr[6] = 0xFFFF0FF0;
  m_s.dr[7] = 0x400;
  m_triple = false;
  m_triple_msg.clear();
  m_a20_mask = ~0ull;   // the board re-applies its gates after a reset
  state_changed();
}

void Cpu::state_changed() {
  m_ss_shadow_at = ~0ull;   // a new state: no MOV SS shadow, no #DB held by one
  m_held_db = 0;
  m_epoch++;
  if (m_keep_blocks_once) m_keep_blocks_once = false;   // the caller keeps RAM and blocks in step
  else m_blocks->clear();
  debug_regs_changed();
  tlb_flush(true);
  mode_changed();
}

void Cpu::on_code_write(u64 page) {
  m_epoch++;
  m_blocks->drop_page(page);
  abort_block();   // the running block may be among them: stop after this instruction
  // Pages that hold code never have write tags; nothing to do in the TLB here.
}

u64 Cpu::tsc() const { return (m_tsc_source ? m_tsc_source() : m_s.icount) + m_s.tsc_offset; }

void Cpu::set_rflags(u64 v) {
  if (RV_UNLIKELY(v & kFlagRF)) {
    // RF lasts until the next instruction starts (SDM Vol.3B §17.3.1.1): the run loop
    // executes that one alone (step_one()).
    abort_block();
  }
  bool ac_changed = (m_s.rflags ^ v) & kFlagAC;
  m_s.rflags = v | kFixed1;
  m_s.lazy.op = LazyOp::None;
  if (ac_changed) update_access_mode();
}

// Alignment checking applies to CPL-3 data accesses when CR0.AM and EFLAGS.AC are both set
// (SDM Vol.3A §6.15, #AC). Those run through TLB set 2, which is never filled.
void Cpu::update_access_mode() {
  unsigned sel = m_cpl == 3 ? 1 : 0;
  if (sel && (m_s.cr0 & kCr0Am) && (m_s.rflags & kFlagAC)) sel = 2;
  m_tlb_user = sel;
  m_tlb_cur = m_tlb[sel];
}

void Cpu::write_flags_masked(u64 v, u64 mask) { set_rflags((rflags() & ~mask) | (v & mask)); }

void Cpu::set_arith_flags(u64 bits, u64 which) {
  u64 f = rflags();
  m_s.rflags = (f & ~which) | (bits & which);
  m_s.lazy.op = LazyOp::None;
}

void Cpu::probe_write(u8 seg, u64 off, unsigned size) {
  u64 la = seg_linear(seg, off, size, Access::Write);
  check_alignment(la, size);
  translate(la, Access::Write, m_tlb_user);
  if ((la & 0xFFF) + size > kPageSize) {
    // A fault on the second page reports its first byte in CR2, as hardware does.
    u64 la2 = (la | 0xFFF) + 1;
    translate(long64() ? la2 : la2 & 0xFFFFFFFF, Access::Write, m_tlb_user);
  }
}

void Cpu::fault(u8 vector, u32 error) { throw GuestFault{vector, vector_has_error(vector), error}; }
void Cpu::fault_no_error(u8 vector) { throw GuestFault{vector, false, 0}; }

void Cpu::canonical_fault(u8 seg) { fault(seg == SS ? kSS : kGP, 0); }

// Where the running instruction is, as a person reads it: CS:IP in real and virtual-8086
// mode, the linear address otherwise; and its bytes with their disassembly.
std::string Cpu::insn_place(const DecodedInsn& d) {
  u8 bytes[15] = {};
  unsigned n = 0;
  try {
    for (; n < d.len; n++) {
      u64 la = long64() ? m_insn_start + n : (m_s.seg[CS].base + m_insn_start + n) & 0xFFFFFFFF;
      bytes[n] = static_cast<u8>(read_sys(la, 1));
    }
  } catch (const GuestFault&) {
  }
  char where[40];
  if (!protected_mode() || v86())
    std::snprintf(where, sizeof where, "%04x:%04llx", m_s.seg[CS].sel, static_cast<unsigned long long>(m_insn_start & 0xFFFF));
  else
    std::snprintf(where, sizeof where, "%llx", static_cast<unsigned long long>(
                                                    long64() ? m_insn_start : (m_s.seg[CS].base + m_insn_start) & 0xFFFFFFFF));
  return std::string(where) + ": " + hex_bytes(bytes, n) + " (" + disassemble(bytes, n, m_mode, m_insn_start) + ")";
}

void Cpu::ud(const DecodedInsn& d) {
  static bool logged[static_cast<unsigned>(OpId::Count)] = {};
  unsigned idx = static_cast<unsigned>(d.op);
  if (!logged[idx]) {
    logged[idx] = true;
    if (d.op == OpId::Invalid || d.op == OpId::Vex || d.op == OpId::Evex || d.op == OpId::Xop)
      RV_UNUSUAL("#UD for %s encoding at %s", op_name(d.op), insn_place(d).c_str());
    else
      log_gap(GapKind::Unimplemented, "Cpu::ud", "instruction %s not implemented, raising #UD at %s", op_name(d.op),
              insn_place(d).c_str());
  }
  fault_no_error(kUD);
}

void Cpu::invalid(const DecodedInsn& d, const char* why) {
  static bool logged[static_cast<unsigned>(OpId::Count)] = {};
  unsigned idx = static_cast<unsigned>(d.op);
  if (!logged[idx]) {
    logged[idx] = true;
    RV_UNUSUAL("#UD as on hardware (%s) at %s", why, insn_place(d).c_str());
  }
  fault_no_error(kUD);
}

// ---- fetching and blocks ----

u64 Cpu::fetch_bytes(u64 la, u8* buf, unsigned n) {
  // One translation per page (at most two for an instruction), then the bytes of each page.
  unsigned got = 0;
  try {
    while (got < n) {
      u64 a = long64() ? la + got : (la + got) & 0xFFFFFFFF;
      u64 pa = translate(a, Access::Exec, m_tlb_user);
      unsigned chunk = std::min<unsigned>(n - got, static_cast<unsigned>(kPageSize - (a & 0xFFF)));
      m_mem.read_bytes(pa, buf + got, chunk);
      got += chunk;
    }
  } catch (const GuestFault&) {
    if (got == 0) throw;
  }
  return got;
}

Cpu::Block* Cpu::get_block() {
  const Segment& cs = m_s.seg[CS];
  u64 la = long64() ? m_s.rip : (cs.base + m_s.rip) & 0xFFFFFFFF;
  const TlbEntry& e = m_tlb_cur[(la >> 12) & (kTlbSize - 1)];
  u64 pa = e.tag_x == (la & kPageMask) ? e.paddr | (la & 0xFFF) : translate(la, Access::Exec, m_tlb_user);
  u64 key = (pa << 2) | static_cast<u64>(m_mode);
  Block*& f = m_blocks->fast[BlockCache::slot(key)];
  Block* b = f;
  if (!b || b->key != key) {
    auto it = m_blocks->map.find(key);
    b = it != m_blocks->map.end() ? it->second.get() : build_block(pa, la);
    if (!b) return nullptr;
    f = b;
  }
  if (RV_UNLIKELY(b->pa2 != ~0ull)) {
    // An instruction across a page end: its second page must still map where it did (the
    // fetch's #PF, if any, belongs to this instruction: it is the block's first).
    u64 la2 = (la & kPageMask) + kPageSize;
    if (!long64()) la2 &= 0xFFFFFFFF;
    const TlbEntry& e2 = m_tlb_cur[(la2 >> 12) & (kTlbSize - 1)];
    u64 pa2 = e2.tag_x == (la2 & kPageMask) ? e2.paddr : translate(la2, Access::Exec, m_tlb_user) & kPageMask;
    if (pa2 != b->pa2) {
      m_epoch++;   // unlinks it from every block that chained to it
      m_blocks->drop_key(key);
      b = build_block(pa, la);
      if (!b) return nullptr;
      m_blocks->fast[BlockCache::slot(key)] = b;
    }
  }
  // CS limit: the whole block must lie inside it, else step singly so the fault is exact.
  if (!long64() && m_s.rip + b->span - 1 > cs.limit) return nullptr;
  return b;
}

void Cpu::chain_sentinel(Cpu& c, const Slot* s) {
  Block* b = reinterpret_cast<Block*>(s->d.imm);
  c.m_last_block = b;
  if (RV_UNLIKELY(c.nmi_deliverable() || (c.m_intr && (c.m_s.rflags & kFlagIF)))) return;
  if (++c.m_chain_depth > 256) return;   // bounds the stack if the compiler did not make tail calls
  const u64 rip = c.m_s.rip;
  for (int i = 0; i < 2; i++) {
    if (b->link_rip[i] == rip && b->link_epoch[i] == c.m_epoch) {
      const Slot* first = b->link[i]->insns.data();
      return first->t(c, first);
    }
  }
}

// The block that continues execution after `b`: through one of b's links when valid, else
// through the full lookup, then remembered as a link.
Cpu::Block* Cpu::next_block(Block* b) {
  const u64 rip = m_s.rip;
  for (int i = 0; i < 2; i++)
    if (b->link_rip[i] == rip && b->link_epoch[i] == m_epoch) return b->link[i];
  Block* n = get_block();   // checks the CS limit for the whole block
  if (RV_UNLIKELY(m_exec_breaks) && n && block_has_breakpoint(n)) return nullptr;   // run() steps it
  if (n) {
    int i = b->link_next;
    b->link_next ^= 1;
    b->link[i] = n;
    b->link_rip[i] = rip;
    b->link_epoch[i] = m_epoch;
  }
  return n;
}

Cpu::Block* Cpu::build_block(u64 pa, u64 la) {
  // A bounded cache: when it holds kMaxCachedBlocks blocks, all are dropped (freed at the next
  // safe point) and it fills again from what runs now, so that no guest (one that runs every
  // byte of a large RAM as code, say) makes it grow without end.
  if (RV_UNLIKELY(m_blocks->map.size() >= kMaxCachedBlocks)) {
    m_epoch++;   // unlinks them all
    m_blocks->clear();
    m_blocks_flushed++;
  }
  auto blk = std::make_unique<Block>();
  blk->key = (pa << 2) | static_cast<u64>(m_mode);
  blk->la = la;
  u64 page = pa & kPageMask;
  PageMapping pm = m_mem.map_page(page);
  u8 buf[kPageSize + 16];
  const u8* src;
  if (pm.host) {
    src = pm.host;
  } else {
    m_mem.read_bytes(page, buf, kPageSize);   // MMIO/unmapped: snapshot (not cached below)
    src = buf;
  }
  unsigned off = static_cast<unsigned>(pa & 0xFFF);
  u64 page2 = ~0ull;
  while (blk->insns.size() < kMaxBlockInsns) {
    DecodedInsn d;
    DecodeStatus st = decode(src + off, static_cast<unsigned>(kPageSize - off), m_mode, d);
    if (st == DecodeStatus::Truncated && blk->insns.empty() && pm.host) {
      // The first instruction crosses the page end: a block of that one instruction, built
      // from both pages (a later instruction that crosses ends its block instead, so that
      // the second page's #PF is always taken at the block's first instruction).
      u64 la2 = (la & kPageMask) + kPageSize;
      if (!long64()) la2 &= 0xFFFFFFFF;
      const u64 pa2 = translate(la2, Access::Exec, m_tlb_user) & kPageMask;   // #PF: this instruction's
      PageMapping pm2 = m_mem.map_page(pa2);
      if (!pm2.host) return nullptr;   // MMIO behind: executed singly
      const unsigned head = static_cast<unsigned>(kPageSize - off);
      std::memcpy(buf, src + off, head);
      std::memcpy(buf + head, pm2.host, 16);
      st = decode(buf, head + 16, m_mode, d);
      if (st != DecodeStatus::Ok) break;
      page2 = pa2;
      if (RV_UNLIKELY(!m_features.all())) restrict_to_features(m_features, m_mode, d);
      blk->insns.push_back({select_threaded(d, m_mode), select_handler(d), d});
      off += d.len;
      break;
    }
    if (st != DecodeStatus::Ok) break;   // crosses the page end (or too long): ends the block
    if (RV_UNLIKELY(!m_features.all())) restrict_to_features(m_features, m_mode, d);   // --cpu model
    blk->insns.push_back({select_threaded(d, m_mode), select_handler(d), d});
    off += d.len;
    bool ends = kEndsBlock.t[static_cast<unsigned>(d.op)] || (d.rep && is_string_op(d.op));
    if (ends || off >= kPageSize) break;
  }
  if (blk->insns.empty()) return nullptr;
  DecodedInsn sentinel;
  sentinel.imm = reinterpret_cast<u64>(blk.get());
  blk->insns.push_back({chain_sentinel, nullptr, sentinel});
  blk->span = off - static_cast<unsigned>(pa & 0xFFF);
  if (!pm.host) return nullptr;   // never cache code from MMIO
  auto mark = [&](u64 pg) {
    if (m_mem.mark_code(pg)) {
      // Drop direct-write TLB entries to this page so stores reach the code-write check.
      for (auto& set : m_tlb)
        for (TlbEntry& t : set)
          if (t.tag_w != ~0ull && t.paddr == pg) t.tag_w = ~0ull;
    }
    m_blocks->by_page[pg].push_back(blk->key);
  };
  mark(page);
  if (page2 != ~0ull) {
    blk->pa2 = page2;
    mark(page2);   // a write to either page drops it
  }
  Block* raw = blk.get();
  m_blocks->map[blk->key] = std::move(blk);
  return raw;
}

// Executes one instruction without the block cache (page-crossing instructions, CS-limit
// edges, tracing and single-stepping).
void Cpu::exec_one_uncached() {
  u8 bytes[16] = {};
  u64 la = long64() ? m_s.rip : (m_s.seg[CS].base + m_s.rip) & 0xFFFFFFFF;
  unsigned avail = static_cast<unsigned>(fetch_bytes(la, bytes, 15));
  DecodedInsn d;
  DecodeStatus st = decode(bytes, avail, m_mode, d);
  m_insn_start = m_s.rip;
  if (st == DecodeStatus::TooLong) fault(kGP, 0);
  if (st == DecodeStatus::Truncated) {
    // The fetch stopped at a page that faults: fetching the next byte raises the #PF.
    u64 next = long64() ? la + avail : (la + avail) & 0xFFFFFFFF;
    translate(next, Access::Exec, m_tlb_user);
    fault(kGP, 0);
  }
  if (!long64() && m_s.rip + d.len - 1 > m_s.seg[CS].limit) fault(kGP, 0);
  if (RV_UNLIKELY(!m_features.all())) restrict_to_features(m_features, m_mode, d);   // --cpu model
  if (m_trace) m_trace->before(*this, m_s.rip, bytes, d.len);
  m_s.rip += d.len;
  select_handler(d)(*this, d);
  m_s.icount++;
  if (m_trace) m_trace->after(*this);
}

// ---- faults ----

void Cpu::handle_fault(const GuestFault& f) {
  m_s.rip = m_insn_start;
  if (m_trace) m_trace->exception(*this, f.vector, f.has_error, f.error);
  u8 vec = f.vector;
  bool has_err = f.has_error;
  u32 err = f.error;
  // Double-fault classes: SDM Vol.3A §6.15, Table 6-5.
  for (int attempt = 0;; attempt++) {
    try {
      m_push_rf = is_fault_class(vec) || (vec == kDB && m_db_fault);
      m_db_fault = false;
      deliver_event(vec, has_err, err, false);
      return;
    } catch (const GuestFault& g) {
      if (vec == kDF) {
        m_triple = true;
        char buf[160];
        std::snprintf(buf, sizeof buf,
                      "triple fault: #%u while delivering #DF (first fault #%u at %04x:%llx)", g.vector,
                      f.vector, m_s.seg[CS].sel, (unsigned long long)m_insn_start);
        m_triple_msg = buf;
        return;
      }
      bool df = (contributory(vec) && contributory(g.vector)) ||
                (vec == kPF && (g.vector == kPF || contributory(g.vector)));
      if (df) { vec = kDF; has_err = true; err = 0; }
      else { vec = g.vector; has_err = g.has_error; err = g.error; }
      if (attempt > 8) {   // cannot happen architecturally; guard against a loop
        m_triple = true;
        m_triple_msg = "triple fault: exception delivery does not terminate";
        return;
      }
    }
  }
}

void Cpu::inject_event(u8 vector, bool has_error, u32 error, bool external) {
  m_s.halted = false;
  m_insn_start = m_s.rip;
  if (!external) return handle_fault(GuestFault{vector, has_error, error});
  try { deliver_event(vector, false, 0, false, true); } catch (const GuestFault& f) { handle_fault(f); }
}

bool Cpu::service_interrupts() {
  if (m_s.icount < m_s.int_shadow_until) return false;
  if (nmi_deliverable()) {
    // While the handler runs, further NMIs wait (one is kept pending) until the next IRET.
    m_s.nmi_pending = false;
    m_s.nmi_blocked = true;
    m_s.halted = false;
    m_insn_start = m_s.rip;
    try { deliver_event(kNMI, false, 0, false, true); } catch (const GuestFault& f) { handle_fault(f); }
    return true;
  }
  if (m_intr && (m_s.rflags & kFlagIF) && m_intr_ack) {
    u8 v = m_intr_ack();
    m_s.halted = false;
    m_insn_start = m_s.rip;
    try { deliver_event(v, false, 0, false, true); } catch (const GuestFault& f) { handle_fault(f); }
    return true;
  }
  return false;
}

// One instruction on its own, for everything the chained blocks do not model: --trace,
// single-stepping (TF), RF and hardware breakpoints. An enabled instruction breakpoint at
// RIP raises #DB before the instruction unless RF is set (the frame points at the
// instruction and holds RF as it was, 0: the handler sets RF to go on). RF is then cleared at
// the start of the instruction (SDM Vol.3B §17.3.1.1), so only a fault of this instruction
// (which pushes RF=1) or an instruction that loads RF (IRET) leaves it set. Data and I/O
// breakpoints the instruction hit, and TF, raise one trap-class #DB after it, with DR6's
// B0-B3 saying which breakpoints and BS the single step (§17.2.3, §17.3.1).
void Cpu::step_one() {
  const bool tf = m_s.rflags & kFlagTF;
  const u64 insn_icount = m_s.icount;
  m_insn_start = m_s.rip;
  m_data_hits = 0;
  m_sw_event = false;
  m_gdb_watch_hit = nullptr;
  if (!m_gdb_breaks.empty()) {
    const u64 la = long64() ? m_s.rip : (m_s.seg[CS].base + m_s.rip) & 0xFFFFFFFF;
    const bool skip = m_gdb_skip_at == m_s.rip;
    m_gdb_skip_at = ~0ull;
    if (!skip && std::find(m_gdb_breaks.begin(), m_gdb_breaks.end(), la) != m_gdb_breaks.end()) {
      m_gdb_hit = true;
      request_stop();
      return;
    }
  }
  try {
    if (m_debug_active && !(m_s.rflags & kFlagRF) && (m_s.dr[7] & 0xFF)) {
      const u64 la = long64() ? m_s.rip : (m_s.seg[CS].base + m_s.rip) & 0xFFFFFFFF;
      if (const u8 hits = exec_breakpoints(la)) {
        m_s.dr[6] = (m_s.dr[6] & ~0xFull) | hits;
        fault_no_error(kDB);
      }
    }
    m_s.rflags &= ~static_cast<u64>(kFlagRF);
    exec_one_uncached();
    if (m_gdb_watch_hit) {   // a debugger watchpoint: stop after this instruction
      m_gdb_hit = true;
      request_stop();
    }
    // BS: single-step trap (SDM Vol.3B §17.2.3), not after INT n (it clears TF itself).
    const u64 bits = m_data_hits | (tf && !m_sw_event ? 0x4000 : 0);
    m_data_hits = 0;   // reported (blocks that follow check it too)
    if ((bits || m_held_db) && !m_triple) trap_db(bits, insn_icount);
  } catch (const GuestFault& f) {
    m_data_hits = 0;   // the instruction did not complete: no data breakpoint
    if (m_gdb_watch_hit && !m_gdb_hit) m_gdb_watch_hit = nullptr;
    handle_fault(f);
  }
}

void Cpu::raise_debug_fault() {
  m_db_fault = true;
  fault_no_error(kDB);
}

namespace {
// DR7 fields of breakpoint n: enabled (Ln or Gn), R/W (00 exec, 01 write, 10 I/O, 11 RW) and
// the length in bytes (LEN 00 1, 01 2, 11 4, 10 8).
bool bp_enabled(u64 dr7, unsigned n) { return (dr7 >> (2 * n)) & 3; }
unsigned bp_rw(u64 dr7, unsigned n) { return (dr7 >> (16 + 4 * n)) & 3; }
u64 bp_len(u64 dr7, unsigned n) {
  static constexpr u64 kLen[4] = {1, 2, 8, 4};
  return kLen[(dr7 >> (18 + 4 * n)) & 3];
}
bool overlaps(u64 a, u64 alen, u64 b, u64 blen) { return a < b + blen && b < a + alen; }
}  // namespace

void Cpu::set_debugger_breakpoints(std::vector<u64> linear) {
  m_gdb_breaks = std::move(linear);
  debug_regs_changed();
}

void Cpu::set_debugger_watchpoints(std::vector<DebugWatch> watches) {
  if (watches.size() > kMaxDebugWatches) watches.resize(kMaxDebugWatches);
  for (DebugWatch& w : watches) w.len = std::clamp<u64>(w.len, 1, 8);
  m_gdb_watches = std::move(watches);
  m_gdb_watch_hit = nullptr;
  debug_regs_changed();
}

void Cpu::debug_regs_changed() {
  const u64 dr7 = m_s.dr[7];
  m_debug_active = (dr7 & 0xFF) || !m_gdb_breaks.empty() || !m_gdb_watches.empty();
  m_exec_breaks = !m_gdb_breaks.empty();
  for (unsigned n = 0; n < 4; n++) m_exec_breaks |= bp_enabled(dr7, n) && bp_rw(dr7, n) == 0;
  m_debug_io = false;
  unsigned watch = 0;
  for (unsigned n = 0; n < 4; n++) {
    if (!bp_enabled(dr7, n)) continue;
    const unsigned rw = bp_rw(dr7, n);
    if (rw == 2) m_debug_io |= (m_s.cr4 & kCr4De) != 0;
    if (rw == 1 || rw == 3) {
      const u64 start = m_s.dr[n] & ~(bp_len(dr7, n) - 1);
      if (!watched_page(start & kPageMask)) m_watch_pages[watch++] = start & kPageMask;
      m_watch_count = watch;   // watched_page() sees the pages added so far
    }
  }
  for (const DebugWatch& w : m_gdb_watches) {
    for (u64 page : {w.addr & kPageMask, (w.addr + w.len - 1) & kPageMask}) {
      if (!watched_page(page)) m_watch_pages[watch++] = page;
      m_watch_count = watch;
    }
  }
  m_watch_count = watch;
  tlb_flush(true);   // refill without data tags on the watched pages
  abort_block();
}

u8 Cpu::exec_breakpoints(u64 la) const {
  const u64 dr7 = m_s.dr[7];
  u8 hits = 0;
  for (unsigned n = 0; n < 4; n++)
    if (bp_enabled(dr7, n) && bp_rw(dr7, n) == 0 && m_s.dr[n] == la) hits |= 1u << n;
  return hits;
}

void Cpu::note_data_breakpoints(u64 la, unsigned size, bool write) {
  const u64 dr7 = m_s.dr[7];
  for (unsigned n = 0; n < 4; n++) {
    if (!bp_enabled(dr7, n)) continue;
    const unsigned rw = bp_rw(dr7, n);
    if (!(rw == 3 || (rw == 1 && write))) continue;
    const u64 len = bp_len(dr7, n);
    if (overlaps(la, size, m_s.dr[n] & ~(len - 1), len)) {
      m_data_hits |= static_cast<u8>(1u << n);
      abort_block();   // the trap follows this instruction
    }
  }
  for (const DebugWatch& w : m_gdb_watches) {
    if ((write ? w.write : w.read) && !m_gdb_watch_hit && overlaps(la, size, w.addr, w.len)) {
      m_gdb_watch_hit = &w;
      m_gdb_watch_write = write;
      abort_block();
    }
  }
}

void Cpu::note_io_breakpoints(u16 port, unsigned size) {
  const u64 dr7 = m_s.dr[7];
  for (unsigned n = 0; n < 4; n++) {
    if (!bp_enabled(dr7, n) || bp_rw(dr7, n) != 2) continue;
    const u64 len = bp_len(dr7, n);
    if (overlaps(port, size, m_s.dr[n] & 0xFFFF & ~(len - 1), len)) {
      m_data_hits |= static_cast<u8>(1u << n);
      abort_block();
    }
  }
}

StopReason Cpu::run(u64 max_insns) {
  m_stop_requested = false;
  m_budget_end = m_s.icount + max_insns;   // limit_run_to() may lower it while we run
  while (true) {
    const u64 end = m_budget_end;
    if (m_triple) return StopReason::TripleFault;
    if (m_stop_requested) { m_stop_requested = false; return StopReason::Requested; }
    if (m_s.icount >= end) {
      // A HLT that retired as the budget's last instruction reports the halt, as it would
      // mid-budget: how the board slices a run never changes what it does next (an idle
      // step before the next door poll; a replay from a checkpoint polls at the same turns).
      if (m_s.halted && !m_s.nmi_pending && !m_intr) return (m_s.rflags & kFlagIF) ? StopReason::HaltIdle : StopReason::Halted;
      return StopReason::Budget;
    }
    if (RV_UNLIKELY(m_s.nmi_pending || m_intr)) {
      service_interrupts();
      // A delivery counts as an instruction: the budget may end at the handler's entry,
      // where a single step stops too (a run to a position never passes it).
      if (m_s.icount >= end) return StopReason::Budget;
    }
    if (RV_UNLIKELY(m_s.halted)) {
      if (m_s.rflags & kFlagIF) return StopReason::HaltIdle;
      return StopReason::Halted;
    }
    m_blocks->graveyard.clear();
    if (RV_UNLIKELY(m_trace || (m_s.rflags & (kFlagTF | kFlagRF)) || m_held_db)) {
      step_one();
      continue;
    }
    try {
      m_insn_start = m_s.rip;   // a fetch fault in get_block() belongs to this instruction
      Block* b = get_block();
      // Breakpoints cost nothing where they are not: only a block that holds an instruction
      // breakpoint (DR0-DR3 or gdb's) runs one instruction at a time (step_one checks it).
      if (RV_UNLIKELY(m_exec_breaks) && (!b || block_has_breakpoint(b))) {
        step_one();
        continue;
      }
      if (!b) {
        m_insn_start = m_s.rip;
        exec_one_uncached();
        continue;
      }
      m_block_abort = false;
      m_stop_at = end;
      // An interrupt shadow (STI, MOV SS, POP SS) with an event pending: run only the
      // shadowed instruction, so the event is taken right after it (STI; NOP; CLI takes it
      // after the NOP) as when single-stepping.
      if (RV_UNLIKELY(m_s.int_shadow_until > m_s.icount && (m_intr || nmi_deliverable())))
        m_stop_at = std::min(end, m_s.int_shadow_until);
      // Chained execution: block after block until something needs the outer loop's
      // attention (end_block() from a handler, the budget, or a deliverable interrupt).
      // Linked blocks follow each other inside chain_sentinel; here the links are made.
      for (;;) {
        const Slot* s = b->insns.data();
        m_chain_depth = 0;
        m_last_block = nullptr;
        s->t(*this, s);
        if (RV_UNLIKELY(m_data_hits || m_gdb_watch_hit)) {   // a data or I/O breakpoint (block ended after it)
          after_data_breakpoint();
          break;
        }
        if (m_block_abort || m_s.icount >= m_budget_end || nmi_deliverable() || (m_intr && (m_s.rflags & kFlagIF))) break;
        if (!m_last_block) break;
        m_insn_start = m_s.rip;
        b = next_block(m_last_block);
        if (!b) break;
      }
    } catch (const GuestFault& f) {
      m_data_hits = 0;   // a faulting instruction did not complete: no data breakpoint
      m_gdb_watch_hit = nullptr;
      handle_fault(f);
    }
  }
}

size_t Cpu::cached_blocks() const { return m_blocks->map.size(); }

std::vector<Cpu::BlockPageView> Cpu::block_pages() const {
  std::vector<BlockPageView> out;
  for (const auto& [page, keys] : m_blocks->by_page) {
    BlockPageView v;
    v.page = page;
    for (u64 key : keys) {
      auto it = m_blocks->map.find(key);
      if (it == m_blocks->map.end()) continue;
      v.blocks++;
      v.bytes += it->second->span;
    }
    if (v.blocks) out.push_back(v);
  }
  std::sort(out.begin(), out.end(), [](const BlockPageView& a, const BlockPageView& b) { return a.page < b.page; });
  return out;
}

std::vector<Cpu::TlbView> Cpu::tlb_entries(unsigned set) const {
  std::vector<TlbView> out;
  if (set > 1) return out;
  for (const TlbEntry& e : m_tlb[set]) {
    const u64 v = e.tag_r != ~0ull ? e.tag_r : e.tag_w != ~0ull ? e.tag_w : e.tag_x;
    if (v == ~0ull) continue;
    out.push_back({v, e.paddr, e.tag_r == v, e.tag_w == v, e.tag_x == v, e.global});
  }
  std::sort(out.begin(), out.end(), [](const TlbView& a, const TlbView& b) { return a.vpage < b.vpage; });
  return out;
}

bool Cpu::block_has_breakpoint(const Block* b) const {
  const u64 la = long64() ? m_s.rip : (m_s.seg[CS].base + m_s.rip) & 0xFFFFFFFF;
  const u64 dr7 = m_s.dr[7];
  for (unsigned n = 0; n < 4; n++)
    if (bp_enabled(dr7, n) && bp_rw(dr7, n) == 0 && m_s.dr[n] - la < b->span) return true;
  for (u64 bp : m_gdb_breaks)
    if (bp - la < b->span) return true;
  return false;
}

// After an instruction in a block hit a data or I/O breakpoint (note_data_breakpoints()
// ended the block): what step_one() does after one, so that both ways of running agree.
void Cpu::after_data_breakpoint() {
  if (m_gdb_watch_hit) {   // a debugger watchpoint: stop after this instruction
    m_gdb_hit = true;
    request_stop();
  }
  if (m_data_hits && !m_triple) {
    const u64 bits = m_data_hits;
    m_data_hits = 0;
    try {
      trap_db(bits, m_s.icount - 1);
    } catch (const GuestFault& f) {
      handle_fault(f);
    }
  }
  m_data_hits = 0;
}

// The trap-class #DB after an instruction (the one counted at insn_icount) with the DR6
// bits it raised: held when that instruction was MOV SS or POP SS (its shadow), else
// delivered now together with any held one (SDM Vol.3A §6.8.3: MOV SS; INT n delivers the
// #DB at the handler's entry).
void Cpu::trap_db(u64 bits, u64 insn_icount) {
  if (bits && m_ss_shadow_at == insn_icount) {
    m_held_db |= bits;
    abort_block();   // the next instruction runs alone (run() steps while one is held)
    return;
  }
  bits |= m_held_db;
  m_held_db = 0;
  if (bits & 0xF) m_s.dr[6] = (m_s.dr[6] & ~0xFull) | (bits & 0xF);   // B0-B3: this trap's
  if (bits & 0x4000) m_s.dr[6] |= 0x4000;                              // BS
  m_insn_start = m_s.rip;
  deliver_event(kDB, false, 0, false);
}

}  // namespace rv
