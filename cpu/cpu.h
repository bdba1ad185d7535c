// Cpu: the interpreter engine around a CpuState.
//
// Execution model (docs/ARCHITECTURE.md has the long form):
//  * Blocks of decoded instructions are cached by guest-physical address and decode mode
//    (block_cache.cpp). A block never crosses a 4 KiB page; it ends at a control transfer, at
//    an instruction that changes how later code decodes or runs (mode, CR0/CR4, STI, ...), at
//    I/O (devices may change interrupt state), or after kMaxBlockInsns.
//  * Handlers are free functions `void exec_X(Cpu&, const DecodedInsn&)` in cpu/interp/, found
//    through one table indexed by OpId (handler_table.cpp). On entry state().rip already
//    points past the instruction; insn_start() is its first byte.
//  * Guest faults (#GP, #PF, ...) are raised with Cpu::fault(), which unwinds to the
//    instruction boundary (a C++ exception that never leaves the interpreter; the fast path
//    pays nothing). The run loop restores RIP to the instruction start and delivers the fault
//    through the IDT. Handlers therefore perform every check and memory access that can fault
//    before they change architectural state, except where the SDM says partial progress is
//    visible (REP string iterations).
//  * Memory: segmentation (seg_linear) -> a software TLB of host pointers per 4 KiB page,
//    split by user/supervisor, with separate read/write/execute tags (tlb_* in paging.cpp).
//    Pages that hold cached code never get a write tag, so stores to code take the slow path,
//    which invalidates the blocks (self-modifying code).
#pragma once
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "cpu/cpu_features.h"
#include "cpu/decoder/decoder.h"
#include "cpu/flags.h"
#include "cpu/state.h"
#include "memory/io_bus.h"
#include "memory/phys_memory.h"

#define RV_INLINE __attribute__((always_inline)) inline

namespace rv {

class StateVisitor;

// Exception vectors (SDM Vol.3A Table 6-1).
enum Vector : u8 {
  kDE = 0, kDB = 1, kNMI = 2, kBP = 3, kOF = 4, kBR = 5, kUD = 6, kNM = 7, kDF = 8, kTS = 10, kNP = 11,
  kSS = 12, kGP = 13, kPF = 14, kMF = 16, kAC = 17, kMC = 18, kXM = 19,
};

// Thrown by Cpu::fault(); caught by the run loop only.
struct GuestFault {
  u8 vector;
  bool has_error;
  u32 error;
};

enum class StopReason : u8 {
  Budget,       // executed the requested number of instructions
  Halted,       // HLT with interrupts disabled and no NMI: nothing can wake the CPU
  HaltIdle,     // HLT with interrupts enabled: the board should advance time to the next event
  TripleFault,  // shutdown; see triple_fault_message()
  Requested,    // request_stop() from a device (debug exit, power off)
};

enum class Access : u8 { Read = 0, Write = 1, Exec = 2 };

class Cpu;
using Handler = void (*)(Cpu&, const DecodedInsn&);

// A block's instruction slot. `t` is its threaded form: it runs the instruction and then
// tail-calls the next slot's `t`, so every handler has its own indirect branch and the host's
// predictor learns guest instruction sequences (interp/threaded.h). A block ends with a
// sentinel slot whose `t` returns.
struct Slot;
using Threaded = void (*)(Cpu&, const Slot*);
struct Slot {
  Threaded t;
  Handler h;
  DecodedInsn d;
};

// Per-instruction observer for --trace and the debugger; when set, execution steps one
// instruction at a time.
class TraceHook {
 public:
  virtual ~TraceHook() = default;
  virtual void before(const Cpu& cpu, u64 rip, const u8* bytes, unsigned len) = 0;
  virtual void after(const Cpu& cpu) = 0;
  virtual void exception(const Cpu& cpu, u8 vector, bool has_error, u32 error) {}
};

// What the CPU needs from the board for the parts of a processor package that are devices
// here (the local APIC): DESIGN.md keeps cpu/ from knowing any device, so the board answers
// through this interface. Every method has a default for a board without such devices.
class CpuPlatform {
 public:
  virtual ~CpuPlatform() = default;
  // MSRs the core does not model (x2APIC 0x800-0x8FF, IA32_TSC_DEADLINE 0x6E0): true when
  // the board handled the access; false raises #GP(0) as for any unknown MSR.
  virtual bool platform_read_msr(u32 index, u64& value) { return false; }
  virtual bool platform_write_msr(u32 index, u64 value) { return false; }
  // MOV to CR8 (the local APIC's TPR[7:4], SDM Vol.3A §10.8.6.1).
  virtual void tpr_written(u64 cr8) {}
  // An IA32_APIC_BASE write: false refuses it (#GP; e.g. an invalid x2APIC transition).
  virtual bool apic_base_written(u64 value) { return true; }
  // The local APIC supports x2APIC mode: CPUID.1:ECX[21] and IA32_APIC_BASE bit 10.
  virtual bool x2apic_supported() const { return false; }
};

class Cpu {
 public:
  Cpu(PhysMemory& mem, IoBus& io);
  ~Cpu();
  Cpu(const Cpu&) = delete;
  Cpu& operator=(const Cpu&) = delete;

