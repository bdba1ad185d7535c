// String instructions: MOVS CMPS STOS LODS SCAS INS OUTS, with REP/REPE/REPNE.
//
// Operands (SDM Vol.1 §7.3.9, Vol.2 "MOVS" etc.): the source is seg:rSI (DS unless
// overridden), the destination ES:rDI (no override); rSI/rDI/rCX are used at the address size
// (16, 32 or 64 bits; 32-bit updates zero-extend in 64-bit mode, 16-bit ones keep the upper
// bits) and step by the element size, backwards when DF = 1.
//
// REP (SDM Vol.2 "REP/REPE/REPZ/REPNE/REPNZ"): F2 and F3 both mean REP on MOVS/STOS/LODS/INS/
// OUTS; on CMPS/SCAS F3 is REPE (stop when ZF = 0) and F2 REPNE (stop when ZF = 1). Every
// iteration counts as one retired instruction. One handler call does at most
// cpu.rep_budget() iterations; if rCX is then still non-zero (and no REPE/REPNE condition
// ended the loop) RIP goes back to the instruction, which runs again after the run loop has
// looked at interrupts and its budget. rSI/rDI/rCX are updated after every completed
// iteration, so a fault in iteration k leaves them describing k completed iterations and the
// instruction resumes exactly where it stopped once the guest's handler returns.
//
// Fast path: REP MOVS/STOS/CMPS/SCAS with DF = 0 move whole runs inside a page through host pointers
// (from the TLB, Cpu::host_ptr, or from a translation when the TLB does not hold the page).
// A run stops at a page end, at the segment limit and at the address-size wrap; anything else
// (MMIO, ROM, pages holding code for writes, page-straddling elements, expand-down
// segments) goes element by element through the normal accessors. Overlapping MOVS copies
// behave exactly like element-by-element copying.
#include <algorithm>
#include <cstring>

#include "cpu/descriptor.h"
#include "cpu/interp/integer_parts.h"

namespace rv::interp {
namespace {

using alu::mask;

class Str {
 public:
  Str(Cpu& cpu, const DecodedInsn& d, unsigned size)
      : cpu(cpu), d(d), size(size), amask(mask(d.asize)),
        step((cpu.state().rflags & kFlagDF) ? -static_cast<i64>(size) : static_cast<i64>(size)) {}

  Cpu& cpu;
  const DecodedInsn& d;
  const unsigned size;
  const u64 amask;
  const i64 step;

  u64 si() const { return cpu.state().gpr[RSI] & amask; }
  u64 di() const { return cpu.state().gpr[RDI] & amask; }
  bool forward() const { return step > 0; }

  // Records n completed iterations: advances the index registers used and counts rCX down.
  void retire(u64 n, bool src, bool dst) {
    u64 delta = static_cast<u64>(step) * n;
    if (src) cpu.write_reg(RSI, d.asize, true, si() + delta);
    if (dst) cpu.write_reg(RDI, d.asize, true, di() + delta);
    if (d.rep) cpu.write_reg(RCX, d.asize, true, cpu.state().gpr[RCX] - n);
  }

  // Host pointer for `la` in RAM, for a run through its page; null for MMIO, pages holding
  // code (writes) and anything else the element path must handle. Uses the TLB when it holds
  // the page, else translates (which may fault, exactly as the element's own access would:
  // callers translate the source before the destination) -- so a source and destination
  // whose pages share a TLB slot still take the fast path.
  u8* page_ptr(u64 la, Access acc) {
    if (u8* p = cpu.host_ptr(la, acc)) return p;
    // Alignment checking (CPL 3, CR0.AM, EFLAGS.AC) is done by the element path only.
    const CpuState& st = cpu.state();
    if (cpu.cpl() == 3 && (st.cr0 & kCr0Am) && (st.rflags & kFlagAC)) return nullptr;
    u64 pa = cpu.translate(la, acc, cpu.cpl() == 3);
    PageMapping pm = cpu.mem().map_page(pa & kPageMask);
    if (!pm.host || (acc == Access::Write && !pm.writable)) return nullptr;
    return pm.host + (pa & 0xFFF);
  }

