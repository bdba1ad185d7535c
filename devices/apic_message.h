// ApicMessage: one interrupt message on the APIC bus (or, since the Pentium 4, the system
// bus), as sent by an IOAPIC redirection entry or a local APIC's ICR.
//
// The fields are those of an IOAPIC redirection entry (Intel 82093AA datasheet §3.2.4) and
// of the ICR (Intel SDM Vol.3A §10.6.1 "Interrupt Command Register"). The board routes a
// message to the local APIC(s) it addresses; with one CPU it hands every message to that
// CPU's Lapic::deliver(), which checks the destination itself.
#pragma once
#include "memory/types.h"

namespace rv {

enum class DeliveryMode : u8 {
  Fixed = 0,
  LowestPriority = 1,
  Smi = 2,
  Nmi = 4,
  Init = 5,
  StartUp = 6,   // ICR only
  ExtInt = 7,
};

struct ApicMessage {
  u8 vector = 0;
  DeliveryMode mode = DeliveryMode::Fixed;
  bool logical = false;   // destination mode: false = physical APIC ID, true = logical
  bool level = false;     // trigger mode: true = level (sets the TMR bit; EOI is broadcast)
  u32 dest = 0;           // APIC ID (physical) or MDA (logical); 0xFF / 0xFFFFFFFF broadcast
  bool operator==(const ApicMessage&) const = default;
};

}  // namespace rv