  // ---- the board's interface ----
  CpuState& state() { return m_s; }
  const CpuState& state() const { return m_s; }
  void reset();                           // power-on/RESET state (SDM Vol.3A §9.1.1)
  void state_changed();                   // call after editing state(): rebuilds derived data
  // The architectural state and what carries over an instruction boundary outside CpuState
  // (a MOV SS shadow's held #DB), for snapshots and state hashes (memory/state_visitor.h);
  // RFLAGS as materialised. Loading calls state_changed().
  void visit(StateVisitor& v);
  StopReason run(u64 max_insns);
  void request_stop() { m_stop_requested = true; abort_block(); }
  // Ends the current run() once `icount` instructions have retired in total (never later than
  // the budget it was given): the board calls it when a device schedules an event earlier
  // than the slice's end. run() then returns StopReason::Budget.
  void limit_run_to(u64 icount) {
    if (icount < m_budget_end) {
      m_budget_end = std::max(icount, m_s.icount + 1);
      m_stop_at = std::min(m_stop_at, m_budget_end);
    }
  }
  // INTR pin (from the PIC/APIC). A rising edge during a block (an MMIO write that sends a
  // self-IPI, lowers the TPR or EOIs with another vector pending) ends the block after the
  // current instruction, so the interrupt is recognised at the same instruction boundary
  // whether the CPU runs blocks, single-steps or traces (DESIGN.md decision 7).
  void set_intr(bool level) {
    if (level && !m_intr) abort_block();
    m_intr = level;
  }
  bool intr() const { return m_intr; }
  // Delivers an event another engine had accepted but not delivered when it handed the CPU
  // over (machine/kvm.h): an exception (with the #DF/triple-fault rules) or, with
  // `external`, a hardware interrupt or NMI.
  void inject_event(u8 vector, bool has_error, u32 error, bool external);
  void set_intr_ack(std::function<u8()> ack) { m_intr_ack = std::move(ack); }  // INTA cycle
  void raise_nmi() { m_s.nmi_pending = true; abort_block(); }   // recognised after this instruction
  bool nmi_deliverable() const { return m_s.nmi_pending && !m_s.nmi_blocked; }
  void set_tsc_source(std::function<u64()> fn) { m_tsc_source = std::move(fn); }
  void set_platform(CpuPlatform* p) { m_platform = p; }
  CpuPlatform* platform() const { return m_platform; }
  // The A20 gate (port 0x92, i8042): closed, physical address bit 20 reads as 0, so real-mode
  // addresses wrap at 1 MiB as on an 8086. Flushes the TLB: every translation may change.
  void set_a20(bool open) {
    u64 mask = open ? ~0ull : ~(1ull << 20);
    if (mask != m_a20_mask) { m_a20_mask = mask; tlb_flush(true); }
  }
  bool a20() const { return m_a20_mask == ~0ull; }
  u64 a20_mask() const { return m_a20_mask; }
  void set_trace(TraceHook* t) { m_trace = t; }
  const std::string& triple_fault_message() const { return m_triple_msg; }
  PhysMemory& mem() { return m_mem; }
  IoBus& io() { return m_io; }

  // ---- derived mode ----
  CpuMode mode() const { return m_mode; }
  bool long64() const { return m_mode == CpuMode::Long64; }
  bool protected_mode() const { return m_s.cr0 & kCr0Pe; }
  bool v86() const { return m_s.rflags & kFlagVM; }
  u8 cpl() const { return m_cpl; }
  u64 insn_start() const { return m_insn_start; }
  u64 tsc() const;

