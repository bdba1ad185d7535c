// Timeline: in-memory checkpoints of a replayed run, for reverse execution (gdb's
// reverse-stepi and reverse-continue: the stub's bs and bc packets, frontends/gdb_stub.cpp).
//
// A replay is a pure function of its log, so any earlier instruction boundary can be reached
// again by restoring a checkpoint taken before it and running forward to it. A checkpoint
// holds the machine's state (Pc::visit_state through StateWriter), the replay door's place in
// the log (Pc::DoorMark) and RAM as 4 KiB pages shared with the checkpoint before it where
// their contents are equal: PhysMemory lists the pages written since the last checkpoint
// (track_writes), so a checkpoint costs the pages the guest changed since, and a restore
// writes only the pages that differ.
//
// Checkpoints are taken every `base_interval` instructions while the run goes forward and,
// adaptively, on the way to every position a seek runs to: at halving distances before it
// (down to kNearest instructions), so that stepping back again from there replays a short
// stretch. When their pages pass the memory cap, the checkpoint whose neighbours are closest
// together (never the first) is dropped, until they fit.
//
// Positions are instruction counts (CpuState::icount, which also counts each interrupt or
// exception delivery): the places where a forward single-step stops. A seek stops at the
// first turn of the run loop at that count, before the door (Pc::run_to), which is where a
// forward step arrives.
#pragma once
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "machine/pc.h"

namespace rv {

class Timeline {
 public:
  static constexpr u64 kDefaultInterval = 10'000'000;   // instructions between base checkpoints
  static constexpr u64 kNearest = 200'000;              // the closest adaptive checkpoint
  Timeline(Pc& pc, u64 mem_cap_bytes, u64 base_interval = kDefaultInterval);
  ~Timeline();
  Timeline(const Timeline&) = delete;
  Timeline& operator=(const Timeline&) = delete;

  // The earliest position the timeline can go back to (its first checkpoint).
  u64 start() const;
  // Returns the machine to the state at instruction count `icount` (run forward from the
  // nearest checkpoint before it, with the debugger's breakpoints and watchpoints off).
  // Returns the count reached: `icount`, or the first after it that the run stops at (the end
  // of the recording, an instruction that counts twice). A seek that takes more than a second
  // prints its progress on stderr.
  u64 seek(u64 icount);
  // After a forward run stopped here (a breakpoint, Ctrl-C, the end) far from every
  // checkpoint: runs here again from the last checkpoint before, taking the adaptive ones on
  // the way, so that the first step back replays a short stretch (the cost moves from the
  // step back to the stop). The machine ends as it was, the breakpoint pass-over included.
  void prepare_back();
  // The last position before `before` where the debugger's breakpoints or watchpoints would
  // have stopped a forward run: a breakpoint's count (before its instruction), a watchpoint's
  // count before the instruction that touched it. Leaves the machine at an unspecified
  // position (the caller seeks to the answer, or to start()). `watch` tells which kind hit
  // (null for a breakpoint). The debugger's poll (Pc::debugger_poll: gdb's Ctrl-C) ends a
  // long search early: then `*interrupted` is set and the machine is at the start of the
  // stretch being searched (everything after it up to `before` holds no hit).
  struct Hit {
    u64 icount = 0;
    std::optional<Cpu::DebugWatch> watch;
  };
  std::optional<Hit> last_hit_before(u64 before, bool* interrupted = nullptr);
  // The end of the recording, once a forward run has met it: its position and result.
  std::optional<u64> end_icount() const { return m_end ? std::optional<u64>(m_end->first) : std::nullopt; }
  // The end's result counts the recording's instructions (a seek's run counts only its own).
  void set_end(u64 icount, const RunResult& r) {
    m_end = {icount, r};
    m_end->second.guest_insns = icount;
  }
  const RunResult* end_result() const { return m_end ? &m_end->second : nullptr; }
  // The machine is at (or past) the end of the recording, once a run has met it.
  bool at_end() const { return m_end && m_pc.cpu().state().icount >= m_end->first; }

  // Whether output the guest writes now is new: false while a seek or a search runs again
  // through instructions already run (their serial output was shown then).
  bool output_open() const { return m_pc.cpu().state().icount >= m_high; }
  size_t checkpoints() const { return m_cps.size(); }
  // One line for people: the checkpoints, the span they cover, their memory and the cap.
  std::string describe() const;
  u64 memory_bytes() const;

 private:
  struct Page;
  struct Chunk;
  struct Checkpoint;
  // RAM in a checkpoint: per run of kChunkPages page numbers a shared, immutable list of its
  // non-zero pages (null: none), so a checkpoint copies only the chunks with pages written
  // since the one before and a restore skips the chunks it shares with RAM's.
  static constexpr u32 kChunkPages = 512;
  using PageList = std::vector<std::pair<u32, std::shared_ptr<const Page>>>;
  using PageSet = std::vector<std::shared_ptr<const Chunk>>;
  std::shared_ptr<const Chunk> make_chunk(PageList&& pages);
  void on_turn();                       // Pc's hook: a checkpoint when due
  void take();
  void restore(const Checkpoint& c);
  void track();                          // RAM = m_base from here: list the pages written
  std::shared_ptr<const Page> copy_page(const u8* p);
  void plan_toward(u64 from, u64 to);   // the adaptive checkpoints of a seek
  void update_due();
  void trim();
  size_t index_at_or_before(u64 icount) const;
  // Runs forward from `from` to `icount` with breakpoints off; returns the count reached.
  u64 run_forward_to(u64 icount, u64 from);

  Pc& m_pc;
  u64 m_cap;
  u64 m_interval;
  std::vector<std::unique_ptr<Checkpoint>> m_cps;   // ascending icount
  std::vector<u64> m_planned;                        // ascending: adaptive checkpoints to take
  u64 m_next_base = 0;
  u64 m_high = 0;                                    // the furthest count reached (output_open)
  bool m_scanning = false;                           // last_hit_before: no checkpoints taken
  std::shared_ptr<u64> m_page_bytes;                 // bytes of pages alive (shared with their deleters)
  std::shared_ptr<u64> m_chunk_bytes;                // bytes of chunk lists alive
  // The pages RAM held at the last checkpoint taken or restored (RAM = these plus the pages
  // PhysMemory lists as written since); m_synced once there is one.
  PageSet m_base;
  bool m_synced = false;
  std::optional<std::pair<u64, RunResult>> m_end;
};

}  // namespace rv
