#include "devices/hpet.h"
#include "memory/state_visitor.h"

#include <string>

#include "memory/log.h"

namespace rv {

Hpet::Hpet(Scheduler& sched, Lines lines, LegacyFn on_legacy)
    : m_sched(sched), m_lines(lines), m_on_legacy(std::move(on_legacy)) {
  for (unsigned n = 0; n < kTimers; n++)
    m_events[n] = m_sched.register_event("hpet.timer" + std::to_string(n), [this, n](u64, Nanos) { on_match(n); });
  reset();
}

void Hpet::reset() {
  for (unsigned n = 0; n < kTimers; n++) {
    m_sched.cancel(m_events[n]);
    if (m_raised[n]) m_raised[n]->lower();
    m_raised[n] = nullptr;
  }
  bool was_legacy = legacy_replacement();
  m_s = State{};
  m_s.base_ns = m_sched.now();
  if (was_legacy && m_on_legacy) m_on_legacy(false);
}

void Hpet::load(const State& s) {
  m_s = s;
  for (unsigned n = 0; n < kTimers; n++) drive(n);
}

u64 Hpet::counter() const {
  if (!(m_s.config & kEnable)) return m_s.counter_base;
  return m_s.counter_base + (m_sched.now() - m_s.base_ns) / kNsPerTick;
}

// ---- register access: 64-bit registers, read and written as 32- or 64-bit (spec §2.3) ----

u64 Hpet::mmio_read(u64 offset, unsigned size) {
  u64 v = read64(offset & ~7ull) >> (8 * (offset & 7));
  return size >= 8 ? v : v & ((1ull << (8 * size)) - 1);
}

void Hpet::mmio_write(u64 offset, u64 value, unsigned size) {
  unsigned shift = 8 * (offset & 7);
  u64 mask = (size >= 8 ? ~0ull : (1ull << (8 * size)) - 1) << shift;
  write64(offset & ~7ull, value << shift, mask);
}

u64 Hpet::read64(u64 reg) const {
  switch (reg) {
    case kRegCap: return kCapabilities;
    case kRegConfig: return m_s.config;
    case kRegStatus: return m_s.status;
    case kRegCounter: return counter();
  }
  if (reg >= kRegTimer0 && reg < kRegTimer0 + kTimers * kTimerStride) {
    unsigned n = unsigned((reg - kRegTimer0) / kTimerStride);
    const Timer& t = m_s.timers[n];
    switch ((reg - kRegTimer0) % kTimerStride) {
      case 0x00: return t.config | kTnPeriodicCap | kTnSize64Cap | (u64(kRouteCap) << 32);
      case 0x08: return is32(n) ? u32(t.comparator) : t.comparator;
      case 0x10: return 0;   // FSB route: no FSB delivery
    }
  }
  return 0;
}

void Hpet::write64(u64 reg, u64 value, u64 mask) {
  auto merge = [&](u64 old) { return (old & ~mask) | (value & mask); };
  switch (reg) {
    case kRegCap: return;
    case kRegConfig: {
      u64 old = m_s.config;
      u64 now_counter = counter();
      m_s.config = merge(old) & (kEnable | kLegacy);
      if ((old ^ m_s.config) & kEnable) {
        // Start or stop the counter where it is.
        m_s.counter_base = now_counter;
        m_s.base_ns = m_sched.now();
      }
      if (((old ^ m_s.config) & kLegacy) && m_on_legacy) m_on_legacy(legacy_replacement());
      for (unsigned n = 0; n < kTimers; n++) {
        schedule(n);
        drive(n);
      }
      return;
    }
    case kRegStatus:
      m_s.status &= ~(value & mask);   // write 1 to clear
      for (unsigned n = 0; n < kTimers; n++) drive(n);
      return;
    case kRegCounter:
      // Software should halt the counter first (spec §2.3.7); a write while it runs
      // takes effect at once.
      if (m_s.config & kEnable) RV_UNUSUAL("HPET: main counter written while running");
      m_s.counter_base = merge(counter());
      m_s.base_ns = m_sched.now();
      for (unsigned n = 0; n < kTimers; n++) schedule(n);
      return;
  }
  if (reg >= kRegTimer0 && reg < kRegTimer0 + kTimers * kTimerStride)
    write_timer(unsigned((reg - kRegTimer0) / kTimerStride), (reg - kRegTimer0) % kTimerStride, value, mask);
}

void Hpet::write_timer(unsigned n, u64 reg, u64 value, u64 mask) {
  Timer& t = m_s.timers[n];
  if (reg == 0x00) {
    t.config = ((t.config & ~mask) | (value & mask)) & kTnWritable;
    unsigned route = unsigned((t.config & kTnRouteMask) >> kTnRouteShift);
    if ((t.config & kTnIntEnable) && !(kRouteCap & (1u << route))) RV_UNUSUAL("HPET: timer %u routed to IOAPIC pin %u, not in its capabilities", n, route);
    if (is32(n)) {
      t.comparator = u32(t.comparator);
      t.period = u32(t.period);
    }
  } else if (reg == 0x08) {
    if (is32(n)) mask &= 0xFFFFFFFFull;
    // In periodic mode a write sets the period, and the comparator only with VAL_SET
    // (spec §2.3.9.2.2 and the Tn_VAL_SET_CNF description in §2.3.8).
    if (!(t.config & kTnPeriodic) || (t.config & kTnValSet)) t.comparator = (t.comparator & ~mask) | (value & mask);
    t.period = (t.period & ~mask) | (value & mask);
    t.config &= ~kTnValSet;
  } else {
    return;   // FSB route
  }
  schedule(n);
  drive(n);
}

// ---- matches ----

void Hpet::schedule(unsigned n) {
  m_sched.cancel(m_events[n]);
  if (!(m_s.config & kEnable)) return;
  const Timer& t = m_s.timers[n];
  u64 now = counter();
  u64 ahead;
  if (is32(n)) {
    ahead = u32(u32(t.comparator) - u32(now));
    if (ahead == 0) ahead = 1ull << 32;   // just matched: the next match is a wrap away
  } else {
    if (t.comparator <= now) return;      // a 64-bit comparator behind the counter never matches
    ahead = t.comparator - now;
  }
  // A comparator far ahead (~0 after reset) must not overflow the time: it never matches.
  Nanos at = time_of(now);
  if (ahead > (kNever - 1 - at) / kNsPerTick) return;
  m_sched.schedule_at(m_events[n], at + ahead * kNsPerTick);
}

void Hpet::on_match(unsigned n) {
  Timer& t = m_s.timers[n];
  if (t.config & kTnPeriodic) {
    u64 now = counter();
    if (t.period == 0) {
      RV_UNUSUAL("HPET: periodic timer %u with a period of 0", n);
    } else if (is32(n)) {
      u32 behind = u32(now) - u32(t.comparator);   // ticks since the match
      t.comparator = u32(t.comparator + (u64(behind) / u32(t.period) + 1) * u32(t.period));
    } else {
      u64 behind = now >= t.comparator ? now - t.comparator : 0;
      t.comparator += (behind / t.period + 1) * t.period;
    }
  }
  if (t.config & kTnLevel) {
    m_s.status |= 1ull << n;
    drive(n);
  } else if ((t.config & kTnIntEnable) && (m_s.config & kEnable)) {
    if (IrqLine* line = line_for(n)) line->pulse();
  }
  schedule(n);
}

IrqLine* Hpet::line_for(unsigned n) {
  if (legacy_replacement() && n < 2) return n == 0 ? &m_lines.legacy_irq0 : &m_lines.legacy_irq8;
  unsigned route = unsigned((m_s.timers[n].config & kTnRouteMask) >> kTnRouteShift);
  return route < m_lines.gsi.size() ? &m_lines.gsi[route] : nullptr;
}

void Hpet::drive(unsigned n) {
  const Timer& t = m_s.timers[n];
  IrqLine* target = line_for(n);
  bool want = (t.config & kTnLevel) && (t.config & kTnIntEnable) && (m_s.config & kEnable) &&
              (m_s.status & (1ull << n));
  if (m_raised[n] && (m_raised[n] != target || !want)) {
    m_raised[n]->lower();
    m_raised[n] = nullptr;
  }
  if (want && !m_raised[n] && target) {
    target->raise();
    m_raised[n] = target;
  }
}

void Hpet::visit(StateVisitor& v) {
  State s = m_s;
  v.begin("hpet", 1);
  v.field("config", s.config);
  v.field("status", s.status);
  v.field("counter_base", s.counter_base);
  v.field("base_ns", s.base_ns);
  for (unsigned n = 0; n < kTimers; n++) {
    v.field("timer_config", s.timers[n].config, static_cast<int>(n));
    v.field("timer_comparator", s.timers[n].comparator, static_cast<int>(n));
    v.field("timer_period", s.timers[n].period, static_cast<int>(n));
  }
  v.end();
  if (v.loading()) load(s);
}

}  // namespace rv
