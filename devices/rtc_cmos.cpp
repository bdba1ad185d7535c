#include "devices/rtc_cmos.h"
#include "memory/state_visitor.h"

#include <algorithm>

#include "memory/log.h"

namespace rv {

namespace {
constexpr u64 kDividerHz = 32768;
constexpr u8 kDvNormal = 2;   // register A DV2-0 = 010: 32.768 kHz time base, running

u64 t32(Nanos ns) { return static_cast<u64>(static_cast<unsigned __int128>(ns) * kDividerHz / kNsPerSec); }
Nanos ns_of_t32(u64 t) {
  return static_cast<Nanos>((static_cast<unsigned __int128>(t) * kNsPerSec + kDividerHz - 1) / kDividerHz);
}
i64 floor_div(i64 a, i64 b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }
}  // namespace

// Howard Hinnant's days_from_civil / civil_from_days (public domain formulas).
i64 RtcCmos::days_from_civil(i64 y, unsigned m, unsigned d) {
  y -= m <= 2;
  i64 era = floor_div(y, 400);
  i64 yoe = y - era * 400;
  i64 doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  i64 doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

void RtcCmos::civil_from_days(i64 days, i64& y, unsigned& m, unsigned& d) {
  i64 z = days + 719468;
  i64 era = floor_div(z, 146097);
  i64 doe = z - era * 146097;
  i64 yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  i64 doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  i64 mp = (5 * doy + 2) / 153;
  d = static_cast<unsigned>(doy - (153 * mp + 2) / 5 + 1);
  m = static_cast<unsigned>(mp < 10 ? mp + 3 : mp - 9);
  y = yoe + era * 400 + (m <= 2);
}

RtcCmos::RtcCmos(Scheduler& sched, IrqLine irq8, i64 base_unix_seconds) : m_sched(sched), m_irq(irq8) {
  // Each occurrence runs at the time it was due (now - late), so a board that runs the
  // scheduler past several deadlines at once loses no update or periodic flag.
  m_update_event = m_sched.register_event("rtc.update", [this](u64, Nanos late) {
    m_event_time = m_sched.now() - late;
    update_tick();
    m_event_time = kNever;
  });
  m_periodic_event = m_sched.register_event("rtc.periodic", [this](u64, Nanos late) {
    m_event_time = m_sched.now() - late;
    periodic_tick();
    m_event_time = kNever;
  });
  Nanos now = this->now();
  m_s.seconds = base_unix_seconds + static_cast<i64>(now / kNsPerSec);
  m_s.phase_ref = now - now % kNsPerSec;
  m_s.cmos[kRegA] = 0x26;             // 32.768 kHz, 1024 Hz periodic rate (PC BIOS default)
  m_s.cmos[kRegB] = kB24h;            // BCD, 24-hour (PC BIOS default)
  m_s.cmos[kRegD] = kDVrt;
  fill_time_regs();
  reset();
}

// RESET pin (datasheet "RESET"): clears PIE, AIE, UIE, SQWE and IRQF/PF/AF/UF; the time,
// the alarm, DM, 24/12 and the RAM are unaffected.
void RtcCmos::reset() {
  m_s.cmos[kRegB] &= static_cast<u8>(~(kBPie | kBAie | kBUie | kBSqwe));
  m_s.cmos[kRegC] = 0;
  m_s.pf_since = now();
  m_s.irq_level = false;
  m_irq.set(false);
  schedule_update();
  schedule_periodic();
}

bool RtcCmos::running() const {
  unsigned dv = (m_s.cmos[kRegA] >> 4) & 7;
  return !(m_s.cmos[kRegB] & kBSet) && dv != 6 && dv != 7;
}

u8 RtcCmos::to_reg(unsigned v) const {
  return (m_s.cmos[kRegB] & kBDm) ? static_cast<u8>(v) : static_cast<u8>((v / 10) << 4 | (v % 10));
}

unsigned RtcCmos::from_reg(u8 r) const {
  return (m_s.cmos[kRegB] & kBDm) ? r : (r >> 4) * 10 + (r & 0xF);
}

// The clock now: the anchor plus whole seconds since phase_ref.
static i64 current_seconds(const RtcCmos::State& s, Nanos now) {
  return s.seconds + static_cast<i64>(now >= s.phase_ref ? (now - s.phase_ref) / kNsPerSec : 0);
}

i64 RtcCmos::unix_time() const { return current_seconds(m_s, now()); }

void RtcCmos::fill_time_regs() {
  i64 t = current_seconds(m_s, now());
  i64 days = floor_div(t, 86400);
  i64 sod = t - days * 86400;
  i64 y;
  unsigned mon, day;
  civil_from_days(days, y, mon, day);
  unsigned hour = static_cast<unsigned>(sod / 3600);
  m_s.cmos[kSeconds] = to_reg(static_cast<unsigned>(sod % 60));
  m_s.cmos[kMinutes] = to_reg(static_cast<unsigned>(sod / 60 % 60));
  if (m_s.cmos[kRegB] & kB24h) {
    m_s.cmos[kHours] = to_reg(hour);
  } else {   // 12-hour: 1-12, bit 7 = PM (datasheet, "Time, Calendar and Alarm Data Modes")
    unsigned h12 = hour % 12 ? hour % 12 : 12;
    m_s.cmos[kHours] = static_cast<u8>(to_reg(h12) | (hour >= 12 ? 0x80 : 0));
  }
  m_s.cmos[kDayOfWeek] = to_reg(static_cast<unsigned>((days % 7 + 11) % 7) + 1);   // 1 = Sunday
  m_s.cmos[kDayOfMonth] = to_reg(day);
  m_s.cmos[kMonth] = to_reg(mon);
  u64 year = static_cast<u64>(std::clamp<i64>(y, 0, 9999));
  m_s.cmos[kYear] = to_reg(static_cast<unsigned>(year % 100));
  m_s.cmos[kCentury] = to_reg(static_cast<unsigned>(year / 100));
}

void RtcCmos::parse_time_regs() {
  unsigned sec = std::min(from_reg(m_s.cmos[kSeconds]), 59u);
  unsigned min = std::min(from_reg(m_s.cmos[kMinutes]), 59u);
  u8 hr = m_s.cmos[kHours];
  unsigned hour;
  if (m_s.cmos[kRegB] & kB24h) hour = from_reg(hr);
  else hour = from_reg(hr & 0x7F) % 12 + ((hr & 0x80) ? 12 : 0);
  hour = std::min(hour, 23u);
  unsigned day = std::clamp(from_reg(m_s.cmos[kDayOfMonth]), 1u, 31u);
  unsigned mon = std::clamp(from_reg(m_s.cmos[kMonth]), 1u, 12u);
  unsigned century = from_reg(m_s.cmos[kCentury]);
  if (century < 19 || century > 99) century = 20;
  i64 year = century * 100 + from_reg(m_s.cmos[kYear]) % 100;
  m_s.seconds = days_from_civil(year, mon, day) * 86400 + hour * 3600 + min * 60 + sec;
}

u64 RtcCmos::periodic_ticks() const {
  unsigned rs = m_s.cmos[kRegA] & 0xF;
  if (rs == 0) return 0;
  if (rs <= 2) rs += 7;   // datasheet table: RS=1, 2 give the same rates as 8, 9
  return 1ull << (rs - 1);
}

// The next update is the first second boundary after now. Called only when the update
// fires or the phase changes, so a due update is never pushed back.
void RtcCmos::schedule_update() {
  Nanos t = now();
  if (running()) {
    Nanos since = t >= m_s.phase_ref ? t - m_s.phase_ref : 0;
    m_sched.schedule_at(m_update_event, m_s.phase_ref + (since / kNsPerSec + 1) * kNsPerSec);
  } else {
    m_sched.cancel(m_update_event);
  }
}

void RtcCmos::schedule_periodic() {
  Nanos now = this->now();
  unsigned dv = (m_s.cmos[kRegA] >> 4) & 7;
  u64 p = periodic_ticks();
  if ((m_s.cmos[kRegB] & kBPie) && p && dv != 6 && dv != 7)
    m_sched.schedule_at(m_periodic_event, ns_of_t32((t32(now) / p + 1) * p));
  else
    m_sched.cancel(m_periodic_event);
}

void RtcCmos::update_irq() {
  bool irqf = (m_s.cmos[kRegC] & m_s.cmos[kRegB] & (kCPf | kCAf | kCUf)) != 0;
  if (irqf) m_s.cmos[kRegC] |= kCIrqf;
  if (irqf != m_s.irq_level) {
    m_s.irq_level = irqf;
    m_irq.set(irqf);
  }
}

void RtcCmos::update_tick() {
  fill_time_regs();
  m_s.cmos[kRegC] |= kCUf;
  // Alarm: each alarm byte matches its time byte, or is a "don't care" code 0xC0-0xFF.
  bool match = true;
  for (u8 i : {kSeconds, kMinutes, kHours}) {
    u8 a = m_s.cmos[i + 1];
    if ((a & 0xC0) != 0xC0 && a != m_s.cmos[i]) match = false;
  }
  if (match) m_s.cmos[kRegC] |= kCAf;
  update_irq();
  schedule_update();
}

void RtcCmos::periodic_tick() {
  m_s.cmos[kRegC] |= kCPf;
  m_s.pf_since = now();
  update_irq();
  schedule_periodic();
}

u8 RtcCmos::read_reg(u8 index) {
  Nanos now = this->now();
  switch (index) {
    case kRegA: {
      u8 v = m_s.cmos[kRegA] & 0x7F;
      if (running()) {
        Nanos since = now >= m_s.phase_ref ? now - m_s.phase_ref : 0;
        Nanos to_next = kNsPerSec - since % kNsPerSec;
        if (to_next <= kUipWindow) v |= kAUip;
      }
      return v;
    }
    case kRegC: {
      unsigned dv = (m_s.cmos[kRegA] >> 4) & 7;
      u64 p = periodic_ticks();
      if (p && dv != 6 && dv != 7 && t32(now) / p > t32(m_s.pf_since) / p) m_s.cmos[kRegC] |= kCPf;
      u8 v = m_s.cmos[kRegC];
      if (v & m_s.cmos[kRegB] & (kCPf | kCAf | kCUf)) v |= kCIrqf;
      m_s.cmos[kRegC] = 0;   // read-to-clear (datasheet "Register C")
      m_s.pf_since = now;
      update_irq();
      return v;
    }
    case kRegD: return kDVrt;
    default: return m_s.cmos[index];
  }
}

void RtcCmos::write_reg(u8 index, u8 v) {
  bool was_running = running();
  Nanos now = this->now();
  switch (index) {
    case kRegA: {
      if (was_running) fill_time_regs();
      m_s.cmos[kRegA] = v & 0x7F;
      unsigned dv = (v >> 4) & 7;
      if (dv != kDvNormal && dv != 6 && dv != 7)
        RV_UNIMPLEMENTED("MC146818 time base DV=%u (only 32.768 kHz); runs as 32.768 kHz", dv);
      m_s.pf_since = now;
      break;
    }
    case kRegB: {
      if (was_running) fill_time_regs();
      if (v & kBSet) v &= static_cast<u8>(~kBUie);   // datasheet: SET=1 clears UIE
      if (v & kBDse) RV_UNIMPLEMENTED("MC146818 daylight saving (DSE); ignored");
      u8 old = m_s.cmos[kRegB];
      if (!(old & kBSet) && ((old ^ v) & (kBDm | kB24h))) {
        m_s.cmos[kRegB] = v;
        fill_time_regs();   // show the running time in the new format
      }
      m_s.cmos[kRegB] = v;
      break;
    }
    case kRegC:
    case kRegD: return;   // read-only
    case kSecondsAlarm:
    case kMinutesAlarm:
    case kHoursAlarm: m_s.cmos[index] = v; return;
    default:
      m_s.cmos[index] = v;
      if (index <= kYear || index == kCentury) {
        if (was_running) {   // time written while the clock runs: takes effect at once
          parse_time_regs();
          Nanos since = now >= m_s.phase_ref ? now - m_s.phase_ref : 0;
          m_s.phase_ref += since / kNsPerSec * kNsPerSec;
          fill_time_regs();
        }
      }
      return;
  }
  bool is_running = running();
  if (!was_running && is_running) {   // SET cleared or divider out of reset: restart
    parse_time_regs();
    m_s.phase_ref = now;
  }
  if (was_running != is_running) schedule_update();
  update_irq();
  schedule_periodic();
}

u32 RtcCmos::io_read(u16 offset, unsigned size) {
  if (offset == 0) return 0xFF;   // the index register is write-only
  return read_reg(m_s.index);
}

void RtcCmos::io_write(u16 offset, u32 value, unsigned size) {
  u8 v = static_cast<u8>(value);
  if (offset == 0) {
    m_s.index = v & 0x7F;
    m_s.nmi_masked = v & 0x80;
    return;
  }
  write_reg(m_s.index, v);
}

void RtcCmos::update_checksum() {
  unsigned sum = 0;
  for (unsigned i = 0x10; i <= 0x2D; i++) sum += m_s.cmos[i];
  m_s.cmos[0x2E] = static_cast<u8>(sum >> 8);
  m_s.cmos[0x2F] = static_cast<u8>(sum);
}

void RtcCmos::set_byte(u8 index, u8 value) {
  index &= 0x7F;
  m_s.cmos[index] = value;
  if (index >= 0x10 && index <= 0x2D) update_checksum();
}

// IBM PC/AT CMOS map: 0x15/0x16 base memory in KiB; 0x17/0x18 and 0x30/0x31 memory above
// 1 MiB in KiB (capped at 0xFFFF); 0x34/0x35 memory above 16 MiB in 64 KiB units (the
// convention of SeaBIOS and Bochs); 0x5B-0x5D memory above 4 GiB in 64 KiB units.
void RtcCmos::set_memory_layout(u64 ram_below_4g, u64 ram_above_4g) {
  constexpr u64 kMiB = 1ull << 20;
  u64 base_kib = std::min<u64>(ram_below_4g, 640 * 1024) / 1024;
  u64 ext_kib = std::min<u64>(ram_below_4g > kMiB ? (ram_below_4g - kMiB) / 1024 : 0, 0xFFFF);
  u64 above16 = std::min<u64>(ram_below_4g > 16 * kMiB ? (ram_below_4g - 16 * kMiB) >> 16 : 0, 0xFFFF);
  u64 above4g = std::min<u64>(ram_above_4g >> 16, 0xFFFFFF);
  auto put16 = [&](u8 lo, u64 v) {
    m_s.cmos[lo] = static_cast<u8>(v);
    m_s.cmos[lo + 1] = static_cast<u8>(v >> 8);
  };
  put16(0x15, base_kib);
  put16(0x17, ext_kib);
  put16(0x30, ext_kib);
  put16(0x34, above16);
  m_s.cmos[0x5B] = static_cast<u8>(above4g);
  m_s.cmos[0x5C] = static_cast<u8>(above4g >> 8);
  m_s.cmos[0x5D] = static_cast<u8>(above4g >> 16);
  update_checksum();
}

void RtcCmos::load(const State& s) {
  m_s = s;
  m_irq.set(m_s.irq_level);
  schedule_update();
  schedule_periodic();
}

void RtcCmos::visit(StateVisitor& v) {
  State s = m_s;
  v.begin("rtc_cmos", 1);
  v.field("cmos", s.cmos);
  v.field("index", s.index);
  v.check(s.index < 128, "index", "is above 127");
  v.field("nmi_masked", s.nmi_masked);
  v.field("seconds", s.seconds);
  v.field("phase_ref", s.phase_ref);
  v.field("pf_since", s.pf_since);
  v.field("irq_level", s.irq_level);
  v.end();
  if (v.loading()) load(s);
}

}  // namespace rv