  // ---- flags ----
  u64 rflags() const { return materialize_flags(m_s); }
  void set_rflags(u64 v);                 // all bits as given (caller applies masks)
  void write_flags_masked(u64 v, u64 mask);
  bool cf() const { return flag_cf(m_s); }
  bool zf() const { return flag_zf(m_s); }
  bool sf() const { return flag_sf(m_s); }
  bool of() const { return flag_of(m_s); }
  bool pf() const { return flag_pf(m_s); }
  bool af() const { return flag_af(m_s); }
  RV_INLINE bool cond(u8 cc) const { return eval_cond(m_s, cc); }
  void set_lazy(LazyOp op, u8 size, u64 res, u64 a, u64 b, u8 cin = 0) {
    m_s.lazy.res = res; m_s.lazy.a = a; m_s.lazy.b = b;
    const u32 tag = static_cast<u32>(op) | static_cast<u32>(size) << 8 | static_cast<u32>(cin) << 16;   // one store (state.h)
    std::memcpy(reinterpret_cast<u8*>(&m_s.lazy) + offsetof(LazyFlags, op), &tag, 4);
  }
  // Sets the listed arithmetic flags from `bits`, leaving the others as they are.
  void set_arith_flags(u64 bits, u64 which);

  // ---- registers ----
  u64& gpr(u8 r) { return m_s.gpr[r]; }
  u64 read_reg(u8 r, unsigned size, bool rex) const {
    if (size == 1) return (!rex && r >= 4 && r < 8) ? (m_s.gpr[r - 4] >> 8) & 0xFF : m_s.gpr[r] & 0xFF;
    return size == 8 ? m_s.gpr[r] : m_s.gpr[r] & mask_of(size);
  }
  void write_reg(u8 r, unsigned size, bool rex, u64 v) {
    switch (size) {
      case 1:
        if (!rex && r >= 4 && r < 8) { u64& g = m_s.gpr[r - 4]; g = (g & ~0xFF00ull) | ((v & 0xFF) << 8); }
        else m_s.gpr[r] = (m_s.gpr[r] & ~0xFFull) | (v & 0xFF);
        break;
      case 2: m_s.gpr[r] = (m_s.gpr[r] & ~0xFFFFull) | (v & 0xFFFF); break;
      case 4: m_s.gpr[r] = v & 0xFFFFFFFFu; break;
      default: m_s.gpr[r] = v; break;
    }
  }
  static constexpr u64 mask_of(unsigned size) { return size >= 8 ? ~0ull : (1ull << (8 * size)) - 1; }

  // ---- operands (ModRM E/G) ----
  u64 ea(const DecodedInsn& d) const {   // offset of the memory operand, masked to asize
    u64 a = static_cast<u64>(static_cast<i64>(d.disp));
    if (d.base != kNoReg) a += d.base == kRipReg ? m_s.rip : m_s.gpr[d.base];
    if (d.index != kNoReg) a += m_s.gpr[d.index] << d.scale;
    return a & kSizeMask[d.asize];
  }
  RV_INLINE u64 read_E(const DecodedInsn& d, unsigned size) {
    if (d.mod == 3) return read_reg(d.rm, size, d.rex);
    return read_mem(d.seg, ea(d), size);
  }
  RV_INLINE void write_E(const DecodedInsn& d, unsigned size, u64 v) {
    if (d.mod == 3) return write_reg(d.rm, size, d.rex, v);
    write_mem(d.seg, ea(d), size, v);
  }
  u64 read_G(const DecodedInsn& d, unsigned size) const { return read_reg(d.reg, size, d.rex); }
  void write_G(const DecodedInsn& d, unsigned size, u64 v) { write_reg(d.reg, size, d.rex, v); }

