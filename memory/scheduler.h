// Scheduler: the one owner of virtual time (DESIGN.md decision 7, STYLE.md guideline 10).
//
// Time is a u64 count of nanoseconds since power-on. Devices never read a host clock: they
// register named events once, then schedule them at absolute or relative times; the board
// runs the CPU until the next deadline (next_deadline()) and calls run_due() with the new
// time. Events are ordered by (time, order of scheduling), so two runs with the same inputs
// fire the same callbacks in the same order. A payload is a plain u64 (no pointers), so the
// pending events are data that a snapshot can save (pending()).
//
// Where the time comes from is the board's choice: in deterministic mode it is derived from
// the executed instruction count; in realtime mode from the host clock (frontends/ only).
#pragma once
#include <algorithm>
#include <functional>
#include <string>
#include <vector>

#include "memory/types.h"

namespace rv {

class StateVisitor;

using Nanos = u64;
constexpr Nanos kNever = ~0ull;
constexpr Nanos kNsPerSec = 1'000'000'000ull;

class Scheduler {
 public:
  using EventId = u32;
  // `late` = how far past its deadline the event fired (0 when the board hit it exactly).
  using Callback = std::function<void(u64 payload, Nanos late)>;

  EventId register_event(std::string name, Callback cb);
  const std::string& event_name(EventId id) const { return m_events[id].name; }

  // An event has at most one pending occurrence: scheduling it again replaces the old one.
  void schedule_at(EventId id, Nanos when, u64 payload = 0);
  void schedule_in(EventId id, Nanos delta, u64 payload = 0) { schedule_at(id, now() + delta, payload); }
  void cancel(EventId id);
  bool pending(EventId id) const { return m_events[id].when != kNever; }
  Nanos deadline(EventId id) const { return m_events[id].when; }

  // The current time. With a time source (the board's clock: e.g. derived from the CPU's
  // instruction count) it is read live, so a device accessed in the middle of a CPU slice
  // sees the exact time; without one it is the time of the last run_until().
  Nanos now() const { return m_source ? std::max(m_now, m_source()) : m_now; }
  void set_time_source(std::function<Nanos()> source) { m_source = std::move(source); }
  // Called when an event is scheduled earlier than every pending one, so the board can end
  // a CPU slice that would run past the new deadline.
  void set_deadline_listener(std::function<void(Nanos)> fn) { m_on_earlier_deadline = std::move(fn); }
  Nanos next_deadline() const;   // kNever when nothing is pending
  // Advances time to `now` (never backwards) and fires every event due by then, in order.
  // A callback may schedule or cancel events, including ones due at or before `now`.
  void run_until(Nanos now);

  // Pending events as data, ordered by (time, sequence): for snapshots and state hashing.
  struct Pending {
    std::string name;
    Nanos when;
    u64 payload;
    u64 seq;
    bool operator==(const Pending&) const = default;
  };
  std::vector<Pending> pending() const;
  // Restores time and pending events saved by pending(); names must be registered already.
  // Returns false (and changes nothing) if a name is unknown.
  bool restore(Nanos now, const std::vector<Pending>& events);
  // The time, the sequence counter and the pending events (memory/state_visitor.h). Loading
  // restores them exactly, replacing whatever the devices' own loads scheduled: the saved
  // order of simultaneous events is kept.
  void visit(StateVisitor& v);

 private:
  struct Event {
    std::string name;
    Callback cb;
    Nanos when = kNever;
    u64 payload = 0;
    u64 seq = 0;
  };
  EventId earliest() const;   // pending event with the smallest (when, seq); ~0u if none

  std::vector<Event> m_events;
  std::function<Nanos()> m_source;
  std::function<void(Nanos)> m_on_earlier_deadline;
  Nanos m_now = 0;
  u64 m_seq = 0;
};

}  // namespace rv
