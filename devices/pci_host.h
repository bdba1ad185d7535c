// PciHost: PCI configuration mechanism #1 (PCI Local Bus spec 3.0 §3.2.2.3.2) for bus 0, a
// configuration-space base class for PCI functions, and the i440FX/PIIX3 chipset functions
// a PC guest expects on bus 0.
//
// What it is: CONFIG_ADDRESS at 0xCF8 (dword accesses only: bit 31 enable, 23:16 bus,
// 15:11 device, 10:8 function, 7:2 register; bits 1:0 read 0) and CONFIG_DATA at
// 0xCFC-0xCFF (byte, word and dword accesses: the low address bits select bytes of the
// addressed dword). The PIIX3's reset control register (82371SB datasheet §4.1.17 "RC",
// I/O 0xCF9, byte accesses only) shares the range: bit 1 selects a hard reset, a 0 -> 1
// change of bit 2 resets the system (calls on_reset).
// Wiring (the board's job): map PciHost at 0xCF8, 8 ports; add_device(dev, fn, &function)
// for each function on bus 0. Reads of absent functions, of other buses, and of
// CONFIG_DATA with the enable bit clear return all ones; such writes are dropped.
// Functions provided (QEMU's i440FX machine layout, which guests and firmware know):
//   I440fxHost  00:00.0  8086:1237  host bridge (Intel 82441FX PMC datasheet §3.2);
//   Piix3Isa    00:01.0  8086:7000  PCI-to-ISA bridge, multi-function (82371SB §2.2), with
//                        the PIRQ[A-D] route control registers 0x60-0x63; its ELCR (ports
//                        0x4D0/0x4D1) is the Elcr class of pic8259.h;
//   Piix4Pm     00:01.3  8086:7113  the PIIX4 power-management function (82371AB §3.3) as
//                        on QEMU's i440FX machine (the PIIX3 has no ACPI function): PMBA
//                        (0x40) is fixed at the base given at construction (the board maps
//                        AcpiPm there and its FADT says so), PMREGMISC (0x80) reads enabled,
//                        the SCI is IRQ 9 (interrupt line 0x3C).
// Not emulated: the i440FX PAM/SMRAM registers are stored but do not change the memory
// map (logged once when the guest changes them); PCI-to-PCI bridges; mechanism #2.
#pragma once
#include <array>
#include <functional>
#include <optional>

#include "memory/io_bus.h"

namespace rv {

class StateVisitor;

// One PCI function's 256-byte configuration space (PCI 3.0 §6.1): bytes, a write mask and
// a write-1-to-clear mask. Subclasses fill the header and may react to writes.
class PciFunction {
 public:
  struct State {
    std::array<u8, 256> cfg{};
    bool operator==(const State&) const = default;
  };
  virtual ~PciFunction() = default;

  // `offset` + `size` stays inside one dword (the host splits nothing else).
  virtual u32 config_read(u8 offset, unsigned size);
  virtual void config_write(u8 offset, u32 value, unsigned size);
  virtual void reset();

  u16 vendor_id() const { return get16(0x00); }
  u16 device_id() const { return get16(0x02); }
  State save() const { return {m_cfg}; }
  void load(const State& s) { m_cfg = s.cfg; }
  void visit(StateVisitor& v);   // snapshots, state hashes (memory/state_visitor.h)

 protected:
  PciFunction(u16 vendor, u16 device, u32 class_code, u8 revision, u8 header_type);
  // Called after a write changed bytes [offset, offset + size).
  virtual void config_written(u8 offset, unsigned size) {}
  // After visit() loaded the configuration space: re-derive what depends on it.
  virtual void state_loaded() {}

  u8 get8(u8 o) const { return m_cfg[o]; }
  u16 get16(u8 o) const { return static_cast<u16>(m_cfg[o] | m_cfg[o + 1] << 8); }
  void set8(u8 o, u8 v) { m_cfg[o] = v; }
  void set16(u8 o, u16 v) { set8(o, u8(v)); set8(u8(o + 1), u8(v >> 8)); }
  void set32(u8 o, u32 v) { set16(o, u16(v)); set16(u8(o + 2), u16(v >> 16)); }
  void writable(u8 o, u8 mask) { m_wmask[o] = mask; }
  void write_clears(u8 o, u8 mask) { m_w1c[o] = mask; }
  // Power-on contents, captured at the end of the subclass constructor by finish_init().
  void finish_init() { m_reset_cfg = m_cfg; }

 private:
  std::array<u8, 256> m_cfg{}, m_wmask{}, m_w1c{}, m_reset_cfg{};
};

class PciHost final : public PortDevice {
 public:
  static constexpr u16 kPort = 0xCF8;
  static constexpr u16 kPortCount = 8;
  static constexpr u32 kEnable = 1u << 31;

  struct State {
    u32 address = 0;
    u8 reset_control = 0;   // PIIX3 RC at 0xCF9
    bool operator==(const State&) const = default;
  };

  explicit PciHost(std::function<void()> on_reset = {}) : m_on_reset(std::move(on_reset)) {}

  // Throws std::invalid_argument if the slot is taken or out of range.
  void add_device(u8 dev, u8 fn, PciFunction* f);
  PciFunction* function(u8 dev, u8 fn) const { return dev < 32 && fn < 8 ? m_fns[dev][fn] : nullptr; }

  void reset() { m_s = State{}; }
  u32 io_read(u16 offset, unsigned size) override;
  void io_write(u16 offset, u32 value, unsigned size) override;

  State save() const { return m_s; }
  void load(const State& s) { m_s = s; }
  void visit(StateVisitor& v);   // snapshots, state hashes (memory/state_visitor.h)

 private:
  PciFunction* selected() const;   // the function CONFIG_ADDRESS names, if present

  std::function<void()> m_on_reset;
  std::array<std::array<PciFunction*, 8>, 32> m_fns{};
  State m_s;
};

class I440fxHost final : public PciFunction {
 public:
  static constexpr u8 kPam0 = 0x59, kSmram = 0x72;
  I440fxHost();

 protected:
  void config_written(u8 offset, unsigned size) override;
};

class Piix3Isa final : public PciFunction {
 public:
  static constexpr u8 kPirqRc = 0x60;   // PIRQRC[A-D], 0x60-0x63
  static constexpr u8 kPirqDisabled = 0x80;
  explicit Piix3Isa(std::function<void()> on_route_change = {});
  // The ISA IRQ that PIRQ n (0 = A .. 3 = D) is routed to, or nullopt if routing is off.
  std::optional<u8> pirq_irq(unsigned n) const;

 protected:
  void config_written(u8 offset, unsigned size) override;
  void state_loaded() override;

 private:
  std::function<void()> m_on_route_change;
};

class Piix4Pm final : public PciFunction {
 public:
  static constexpr u16 kDefaultPmBase = 0x600;   // QEMU/SeaBIOS's PMBA
  static constexpr u8 kPmba = 0x40, kPmRegMisc = 0x80;
  static constexpr u8 kSciIrq = 9;
  explicit Piix4Pm(u16 pm_base = kDefaultPmBase);
  u16 pm_base() const { return m_pm_base; }

 private:
  u16 m_pm_base;
};

}  // namespace rv