  // ---- memory through segmentation and paging; may fault ----
  // In 64-bit mode the canonical check runs only on a TLB miss: translate() never fills an
  // entry for a non-canonical address, so a hit implies a canonical one.
  RV_INLINE u64 read_mem(u8 seg, u64 off, unsigned size) {
    if (RV_LIKELY(m_mode == CpuMode::Long64)) {
      u64 la = off + (seg >= FS ? m_s.seg[seg].base : 0);
      const TlbEntry& e = m_tlb_cur[(la >> 12) & (kTlbSize - 1)];
      if (RV_LIKELY(e.tag_r == (la & kPageMask) && (la & 0xFFF) <= kPageSize - size)) {
        u64 v = 0;
        std::memcpy(&v, reinterpret_cast<const u8*>(la + e.addend), size);
        return v;
      }
      if (RV_UNLIKELY(static_cast<u64>(static_cast<i64>(la << 16) >> 16) != la)) canonical_fault(seg);
      return read_lin_slow(la, size, m_tlb_user);
    }
    return read_lin(seg_linear_legacy(seg, off, size, Access::Read), size);
  }
  RV_INLINE void write_mem(u8 seg, u64 off, unsigned size, u64 v) {
    if (RV_LIKELY(m_mode == CpuMode::Long64)) {
      u64 la = off + (seg >= FS ? m_s.seg[seg].base : 0);
      const TlbEntry& e = m_tlb_cur[(la >> 12) & (kTlbSize - 1)];
      if (RV_LIKELY(e.tag_w == (la & kPageMask) && (la & 0xFFF) <= kPageSize - size)) {
        std::memcpy(reinterpret_cast<u8*>(la + e.addend), &v, size);
        return;
      }
      if (RV_UNLIKELY(static_cast<u64>(static_cast<i64>(la << 16) >> 16) != la)) canonical_fault(seg);
      return write_lin_slow(la, size, v, m_tlb_user);
    }
    write_lin(seg_linear_legacy(seg, off, size, Access::Write), size, v);
  }
  // Read half of a read-modify-write: checked and translated with write intent, so a fault
  // reports W=1 as hardware does for RMW instructions, and a read-only page faults before
  // anything is computed.
  RV_INLINE u64 read_mem_rmw(u8 seg, u64 off, unsigned size) {
    u64 la = seg_linear(seg, off, size, Access::Write);
    const TlbEntry& e = m_tlb_cur[(la >> 12) & (kTlbSize - 1)];
    if (RV_LIKELY(e.tag_w == (la & kPageMask) && (la & 0xFFF) <= kPageSize - size)) {
      u64 v = 0;
      std::memcpy(&v, reinterpret_cast<const u8*>(la + e.addend), size);
      return v;
    }
    return read_lin_rmw_slow(la, size, m_tlb_user);
  }
  RV_INLINE u64 read_E_rmw(const DecodedInsn& d, unsigned size) {
    if (d.mod == 3) return read_reg(d.rm, size, d.rex);
    return read_mem_rmw(d.seg, ea(d), size);
  }
  // Checks that a write would succeed (segment and page), without writing.
  void probe_write(u8 seg, u64 off, unsigned size);
  RV_INLINE u64 seg_linear(u8 seg, u64 off, unsigned size, Access acc) {
    if (RV_LIKELY(m_mode == CpuMode::Long64)) {
      u64 la = off + (seg >= FS ? m_s.seg[seg].base : 0);
      if (RV_UNLIKELY(static_cast<u64>(static_cast<i64>(la << 16) >> 16) != la)) canonical_fault(seg);
      return la;
    }
    return seg_linear_legacy(seg, off, size, acc);
  }
  RV_INLINE u64 read_lin(u64 la, unsigned size) {
    const TlbEntry& e = m_tlb_cur[(la >> 12) & (kTlbSize - 1)];
    if (RV_LIKELY(e.tag_r == (la & kPageMask) && (la & 0xFFF) <= kPageSize - size)) {
      u64 v = 0;
      std::memcpy(&v, reinterpret_cast<const u8*>(la + e.addend), size);
      return v;
    }
    return read_lin_slow(la, size, m_tlb_user);
  }
  RV_INLINE void write_lin(u64 la, unsigned size, u64 v) {
    const TlbEntry& e = m_tlb_cur[(la >> 12) & (kTlbSize - 1)];
    if (RV_LIKELY(e.tag_w == (la & kPageMask) && (la & 0xFFF) <= kPageSize - size)) {
      std::memcpy(reinterpret_cast<u8*>(la + e.addend), &v, size);
      return;
    }
    write_lin_slow(la, size, v, m_tlb_user);
  }
  // Host pointer for linear address `la` when its page is in the TLB for `acc` (Read or Write:
  // RAM only, and never a write pointer into a page holding code); else null. Neither fills
  // the TLB nor faults: on null, take read_lin/write_lin (which fill it). Used by the REP
  // string fast paths (string.cpp) to move whole runs within a page.
  RV_INLINE u8* host_ptr(u64 la, Access acc) const {
    const TlbEntry& e = m_tlb_cur[(la >> 12) & (kTlbSize - 1)];
    u64 tag = acc == Access::Write ? e.tag_w : e.tag_r;
    return tag == (la & kPageMask) ? reinterpret_cast<u8*>(la + e.addend) : nullptr;
  }
  // #AC(0) for a misaligned access while alignment checking is on (update_access_mode).
  void check_alignment(u64 la, unsigned size) {
    if (RV_UNLIKELY(m_tlb_user == 2) && (la & (size - 1) & 7)) fault(kAC, 0);
  }
  // ---- 64-bit fast paths (interp/threaded.h threaded_fast): no fault, no state change ----
  // Offset of the memory operand with RIP-relative forms based on `next_rip`.
  RV_INLINE u64 ea_at(const DecodedInsn& d, u64 next_rip) const {
    u64 a = static_cast<u64>(static_cast<i64>(d.disp));
    if (d.base != kNoReg) a += d.base == kRipReg ? next_rip : m_s.gpr[d.base];
    if (d.index != kNoReg) a += m_s.gpr[d.index] << d.scale;
    return a & kSizeMask[d.asize];
  }
  // Host pointer for a 64-bit-mode data access of `size` bytes at the memory operand of `d`
  // when the TLB holds the page with the needed permission and the access stays inside it;
  // nullptr otherwise (the caller then runs the full handler).
  RV_INLINE u8* fast_mem64(const DecodedInsn& d, u64 next_rip, unsigned size, bool write) const {
    u64 la = ea_at(d, next_rip) + (d.seg >= FS ? m_s.seg[d.seg].base : 0);
    const TlbEntry& e = m_tlb_cur[(la >> 12) & (kTlbSize - 1)];
    u64 tag = write ? e.tag_w : e.tag_r;
    if (RV_LIKELY(tag == (la & kPageMask) && (la & 0xFFF) <= kPageSize - size))
      return reinterpret_cast<u8*>(la + e.addend);
    return nullptr;
  }
  // Retires an instruction completed by a fast path: RIP and the count (see insn_end).
  __attribute__((always_inline)) bool fast_retire(u64 next_rip) {
    m_s.rip = next_rip;
    return ++m_s.icount < m_stop_at;
  }
  // System accesses (descriptor tables, TSS, IDT) are supervisor accesses whatever the CPL.
  u64 read_sys(u64 la, unsigned size) { return read_lin_slow(la, size, 0); }
  void write_sys(u64 la, unsigned size, u64 v) { write_lin_slow(la, size, v, 0); }
  // Stack helpers honour SS.B/64-bit stack width and the operand size.
  void push(u64 v, unsigned size);
  u64 pop(unsigned size);
  u64 stack_width() const;               // 2, 4 or 8 bytes of RSP in use
  u64 sp_mask() const { return mask_of(stack_width()); }

