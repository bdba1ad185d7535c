#include "devices/pit8254.h"
#include "memory/state_visitor.h"

#include <algorithm>

#include "memory/log.h"

namespace rv {

namespace {
constexpr u64 kNeverTick = ~0ull;
// Control word (8254 datasheet, "Control Word Format"): SC1 SC0 RW1 RW0 M2 M1 M0 BCD.
constexpr u8 kReadBack = 3;                // SC = 11
constexpr u8 kRbNoCount = 0x20, kRbNoStatus = 0x10;

u16 to_bcd(u32 v) {
  v %= 10000;
  return static_cast<u16>((v / 1000) << 12 | ((v / 100) % 10) << 8 | ((v / 10) % 10) << 4 | (v % 10));
}
}  // namespace

Pit8254::Pit8254(Scheduler& sched, IrqLine irq0) : m_sched(sched), m_irq(irq0) {
  // The board may run the scheduler past several deadlines at once: each occurrence is
  // evaluated at the time it was due (now - late), so no output edge is lost.
  m_event = m_sched.register_event("pit.out0", [this](u64, Nanos late) {
    m_event_time = m_sched.now() - late;
    refresh_irq();
    m_event_time = kNever;
  });
  reset();
}

void Pit8254::reset() {
  m_s = State{};
  m_s.ch[2].gate = false;   // on a PC, port 0x61 bit 0 (0 at reset)
  m_sched.cancel(m_event);
  m_irq.set(false);
}

u64 Pit8254::tick_now() const {
  Nanos now = m_event_time != kNever ? m_event_time : m_sched.now();
  return static_cast<u64>(static_cast<unsigned __int128>(now) * kClockHz / kNsPerSec);
}

// The first nanosecond at which tick_now() reaches `tick`.
Nanos Pit8254::ns_of_tick(u64 tick) {
  unsigned __int128 num = static_cast<unsigned __int128>(tick) * kNsPerSec;
  unsigned __int128 ns = (num + kClockHz - 1) / kClockHz;
  return ns > kNever - 1 ? kNever - 1 : static_cast<Nanos>(ns);
}

// The count register as a count: 0 means the largest count, 65536 (binary) or 10000 (BCD).
u32 Pit8254::decode(const Channel& c) const {
  if (!c.bcd) return c.cr ? c.cr : 65536;
  u32 v = 0;
  for (int shift = 12; shift >= 0; shift -= 4) v = v * 10 + std::min<u32>((c.cr >> shift) & 0xF, 9);
  return v ? v : 10000;
}

void Pit8254::normalize(Channel& c, u64 t) {
  if (c.has_next && t >= c.next_tick) {
    c.n = c.next_n;
    c.start_tick = c.load_tick = c.next_tick;
    c.elapsed_base = 0;
    c.has_next = false;
  }
}

u64 Pit8254::elapsed(const Channel& c, u64 t) const {
  if (!c.running || t < c.start_tick) return c.elapsed_base;
  return c.elapsed_base + (t - c.start_tick);
}

bool Pit8254::out_at(const Channel& c, u64 t) const {
  if (!c.armed) return c.mode != 0;   // after the control word: mode 0 low, others high
  u64 e = elapsed(c, t);
  bool loaded = t >= c.load_tick;
  switch (c.mode) {
    case 0: return loaded && e >= c.n;                       // high at terminal count
    case 1: return !(c.triggered && loaded) || e >= c.n;     // low from trigger to TC
    case 4:
    case 5: return !(loaded && (c.mode == 4 || c.triggered) && e == c.n);   // one-clock strobe
    case 2:
      if (!c.running || !loaded) return true;
      return (e % c.n) != c.n - 1;                          // low for the clock at count 1
    default:  // 3
      if (!c.running || !loaded) return true;
      return (e % c.n) < (c.n + 1) / 2;
  }
}

u32 Pit8254::ce_at(const Channel& c, u64 t) const {
  if (!c.armed || t < c.load_tick) return c.n % (c.bcd ? 10000 : 65536);
  u32 m = c.bcd ? 10000 : 65536;
  u64 e = elapsed(c, t);
  switch (c.mode) {
    case 2: return static_cast<u32>(c.n - e % c.n) % m;
    case 3: {
      u32 half = (c.n + 1) / 2;
      u32 phase = static_cast<u32>(e % c.n);
      u32 top = c.n & ~1u;
      return (phase < half ? top - 2 * phase : top - 2 * (phase - half)) % m;
    }
    default:   // 0, 1, 4, 5: count down, wrapping past zero
      return static_cast<u32>((c.n + m - e % m) % m);
  }
}

// The first tick after t at which OUT changes, or kNeverTick.
u64 Pit8254::next_change(const Channel& c, u64 t) const {
  u64 best = c.has_next ? c.next_tick : kNeverTick;
  if (!c.armed || !c.running) return best;
  u64 e = elapsed(c, t);
  auto tick_for = [&](u64 k) { return c.start_tick + (k - c.elapsed_base); };   // elapsed == k
  u64 k = kNeverTick;
  switch (c.mode) {
    case 0:
    case 1:
      if (c.mode == 1 && !c.triggered) break;
      if (e < c.n) k = c.n;
      break;
    case 4:
    case 5:
      if (c.mode == 5 && !c.triggered) break;
      if (e < c.n) k = c.n;
      else if (e == c.n) k = c.n + 1;
      break;
    case 2: {
      if (c.n < 2) break;
      u64 phase = e % c.n;
      k = phase < c.n - 1 ? e + (c.n - 1 - phase) : e + 1;
      break;
    }
    default: {   // 3
      if (c.n < 2) break;
      u64 half = (c.n + 1) / 2, phase = e % c.n;
      k = phase < half ? e + (half - phase) : e + (c.n - phase);
      break;
    }
  }
  if (k != kNeverTick) {
    u64 at = tick_for(k);
    if (at <= t) at = t + 1;
    best = std::min(best, at);
  }
  return best;
}

void Pit8254::refresh_irq() {
  u64 t = tick_now();
  Channel& c = m_s.ch[0];
  normalize(c, t);
  bool level = out_at(c, t);
  if (level != m_s.irq_level) {
    m_s.irq_level = level;
    m_irq.set(level);
  }
  u64 next = next_change(c, t);
  if (next == kNeverTick) m_sched.cancel(m_event);
  else m_sched.schedule_at(m_event, ns_of_tick(next));
}

// A count written to the count register reaches the counting element on the next clock
// (datasheet, "Counter Loading"); modes 1 and 5 wait for a gate trigger.
void Pit8254::load_count(Channel& c, u64 t) {
  u32 n = decode(c);
  bool was_counting = c.armed && c.running && t >= c.load_tick;
  c.armed = true;
  switch (c.mode) {
    case 1:
    case 5:
      c.load_tick = kNeverTick;   // null count until the next trigger
      if (!c.triggered) c.n = n;
      break;
    case 2:
    case 3:
      if (was_counting && c.n >= 2) {
        u64 e = elapsed(c, t);
        c.has_next = true;
        c.next_n = n;
        c.next_tick = c.start_tick + (e - c.elapsed_base) + (c.n - e % c.n);
        break;
      }
      [[fallthrough]];
    default:
      c.n = n;
      c.start_tick = c.load_tick = t + 1;
      c.elapsed_base = 0;
      c.running = c.gate;
      c.has_next = false;
      break;
  }
}

void Pit8254::set_gate(unsigned channel, bool level) {
  if (channel > 2) return;
  Channel& c = m_s.ch[channel];
  u64 t = tick_now();
  normalize(c, t);
  bool rising = level && !c.gate;
  bool falling = !level && c.gate;
  c.gate = level;
  if (c.armed) {
    switch (c.mode) {
      case 0:
      case 4:   // gate low suspends counting
        if (falling) {
          c.elapsed_base = elapsed(c, t);
          c.running = false;
        } else if (rising) {
          c.start_tick = std::max(t, c.load_tick == kNeverTick ? t : c.load_tick);
          c.running = true;
        }
        break;
      case 1:
      case 5:   // a rising edge (re)triggers: load the count on the next clock
        if (rising) {
          c.n = decode(c);
          c.triggered = true;
          c.start_tick = c.load_tick = t + 1;
          c.elapsed_base = 0;
          c.running = true;
        }
        break;
      default:  // 2, 3: low stops counting and forces OUT high; a rising edge reloads
        if (falling) {
          c.elapsed_base = elapsed(c, t);
          c.running = false;
        } else if (rising) {
          if (c.has_next) c.n = c.next_n;
          c.has_next = false;
          c.start_tick = c.load_tick = t + 1;
          c.elapsed_base = 0;
          c.running = true;
        }
        break;
    }
  }
  if (channel == 0) refresh_irq();
}

bool Pit8254::out(unsigned channel) {
  Channel& c = m_s.ch[channel % 3];
  u64 t = tick_now();
  normalize(c, t);
  return out_at(c, t);
}

u16 Pit8254::reported_count(const Channel& c, u64 t) const {
  u32 v = ce_at(c, t);
  return c.bcd ? to_bcd(v) : static_cast<u16>(v);
}

u16 Pit8254::count(unsigned channel) {
  Channel& c = m_s.ch[channel % 3];
  u64 t = tick_now();
  normalize(c, t);
  return reported_count(c, t);
}

// Status byte (datasheet, "Read-Back Command", status format): OUT, NULL COUNT, RW1 RW0,
// M2 M1 M0, BCD.
u8 Pit8254::status_of(unsigned channel, u64 t) {
  Channel& c = m_s.ch[channel];
  normalize(c, t);
  bool null_count = !c.armed || t < c.load_tick || c.has_next;
  return static_cast<u8>((out_at(c, t) ? 0x80 : 0) | (null_count ? 0x40 : 0) | (c.rw << 4) | (c.mode << 1) |
                         (c.bcd ? 1 : 0));
}

void Pit8254::write_control(u8 v) {
  unsigned sc = v >> 6;
  u64 t = tick_now();
  if (sc == kReadBack) {
    for (unsigned i = 0; i < 3; i++) {
      if (!(v & (2u << i))) continue;
      Channel& c = m_s.ch[i];
      normalize(c, t);
      // A second latch before the first is read is ignored (datasheet, "Read-Back Command").
      if (!(v & kRbNoStatus) && !c.status_latched) {
        c.status = status_of(i, t);
        c.status_latched = true;
      }
      if (!(v & kRbNoCount) && !c.count_latched) {
        c.latch = reported_count(c, t);
        c.count_latched = true;
        c.latch_msb_next = c.rw == 2;
      }
    }
    return;
  }
  Channel& c = m_s.ch[sc];
  normalize(c, t);
  unsigned rw = (v >> 4) & 3;
  if (rw == 0) {   // counter latch command
    if (!c.count_latched) {
      c.latch = reported_count(c, t);
      c.count_latched = true;
      c.latch_msb_next = c.rw == 2;
    }
    return;
  }
  unsigned mode = (v >> 1) & 7;
  if (mode >= 6) mode -= 4;   // x11 = modes 2 and 3
  Channel fresh;
  fresh.gate = c.gate;
  fresh.rw = static_cast<u8>(rw);
  fresh.mode = static_cast<u8>(mode);
  fresh.bcd = v & 1;
  c = fresh;
  if (sc == 0) refresh_irq();
}

u32 Pit8254::io_read(u16 offset, unsigned size) {
  if (offset >= 3) return 0xFF;   // the control register is write-only
  Channel& c = m_s.ch[offset];
  if (c.status_latched) {
    c.status_latched = false;
    return c.status;
  }
  u16 value;
  bool* msb_next;
  if (c.count_latched) {
    value = c.latch;
    msb_next = &c.latch_msb_next;
  } else {
    u64 t = tick_now();
    normalize(c, t);
    value = reported_count(c, t);
    msb_next = &c.read_msb_next;
  }
  u8 byte;
  bool done = true;
  switch (c.rw) {
    case 1: byte = static_cast<u8>(value); break;
    case 2: byte = static_cast<u8>(value >> 8); break;
    default:
      byte = *msb_next ? static_cast<u8>(value >> 8) : static_cast<u8>(value);
      done = *msb_next;
      *msb_next = !*msb_next;
      break;
  }
  if (c.count_latched && done) c.count_latched = false;
  return byte;
}

void Pit8254::io_write(u16 offset, u32 value, unsigned size) {
  u8 v = static_cast<u8>(value);
  if (offset >= 3) {
    write_control(v);
    return;
  }
  Channel& c = m_s.ch[offset];
  u64 t = tick_now();
  normalize(c, t);
  switch (c.rw) {
    case 1: c.cr = v; break;
    case 2: c.cr = static_cast<u16>(v << 8); break;
    default:
      if (!c.write_msb_next) {
        c.cr = static_cast<u16>((c.cr & 0xFF00) | v);
        c.write_msb_next = true;
        // Mode 0: writing the first byte stops the count and drives OUT low (datasheet,
        // mode 0); the second byte loads the new count.
        if (c.mode == 0 && c.armed) {
          c.elapsed_base = 0;
          c.running = false;
          c.load_tick = kNeverTick;
          if (offset == 0) refresh_irq();
        }
        return;
      }
      c.cr = static_cast<u16>((c.cr & 0x00FF) | (v << 8));
      c.write_msb_next = false;
      break;
  }
  load_count(c, t);
  if (offset == 0) refresh_irq();
}

void Pit8254::load(const State& s) {
  // The clock already reads the state's time (a device on its own, a test): the next change
  // of OUT0 is derived from it.
  m_s = s;
  m_irq.set(m_s.irq_level);
  refresh_irq();
}

// --- port 0x61 ---

u32 Port61::io_read(u16 offset, unsigned size) {
  u8 v = m_value & 0x0F;
  if ((m_sched.now() / kRefreshPeriod) & 1) v |= 0x10;
  if (m_pit.out(2)) v |= 0x20;
  return v;
}

void Port61::io_write(u16 offset, u32 value, unsigned size) {
  m_value = static_cast<u8>(value) & 0x0F;
  m_pit.set_gate(2, m_value & 1);
}

void Pit8254::visit(StateVisitor& v) {
  State s = m_s;
  v.begin("pit8254", 1);
  for (unsigned i = 0; i < 3; i++) {
    Channel& c = s.ch[i];
    const std::string_view name = i == 0 ? "ch0" : i == 1 ? "ch1" : "ch2";
    v.begin(name, 1);
    v.field("mode", c.mode);
    v.check(c.mode <= 5, "mode", "is above 5");
    v.field("rw", c.rw);
    v.check(c.rw >= 1 && c.rw <= 3, "rw", "is not 1, 2 or 3");
    v.field("bcd", c.bcd);
    v.field("cr", c.cr);
    v.field("write_msb_next", c.write_msb_next);
    v.field("read_msb_next", c.read_msb_next);
    v.field("count_latched", c.count_latched);
    v.field("latch_msb_next", c.latch_msb_next);
    v.field("latch", c.latch);
    v.field("status_latched", c.status_latched);
    v.field("status", c.status);
    v.field("gate", c.gate);
    v.field("armed", c.armed);
    v.field("triggered", c.triggered);
    v.field("running", c.running);
    v.field("n", c.n);
    v.check(c.n <= 0x10000, "n", "is above 65536");
    v.field("start_tick", c.start_tick);
    v.field("elapsed_base", c.elapsed_base);
    v.field("load_tick", c.load_tick);
    v.field("has_next", c.has_next);
    v.field("next_n", c.next_n);
    v.check(c.next_n <= 0x10000, "next_n", "is above 65536");
    v.field("next_tick", c.next_tick);
    v.end();
  }
  v.field("irq_level", s.irq_level);
  v.end();
  // A machine's load: the saved level as it was; the output's next change is among the
  // scheduler's pending events, which the board loads after the devices. Nothing here reads
  // the clock: during a load it still holds the time of the state being replaced.
  if (v.loading()) {
    m_s = s;
    m_irq.set(m_s.irq_level);
  }
}

void Port61::visit(StateVisitor& v) {
  v.begin("port61", 1);
  v.field("value", m_value);
  v.end();
}

}  // namespace rv
