// Segment and gate descriptors (SDM Vol.3A §3.4.5, §5.8.3, §6.11, §6.14.1) and the small
// helpers shared by segments.cpp, control_transfer.cpp, interrupts.cpp and interp/system.cpp.
// Internal to cpu/: nothing outside the CPU core includes this.
#pragma once
#include "cpu/cpu.h"

namespace rv::desc {

// ---- raw 8-byte descriptor fields ----
inline u8 type(u64 d) { return (d >> 40) & 0xF; }
inline bool is_segment(u64 d) { return (d >> 44) & 1; }          // S: code/data (vs system)
inline u8 dpl(u64 d) { return (d >> 45) & 3; }
inline bool present(u64 d) { return (d >> 47) & 1; }
inline bool is_code(u64 d) { return is_segment(d) && (type(d) & 8); }
inline bool is_data(u64 d) { return is_segment(d) && !(type(d) & 8); }
inline bool is_conforming(u64 d) { return is_code(d) && (type(d) & 4); }
inline bool is_readable(u64 d) { return is_data(d) || (type(d) & 2); }   // data, or code with R
inline bool is_writable_data(u64 d) { return is_data(d) && (type(d) & 2); }
inline bool code_l(u64 d) { return (d >> 53) & 1; }
inline bool code_d(u64 d) { return (d >> 54) & 1; }

inline u16 attr(u64 d) { return static_cast<u16>(((d >> 40) & 0xFF) | (((d >> 52) & 0xF) << 12)); }
inline u64 base(u64 d) { return ((d >> 16) & 0xFFFFFF) | (((d >> 56) & 0xFF) << 24); }
inline u32 limit(u64 d) {
  u32 l = static_cast<u32>((d & 0xFFFF) | ((d >> 32) & 0xF0000));
  return ((d >> 55) & 1) ? (l << 12) | 0xFFF : l;
}
inline Segment to_segment(u16 sel, u64 d) {
  Segment s;
  s.sel = sel;
  s.attr = attr(d);
  s.limit = limit(d);
  s.base = base(d);
  return s;
}

// System descriptor / gate types (SDM Vol.3A Table 3-2).
enum SysType : u8 {
  kTss16Avail = 1, kLdt = 2, kTss16Busy = 3, kCallGate16 = 4, kTaskGate = 5, kIntGate16 = 6,
  kTrapGate16 = 7, kTss32Avail = 9, kTss32Busy = 0xB, kCallGate32 = 0xC, kIntGate32 = 0xE,
  kTrapGate32 = 0xF,
};

// Gate fields (call, interrupt, trap gates).
inline u16 gate_selector(u64 d) { return (d >> 16) & 0xFFFF; }
inline u64 gate_offset(u64 d) { return (d & 0xFFFF) | ((d >> 32) & 0xFFFF0000); }
inline unsigned gate_params(u64 d) { return (d >> 32) & 0x1F; }
inline unsigned gate_ist(u64 d) { return (d >> 32) & 7; }

// A flat 4 GiB segment as SYSCALL/SYSENTER load it (SDM Vol.2 SYSCALL/SYSENTER operation).
inline Segment flat_segment(u16 sel, u8 type, u8 dpl, bool l, bool db) {
  Segment s;
  s.sel = sel;
  s.base = 0;
  s.limit = 0xFFFFFFFF;
  s.attr = static_cast<u16>(type | 0x10 | (dpl << 5) | 0x80 | (l ? 0x2000 : 0) | (db ? 0x4000 : 0) | 0x8000);
  return s;
}
// A null (unusable) selector: P = 0 in the cache. The DPL field carries the RPL for SS so
// that CPL (= SS.DPL) stays right for a null SS in 64-bit mode.
inline Segment null_segment(u16 sel, u8 dpl = 0) {
  Segment s;
  s.sel = sel;
  s.attr = static_cast<u16>(dpl << 5);
  return s;
}

// Offset within a segment's limit (expand-down data aware; SDM Vol.3A §5.3).
inline bool within_limit(const Segment& s, u64 off, unsigned size) {
  u64 last = off + size - 1;
  if (s.s() && (s.type() & 0xC) == 4) {   // expand-down data
    u64 upper = s.db() ? 0xFFFFFFFFull : 0xFFFFull;
    return off > s.limit && last <= upper;
  }
  return last <= s.limit;
}

inline bool canonical(u64 v) { return static_cast<u64>(static_cast<i64>(v << 16) >> 16) == v; }

}  // namespace rv::desc

