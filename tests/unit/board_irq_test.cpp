// The board's wiring, end to end on tiny guests: the 8254 -> 8259A -> CPU interrupt path
// through the real-mode IVT at the right virtual time, COM1 output, and a Multiboot kernel
// that prints through COM1 and powers off through the ACPI PM1a control register.
#include <gtest/gtest.h>

#include "devices/char_sink.h"
#include "machine/pc.h"
#include "tests/unit/rom_image.h"

namespace rv {
namespace {

struct BoardRun {
  RunResult r;
  std::string serial, debugcon;
  Nanos end_time = 0;
};

BoardRun run_config(PcConfig c) {
  StringSink serial, con;
  c.serial = &serial;
  c.debugcon = &con;
  Pc pc(c);
  BoardRun run;
  run.r = pc.run();
  run.serial = serial.text();
  run.debugcon = con.text();
  run.end_time = pc.now();
  return run;
}

BoardRun run_rom(const std::vector<u8>& code, u64 max_insns = 10'000'000) {
  PcConfig c;
  c.ram_bytes = 4 * MiB;
  c.bios = rom_at_f000(code);
  c.max_insns = max_insns;
  return run_config(std::move(c));
}

// Real-mode program: IVT vector 0x20 -> handler; PIT channel 0 in mode 2 with count
// `count`; the master 8259A initialised with base 0x20 and only IRQ0 unmasked (after the
// PIT, whose mode-2 control word makes OUT0 rise: ICW1 resets the edge sense); STI; HLT. The
// handler writes 'I' to port 0xE9, sends EOI and exits through port 0xF4 with 7.
std::vector<u8> pit_irq_program(u16 count, bool mask_irq0 = false) {
  std::vector<u8> p = {
      0xFA,                                      // cli
      0x31, 0xC0, 0x8E, 0xD8, 0x8E, 0xD0,        // xor ax,ax ; mov ds,ax ; mov ss,ax
      0xBC, 0x00, 0x70,                          // mov sp,0x7000
      0xC7, 0x06, 0x80, 0x00, 0x00, 0x00,        // mov word [0x80], handler (patched)
      0xC7, 0x06, 0x82, 0x00, 0x00, 0xF0,        // mov word [0x82], 0xF000
      0xB0, 0x34, 0xE6, 0x43,                    // PIT ch. 0, lobyte/hibyte, mode 2
      0xB0, static_cast<u8>(count), 0xE6, 0x40,
      0xB0, static_cast<u8>(count >> 8), 0xE6, 0x40,
      0xB0, 0x11, 0xE6, 0x20,                    // ICW1: edge, cascade, ICW4
      0xB0, 0x20, 0xE6, 0x21,                    // ICW2: vector base 0x20
      0xB0, 0x04, 0xE6, 0x21,                    // ICW3: slave on IR2
      0xB0, 0x01, 0xE6, 0x21,                    // ICW4: 8086 mode
      0xB0, static_cast<u8>(mask_irq0 ? 0xFF : 0xFE), 0xE6, 0x21,   // OCW1
      0xFB,                                      // sti
      0xF4,                                      // hlt
      0xEB, 0xFD,                                // jmp back to hlt
  };
  const u16 handler = static_cast<u16>(p.size());
  p[14] = static_cast<u8>(handler);
  p[15] = static_cast<u8>(handler >> 8);
  const std::vector<u8> h = {
      0xB0, 'I', 0xE6, 0xE9,                     // out 0xE9, 'I'
      0xB0, 0x20, 0xE6, 0x20,                    // non-specific EOI
      0xB0, 0x07, 0xE6, 0xF4,                    // debug exit 7
      0xCF,                                      // iret
  };
  p.insert(p.end(), h.begin(), h.end());
  return p;
}

TEST(BoardIrq, X2ApicModeThroughApicBaseAndMsrs) {
  // CPUID.1:ECX[21] says x2APIC; setting IA32_APIC_BASE.EXTD makes the APIC registers MSRs:
  // print CPUID bit 21, then the low byte of the x2APIC version register (MSR 0x803).
  const std::vector<u8> p = {
      0x66, 0xB8, 0x01, 0x00, 0x00, 0x00,   // mov eax, 1
      0x0F, 0xA2,                           // cpuid
      0x66, 0xC1, 0xE9, 0x15,               // shr ecx, 21
      0x80, 0xE1, 0x01,                     // and cl, 1
      0x88, 0xC8, 0x04, 0x30, 0xE6, 0xE9,   // mov al, cl ; add al, '0' ; out 0xE9, al
      0x66, 0xB9, 0x1B, 0x00, 0x00, 0x00,   // mov ecx, 0x1B (IA32_APIC_BASE)
      0x0F, 0x32,                           // rdmsr
      0x66, 0x0D, 0x00, 0x04, 0x00, 0x00,   // or eax, 0x400 (EXTD)
      0x0F, 0x30,                           // wrmsr
      0x66, 0xB9, 0x03, 0x08, 0x00, 0x00,   // mov ecx, 0x803
      0x0F, 0x32,                           // rdmsr
      0xE6, 0xE9,                           // out 0xE9, al
      0xB0, 0x00, 0xE6, 0xF4, 0xF4};        // exit 0
  BoardRun run = run_rom(p, 1000);
  ASSERT_EQ(run.debugcon.size(), 2u);
  EXPECT_EQ(run.debugcon[0], '1');
  EXPECT_EQ(static_cast<u8>(run.debugcon[1]), 0x14);   // version 0x14 (lapic.h)
  EXPECT_EQ(run.r.exit_status, 1);
}

TEST(BoardIrq, FourSerialPortsAnswerAtTheirAddresses) {
  // For each of COM1..COM4: write a distinct byte to the scratch register (base+7), read it
  // back and print it on the debug console; then exit through port 0xF4.
  std::vector<u8> p;
  const u16 bases[] = {0x3F8, 0x2F8, 0x3E8, 0x2E8};
  for (unsigned i = 0; i < 4; i++) {
    u16 scr = static_cast<u16>(bases[i] + 7);
    const u8 code[] = {0xBA, static_cast<u8>(scr), static_cast<u8>(scr >> 8),   // mov dx, scr
                       0xB0, static_cast<u8>('1' + i), 0xEE,                    // mov al, '1'+i ; out dx, al
                       0xB0, 0x00, 0xEC,                                        // mov al, 0 ; in al, dx
                       0xE6, 0xE9};                                              // out 0xE9, al
    p.insert(p.end(), std::begin(code), std::end(code));
  }
  const u8 exit_code[] = {0xB0, 0x00, 0xE6, 0xF4, 0xF4};
  p.insert(p.end(), std::begin(exit_code), std::end(exit_code));
  BoardRun run = run_rom(p, 1000);
  EXPECT_EQ(run.debugcon, "1234");
  EXPECT_EQ(run.r.exit_status, 1);
}

TEST(BoardIrq, PitIrq0ReachesTheIvtAtTheRightTime) {
  BoardRun run = run_rom(pit_irq_program(1193));   // 1193 ticks of 1.193182 MHz: 999.85 us
  EXPECT_EQ(run.debugcon, "I");
  EXPECT_EQ(run.r.kind, StopKind::DebugExit);
  EXPECT_EQ(run.r.exit_status, (7 << 1) | 1);
  // The interrupt came from the timer after the halt, not from anything earlier: virtual
  // time jumped to the PIT's edge (a few ticks of slack for the reload/edge convention).
  EXPECT_GE(run.end_time, 999'000u);
  EXPECT_LE(run.end_time, 1'003'000u);
  EXPECT_LT(run.r.guest_insns, 40u);
}

TEST(BoardIrq, TimeFollowsTheProgrammedCount) {
  BoardRun run = run_rom(pit_irq_program(11932));   // about 10 ms
  EXPECT_EQ(run.debugcon, "I");
  EXPECT_GE(run.end_time, 9'999'000u);
  EXPECT_LE(run.end_time, 10'003'000u);
}

TEST(BoardIrq, MaskedIrq0NeverArrives) {
  // 100 Hz: 120 000 edges in 600 s, below Pc::kMaxIdleEvents (tests/unit/idle_event_storm_test.cpp)
  BoardRun run = run_rom(pit_irq_program(11932, true), 100'000);
  EXPECT_EQ(run.debugcon, "");
  EXPECT_EQ(run.r.kind, StopKind::HaltIdle);   // halted, nothing unmasked: idle limit
  EXPECT_GE(run.end_time, Pc::kMaxIdleNs);
}

TEST(BoardSerial, Com1OutputReachesTheSink) {
  // mov dx,0x3F8 ; mov al,'o' ; out dx,al ; mov al,'k' ; out dx,al ; cli ; hlt
  BoardRun run = run_rom({0xBA, 0xF8, 0x03, 0xB0, 'o', 0xEE, 0xB0, 'k', 0xEE, 0xFA, 0xF4});
  EXPECT_EQ(run.serial, "ok");
  EXPECT_EQ(run.r.kind, StopKind::Halted);
}

TEST(BoardSerial, RtcCmosHasTheMemorySize) {
  // mov al,0x30 ; out 0x70,al ; in al,0x71 ; out 0xE9,al ; mov al,0x31 ; out 0x70,al ;
  // in al,0x71 ; out 0xE9,al ; cli ; hlt  -- extended memory in KiB (above 1 MiB)
  BoardRun run = run_rom({0xB0, 0x30, 0xE6, 0x70, 0xE4, 0x71, 0xE6, 0xE9, 0xB0, 0x31, 0xE6, 0x70, 0xE4, 0x71,
                     0xE6, 0xE9, 0xFA, 0xF4});
  ASSERT_EQ(run.debugcon.size(), 2u);
  const unsigned kib = static_cast<u8>(run.debugcon[0]) | static_cast<u8>(run.debugcon[1]) << 8;
  EXPECT_EQ(kib, 3u * 1024);   // 4 MiB of RAM: 3 MiB above 1 MiB
}

// A Multiboot v1 kernel (a.out kludge: flat binary loaded at 1 MiB) in 32-bit code: prints
// "MB" and 'Y' if EAX holds the bootloader magic, then writes SLP_TYP=0 | SLP_EN to PM1a_CNT
// (0x604) -- the DSDT's \_S5 -- and halts if that did not end the run.
std::vector<u8> multiboot_kernel() {
  const u32 base = 0x100000, header_size = 32;
  std::vector<u8> code = {
      0x89, 0xC1,                               // mov ecx,eax
      0x66, 0xBA, 0xF8, 0x03,                   // mov dx,0x3F8
      0xB0, 'M', 0xEE, 0xB0, 'B', 0xEE,         // out 'M', 'B'
      0xB0, 'N',                                // mov al,'N'
      0x81, 0xF9, 0x02, 0xB0, 0xAD, 0x2B,       // cmp ecx,0x2BADB002
      0x75, 0x02,                               // jne +2
      0xB0, 'Y',                                // mov al,'Y'
      0xEE,                                     // out dx,al
      0x66, 0xBA, 0x04, 0x06,                   // mov dx,0x604
      0x66, 0xB8, 0x00, 0x20,                   // mov ax,0x2000 (SLP_EN, SLP_TYP 0)
      0x66, 0xEF,                               // out dx,ax
      0xFA, 0xF4,                               // cli ; hlt
  };
  const u32 end = base + header_size + static_cast<u32>(code.size());
  const u32 magic = 0x1BADB002, flags = 1u << 16;
  const u32 fields[8] = {magic, flags, static_cast<u32>(0u - magic - flags), base, base, end, end, base + header_size};
  std::vector<u8> img;
  for (u32 f : fields)
    for (int i = 0; i < 4; i++) img.push_back(static_cast<u8>(f >> (8 * i)));
  img.insert(img.end(), code.begin(), code.end());
  return img;
}

TEST(BoardBoot, MultibootKernelPrintsAndPowersOff) {
  PcConfig c;
  c.ram_bytes = 16 * MiB;
  c.kernel = std::make_shared<std::vector<u8>>(multiboot_kernel());
  c.cmdline = "test";
  c.max_insns = 1'000'000;
  BoardRun run = run_config(std::move(c));
  EXPECT_EQ(run.serial, "MBY");
  EXPECT_EQ(run.r.kind, StopKind::PowerOff);
  EXPECT_EQ(run.r.exit_status, 0);
  EXPECT_EQ(run.r.message, "guest powered off");
}

// A Multiboot kernel that prints 'R' and resets through the PIIX3 reset control register
// (0xCF9 = 0x06, the FADT's RESET_REG): each reset loads the kernel again.
std::vector<u8> resetting_kernel() {
  std::vector<u8> img = multiboot_kernel();
  const std::vector<u8> code = {
      0x66, 0xBA, 0xF8, 0x03, 0xB0, 'R', 0xEE,   // mov dx,0x3F8 ; out 'R'
      0x66, 0xBA, 0xF9, 0x0C, 0xB0, 0x06, 0xEE,  // mov dx,0xCF9 ; mov al,6 ; out dx,al
      0xEB, 0xFE,                                // jmp $
  };
  img.resize(32);
  img.insert(img.end(), code.begin(), code.end());
  const u32 end = 0x100000 + static_cast<u32>(img.size());
  for (unsigned field : {5u, 6u})
    for (int i = 0; i < 4; i++) img[4 * field + i] = static_cast<u8>(end >> (8 * i));
  return img;
}

TEST(BoardBoot, ResetReloadsTheKernel) {
  PcConfig c;
  c.ram_bytes = 16 * MiB;
  c.kernel = std::make_shared<std::vector<u8>>(resetting_kernel());
  c.max_insns = 1000;   // a handful of instructions per boot
  BoardRun run = run_config(c);
  EXPECT_GE(run.r.resets, 100u);
  EXPECT_EQ(run.serial, std::string(run.r.resets + 1, 'R'));   // + the boot cut off by the limit
  EXPECT_EQ(run.r.kind, StopKind::InsnLimit);
  c.no_reboot = true;
  run = run_config(c);
  EXPECT_EQ(run.serial, "R");
  EXPECT_EQ(run.r.kind, StopKind::GuestReset);
  EXPECT_EQ(run.r.exit_status, 0);
}

TEST(BoardBoot, AcpiTablesAreInTheBiosArea) {
  PcConfig c;
  c.ram_bytes = 16 * MiB;
  c.kernel = std::make_shared<std::vector<u8>>(multiboot_kernel());
  Pc pc(c);
  // The RSDP signature on a 16-byte boundary in 0xE0000-0xFFFFF (ACPI 6.4 §5.2.5.1).
  bool found = false;
  for (u64 a = 0xE0000; a < 0x100000 && !found; a += 16)
    found = pc.memory().read(a, 8) == 0x2052545020445352ull;   // "RSD PTR "
  EXPECT_TRUE(found);
}

TEST(BoardBoot, BadKernelIsRejected) {
  PcConfig c;
  c.ram_bytes = 16 * MiB;
  c.kernel = std::make_shared<std::vector<u8>>(4096, 0x90);
  EXPECT_THROW(Pc pc(c), std::runtime_error);
}

// The APIC path, driven from the host side: an IOAPIC redirection entry for ISA IRQ4
// (COM1) reaches the local APIC, raises the CPU's INTR and is acknowledged with its vector;
// the PIC path stays idle because LINT0's ExtINT sees no 8259A request.
TEST(BoardApic, IoapicMessageReachesTheLocalApic) {
  PcConfig c;
  c.ram_bytes = 4 * MiB;
  c.bios = rom_at_f000({0xFA, 0xF4});
  Pc pc(c);
  PhysMemory& m = pc.memory();
  m.write(Lapic::kBase + Lapic::kRegSvr, Lapic::kSvrEnable | 0xFF, 4);
  m.write(Ioapic::kBase + Ioapic::kIoRegSel, Ioapic::kRegRedirBase + 2 * 4, 4);
  m.write(Ioapic::kBase + Ioapic::kIoWin, 0x45, 4);           // vector 0x45, edge, fixed, dest 0
  m.write(Ioapic::kBase + Ioapic::kIoRegSel, Ioapic::kRegRedirBase + 2 * 4 + 1, 4);
  m.write(Ioapic::kBase + Ioapic::kIoWin, 0, 4);
  BoardDevices& d = pc.devices();
  EXPECT_FALSE(d.lapic.has_interrupt());
  d.isa.set_irq(4, true);
  EXPECT_TRUE(d.lapic.has_interrupt());
  EXPECT_EQ(d.lapic.acknowledge(), 0x45);
  // TPR through CR8's platform hook masks class 4 and below.
  d.isa.set_irq(4, false);
  pc.cpu().platform()->tpr_written(5);
  d.isa.set_irq(4, true);
  EXPECT_FALSE(d.lapic.has_interrupt());
}

TEST(BoardApic, HpetLegacyReplacementCutsThePit) {
  PcConfig c;
  c.ram_bytes = 4 * MiB;
  c.bios = rom_at_f000({0xFA, 0xF4});
  Pc pc(c);
  BoardDevices& d = pc.devices();
  // Master PIC: ICW1-4 with base 0x20, IRQ0 unmasked.
  for (auto [port, v] : {std::pair<u16, u8>{0x20, 0x11}, {0x21, 0x20}, {0x21, 0x04}, {0x21, 0x01}, {0x21, 0xFE}})
    pc.io().write(port, v, 1);
  d.isa.set_hpet_legacy(true);
  d.isa.set_irq(IsaIrqs::kPitIrq, true);   // the PIT's OUT0 rises: cut off
  EXPECT_FALSE(d.pic_master.int_output());
  d.isa.legacy_sink()->set_irq(0, true);   // the HPET's timer 0 drives IRQ0 instead
  EXPECT_TRUE(d.pic_master.int_output());
}

}  // namespace
}  // namespace rv