  // ---- translation ----
  // Translates a linear address; faults with #PF on failure. `user` = CPL 3 access rules.
  u64 translate(u64 la, Access acc, bool user);
  void tlb_flush(bool include_global);
  void tlb_flush_page(u64 la);

  // ---- faults ----
  [[noreturn]] void fault(u8 vector, u32 error = 0);
  [[noreturn]] void fault_no_error(u8 vector);
  [[noreturn]] void ud(const DecodedInsn& d);     // #UD for an unimplemented/invalid encoding, logged once per op
  // #UD for an encoding that is invalid on hardware too (MOV to CS, LOCK on a register form,
  // a reserved x87 form): logged once per op as such, with why, never as "not implemented".
  [[noreturn]] void invalid(const DecodedInsn& d, const char* why);
  std::string insn_place(const DecodedInsn& d);   // "CS:IP" or the linear address, bytes, disassembly
  [[noreturn]] void canonical_fault(u8 seg);

  // ---- segments, descriptors, control transfers (segments.cpp, control_transfer.cpp) ----
  void load_seg(u8 seg, u16 sel);                 // MOV/POP Sreg semantics, all checks
  void load_seg_real(u8 seg, u16 sel);            // real/V86: base = sel << 4
  void load_cs_for_transfer(u16 sel, u64 desc, u8 new_cpl);
  u64 read_descriptor(u16 sel, u8 vector_on_fault);   // reads GDT/LDT entry, limit checked
  void far_jump(u16 sel, u64 off, unsigned osize);
  void far_call(u16 sel, u64 off, unsigned osize);
  void far_return(unsigned osize, u16 pop_extra);
  void iret(unsigned osize);
  void software_interrupt(u8 vector, unsigned len_kind);   // INT n / INT3 / INTO / INT1
  void deliver_event(u8 vector, bool has_error, u32 error, bool software, bool external = false);
  // A trap raised at the current RIP as the instruction boundary (a task switch's T bit):
  // a fault while delivering it belongs to that boundary, not to the instruction before.
  void trap_at_boundary(u8 vector) {
    m_insn_start = m_s.rip;
    deliver_event(vector, false, 0, false);
  }
  bool io_allowed(u16 port, unsigned size);       // CPL/IOPL + TSS bitmap (SDM Vol.1 §19.5)
  void check_io(u16 port, unsigned size) {
    if (!io_allowed(port, size)) fault(kGP, 0);
    if (RV_UNLIKELY(m_debug_io)) note_io_breakpoints(port, size);
  }
  // --- hardware breakpoints (DR0-DR3, DR7; SDM Vol.3B §18.2-18.3) ---
  void debug_regs_changed();      // after DR0-3/DR7/CR4.DE change: recompute what is watched
  // --- an outside debugger (frontends/gdb_stub.h) ---
  // Linear addresses where execution stops before the instruction (run() returns Requested
  // with debugger_hit()); the breakpoint at the current RIP is passed over once after a stop.
  void set_debugger_breakpoints(std::vector<u64> linear);
  // Watchpoints: an access to [addr, addr+len) of the kinds given stops execution after the
  // instruction (run() returns Requested with debugger_hit() and debugger_watch_hit()).
  static constexpr unsigned kMaxDebugWatches = 8;
  struct DebugWatch {
    u64 addr = 0, len = 1;   // len 1..8
    bool read = false, write = true;
  };
  void set_debugger_watchpoints(std::vector<DebugWatch> watches);
  bool debugger_hit() const { return m_gdb_hit; }
  // The watchpoint that stopped execution (null for a breakpoint), and the access's kind.
  const DebugWatch* debugger_watch_hit() const { return m_gdb_watch_hit; }
  bool debugger_watch_was_write() const { return m_gdb_watch_write; }
  void clear_debugger_hit() {
    if (!m_gdb_watch_hit) m_gdb_skip_at = m_s.rip;   // resume past the breakpoint here
    m_gdb_hit = false;
    m_gdb_watch_hit = nullptr;
  }
  // After the machine was moved to another position (machine/timeline.h): no hit pending;
  // pass_over = the breakpoint at the current RIP is passed over once, as after a stop there.
  void reset_debugger_stop(bool pass_over) {
    m_gdb_hit = false;
    m_gdb_watch_hit = nullptr;
    m_gdb_skip_at = pass_over ? m_s.rip : ~0ull;
  }
  // The next state load keeps the decoded blocks: they depend only on the guest-physical
  // bytes and the mode they were decoded in, so they stay right when the caller tells
  // PhysMemory of every RAM page it changes behind its back (PhysMemory::ram_page_replaced:
  // a checkpoint's restore, machine/timeline.cpp). Saves re-decoding after every seek.
  void keep_blocks_on_next_load(bool keep = true) { m_keep_blocks_once = keep; }
  // The RIP whose breakpoint the next step passes over (~0: none), kept across a seek.
  u64 debugger_pass_over() const { return m_gdb_skip_at; }
  void set_debugger_pass_over(u64 rip) { m_gdb_skip_at = rip; }
  const std::vector<u64>& debugger_breakpoints() const { return m_gdb_breaks; }
  const std::vector<DebugWatch>& debugger_watchpoints() const { return m_gdb_watches; }
  // Linear -> physical without side effects (no A/D bits, no faults, no TLB fill).
  bool debug_translate(u64 la, u64& pa) const;
  // The decoded-block cache: how many blocks it holds, at most kMaxCachedBlocks (then it is
  // emptied and refills; cache_flushes() counts how often).
  static constexpr size_t kMaxCachedBlocks = 1u << 17;
  size_t cached_blocks() const;
  // For people (the monitor's info tlb / info blocks): the TLB's valid entries of set 0
  // (supervisor) or 1 (user), and the decoded blocks grouped by guest-physical page.
  struct TlbView {
    u64 vpage = 0, paddr = 0;
    bool direct_read = false, direct_write = false, exec = false, global = false;
  };
  std::vector<TlbView> tlb_entries(unsigned set) const;
  struct BlockPageView {
    u64 page = 0;
    size_t blocks = 0;
    u64 bytes = 0;   // guest code bytes the page's blocks cover
  };
  std::vector<BlockPageView> block_pages() const;
  u64 cache_flushes() const { return m_blocks_flushed; }
  void raise_debug_fault();       // #DB for general detect: a fault, RF=1 in its frame
  void set_cr0(u64 v);
  void set_cr3(u64 v);
  void set_cr4(u64 v);
  void set_efer(u64 v);
  bool read_msr(u32 index, u64& value);           // false: #GP
  bool write_msr(u32 index, u64 value);
  void cpuid(u32 leaf, u32 subleaf, u32 out[4]) const;
  // The CPU model (--cpu): CPUID and instruction availability. Set before the first run().
  void set_features(const CpuFeatures& f) { m_features = f; }
  const CpuFeatures& features() const { return m_features; }

