// AcpiPm: the ACPI fixed-hardware power management registers of a PIIX4-style chipset: the
// PM1a event block (PM1_STS, PM1_EN), the PM1a control block (PM1_CNT), the power
// management timer (PM_TMR), and the reset register (ACPI spec 6.x §4.8.3 "PM1 Event
// Grouping", §4.8.3.2 "PM1 Control Grouping", §4.8.3.3 "Power Management Timer",
// §4.8.3.6 "Reset Register"; Intel 82371AB PIIX4 datasheet §11 for the layout).
//
// What it is, at offsets from the board's PM base (PMBA, the FADT's PM1a_EVT_BLK):
//   0x00 PM1_STS (16-bit, write 1 to clear): TMR_STS (0), BM_STS (4), GBL_STS (5),
//        PWRBTN_STS (8), SLPBTN_STS (9), RTC_STS (10), WAK_STS (15);
//   0x02 PM1_EN  (16-bit): TMR_EN (0), GBL_EN (5), PWRBTN_EN (8), SLPBTN_EN (9), RTC_EN (10);
//   0x04 PM1_CNT (16-bit, the FADT's PM1a_CNT_BLK = base + 4): SCI_EN (0), BM_RLD (1),
//        GBL_RLS (2, write only), SLP_TYP (12:10), SLP_EN (13, write only);
//   0x08 PM_TMR  (32-bit read only, the FADT's PM_TMR_BLK = base + 8): a 3.579545 MHz
//        up counter, 24 bits wide (or 32 with the FADT's TMR_VAL_EXT; a constructor choice).
// The reset register is a separate one-port device (reset_register()): the board maps it
// where the FADT's RESET_REG points, and a write of the FADT's RESET_VALUE calls on_reset.
// Wiring: the SCI IrqLine (IRQ 9 on a PIIX4: the 8259A input 9 and IOAPIC pin 9, level
// triggered, active high as the MADT's override says) is raised while any enabled status
// bit is set and SCI_EN is 1.
// Behaviour: SCI_EN is 1 from reset: the board's FADT has SMI_CMD = 0, so the OS finds the
// machine in ACPI mode already (ACPI spec §4.8.2.5). Writing SLP_EN with SLP_TYP equal to
// the S5 value given at construction (the DSDT's \_S5 package) calls on_power_off.
// TMR_STS is set each time bit 23 (bit 31) of the timer changes; it is computed from the
// scheduler's time when read, and an event runs only while TMR_EN is set, for the SCI.
// press_power_button() is the front panel button (the board's input for it).
// Not emulated: sleep states S1-S4 (logged; the write is otherwise ignored), the global
// lock (GBL_RLS/GBL_STS), bus master status, the RTC alarm wake status.
#pragma once
#include <functional>

#include "memory/io_bus.h"
#include "memory/irq_line.h"
#include "memory/scheduler.h"

namespace rv {

class StateVisitor;

class AcpiPm final : public PortDevice {
 public:
  static constexpr u16 kPortCount = 12;
  static constexpr u64 kTimerHz = 3'579'545;
  static constexpr u16 kRegSts = 0x00, kRegEn = 0x02, kRegCnt = 0x04, kRegTmr = 0x08;
  static constexpr u16 kTmrSts = 1u << 0, kBmSts = 1u << 4, kGblSts = 1u << 5, kPwrBtnSts = 1u << 8,
                       kSlpBtnSts = 1u << 9, kRtcSts = 1u << 10, kWakSts = 1u << 15;
  static constexpr u16 kStsWritable = kTmrSts | kBmSts | kGblSts | kPwrBtnSts | kSlpBtnSts | kRtcSts | kWakSts;
  static constexpr u16 kEnWritable = kTmrSts | kGblSts | kPwrBtnSts | kSlpBtnSts | kRtcSts;
  static constexpr u16 kSciEn = 1u << 0, kBmRld = 1u << 1, kGblRls = 1u << 2, kSlpEn = 1u << 13;
  static constexpr unsigned kSlpTypShift = 10;

  struct Config {
    u8 s5_slp_typ = 0;          // \_S5's value for PM1a_CNT.SLP_TYP
    u8 reset_value = 0x06;      // the FADT's RESET_VALUE
    bool timer_32bit = false;   // the FADT's TMR_VAL_EXT
  };
  using Fn = std::function<void()>;

  struct State {
    u16 sts = 0;                // the writable status bits other than TMR_STS
    u16 en = 0;
    u16 cnt = kSciEn;
    u64 tmr_msb_flips_seen = 0; // TMR_STS = MSB flips since power-on > this
    bool operator==(const State&) const = default;
  };

  AcpiPm(Scheduler& sched, IrqLine sci, Config cfg, Fn on_power_off, Fn on_reset);

  // A write of SLP_EN with a SLP_TYP other than S5's (a sleep state S1-S4): the board decides
  // (without this, the write is logged and ignored).
  void set_on_sleep(std::function<void(unsigned slp_typ)> fn) { m_on_sleep = std::move(fn); }

  void reset();
  u32 io_read(u16 offset, unsigned size) override;
  void io_write(u16 offset, u32 value, unsigned size) override;

  u32 timer() const;          // PM_TMR
  u16 pm1_status() const;
  void press_power_button();
  PortDevice& reset_register() { return m_reset_reg; }

  State save() const { return m_s; }
  // Restores registers and the SCI level; the TMR_STS event is scheduler state.
  void load(const State& s);
  void visit(StateVisitor& v);   // snapshots, state hashes (memory/state_visitor.h)

 private:
  class ResetRegister final : public PortDevice {
   public:
    explicit ResetRegister(AcpiPm& pm) : m_pm(pm) {}
    u32 io_read(u16, unsigned) override { return 0; }
    void io_write(u16 offset, u32 value, unsigned size) override;

   private:
    AcpiPm& m_pm;
  };

  u64 ticks() const;
  u64 msb_flips() const;
  u8 read_byte(u16 offset) const;
  void write_bytes(u16 offset, u32 value, unsigned size);
  void schedule_tmr();
  void update_sci();

  Scheduler& m_sched;
  IrqLine m_sci;
  Config m_cfg;
  Fn m_on_power_off, m_on_reset;
  std::function<void(unsigned)> m_on_sleep;
  ResetRegister m_reset_reg{*this};
  Scheduler::EventId m_tmr_event;
  State m_s;
};

}  // namespace rv
