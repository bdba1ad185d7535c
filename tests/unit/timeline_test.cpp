// The timeline of a run (machine/timeline.h): seeking back to a position gives the machine
// the run had there (state hash, RAM), whichever checkpoints were kept; the last breakpoint
// or watchpoint hit before a position is the one a forward run met last; and PhysMemory's
// write tracking lists the pages written, once each.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>

#include "machine/pc.h"
#include "tests/unit/rom_image.h"
#include "machine/timeline.h"
#include "memory/state_visitor.h"

namespace rv {
namespace {

constexpr u64 kHandler = 0xF0100;   // linear address of the IRQ0 handler
constexpr u64 kTicks = 0x500;       // the word the handler counts in

// A real-mode ROM: the main loop stores a counter across 64 KiB of RAM at 0x10000 (a new
// page every other store) while PIT interrupts, through the PIC, run a handler that counts
// ticks at 0x500. Both depend on interrupt timing: a seek that lands anywhere else differs.
//
// With `smc`, the main loop instead calls a routine it copied to RAM at 0000:8000 that adds
// its own MOV's immediate to a word at 0x600 and then increments that immediate: code that
// changes every time it runs, so a seek that ran stale decoded code ends elsewhere.
std::shared_ptr<const std::vector<u8>> tick_rom(bool smc = false) {
  auto v = blank_rom();
  if (smc) {
    const u8 smc_loop[] = {0xB8, 0x00, 0x00,         // mov ax, 0
                           0x8E, 0xC0,               // mov es, ax
                           0x8E, 0xD8,               // mov ds, ax
                           0xBE, 0x00, 0x02,         // mov si, 0x200
                           0xBF, 0x00, 0x80,         // mov di, 0x8000
                           0xB9, 0x10, 0x00,         // mov cx, 16
                           0xF3, 0x2E, 0xA4,         // rep movsb (from CS:SI)
                           0xFB,                     // sti
                           0x9A, 0x00, 0x80, 0x00, 0x00,   // loop: call far 0000:8000
                           0xEB, 0xF9};              // jmp loop
    std::copy(std::begin(smc_loop), std::end(smc_loop), v->begin());
    const u8 routine[] = {0xB8, 0x34, 0x12,          // mov ax, 0x1234 (the immediate at 0x8001)
                          0x01, 0x06, 0x00, 0x06,    // add [0x600], ax
                          0xFF, 0x06, 0x01, 0x80,    // inc word [0x8001]
                          0xCB};                     // retf
    std::copy(std::begin(routine), std::end(routine), v->begin() + 0x200);
  }
  const u8 main_loop[] = {0xB8, 0x00, 0x10,         // mov ax, 0x1000
                          0x8E, 0xD8,               // mov ds, ax
                          0x31, 0xDB,               // xor bx, bx
                          0xFB,                     // sti
                          0x40,                     // loop: inc ax
                          0x89, 0x07,               // mov [bx], ax
                          0x81, 0xC3, 0x02, 0x08,   // add bx, 0x0802
                          0xEB, 0xF7};              // jmp loop
  if (!smc) std::copy(std::begin(main_loop), std::end(main_loop), v->begin());
  const u8 handler[] = {0x50,                       // push ax
                        0x1E,                       // push ds
                        0x31, 0xC0,                 // xor ax, ax
                        0x8E, 0xD8,                 // mov ds, ax
                        0xFF, 0x06, 0x00, 0x05,     // inc word [0x500]
                        0x1F,                       // pop ds
                        0xB0, 0x20,                 // mov al, 0x20
                        0xE6, 0x20,                 // out 0x20, al (EOI)
                        0x58,                       // pop ax
                        0xCF};                      // iret
  std::copy(std::begin(handler), std::end(handler), v->begin() + 0x100);
  return v;
}

struct TickMachine {
  Pc pc;
  explicit TickMachine(u64 max_insns, bool smc = false) : pc(config(max_insns, smc)) {
    IoBus& io = pc.io();
    io.write(0x20, 0x11, 1);   // PIC master: ICW1-4, vector 8, only IRQ0 unmasked
    io.write(0x21, 0x08, 1);
    io.write(0x21, 0x04, 1);
    io.write(0x21, 0x01, 1);
    io.write(0x21, 0xFE, 1);
    io.write(0x43, 0x34, 1);   // PIT channel 0: rate generator, 40 counts (~34 us)
    io.write(0x40, 40, 1);
    io.write(0x40, 0, 1);
    pc.memory().write(8 * 4, 0xF0000100, 4);   // IVT[8] = F000:0100
  }
  static PcConfig config(u64 max_insns, bool smc) {
    PcConfig c;
    c.ram_bytes = 16 * MiB;
    c.bios = tick_rom(smc);
    c.max_insns = max_insns;
    return c;
  }
};

std::vector<std::string> printed(Pc& pc) {
  StatePrinter p;
  pc.visit_state(p);
  return p.lines();
}

// The fields of `pc` that are not as `then` printed them (the first few).
std::string differing(Pc& pc, const std::vector<std::string>& then) {
  const std::vector<std::string> now = printed(pc);
  std::string out;
  int n = 0;
  for (size_t i = 0; i < std::max(now.size(), then.size()) && n < 8; i++) {
    const std::string a = i < then.size() ? then[i] : "", b = i < now.size() ? now[i] : "";
    if (a != b) {
      out += "\n  was " + a + "\n  now " + b;
      n++;
    }
  }
  return out.empty() ? " (every field is the same: RAM differs)" : out;
}

// Runs `m` forward to `pos` (run_to) and returns the state hash there.
u64 hash_at(Pc& pc, u64 pos) {
  pc.run_to(pos);
  const RunResult r = pc.run();
  EXPECT_EQ(r.kind, StopKind::Reached) << r.message;
  EXPECT_EQ(pc.cpu().state().icount, pos);
  return pc.state_hash();
}

void seeks_reach_the_recorded_states(u64 mem_cap, u64 interval, bool smc = false, u64 span = 4'000'000) {
  TickMachine m(5'000'000, smc);
  Timeline tl(m.pc, mem_cap, interval);
  std::vector<std::pair<u64, u64>> seen;   // position, state hash
  std::map<u64, std::vector<std::string>> printed_at;   // to name what differs
  for (u64 pos = 1'000; pos < span; pos += 123'457) {
    seen.emplace_back(pos, hash_at(m.pc, pos));
    printed_at[pos] = printed(m.pc);
  }
  ASSERT_GT(m.pc.memory().read(kTicks, 2), span / 40'000) << "the PIT handler did not run";
  if (smc) ASSERT_GT(m.pc.memory().read(0x8001, 2), 0x1234u + 100) << "the routine in RAM did not run";
  std::mt19937 rng(7);
  std::vector<std::pair<u64, u64>> order = seen;
  std::shuffle(order.begin(), order.end(), rng);
  for (const auto& [pos, h] : order) {
    ASSERT_EQ(tl.seek(pos), pos);
    EXPECT_EQ(m.pc.cpu().state().icount, pos);
    EXPECT_EQ(m.pc.state_hash(), h) << "at " << pos << differing(m.pc, printed_at[pos]);
  }
  // Back to the start, then forward again over the same stretch: the same states.
  EXPECT_EQ(tl.seek(0), tl.start());
  for (const auto& [pos, h] : seen) EXPECT_EQ(hash_at(m.pc, pos), h) << "forward again to " << pos;
  if (mem_cap < (1u << 20)) {
    EXPECT_LE(tl.checkpoints(), 3u) << "the cap was not kept";
  } else {
    EXPECT_LE(tl.memory_bytes(), mem_cap);
  }
}

TEST(Timeline, SeeksReachTheRecordedStates) { seeks_reach_the_recorded_states(256 * MiB, 500'000); }

TEST(Timeline, SeeksReachTheRecordedStatesUnderATightCap) {
  // Room for hardly any pages: checkpoints are dropped (never the first) and seeks replay
  // longer stretches, to the same states.
  seeks_reach_the_recorded_states(64 * KiB, 300'000);
}

TEST(Timeline, SeeksReachTheRecordedStatesOfCodeThatChangesItself) {
  // Restoring a checkpoint keeps the decoded blocks but for those of the pages it rewrites.
  seeks_reach_the_recorded_states(256 * MiB, 200'000, true, 1'200'000);
}

TEST(Timeline, LastHitBeforeIsTheForwardRunsLastHit) {
  const u64 end = 2'000'000;
  // Forward, without a timeline: every stop at the handler's breakpoint.
  std::vector<u64> hits;
  {
    TickMachine m(~0ull);
    m.pc.cpu().set_debugger_breakpoints({kHandler});
    m.pc.run_to(end);
    for (;;) {
      const RunResult r = m.pc.run();
      if (r.kind != StopKind::Breakpoint) {
        ASSERT_EQ(r.kind, StopKind::Reached) << r.message;
        break;
      }
      hits.push_back(m.pc.cpu().state().icount);
      m.pc.cpu().clear_debugger_hit();
    }
  }
  ASSERT_GT(hits.size(), 10u);
  TickMachine m(~0ull);
  Timeline tl(m.pc, 256 * MiB, 300'000);
  m.pc.run_to(end);
  ASSERT_EQ(m.pc.run().kind, StopKind::Reached);
  m.pc.cpu().set_debugger_breakpoints({kHandler});
  // Backwards from the end, hit by hit, then none before the first.
  u64 before = end;
  for (size_t i = hits.size(); i-- > 0;) {
    const auto h = tl.last_hit_before(before);
    ASSERT_TRUE(h) << "hit " << i;
    EXPECT_EQ(h->icount, hits[i]) << "hit " << i;
    EXPECT_FALSE(h->watch);
    before = h->icount;
    if (i + 5 < hits.size()) i = std::min(i, size_t{3});   // the last few and the first few
    if (i < hits.size() && i <= 3 && i > 0) before = hits[i];
  }
  EXPECT_FALSE(tl.last_hit_before(hits.front()));
  // At a hit found, the machine is where the forward run stopped.
  ASSERT_EQ(tl.seek(hits[2]), hits[2]);
  EXPECT_EQ(m.pc.cpu().state().rip, kHandler - 0xF0000);
}

TEST(Timeline, LastWatchHitIsBeforeTheWritingInstruction) {
  const u64 end = 1'500'000;
  std::vector<std::pair<u64, u64>> writes;   // the count before the write, the value written
  {
    TickMachine m(~0ull);
    m.pc.cpu().set_debugger_watchpoints({Cpu::DebugWatch{kTicks, 2, false, true}});
    m.pc.run_to(end);
    for (;;) {
      const RunResult r = m.pc.run();
      if (r.kind != StopKind::Breakpoint) break;
      ASSERT_NE(m.pc.cpu().debugger_watch_hit(), nullptr);
      writes.emplace_back(m.pc.cpu().state().icount - 1, m.pc.memory().read(kTicks, 2));
      m.pc.cpu().clear_debugger_hit();
    }
  }
  ASSERT_GT(writes.size(), 5u);
  TickMachine m(~0ull);
  Timeline tl(m.pc, 256 * MiB, 250'000);
  m.pc.run_to(end);
  ASSERT_EQ(m.pc.run().kind, StopKind::Reached);
  m.pc.cpu().set_debugger_watchpoints({Cpu::DebugWatch{kTicks, 2, false, true}});
  const auto h = tl.last_hit_before(end);
  ASSERT_TRUE(h);
  ASSERT_TRUE(h->watch);
  EXPECT_EQ(h->icount, writes.back().first);
  // Before the writing instruction the old value, after it the new one.
  tl.seek(h->icount);
  EXPECT_EQ(m.pc.memory().read(kTicks, 2), writes.back().second - 1);
  tl.seek(h->icount + 1);
  EXPECT_EQ(m.pc.memory().read(kTicks, 2), writes.back().second);
}

TEST(Timeline, AnInterruptedSearchStopsWhereItHadGot) {
  // A write watchpoint on a word nothing writes: the search goes back stretch by stretch to
  // the start, unless the debugger's poll (gdb's Ctrl-C) says stop; then the machine is at
  // the start of the stretch it was searching, in the state the run had there.
  const u64 end = 2'000'000, interval = 250'000;
  std::map<u64, u64> forward;   // count -> state hash, at every multiple of the interval
  {
    TickMachine m(~0ull);
    for (u64 at = interval; at < end; at += interval) forward[at] = hash_at(m.pc, at);
  }
  TickMachine m(~0ull);
  Timeline tl(m.pc, 256 * MiB, interval);
  m.pc.run_to(end);
  ASSERT_EQ(m.pc.run().kind, StopKind::Reached);
  m.pc.cpu().set_debugger_watchpoints({Cpu::DebugWatch{0x7000, 2, false, true}});
  // Uninterrupted: no hit anywhere.
  bool interrupted = true;
  EXPECT_FALSE(tl.last_hit_before(end, &interrupted));
  EXPECT_FALSE(interrupted);
  // Interrupted after a few polls: somewhere back, on a checkpoint, with its state.
  int polls = 0;
  m.pc.set_debugger_poll([&] { return ++polls > 40; });
  EXPECT_FALSE(tl.last_hit_before(end, &interrupted));
  EXPECT_TRUE(interrupted);
  const u64 at = m.pc.cpu().state().icount;
  EXPECT_LT(at, end);
  EXPECT_GT(at, tl.start()) << "the search was not interrupted before it reached the start";
  ASSERT_TRUE(forward.count(at)) << "stopped at " << at << ", not at a checkpoint";
  EXPECT_EQ(m.pc.state_hash(), forward[at]);
  // Without a place to report it (no flag), the poll cannot stop a search.
  polls = 0;
  EXPECT_FALSE(tl.last_hit_before(end));
  m.pc.set_debugger_poll({});
}

TEST(Timeline, RestoresPagesAcrossChunks) {
  // RAM is kept in chunks of Timeline's 512 pages: pages written in several chunks (by the
  // host here, through PhysMemory like any device), then others, are put back as they were
  // at the checkpoint, including a page that was zero there.
  TickMachine m(~0ull);
  Timeline tl(m.pc, 256 * MiB, 100'000);
  auto run_to = [&](u64 at) {
    m.pc.run_to(at);
    ASSERT_EQ(m.pc.run().kind, StopKind::Reached);
  };
  run_to(150'000);
  const u64 a = 3 * 2 * MiB + 0x123 * 8, b = 6 * 2 * MiB + 4096 + 16, c = 4 * 2 * MiB + 8192;   // chunks 3, 6 and 4
  m.pc.memory().write(a, 0x1111111111111111ull, 8);
  m.pc.memory().write(b, 0x2222222222222222ull, 8);
  run_to(350'000);
  const u64 h = m.pc.state_hash();
  m.pc.memory().write(a, 0x3333333333333333ull, 8);
  m.pc.memory().write(c, 0x4444444444444444ull, 8);
  run_to(450'000);
  // ... and one written after the last checkpoint in a chunk no checkpoint holds a page of.
  const u64 d = 7 * 2 * MiB + 64;
  m.pc.memory().write(d, 0x5555555555555555ull, 8);
  ASSERT_EQ(tl.seek(350'000), 350'000u);
  EXPECT_EQ(m.pc.memory().read(d, 8), 0u);
  EXPECT_EQ(m.pc.memory().read(a, 8), 0x1111111111111111ull);
  EXPECT_EQ(m.pc.memory().read(b, 8), 0x2222222222222222ull);
  EXPECT_EQ(m.pc.memory().read(c, 8), 0u);
  EXPECT_EQ(m.pc.state_hash(), h);
  // Before the first writes: all three zero again.
  ASSERT_EQ(tl.seek(120'000), 120'000u);
  EXPECT_EQ(m.pc.memory().read(a, 8), 0u);
  EXPECT_EQ(m.pc.memory().read(b, 8), 0u);
  EXPECT_EQ(m.pc.memory().read(c, 8), 0u);
}

TEST(PhysMemoryTracking, ListsEachWrittenPageOnce) {
  PhysMemory mem(1 * MiB);
  mem.map_ram(0, 1 * MiB, 0, "ram");
  mem.write(0x3000, 1, 4);
  mem.track_writes();
  EXPECT_TRUE(mem.dirty_pages().empty());
  EXPECT_FALSE(mem.map_page(0x5000).writable) << "a clean page must not be written directly";
  mem.write(0x5004, 0xAB, 1);
  mem.write(0x5008, 0xCD, 1);
  mem.write(0x7FFE, 0x1234, 2);
  EXPECT_EQ(mem.dirty_pages(), (std::vector<u32>{5, 7}));
  EXPECT_TRUE(mem.map_page(0x5000).writable) << "a written page is dirty: direct writes again";
  // Decoded code on a page keeps its own bit: a write both invalidates it and lists it.
  mem.track_writes();
  u64 invalidated = ~0ull;
  mem.set_code_write_listener([&](u64 page) { invalidated = page; });
  EXPECT_TRUE(mem.mark_code(0x9000));
  mem.write(0x9010, 1, 1);
  EXPECT_EQ(invalidated, 0x9000u);
  EXPECT_EQ(mem.dirty_pages(), (std::vector<u32>{9}));
  EXPECT_FALSE(mem.is_code(0x9000));
}

}  // namespace
}  // namespace rv