  // ---- execution control used by handlers ----
  void end_block() { abort_block(); }      // stop the current block after this insn
  void set_int_shadow() { m_s.int_shadow_until = m_s.icount + 2; }
  // MOV SS / POP SS: interrupts and also debug exceptions (single step, data breakpoints)
  // wait until after the next instruction (SDM Vol.3A §6.8.3): a #DB this one raises is held.
  void set_ss_shadow() {
    set_int_shadow();
    m_ss_shadow_at = m_s.icount;
  }
  void halt() { m_s.halted = true; abort_block(); }
  // REP string instructions: rep_budget() is how many iterations (>= 1) the handler may do in
  // this call; the run loop counts one retired instruction per handler call, so after k
  // iterations the handler calls consume_rep(k - 1). If RCX is still non-zero it sets
  // rip = insn_start() so the instruction runs again (REP strings always end their block).
  u64 rep_budget() const { return m_budget_end > m_s.icount ? m_budget_end - m_s.icount : 1; }
  void consume_rep(u64 n) { m_s.icount += n; }
  u64 mask_ip(u64 v, unsigned osize) const { return osize == 8 ? v : v & mask_of(osize); }
  void branch(u64 target, unsigned osize) { m_s.rip = mask_ip(target, osize); }

  void mode_changed();   // recompute m_mode, m_cpl, TLB selection (after CS/CR0/EFER changes)
  void update_access_mode();   // TLB set from CPL, CR0.AM and EFLAGS.AC (alignment checks)

