#include "memory/scheduler.h"
#include "memory/state_visitor.h"

#include <algorithm>

namespace rv {

// The event set is small (a few dozen timers on a PC), so a linear scan for the earliest
// beats a heap with lazy deletion in both code and speed, and keeps ordering obvious.

Scheduler::EventId Scheduler::register_event(std::string name, Callback cb) {
  m_events.push_back(Event{std::move(name), std::move(cb)});
  return static_cast<EventId>(m_events.size() - 1);
}

void Scheduler::schedule_at(EventId id, Nanos when, u64 payload) {
  if (m_on_earlier_deadline && when < next_deadline()) m_on_earlier_deadline(when);
  Event& e = m_events[id];
  e.when = when;
  e.payload = payload;
  e.seq = m_seq++;
}

void Scheduler::cancel(EventId id) { m_events[id].when = kNever; }

Scheduler::EventId Scheduler::earliest() const {
  EventId best = ~0u;
  for (EventId i = 0; i < m_events.size(); i++) {
    const Event& e = m_events[i];
    if (e.when == kNever) continue;
    if (best == ~0u || e.when < m_events[best].when ||
        (e.when == m_events[best].when && e.seq < m_events[best].seq))
      best = i;
  }
  return best;
}

Nanos Scheduler::next_deadline() const {
  EventId i = earliest();
  return i == ~0u ? kNever : m_events[i].when;
}

void Scheduler::run_until(Nanos now) {
  m_now = std::max({m_now, now, m_source ? m_source() : 0});
  for (;;) {
    EventId i = earliest();
    if (i == ~0u || m_events[i].when > m_now) return;
    Event& e = m_events[i];
    Nanos late = m_now - e.when;
    u64 payload = e.payload;
    e.when = kNever;   // fired; the callback may schedule it again
    e.cb(payload, late);
  }
}

std::vector<Scheduler::Pending> Scheduler::pending() const {
  std::vector<Pending> out;
  for (const Event& e : m_events)
    if (e.when != kNever) out.push_back({e.name, e.when, e.payload, e.seq});
  std::sort(out.begin(), out.end(), [](const Pending& a, const Pending& b) {
    return a.when != b.when ? a.when < b.when : a.seq < b.seq;
  });
  return out;
}

bool Scheduler::restore(Nanos now, const std::vector<Pending>& events) {
  std::vector<EventId> ids;
  for (const Pending& p : events) {
    EventId found = ~0u;
    for (EventId i = 0; i < m_events.size(); i++)
      if (m_events[i].name == p.name) found = i;
    if (found == ~0u) return false;
    ids.push_back(found);
  }
  for (Event& e : m_events) e.when = kNever;
  m_now = now;
  u64 max_seq = 0;
  for (size_t k = 0; k < events.size(); k++) {
    Event& e = m_events[ids[k]];
    e.when = events[k].when;
    e.payload = events[k].payload;
    e.seq = events[k].seq;
    max_seq = std::max(max_seq, events[k].seq + 1);
  }
  m_seq = std::max(m_seq, max_seq);
  return true;
}

void Scheduler::visit(StateVisitor& v) {
  std::vector<Pending> events = pending();
  u64 now = m_now, seq = m_seq, count = events.size();
  v.begin("scheduler", 1);
  v.field("now", now);
  v.field("seq", seq);
  v.field("pending", count);
  v.check(count <= m_events.size(), "pending", "lists more events than the machine has");
  if (v.loading()) events.assign(count, Pending{});
  for (size_t i = 0; i < count; i++) {
    Pending& p = events[i];
    std::vector<u8> name(p.name.begin(), p.name.end());
    v.bytes("event", name, 255);
    p.name.assign(name.begin(), name.end());
    v.field("when", p.when, static_cast<int>(i));
    v.field("payload", p.payload, static_cast<int>(i));
    v.field("event_seq", p.seq, static_cast<int>(i));
    v.check(p.when != kNever, "when", "is 'never' for a pending event");
    v.check(p.seq < seq, "event_seq", "is not below the sequence counter");
  }
  v.end();
  if (!v.loading()) return;
  for (size_t i = 0; i < count; i++)
    for (size_t k = 0; k < i; k++) v.check(events[i].name != events[k].name, "event", "'" + events[i].name + "' is pending twice");
  if (!restore(now, events)) {
    for (const Pending& p : events) {
      bool known = false;
      for (const Event& e : m_events) known |= e.name == p.name;
      v.check(known, "event", "'" + p.name + "' is not an event of this machine");
    }
  }
  m_seq = seq;
}

}  // namespace rv
