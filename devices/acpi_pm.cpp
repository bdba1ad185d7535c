#include "devices/acpi_pm.h"
#include "memory/state_visitor.h"

#include "memory/log.h"

namespace rv {

AcpiPm::AcpiPm(Scheduler& sched, IrqLine sci, Config cfg, Fn on_power_off, Fn on_reset)
    : m_sched(sched), m_sci(sci), m_cfg(cfg), m_on_power_off(std::move(on_power_off)), m_on_reset(std::move(on_reset)) {
  m_tmr_event = m_sched.register_event("acpi_pm.tmr", [this](u64, Nanos) {
    update_sci();
    schedule_tmr();
  });
  reset();
}

void AcpiPm::reset() {
  m_s = State{};
  m_s.tmr_msb_flips_seen = msb_flips();
  m_sched.cancel(m_tmr_event);
  update_sci();
}

void AcpiPm::load(const State& s) {
  m_s = s;
  update_sci();
}

u64 AcpiPm::ticks() const {
  return static_cast<u64>((unsigned __int128)m_sched.now() * kTimerHz / kNsPerSec);
}

u32 AcpiPm::timer() const {
  u64 t = ticks();
  return m_cfg.timer_32bit ? static_cast<u32>(t) : static_cast<u32>(t & 0xFFFFFF);
}

// The MSB of the counter changes every 2^23 (2^31) ticks.
u64 AcpiPm::msb_flips() const { return ticks() >> (m_cfg.timer_32bit ? 31 : 23); }

u16 AcpiPm::pm1_status() const {
  return static_cast<u16>(m_s.sts | (msb_flips() > m_s.tmr_msb_flips_seen ? kTmrSts : 0));
}

void AcpiPm::press_power_button() {
  m_s.sts |= kPwrBtnSts;
  update_sci();
}

void AcpiPm::update_sci() {
  bool level = (m_s.cnt & kSciEn) && (pm1_status() & m_s.en & kEnWritable);
  if (level != m_sci.level()) m_sci.set(level);
}

void AcpiPm::schedule_tmr() {
  // Only an enabled TMR_STS needs an event; otherwise the bit is computed when read.
  if (!(m_s.en & kTmrSts) || (pm1_status() & kTmrSts)) {
    m_sched.cancel(m_tmr_event);
    return;
  }
  u64 next_flip_tick = (m_s.tmr_msb_flips_seen + 1) << (m_cfg.timer_32bit ? 31 : 23);
  unsigned __int128 ns = ((unsigned __int128)next_flip_tick * kNsPerSec + kTimerHz - 1) / kTimerHz;
  m_sched.schedule_at(m_tmr_event, static_cast<Nanos>(ns));
}

u8 AcpiPm::read_byte(u16 offset) const {
  switch (offset) {
    case 0: case 1: return static_cast<u8>(pm1_status() >> (8 * offset));
    case 2: case 3: return static_cast<u8>(m_s.en >> (8 * (offset - 2)));
    case 4: case 5: return static_cast<u8>(m_s.cnt >> (8 * (offset - 4)));   // SLP_EN, GBL_RLS read 0
    case 8: case 9: case 10: case 11: return static_cast<u8>(timer() >> (8 * (offset - 8)));
  }
  return 0xFF;
}

u32 AcpiPm::io_read(u16 offset, unsigned size) {
  u32 v = 0;
  for (unsigned i = 0; i < size; i++) v |= u32(read_byte(static_cast<u16>(offset + i))) << (8 * i);
  return v;
}

void AcpiPm::io_write(u16 offset, u32 value, unsigned size) { write_bytes(offset, value, size); }

void AcpiPm::write_bytes(u16 offset, u32 value, unsigned size) {
  // Assemble each 16-bit register's written bytes, so a 32-bit write to offset 0 updates
  // PM1_STS and PM1_EN together (PM1_EVT_LEN = 4) and a byte write touches one half.
  for (u16 reg = 0; reg < 8; reg += 2) {
    u16 v = 0, mask = 0;
    for (unsigned i = 0; i < size; i++) {
      unsigned at = offset + i;
      if (at == reg || at == reg + 1u) {
        v |= static_cast<u16>(((value >> (8 * i)) & 0xFF) << (8 * (at - reg)));
        mask |= static_cast<u16>(0xFF << (8 * (at - reg)));
      }
    }
    if (!mask) continue;
    if (reg == kRegSts) {
      u16 clear = v & mask & kStsWritable;
      m_s.sts &= ~clear;
      if (clear & kTmrSts) m_s.tmr_msb_flips_seen = msb_flips();
    } else if (reg == kRegEn) {
      m_s.en = static_cast<u16>((m_s.en & ~mask) | (v & mask)) & kEnWritable;
    } else if (reg == kRegCnt) {
      u16 cnt = static_cast<u16>((m_s.cnt & ~mask) | (v & mask));
      if (cnt & kGblRls) RV_UNIMPLEMENTED("ACPI global lock release (GBL_RLS): no firmware to signal");
      m_s.cnt = cnt & (kSciEn | kBmRld | (7u << kSlpTypShift));
      if (cnt & kSlpEn) {
        unsigned typ = (cnt >> kSlpTypShift) & 7;
        if (typ == m_cfg.s5_slp_typ) {
          if (m_on_power_off) m_on_power_off();
        } else if (m_on_sleep) {
          m_on_sleep(typ);
        } else {
          RV_UNIMPLEMENTED("ACPI sleep with SLP_TYP %u (only S5, SLP_TYP %u, is emulated)", typ, unsigned(m_cfg.s5_slp_typ));
        }
      }
    }
  }
  update_sci();
  schedule_tmr();
}

void AcpiPm::ResetRegister::io_write(u16 offset, u32 value, unsigned size) {
  if ((value & 0xFF) == m_pm.m_cfg.reset_value && m_pm.m_on_reset) m_pm.m_on_reset();
}

void AcpiPm::visit(StateVisitor& v) {
  State s = m_s;
  v.begin("acpi_pm", 1);
  v.field("sts", s.sts);
  v.field("en", s.en);
  v.field("cnt", s.cnt);
  v.field("tmr_msb_flips_seen", s.tmr_msb_flips_seen);
  v.end();
  if (v.loading()) load(s);
}

}  // namespace rv