  // ---- threaded dispatch (interp/threaded.h) ----
  __attribute__((always_inline)) void insn_begin(u8 len) { m_insn_start = m_s.rip; m_s.rip = (m_s.rip + len) & m_ip_mask; }
  // Retires the instruction; true when the next slot of the block may run.
  // m_stop_at is the budget end, or 0 once abort_block() asked to leave the block: one
  // compare per instruction covers both.
  __attribute__((always_inline)) bool insn_end() { return ++m_s.icount < m_stop_at; }
  void abort_block() { m_block_abort = true; m_stop_at = 0; }

 private:
  struct TlbEntry {
    u64 tag_r = ~0ull, tag_w = ~0ull, tag_x = ~0ull;
    u64 addend = 0;     // host = la + addend
    u64 paddr = 0;      // guest-physical page
    bool global = false;
  };
  static constexpr unsigned kTlbSize = 1024;
  // TLB sets: 0 supervisor, 1 user, 2 user with alignment checking (never filled, so every
  // access takes the slow path, which checks alignment and then uses set 1).
  struct Block;
  struct BlockCache;

  u64 seg_linear_legacy(u8 seg, u64 off, unsigned size, Access acc);
  u64 read_lin_slow(u64 la, unsigned size, unsigned user);
  u64 read_lin_rmw_slow(u64 la, unsigned size, unsigned user);
  u64 read_lin_access(u64 la, unsigned size, unsigned user, Access acc);
  void write_lin_slow(u64 la, unsigned size, u64 v, unsigned user);
  u64 walk(u64 la, Access acc, bool user, bool& writable, bool& executable, bool& is_global, bool& dirty);
  void tlb_fill(u64 la, u64 pa, bool user_tlb, bool w, bool x, bool global, bool dirty, Access acc);
  void page_fault(u64 la, Access acc, bool user, bool present, bool rsvd);