namespace rv {

// Descriptor-table access. Reads the 8-byte entry for `sel` from the GDT or LDT; returns
// false when it is outside the table (or the LDT is unusable). `addr` receives its linear
// address. `bytes` = 16 reads/limit-checks a 16-byte system descriptor (high half in `hi`).
bool fetch_descriptor(Cpu& cpu, u16 sel, u64& d, u64* addr = nullptr, u64* hi = nullptr);
// Sets the accessed bit of the code/data descriptor at `addr` (SDM Vol.3A §3.4.5.1).
void set_accessed(Cpu& cpu, u64 addr, u64& d);

// Pushes onto a stack that may not be the current one (interrupt/call-gate stack switches)
// without committing anything: the caller copies sp() into RSP afterwards. Faults on a bad
// offset are #SS(`ss_error`).
class StackBuilder {
 public:
  StackBuilder(Cpu& cpu, const Segment& ss, u64 sp, unsigned width, bool supervisor, u32 ss_error)
      : m_cpu(cpu), m_ss(ss), m_sp(sp), m_width(width), m_super(supervisor), m_err(ss_error) {}
  void push(u64 v, unsigned size) {
    u64 nsp = (m_sp - size) & Cpu::mask_of(m_width);
    u64 la;
    if (m_width == 8) {
      if (!desc::canonical(nsp) || !desc::canonical(nsp + size - 1)) m_cpu.fault(kSS, m_err);
      la = nsp;
    } else {
      if (!desc::within_limit(m_ss, nsp, size)) m_cpu.fault(kSS, m_err);
      la = (m_ss.base + nsp) & 0xFFFFFFFFull;
    }
    if (m_super) m_cpu.write_sys(la, size, v);
    else m_cpu.write_lin(la, size, v);
    m_sp = nsp;
  }
  // The new RSP value, merged into `old` for a 16-bit stack.
  u64 final_rsp(u64 old) const {
    if (m_width == 2) return (old & ~0xFFFFull) | (m_sp & 0xFFFF);
    return m_sp;
  }
  u64 sp() const { return m_sp; }

 private:
  Cpu& m_cpu;
  Segment m_ss;
  u64 m_sp;
  unsigned m_width;
  bool m_super;
  u32 m_err;
};

// Reads consecutive slots from the current stack (SS:RSP) without moving RSP.
class StackReader {
 public:
  explicit StackReader(Cpu& cpu) : m_cpu(cpu), m_sp(cpu.state().gpr[RSP]), m_mask(cpu.sp_mask()) {}
  u64 pop(unsigned size) {
    u64 v = m_cpu.read_mem(SS, m_sp & m_mask, size);
    m_sp = (m_sp + size) & m_mask;
    return v;
  }
  void skip(u64 n) { m_sp = (m_sp + n) & m_mask; }
  // RSP after the pops, merged with the untouched upper bits for 16-bit stacks.
  u64 final_rsp(u64 old) const { return (old & ~m_mask) | (m_sp & m_mask); }

 private:
  Cpu& m_cpu;
  u64 m_sp;
  u64 m_mask;
};

// Inner-privilege stacks from the current TSS (SDM Vol.3A §7.2.1, §7.7). Faults #TS(TR | ext)
// when the entry lies outside the TSS limit.
void tss_inner_stack(Cpu& cpu, u8 new_cpl, u32 ext, u16& ss, u64& sp);   // 16/32-bit TSS
u64 tss64_stack(Cpu& cpu, u8 new_cpl, unsigned ist, u32 ext);          // RSPn or ISTn
// Validates and loads the descriptor of a new inner-level SS (#TS/#SS with `ext`).
Segment load_inner_ss(Cpu& cpu, u16 ss_sel, u8 new_cpl, u32 ext);
// Validates the SS popped by RET/IRET to an outer level (#GP/#SS).
Segment check_outer_ss(Cpu& cpu, u16 ss_sel, u8 rpl, bool target64);

// Hardware task switch to the 32-bit TSS `sel` with descriptor `d` (task_switch.cpp).
enum class TaskSource : u8 { Jmp, Call, Iret, Int };
void task_switch(Cpu& cpu, u16 sel, u64 d, TaskSource src, bool has_error, u32 error, u32 ext);

// Invalidates DS/ES/FS/GS that the new, less privileged CPL may not use (SDM Vol.2 RET
// "RETURN-TO-OUTER-PRIVILEGE-LEVEL", IRET).
void invalidate_data_segments(Cpu& cpu, u8 new_cpl);

}  // namespace rv