  // Elements that fit from `la` to the end of its page (0 if the first one straddles it).
  u64 page_room(u64 la) const { return (kPageSize - (la & 0xFFF)) / size; }

  // Elements from offset `off` that stay inside the segment limit and below the address-size
  // wrap (forward direction); 0 sends the caller to the element path.
  u64 seg_room(u8 seg, u64 off) const {
    u64 room = d.asize == 8 ? ~0ull : (amask - off + 1) / size;
    if (cpu.long64()) return room;   // no limits; a run never leaves its (canonical) page
    const Segment& s = cpu.state().seg[seg];
    if (s.s() && (s.type() & 0xC) == 4) return 0;   // expand-down data segment
    if (off > s.limit) return 0;
    return std::min(room, (s.limit - off + 1) / size);
  }
};

// Drives one string instruction. `chunk(str, max, stop)` performs between 1 and `max`
// iterations (all or nothing: it faults only before changing anything), retires them and
// returns how many it did; it sets `stop` when a REPE/REPNE condition ends the loop.
template <class Chunk>
void run(Cpu& cpu, const DecodedInsn& d, unsigned size, Chunk chunk) {
  Str str(cpu, d, size);
  bool stop = false;
  if (!d.rep) {
    chunk(str, 1, stop);
    return;
  }
  u64 count = cpu.state().gpr[RCX] & str.amask;
  if (count == 0) return;
  const u64 budget = cpu.rep_budget();
  u64 done = 0;
  try {
    while (count > 0 && done < budget && !stop) {
      u64 n = chunk(str, std::min(count, budget - done), stop);
      done += n;
      count -= n;
    }
  } catch (const GuestFault&) {
    cpu.consume_rep(done);   // the completed iterations retired; the faulting one did not
    throw;
  }
  cpu.consume_rep(done - 1);
  if (count != 0 && !stop) {
    cpu.state().rip = cpu.insn_start();
    cpu.end_block();
  }
}

bool rep_ends(const DecodedInsn& d, bool equal) { return (d.rep == 3 && !equal) || (d.rep == 2 && equal); }

// ---- MOVS ----
u64 movs_chunk(Str& s, u64 max, bool&) {
  Cpu& cpu = s.cpu;
  const u64 si = s.si(), di = s.di();
  const u64 src = cpu.seg_linear(s.d.seg, si, s.size, Access::Read);
  const u64 dst = cpu.seg_linear(ES, di, s.size, Access::Write);
  if (max > 1 && s.forward()) {
    const u8* sp = s.page_ptr(src, Access::Read);
    u8* dp = sp ? s.page_ptr(dst, Access::Write) : nullptr;
    if (sp && dp) {
      u64 n = std::min({max, s.page_room(src), s.page_room(dst), s.seg_room(s.d.seg, si), s.seg_room(ES, di)});
      if (n > 0) {
        u64 bytes = n * s.size;
        if (dp > sp && dp < sp + bytes) {
          // The destination overlaps the source ahead of it: later elements read what earlier
          // ones wrote, as the element-by-element definition says.
          for (u64 i = 0; i < n; i++) {
            u64 v;
            std::memcpy(&v, sp + i * s.size, s.size);
            std::memcpy(dp + i * s.size, &v, s.size);
          }
        } else {
          std::memmove(dp, sp, bytes);   // disjoint, or destination behind: same as forward copy
        }
        s.retire(n, true, true);
        return n;
      }
    }
  }
  cpu.write_lin(dst, s.size, cpu.read_lin(src, s.size));
  s.retire(1, true, true);
  return 1;
}

// ---- STOS ----
u64 stos_chunk(Str& s, u64 max, bool&) {
  Cpu& cpu = s.cpu;
  const u64 di = s.di();
  const u64 v = cpu.state().gpr[RAX] & mask(s.size);
  const u64 dst = cpu.seg_linear(ES, di, s.size, Access::Write);
  if (max > 1 && s.forward()) {
    if (u8* dp = s.page_ptr(dst, Access::Write)) {
      u64 n = std::min({max, s.page_room(dst), s.seg_room(ES, di)});
      if (n > 0) {
        if (s.size == 1) std::memset(dp, static_cast<int>(v), n);
        else for (u64 i = 0; i < n; i++) std::memcpy(dp + i * s.size, &v, s.size);
        s.retire(n, false, true);
        return n;
      }
    }
  }
  cpu.write_lin(dst, s.size, v);
  s.retire(1, false, true);
  return 1;
}

// ---- LODS: element by element ----
u64 lods_chunk(Str& s, u64, bool&) {
  u64 v = s.cpu.read_mem(s.d.seg, s.si(), s.size);
  s.cpu.write_reg(RAX, s.size, true, v);
  s.retire(1, true, false);
  return 1;
}

// CMPS/SCAS with a REP prefix and DF = 0 compare whole runs inside a page through host
// pointers, stopping at the first element that ends the REPE/REPNE loop.
template <bool kCmps>
u64 compare_chunk(Str& s, u64 max, bool& stop) {
  Cpu& cpu = s.cpu;
  const u64 si = s.si(), di = s.di();
  u64 a, b;
  if (max > 1 && s.forward()) {
    const u64 src = kCmps ? cpu.seg_linear(s.d.seg, si, s.size, Access::Read) : 0;
    const u64 dst = cpu.seg_linear(ES, di, s.size, Access::Read);
    const u8* sp = kCmps ? s.page_ptr(src, Access::Read) : nullptr;
    const u8* dp = (sp || !kCmps) ? s.page_ptr(dst, Access::Read) : nullptr;
    if (dp) {
      u64 n = std::min({max, s.page_room(dst), s.seg_room(ES, di)});
      if (kCmps) n = std::min({n, s.page_room(src), s.seg_room(s.d.seg, si)});
      if (n > 0) {
        const u64 m = mask(s.size);
        const bool want_equal = s.d.rep == 3;   // REPE continues while equal, REPNE while not
        u64 i = 0;
        a = cpu.state().gpr[RAX] & m;
        do {
          if (kCmps) { a = 0; std::memcpy(&a, sp + i * s.size, s.size); }
          b = 0;
          std::memcpy(&b, dp + i * s.size, s.size);
          i++;
        } while (i < n && (a == b) == want_equal);
        s.retire(i, kCmps, true);
        alu::commit(cpu, s.size, alu::sub(s.size, a, b));
        stop = rep_ends(s.d, a == b);
        return i;
      }
    }
  }
  a = kCmps ? cpu.read_mem(s.d.seg, si, s.size) : cpu.state().gpr[RAX];
  b = cpu.read_mem(ES, di, s.size);
  alu::Result r = alu::sub(s.size, a, b);
  s.retire(1, kCmps, true);
  alu::commit(cpu, s.size, r);
  stop = rep_ends(s.d, r.value == 0);
  return 1;
}
constexpr auto cmps_chunk = compare_chunk<true>;
constexpr auto scas_chunk = compare_chunk<false>;

// ---- INS, OUTS: port DX; I/O permission (CPL/IOPL, TSS bitmap) is checked before the first
// iteration. INS checks the destination before reading the port, so a fault does not lose a
// value read from the device. ----
unsigned io_size(const DecodedInsn& d, bool byte) { return byte ? 1 : std::min<unsigned>(d.osize, 4); }

void ins(Cpu& cpu, const DecodedInsn& d, unsigned size) {
  const u16 port = cpu.state().gpr[RDX] & 0xFFFF;
  if (!d.rep || (cpu.state().gpr[RCX] & mask(d.asize)) != 0) cpu.check_io(port, size);
  run(cpu, d, size, [port](Str& s, u64, bool&) -> u64 {
    u64 di = s.di();
    s.cpu.probe_write(ES, di, s.size);
    u64 v = s.cpu.io().read(port, s.size);
    s.cpu.write_mem(ES, di, s.size, v);
    s.retire(1, false, true);
    return 1;
  });
}

void outs(Cpu& cpu, const DecodedInsn& d, unsigned size) {
  const u16 port = cpu.state().gpr[RDX] & 0xFFFF;
  if (!d.rep || (cpu.state().gpr[RCX] & mask(d.asize)) != 0) cpu.check_io(port, size);
  run(cpu, d, size, [port](Str& s, u64, bool&) -> u64 {
    u64 v = s.cpu.read_mem(s.d.seg, s.si(), s.size);
    s.cpu.io().write(port, static_cast<u32>(v), s.size);
    s.retire(1, true, false);
    return 1;
  });
}

void exec_MOVSB(Cpu& cpu, const DecodedInsn& d) { run(cpu, d, 1, movs_chunk); }
void exec_MOVSv(Cpu& cpu, const DecodedInsn& d) { run(cpu, d, d.osize, movs_chunk); }
void exec_CMPSB(Cpu& cpu, const DecodedInsn& d) { run(cpu, d, 1, cmps_chunk); }
void exec_CMPSv(Cpu& cpu, const DecodedInsn& d) { run(cpu, d, d.osize, cmps_chunk); }
void exec_STOSB(Cpu& cpu, const DecodedInsn& d) { run(cpu, d, 1, stos_chunk); }
void exec_STOSv(Cpu& cpu, const DecodedInsn& d) { run(cpu, d, d.osize, stos_chunk); }
void exec_LODSB(Cpu& cpu, const DecodedInsn& d) { run(cpu, d, 1, lods_chunk); }
void exec_LODSv(Cpu& cpu, const DecodedInsn& d) { run(cpu, d, d.osize, lods_chunk); }
void exec_SCASB(Cpu& cpu, const DecodedInsn& d) { run(cpu, d, 1, scas_chunk); }
void exec_SCASv(Cpu& cpu, const DecodedInsn& d) { run(cpu, d, d.osize, scas_chunk); }
void exec_INSB(Cpu& cpu, const DecodedInsn& d) { ins(cpu, d, 1); }
void exec_INSv(Cpu& cpu, const DecodedInsn& d) { ins(cpu, d, io_size(d, false)); }
void exec_OUTSB(Cpu& cpu, const DecodedInsn& d) { outs(cpu, d, 1); }
void exec_OUTSv(Cpu& cpu, const DecodedInsn& d) { outs(cpu, d, io_size(d, false)); }

}  // namespace

void register_string(Table& t) {
  set_handler(t, OpId::MOVSB, exec_MOVSB);
  set_handler(t, OpId::MOVSv, exec_MOVSv);
  set_handler(t, OpId::CMPSB, exec_CMPSB);
  set_handler(t, OpId::CMPSv, exec_CMPSv);
  set_handler(t, OpId::STOSB, exec_STOSB);
  set_handler(t, OpId::STOSv, exec_STOSv);
  set_handler(t, OpId::LODSB, exec_LODSB);
  set_handler(t, OpId::LODSv, exec_LODSv);
  set_handler(t, OpId::SCASB, exec_SCASB);
  set_handler(t, OpId::SCASv, exec_SCASv);
  set_handler(t, OpId::INSB, exec_INSB);
  set_handler(t, OpId::INSv, exec_INSv);
  set_handler(t, OpId::OUTSB, exec_OUTSB);
  set_handler(t, OpId::OUTSv, exec_OUTSv);
}

}  // namespace rv::interp