  void exec_one_uncached();
  Block* get_block();
  Block* next_block(Block* b);
  // The sentinel slot that ends every block: follows a valid block link directly into the
  // next block's first slot (a tail call), or returns to run().
  static void chain_sentinel(Cpu& c, const Slot* s);
  Block* build_block(u64 paddr, u64 la);
  void on_code_write(u64 paddr_page);
  void handle_fault(const GuestFault& f);
  bool service_interrupts();
  void step_one();             // one instruction alone: TF, RF, breakpoints, --trace
  u8 exec_breakpoints(u64 la) const;
  void note_data_breakpoints(u64 la, unsigned size, bool write);
  bool block_has_breakpoint(const Block* b) const;
  void after_data_breakpoint();
  void note_io_breakpoints(u16 port, unsigned size);
  bool watched_page(u64 vpage) const {
    for (unsigned i = 0; i < m_watch_count; i++)
      if (m_watch_pages[i] == vpage) return true;
    return false;
  }
  u64 fetch_bytes(u64 la, u8* buf, unsigned n);

  CpuState m_s;
  PhysMemory& m_mem;
  IoBus& m_io;
  CpuMode m_mode = CpuMode::Real16;
  u8 m_cpl = 0;
  unsigned m_tlb_user = 0;
  TlbEntry* m_tlb_cur = m_tlb[0];   // == m_tlb[m_tlb_user]
  TlbEntry m_tlb[3][kTlbSize];
  bool m_tlb_has_large = false;
  CpuFeatures m_features;    // the CPU model (cpu_features.h)
  u64 m_insn_start = 0;
  bool m_push_rf = false;     // the event being delivered is a fault: its frame gets RF=1
  u64 m_blocks_flushed = 0;
  bool m_keep_blocks_once = false;   // keep_blocks_on_next_load()
  u64 m_ss_shadow_at = ~0ull;    // icount of the last MOV SS / POP SS (set_ss_shadow)
  u64 m_held_db = 0;             // DR6 bits of a #DB held by that shadow, for after the next instruction
  bool m_sw_event = false;       // the running instruction delivered INT n / INT3 / INTO
  void trap_db(u64 bits, u64 insn_icount);
  bool m_exec_breaks = false;    // an instruction breakpoint is set (DR7 or gdb): blocks are checked
  bool m_debug_active = false;   // a breakpoint is enabled in DR7: instructions run one by one
  bool m_debug_io = false;       // an I/O breakpoint is enabled (CR4.DE)
  std::vector<u64> m_gdb_breaks;  // debugger breakpoints (linear)
  bool m_gdb_hit = false;
  u64 m_gdb_skip_at = ~0ull;      // RIP whose debugger breakpoint the next step passes over
  std::vector<DebugWatch> m_gdb_watches;
  const DebugWatch* m_gdb_watch_hit = nullptr;
  bool m_gdb_watch_write = false;
  bool m_db_fault = false;       // the #DB being raised is fault-class (push RF=1)
  u8 m_data_hits = 0;            // data/I-O breakpoints hit by the running instruction (B0-B3)
  unsigned m_watch_count = 0;    // pages of enabled data breakpoints: never given TLB data tags
  u64 m_watch_pages[4 + 2 * kMaxDebugWatches] = {};
  bool m_block_abort = false;
  bool m_stop_requested = false;
  bool m_intr = false;
  u64 m_budget_end = ~0ull;
  u64 m_stop_at = ~0ull;     // m_budget_end, or 0 after abort_block() (see insn_end)
  u64 m_a20_mask = ~0ull;     // physical address mask of the A20 gate (set_a20)
  u64 m_ip_mask = 0xFFFF;    // IP/EIP/RIP width of the code segment (16-bit IP wraps)
  u64 m_epoch = 1;
  Block* m_last_block = nullptr;   // the block whose sentinel returned to run()
  unsigned m_chain_depth = 0;          // bumped when block links may have become stale
  int m_fault_depth = 0;     // nested delivery: 1 = delivering, 2 = #DF, 3 = triple fault
  u8 m_first_vector = 0;
  bool m_triple = false;
  std::string m_triple_msg;
  std::function<u8()> m_intr_ack;
  std::function<u64()> m_tsc_source;
  TraceHook* m_trace = nullptr;
  CpuPlatform* m_platform = nullptr;
  std::unique_ptr<BlockCache> m_blocks;
};

// cpu/interp/handler_table.cpp
const Handler* handler_table();

}  // namespace rv
