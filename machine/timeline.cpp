// The timeline of a replayed run: checkpoints and seeks (machine/timeline.h).
#include "machine/timeline.h"


#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>

#include "memory/state_visitor.h"

namespace rv {

namespace {
constexpr u64 kPage = 4096;

bool page_is_zero(const u8* p) { return PhysMemory::page_is_zero(p); }
}  // namespace

struct Timeline::Page {
  u8 b[kPage];
};

struct Timeline::Chunk {
  PageList pages;   // the non-zero pages of 512 consecutive page numbers, ascending
};

struct Timeline::Checkpoint {
  u64 icount = 0;
  std::vector<u8> state;
  Pc::DoorMark door;
  PageSet pages;
};

namespace {

// The first index from i on whose value (v ascending) is at least lo.
size_t skip_below(const std::vector<u32>& v, size_t i, u32 lo) {
  while (i < v.size() && v[i] < lo) i++;
  return i;
}

}  // namespace

Timeline::Timeline(Pc& pc, u64 mem_cap_bytes, u64 base_interval)
    : m_pc(pc), m_cap(mem_cap_bytes), m_interval(std::max<u64>(base_interval, 1)), m_page_bytes(std::make_shared<u64>(0)),
      m_chunk_bytes(std::make_shared<u64>(0)) {
  m_next_base = pc.cpu().state().icount;
  m_pc.set_timeline_hook([this] { on_turn(); });
  update_due();
}

Timeline::~Timeline() {
  m_pc.set_timeline_hook({});
  m_pc.set_checkpoint_due(Pc::kNoStop);
}

u64 Timeline::start() const { return m_cps.empty() ? m_pc.cpu().state().icount : m_cps.front()->icount; }

u64 Timeline::memory_bytes() const {
  u64 n = *m_page_bytes + *m_chunk_bytes;
  for (const auto& c : m_cps) n += c->state.size() + c->pages.size() * sizeof(c->pages[0]);   // chunk pointers
  return n;
}

std::string Timeline::describe() const {
  char buf[240];
  const double mib = static_cast<double>(memory_bytes()) / (1 << 20), cap = static_cast<double>(m_cap) / (1 << 20);
  if (m_cps.empty()) {
    std::snprintf(buf, sizeof buf, "going backwards: no checkpoints yet (cap %.0f MiB, --checkpoint-mem)\n", cap);
  } else {
    std::snprintf(buf, sizeof buf, "going backwards: %zu checkpoints from instruction %llu to %llu, %.1f MiB of a %.0f MiB cap (--checkpoint-mem)\n",
                  m_cps.size(), static_cast<unsigned long long>(m_cps.front()->icount),
                  static_cast<unsigned long long>(m_cps.back()->icount), mib, cap);
  }
  return buf;
}

size_t Timeline::index_at_or_before(u64 icount) const {
  size_t k = 0;
  for (size_t i = 0; i < m_cps.size(); i++)
    if (m_cps[i]->icount <= icount) k = i;
  return k;
}

void Timeline::update_due() {
  u64 due = m_scanning ? Pc::kNoStop : m_next_base;
  if (!m_scanning && !m_planned.empty()) due = std::min(due, m_planned.front());
  m_pc.set_checkpoint_due(due);
}

void Timeline::on_turn() {
  const u64 ic = m_pc.cpu().state().icount;
  m_high = std::max(m_high, ic);
  if (m_scanning) return;
  bool due = false;
  if (ic >= m_next_base) {
    due = true;
    m_next_base = (ic / m_interval + 1) * m_interval;
  }
  while (!m_planned.empty() && m_planned.front() <= ic) {
    due = true;
    m_planned.erase(m_planned.begin());
  }
  if (due) {
    const bool have = std::any_of(m_cps.begin(), m_cps.end(), [&](const auto& c) { return c->icount == ic; });
    if (!have) take();
  }
  update_due();
}

std::shared_ptr<const Timeline::Page> Timeline::copy_page(const u8* p) {
  auto* fresh = new Page;
  std::memcpy(fresh->b, p, kPage);
  std::shared_ptr<u64> counter = m_page_bytes;
  *counter += kPage;
  return std::shared_ptr<const Page>(fresh, [counter](const Page* x) {
    *counter -= kPage;
    delete x;
  });
}

std::shared_ptr<const Timeline::Chunk> Timeline::make_chunk(PageList&& pages) {
  if (pages.empty()) return nullptr;
  auto* c = new Chunk{std::move(pages)};
  const u64 bytes = sizeof(Chunk) + c->pages.capacity() * sizeof(c->pages[0]);
  std::shared_ptr<u64> counter = m_chunk_bytes;
  *counter += bytes;
  return std::shared_ptr<const Chunk>(c, [counter, bytes](const Chunk* x) {
    *counter -= bytes;
    delete x;
  });
}

void Timeline::track() {
  // From here on the pages the guest writes are listed (PhysMemory::track_writes); the TLB's
  // direct-write pointers would bypass that, so they go.
  m_pc.memory().track_writes();
  m_pc.cpu().tlb_flush(true);
}

void Timeline::take() {
  auto cp = std::make_unique<Checkpoint>();
  cp->icount = m_pc.cpu().state().icount;
  {
    StateWriter w;
    m_pc.visit_state(w);
    cp->state = std::move(w.data());
  }
  cp->door = m_pc.door_mark();
  PhysMemory& mem = m_pc.memory();
  const u8* ram = mem.ram();
  const size_t chunks = (mem.ram_size() / kPage + kChunkPages - 1) / kChunkPages;
  if (!m_synced) {
    // The first: every non-zero page.
    cp->pages.assign(chunks, nullptr);
    std::vector<PageList> lists(chunks);
    for (const u32 pg : mem.nonzero_ram_pages()) lists[pg / kChunkPages].emplace_back(pg, copy_page(ram + static_cast<u64>(pg) * kPage));
    for (size_t k = 0; k < chunks; k++) cp->pages[k] = make_chunk(std::move(lists[k]));
  } else {
    // RAM is m_base plus the pages written since: those are copied (unless written back to
    // what they were), the rest shared, and so are the chunks no page of which was written.
    cp->pages = m_base;
    std::vector<u32> dirty = mem.dirty_pages();
    std::sort(dirty.begin(), dirty.end());
    dirty.erase(std::unique(dirty.begin(), dirty.end()), dirty.end());
    size_t j = 0;
    while (j < dirty.size()) {
      const size_t k = dirty[j] / kChunkPages;
      const u32 end = static_cast<u32>((k + 1) * kChunkPages);
      static const PageList kNone;
      const PageList& base = m_base[k] ? m_base[k]->pages : kNone;
      PageList out;
      size_t i = 0;
      while (i < base.size() || (j < dirty.size() && dirty[j] < end)) {
        const u32 a = i < base.size() ? base[i].first : ~0u, d = j < dirty.size() && dirty[j] < end ? dirty[j] : ~0u;
        if (a < d) {
          out.push_back(base[i++]);
          continue;
        }
        const u8* p = ram + static_cast<u64>(d) * kPage;
        if (a == d) {
          if (std::memcmp(base[i].second->b, p, kPage) == 0) out.push_back(base[i]);
          else if (!page_is_zero(p)) out.emplace_back(d, copy_page(p));
          i++;
        } else if (!page_is_zero(p)) {
          out.emplace_back(d, copy_page(p));
        }
        j++;
      }
      cp->pages[k] = make_chunk(std::move(out));
    }
  }
  m_base = cp->pages;
  m_synced = true;
  track();
  auto at = std::upper_bound(m_cps.begin(), m_cps.end(), cp->icount, [](u64 v, const auto& c) { return v < c->icount; });
  m_cps.insert(at, std::move(cp));
  trim();
}

void Timeline::trim() {
  // Over the cap: drop the checkpoint whose neighbours are closest together (never the
  // first, which is where the timeline starts), until the rest fits.
  while (m_cps.size() > 2 && memory_bytes() > m_cap) {
    size_t best = 1;
    u64 best_gap = ~0ull;
    for (size_t i = 1; i < m_cps.size(); i++) {
      const u64 next = i + 1 < m_cps.size() ? m_cps[i + 1]->icount : std::max(m_high, m_cps[i]->icount);
      const u64 gap = next - m_cps[i - 1]->icount;
      if (gap < best_gap) {
        best_gap = gap;
        best = i;
      }
    }
    m_cps.erase(m_cps.begin() + static_cast<long>(best));
  }
}

void Timeline::restore(const Checkpoint& c) {
  StateReader r(c.state.data(), c.state.size(), "checkpoint");
  m_pc.cpu().keep_blocks_on_next_load();   // RAM changes below drop the blocks they touch
  m_pc.visit_state(r);   // a state this build wrote itself: it loads
  m_pc.cpu().keep_blocks_on_next_load(false);
  // RAM is m_base plus the pages written since; made equal to c's pages by writing the pages
  // where the two lists differ and the written ones. The CPU's load kept its decoded blocks
  // and dropped its TLB; each page changed here drops the blocks decoded from it.
  PhysMemory& mem = m_pc.memory();
  u8* ram = mem.ram();
  auto put = [&](u32 pg, const Page* src) {
    u8* p = ram + static_cast<u64>(pg) * kPage;
    if (src) {
      if (std::memcmp(p, src->b, kPage) == 0) return;
      std::memcpy(p, src->b, kPage);
    } else {
      if (page_is_zero(p)) return;
      std::memset(p, 0, kPage);
    }
    mem.ram_page_replaced(pg);
  };
  std::vector<u32> dirty = mem.dirty_pages();
  std::sort(dirty.begin(), dirty.end());
  dirty.erase(std::unique(dirty.begin(), dirty.end()), dirty.end());
  static const PageList kNone;
  size_t k = 0;   // into dirty
  for (size_t ch = 0; ch < c.pages.size(); ch++) {
    const u32 lo = static_cast<u32>(ch * kChunkPages), hi = lo + kChunkPages;
    k = skip_below(dirty, k, lo);
    const bool any_written = k < dirty.size() && dirty[k] < hi;
    const std::shared_ptr<const Chunk>& bc = ch < m_base.size() ? m_base[ch] : nullptr;
    if (bc == c.pages[ch] && !any_written) continue;   // the same pages, none written since
    const PageList& base = bc ? bc->pages : kNone;
    const PageList& want = c.pages[ch] ? c.pages[ch]->pages : kNone;
    size_t i = 0, j = 0;
    while (i < base.size() || j < want.size()) {
      const u32 a = i < base.size() ? base[i].first : ~0u, b = j < want.size() ? want[j].first : ~0u;
      const u32 pg = std::min(a, b);
      while (k < dirty.size() && dirty[k] < pg) {   // written, in neither list: zero in c
        put(dirty[k], nullptr);
        k++;
      }
      const bool written = k < dirty.size() && dirty[k] == pg;
      if (written) k++;
      if (a == b) {
        if (written || base[i].second != want[j].second) put(pg, want[j].second.get());
        i++;
        j++;
      } else if (a < b) {
        put(pg, nullptr);
        i++;
      } else {
        put(pg, want[j].second.get());
        j++;
      }
    }
    for (; k < dirty.size() && dirty[k] < hi; k++) put(dirty[k], nullptr);
  }
  m_base = c.pages;
  m_synced = true;
  track();
  m_pc.restore_door(c.door);
  m_pc.cpu().reset_debugger_stop(false);
}

void Timeline::plan_toward(u64 from, u64 to) {
  // Checkpoints at to - kNearest, to - 2 kNearest, to - 4 kNearest, ... after `from`.
  for (u64 d = kNearest; d < to - from && to - d > from + kNearest / 2; d *= 2) m_planned.push_back(to - d);
  std::sort(m_planned.begin(), m_planned.end());
  m_planned.erase(std::unique(m_planned.begin(), m_planned.end()), m_planned.end());
}

u64 Timeline::run_forward_to(u64 icount, u64 from) {
  Cpu& cpu = m_pc.cpu();
  const std::vector<u64> breaks = cpu.debugger_breakpoints();
  const std::vector<Cpu::DebugWatch> watches = cpu.debugger_watchpoints();
  cpu.set_debugger_breakpoints({});
  cpu.set_debugger_watchpoints({});
  // A long seek says how far it has got, once a second, on stderr.
  const auto t0 = std::chrono::steady_clock::now();
  auto last = t0;
  bool said = false;
  const std::function<bool()> poll = m_pc.debugger_poll();
  m_pc.set_debugger_poll([&] {
    const auto t = std::chrono::steady_clock::now();
    if (t - last >= std::chrono::seconds(1)) {
      last = t;
      const u64 ic = cpu.state().icount;
      const double done = static_cast<double>(ic - from), all = static_cast<double>(icount - from);
      const double secs = std::chrono::duration<double>(t - t0).count();
      std::fprintf(stderr, "retrovisor: replaying to instruction %llu: %.0f%% (%llu of %llu), about %.0f s left\n",
                   static_cast<unsigned long long>(icount), all > 0 ? 100 * done / all : 100.0,
                   static_cast<unsigned long long>(ic - from), static_cast<unsigned long long>(icount - from),
                   done > 0 ? secs * (all - done) / done : 0.0);
      said = true;
    }
    return false;
  });
  m_pc.run_to(icount);
  const RunResult r = m_pc.run();
  m_pc.run_to(Pc::kNoStop);
  m_pc.set_debugger_poll(poll);
  if (r.kind != StopKind::Reached) set_end(cpu.state().icount, r);
  if (said) std::fprintf(stderr, "retrovisor: at instruction %llu\n", static_cast<unsigned long long>(cpu.state().icount));
  cpu.set_debugger_breakpoints(breaks);
  cpu.set_debugger_watchpoints(watches);
  return cpu.state().icount;
}

u64 Timeline::seek(u64 icount) {
  m_high = std::max(m_high, m_pc.cpu().state().icount);
  if (m_cps.empty()) take();
  icount = std::max(icount, start());
  const Checkpoint& c = *m_cps[index_at_or_before(icount)];
  const u64 from = c.icount;
  restore(c);
  plan_toward(from, icount);
  update_due();
  const u64 got = icount == from ? from : run_forward_to(icount, from);
  m_planned.clear();
  update_due();
  return got;
}

void Timeline::prepare_back() {
  const u64 here = m_pc.cpu().state().icount;
  if (m_cps.empty() || here <= start()) return;
  if (here - m_cps[index_at_or_before(here - 1)]->icount <= 2 * kNearest) return;
  const u64 pass_over = m_pc.cpu().debugger_pass_over();
  seek(here);
  m_pc.cpu().set_debugger_pass_over(pass_over);
}

std::optional<Timeline::Hit> Timeline::last_hit_before(u64 before, bool* interrupted) {
  if (interrupted) *interrupted = false;
  m_high = std::max(m_high, m_pc.cpu().state().icount);
  if (m_cps.empty()) take();
  Cpu& cpu = m_pc.cpu();
  if (cpu.debugger_breakpoints().empty() && cpu.debugger_watchpoints().empty()) return std::nullopt;
  m_scanning = true;
  update_due();
  std::optional<Hit> found;
  u64 hi = before;
  bool stopped = false;
  // A long search says how far back it has got, once a second, on stderr.
  const auto t0 = std::chrono::steady_clock::now();
  auto last = t0;
  bool said = false;
  const std::function<bool()> poll = m_pc.debugger_poll();
  u64 searched_from = before;   // the search has covered [searched_from, before)
  m_pc.set_debugger_poll([&] {
    const auto t = std::chrono::steady_clock::now();
    if (t - last >= std::chrono::seconds(1)) {
      last = t;
      const double secs = std::chrono::duration<double>(t - t0).count();
      std::fprintf(stderr, "retrovisor: searching back from instruction %llu for a breakpoint or watchpoint: %llu instructions searched in %.0f s (Ctrl-C in gdb stops)\n",
                   static_cast<unsigned long long>(before), static_cast<unsigned long long>(before - searched_from), secs);
      said = true;
    }
    return interrupted && poll && poll();   // without a flag to report it, nothing stops the search
  });
  while (hi > start()) {
    // The stretch [lo, hi): from the checkpoint before hi, run to hi; the last hit counts.
    const Checkpoint& c = *m_cps[index_at_or_before(hi - 1)];
    const u64 lo = c.icount;
    restore(c);
    m_pc.run_to(hi);
    for (;;) {
      const RunResult r = m_pc.run();
      if (r.kind == StopKind::Breakpoint) {
        const Cpu::DebugWatch* w = cpu.debugger_watch_hit();
        const u64 ic = cpu.state().icount;
        Hit h;
        h.icount = w ? ic - 1 : ic;
        if (w) h.watch = *w;
        if (h.icount >= lo && h.icount < before) found = h;
        cpu.clear_debugger_hit();
        continue;
      }
      if (r.kind == StopKind::DebuggerInterrupt) {
        // Stopped by the user: back to where this stretch starts, the furthest point the
        // search has covered.
        restore(c);
        *interrupted = stopped = true;
        found.reset();
        break;
      }
      if (r.kind != StopKind::Reached) set_end(cpu.state().icount, r);
      break;
    }
    m_pc.run_to(Pc::kNoStop);
    if (found || stopped) break;
    hi = searched_from = lo;
  }
  m_pc.set_debugger_poll(poll);
  if (said)
    std::fprintf(stderr, "retrovisor: search %s at instruction %llu\n", found ? "found a hit" : stopped ? "stopped by gdb" : "ended",
                 static_cast<unsigned long long>(found ? found->icount : cpu.state().icount));
  m_scanning = false;
  update_due();
  return found;
}

}  // namespace rv
