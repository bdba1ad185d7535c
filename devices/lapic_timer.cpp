// The local APIC timer (SDM §10.5.4): a 32-bit down counter clocked at timer_hz / divide in
// one-shot and periodic modes, or a comparator on the TSC in TSC-deadline mode (§10.5.4.1).
// The count is never stored while running: it is computed from the scheduler's time
// (timer_start, start_count), and the one event is the next expiry.
#include "devices/lapic.h"

#include "memory/log.h"

namespace rv {

unsigned Lapic::divisor() const {
  // Divide configuration register bits 3, 1:0 (SDM Figure 10-10): 000 = 2 ... 110 = 128,
  // 111 = 1.
  unsigned v = (m_s.divide & 3) | ((m_s.divide >> 1) & 4);
  return v == 7 ? 1 : 2u << v;
}

Nanos Lapic::ns_for_ticks(u64 ticks) const {
  // Rounded up, so that the event never fires before the count has reached 0.
  unsigned __int128 num = (unsigned __int128)ticks * divisor() * kNsPerSec;
  return static_cast<Nanos>((num + m_cfg.timer_hz - 1) / m_cfg.timer_hz);
}

u32 Lapic::current_count() const {
  if (timer_mode() == kTscDeadline || !m_s.timer_armed) return 0;
  Nanos now = m_sched.now();
  Nanos elapsed_ns = now > m_s.timer_start ? now - m_s.timer_start : 0;
  u64 ticks = static_cast<u64>((unsigned __int128)elapsed_ns * m_cfg.timer_hz / ((u64)divisor() * kNsPerSec));
  // A due expiry the board has not run yet reads 0 (one-shot) or the reload (periodic).
  if (ticks >= m_s.start_count) return timer_mode() == kPeriodic ? m_s.initial_count : 0;
  return static_cast<u32>(m_s.start_count - ticks);
}

void Lapic::start_count(u32 count) {
  m_s.timer_start = m_sched.now();
  m_s.start_count = count;
  m_s.timer_armed = count != 0;
  if (m_s.timer_armed) m_sched.schedule_at(m_timer_event, m_s.timer_start + ns_for_ticks(count));
  else m_sched.cancel(m_timer_event);
}

void Lapic::write_initial_count(u32 value) {
  if (timer_mode() == kTscDeadline) return;   // ignored in TSC-deadline mode (SDM §10.5.4.1)
  m_s.initial_count = value;
  start_count(value);   // a write (re)starts the count, 0 stops it
}

void Lapic::write_divide(u32 value) {
  // A new divider applies from now on to the count that remains.
  u32 remaining = current_count();
  m_s.divide = static_cast<u8>(value & 0x0B);
  if (m_s.timer_armed && timer_mode() != kTscDeadline) start_count(remaining);
}

void Lapic::timer_mode_changed(TimerMode old_mode) {
  // Switching between TSC-deadline and a count mode disarms the timer and clears the other
  // mode's register (SDM §10.5.4.1); one-shot <-> periodic keeps counting.
  bool was_deadline = old_mode == kTscDeadline, is_deadline = timer_mode() == kTscDeadline;
  if (was_deadline == is_deadline) return;
  m_sched.cancel(m_timer_event);
  m_s.timer_armed = false;
  m_s.initial_count = 0;
  m_s.start_count = 0;
  m_s.tsc_deadline = 0;
}

u64 Lapic::tsc_deadline() const { return timer_mode() == kTscDeadline ? m_s.tsc_deadline : 0; }

void Lapic::set_tsc_deadline(u64 tsc) {
  if (timer_mode() != kTscDeadline) return;
  m_s.tsc_deadline = tsc;
  tsc_changed();
}

void Lapic::tsc_changed() {
  if (timer_mode() != kTscDeadline) return;
  if (m_s.tsc_deadline == 0 || !m_cb.tsc_to_ns) {
    if (m_s.tsc_deadline && !m_cb.tsc_to_ns) RV_UNIMPLEMENTED("TSC-deadline timer without a TSC clock from the board");
    m_sched.cancel(m_timer_event);
    return;
  }
  Nanos when = m_cb.tsc_to_ns(m_s.tsc_deadline);
  m_sched.schedule_at(m_timer_event, when > m_sched.now() ? when : m_sched.now());   // past: at once
}

void Lapic::on_timer(Nanos late) {
  if (timer_mode() == kTscDeadline) {
    m_s.tsc_deadline = 0;   // the deadline MSR reads 0 after it fired
  } else {
    if (!m_s.timer_armed) return;
    if (timer_mode() == kPeriodic && m_s.initial_count) {
      // Reload from the exact expiry time, so late service does not make periods drift.
      m_s.timer_start += ns_for_ticks(m_s.start_count);
      m_s.start_count = m_s.initial_count;
      // Periods missed entirely (the board ran past several) collapse into this one, as
      // they would in IRR: a tiny period cannot make the board fire one event per period.
      Nanos period = ns_for_ticks(m_s.initial_count), now = m_sched.now();
      if (now >= m_s.timer_start + period) m_s.timer_start += (now - m_s.timer_start) / period * period;
      m_sched.schedule_at(m_timer_event, m_s.timer_start + period);
    } else {
      m_s.timer_armed = false;
    }
  }
  local_interrupt(kLvtTimer);
}

}  // namespace rv
