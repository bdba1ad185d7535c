// Protected-mode/system tests: descriptor checks, call gates, interrupt delivery, IRET,
// SYSCALL/SYSRET, SYSENTER/SYSEXIT, the I/O bitmap and CPUID. Each test writes its GDT, IDT
// and TSS into RAM, puts the CPU into the mode through state() + state_changed(), runs a
// few instructions and checks registers and stack contents.
#include <gtest/gtest.h>

#include <cstring>
#include <string>

#include "cpu/descriptor.h"
#include "tests/unit/cpu_env.h"

namespace rv::test {
namespace {

constexpr u64 kGdt = 0x1000, kIdt = 0x2000, kTss = 0x3000, kHandlers = 0x6000;
constexpr u16 kCode0 = 0x08, kData0 = 0x10, kCode3 = 0x1B, kData3 = 0x23, kTssSel = 0x28, kGateSel = 0x30,
              kCode64 = 0x38, kCode64u = 0x43, kNpData = 0x50, kConf = 0x58, kSysenter = 0x60;
// SYSENTER group at 0x60: CS0 0x60, SS0 0x68, CS3 0x70, SS3 0x78.

u64 seg_desc(u32 base, u32 limit, u8 access, u8 flags) {
  return (limit & 0xFFFFull) | (u64(base & 0xFFFFFF) << 16) | (u64(access) << 40) |
         (u64((limit >> 16) & 0xF) << 48) | (u64(flags & 0xF) << 52) | (u64(base >> 24) << 56);
}
u64 gate_desc(u16 sel, u32 off, u8 type, u8 dpl, u8 params = 0, bool present = true) {
  return (off & 0xFFFFull) | (u64(sel) << 16) | (u64(params & 0x1F) << 32) |
         (u64(type | (dpl << 5) | (present ? 0x80 : 0)) << 40) | (u64(off >> 16) << 48);
}

struct RecordingPort : PortDevice {
  std::vector<std::pair<u16, u32>> writes;
  u32 io_read(u16 offset, unsigned) override { return 0xA5; }
  void io_write(u16 offset, u32 value, unsigned) override { writes.push_back({offset, value}); }
};

struct SysEnv : CpuEnv {
  CpuState& s = cpu.state();

  void w(u64 addr, u64 v, unsigned size) { mem.write(addr, v, size); }
  u64 r(u64 addr, unsigned size) { return mem.read(addr, size); }
  void code(u64 at, std::vector<u8> bytes) { mem.write_bytes(at, bytes.data(), bytes.size()); }
  void gdt(u16 sel, u64 d) { w(kGdt + (sel & ~7), d, 8); }
  Segment seg(u16 sel) { return desc::to_segment(sel, r(kGdt + (sel & ~7), 8)); }

  // 32-bit protected mode at CPL 0, flat segments, IDT entries 0..31 as ring-0 interrupt
  // gates to HLT stubs at kHandlers + 16 * vector, TSS with ESP0 = 0x9000, SS0 = kData0.
  void protected32() {
    gdt(kCode0, seg_desc(0, 0xFFFFF, 0x9A, 0xC));
    gdt(kData0, seg_desc(0, 0xFFFFF, 0x92, 0xC));
    gdt(kCode3, seg_desc(0, 0xFFFFF, 0xFA, 0xC));
    gdt(kData3, seg_desc(0, 0xFFFFF, 0xF2, 0xC));
    gdt(kTssSel, seg_desc(kTss, 0x67 + 0x20, 0x8B, 0));   // busy: it is TR
    gdt(kNpData, seg_desc(0, 0xFFFFF, 0x12, 0xC));     // data, not present
    gdt(kConf, seg_desc(0, 0xFFFFF, 0x9E, 0xC));       // conforming code, DPL 0
    gdt(kSysenter + 0, seg_desc(0, 0xFFFFF, 0x9A, 0xC));
    gdt(kSysenter + 8, seg_desc(0, 0xFFFFF, 0x92, 0xC));
    gdt(kSysenter + 16, seg_desc(0, 0xFFFFF, 0xFA, 0xC));
    gdt(kSysenter + 24, seg_desc(0, 0xFFFFF, 0xF2, 0xC));
    for (unsigned v = 0; v < 32; v++) {
      w(kIdt + v * 8, gate_desc(kCode0, kHandlers + v * 16, 0xE, 0), 8);
      w(kHandlers + v * 16, 0xF4, 1);   // HLT
    }
    w(kTss + 4, 0x9000, 4);       // ESP0
    w(kTss + 8, kData0, 2);       // SS0
    w(kTss + 0x66, 0x68, 2);      // I/O bitmap at 0x68: ports 0..255 (32 bytes) + 0xFF
    for (unsigned i = 0; i < 32; i++) w(kTss + 0x68 + i, 0xFF, 1);
    w(kTss + 0x68 + 32, 0xFF, 1);
    s.cr0 = kCr0Pe | kCr0Et;
    s.gdtr = {kGdt, 0x7F};
    s.idtr = {kIdt, 32 * 8 - 1};
    s.tr = seg(kTssSel);
    s.tr.attr |= 2;   // busy
    s.ldtr = desc::null_segment(0);
    set_cpl0();
  }
  void set_cpl0() {
    s.seg[CS] = seg(kCode0);
    for (u8 r : {ES, SS, DS, FS, GS}) s.seg[r] = seg(kData0);
    s.gpr[RSP] = 0x8000;
    s.rflags = kFixed1;
    s.lazy.op = LazyOp::None;
  }
  void set_cpl3() {
    s.seg[CS] = seg(kCode3);
    for (u8 r : {ES, SS, DS, FS, GS}) s.seg[r] = seg(kData3);
    s.gpr[RSP] = 0x7000;
  }
  void start(u64 rip) {
    s.rip = rip;
    s.halted = false;
    cpu.state_changed();
  }
  // After a fault delivered to a HLT stub: the vector that was taken.
  int taken_vector() {
    if (s.seg[CS].sel != kCode0 && s.seg[CS].sel != kCode64) return -1;
    u64 off = s.rip - 1 - kHandlers;
    return (off % 16 == 0 && off / 16 < 32) ? static_cast<int>(off / 16) : -1;
  }
  u32 stack32(unsigned i) { return static_cast<u32>(r(s.seg[SS].base + s.gpr[RSP] + 4 * i, 4)); }
  u64 stack64(unsigned i) { return r(s.gpr[RSP] + 8 * i, 8); }
};

TEST(System, CpuidVendorAndFeatures) {
  SysEnv env;
  env.real_mode_code(0x1000, {0x0F, 0xA2});   // cpuid
  env.s.gpr[RAX] = 0;
  EXPECT_EQ(env.run(), StopReason::Halted);
  char vendor[13] = {};
  u32 regs[3] = {static_cast<u32>(env.s.gpr[RBX]), static_cast<u32>(env.s.gpr[RDX]), static_cast<u32>(env.s.gpr[RCX])};
  std::memcpy(vendor, regs, 12);
  EXPECT_EQ(std::string(vendor), "GenuineIntel");
  EXPECT_GE(env.s.gpr[RAX], 7u);

  u32 out[4];
  env.cpu.cpuid(1, 0, out);
  EXPECT_EQ(out[0], 0x000306A9u);
  EXPECT_NE(out[3] & 1u, 0u);                 // FPU (x87)
  EXPECT_NE(out[3] & (1u << 11), 0u);         // SEP
  EXPECT_NE(out[3] & (1u << 13), 0u);         // PGE
  EXPECT_NE(out[3] & (1u << 25), 0u);         // SSE
  env.cpu.cpuid(0x80000001, 0, out);
  EXPECT_NE(out[3] & (1u << 29), 0u);         // LM
  EXPECT_NE(out[3] & (1u << 20), 0u);         // NX
  env.cpu.cpuid(0x80000008, 0, out);
  EXPECT_EQ(out[0], 0x3028u);
}

TEST(System, CallGateCopiesParametersAndRetfReturnsToRing3) {
  SysEnv env;
  env.protected32();
  env.gdt(kGateSel, gate_desc(kCode0, 0x5000, 0xC, 3, 2));   // 32-bit call gate, DPL 3, 2 params
  // ring 3: push 0x11111111; push 0x22222222; call far 0x33:0
  env.code(0x4000, {0x68, 0x11, 0x11, 0x11, 0x11, 0x68, 0x22, 0x22, 0x22, 0x22, 0x9A, 0, 0, 0, 0, 0x33, 0x00});
  env.code(0x5000, {0xCA, 0x08, 0x00});   // retf 8
  env.set_cpl3();
  env.start(0x4000);
  env.run(3);
  EXPECT_EQ(env.cpu.cpl(), 0);
  EXPECT_EQ(env.s.seg[CS].sel, kCode0);
  EXPECT_EQ(env.s.rip, 0x5000u);
  EXPECT_EQ(env.s.seg[SS].sel, kData0);
  EXPECT_EQ(env.s.gpr[RSP], 0x9000u - 24);
  EXPECT_EQ(env.stack32(0), 0x4011u);        // return EIP
  EXPECT_EQ(env.stack32(1), kCode3);
  EXPECT_EQ(env.stack32(2), 0x22222222u);    // parameters in the same order
  EXPECT_EQ(env.stack32(3), 0x11111111u);
  EXPECT_EQ(env.stack32(4), 0x7000u - 8);    // old ESP
  EXPECT_EQ(env.stack32(5), kData3);         // old SS
  // DS holds a ring-0 selector now, so the return to ring 3 must null it.
  env.s.seg[DS] = env.seg(kData0);
  env.run(1);
  EXPECT_EQ(env.cpu.cpl(), 3);
  EXPECT_EQ(env.s.seg[CS].sel, kCode3);
  EXPECT_EQ(env.s.rip, 0x4011u);
  EXPECT_EQ(env.s.seg[SS].sel, kData3);
  EXPECT_EQ(env.s.gpr[RSP], 0x7000u);        // old ESP + 8 parameter bytes
  EXPECT_EQ(env.s.seg[DS].sel, 0);
  EXPECT_FALSE(env.s.seg[DS].present());
  EXPECT_EQ(env.s.seg[ES].sel, kData3);      // DPL 3: kept
}

TEST(System, InterruptGateFromRing3SwitchesStacksAndClearsIf) {
  SysEnv env;
  env.protected32();
  env.w(kIdt + 0x20 * 8, gate_desc(kCode0, 0x5000, 0xE, 3), 8);   // interrupt gate
  env.w(kIdt + 0x21 * 8, gate_desc(kCode0, 0x5100, 0xF, 3), 8);   // trap gate
  env.s.idtr.limit = 0x22 * 8 - 1;
  env.code(0x4000, {0xCD, 0x20});
  env.set_cpl3();
  env.start(0x4000);
  env.cpu.set_rflags(kFixed1 | kFlagIF | kFlagCF);
  env.run(1);
  EXPECT_EQ(env.s.seg[CS].sel, kCode0);
  EXPECT_EQ(env.s.rip, 0x5000u);
  EXPECT_EQ(env.s.gpr[RSP], 0x9000u - 20);
  EXPECT_EQ(env.stack32(0), 0x4002u);
  EXPECT_EQ(env.stack32(1), kCode3);
  EXPECT_EQ(env.stack32(2), u32(kFixed1 | kFlagIF | kFlagCF));
  EXPECT_EQ(env.stack32(3), 0x7000u);
  EXPECT_EQ(env.stack32(4), kData3);
  EXPECT_FALSE(env.cpu.rflags() & kFlagIF);

  // Trap gate: IF stays set.
  env.set_cpl3();
  env.code(0x4000, {0xCD, 0x21});
  env.start(0x4000);
  env.cpu.set_rflags(kFixed1 | kFlagIF);
  env.run(1);
  EXPECT_EQ(env.s.rip, 0x5100u);
  EXPECT_TRUE(env.cpu.rflags() & kFlagIF);
}

TEST(System, SamePrivilegeInterruptPushesNoStackPointer) {
  SysEnv env;
  env.protected32();
  env.code(0x4000, {0xCC});   // int3 -> vector 3, ring-0 gate at CPL 0
  env.start(0x4000);
  EXPECT_EQ(env.run(5), StopReason::Halted);
  EXPECT_EQ(env.taken_vector(), 3);
  EXPECT_EQ(env.s.gpr[RSP], 0x8000u - 12);
  // The HLT ran after delivery: the frame is below it.
  EXPECT_EQ(env.stack32(0), 0x4001u);
  EXPECT_EQ(env.stack32(1), kCode0);
}

TEST(System, IretReturnsToRing3AndRestoresFlags) {
  SysEnv env;
  env.protected32();
  // Build an IRET frame to ring 3 at 0x8000 - 20.
  u64 sp = 0x8000 - 20;
  env.w(sp + 0, 0x4100, 4);
  env.w(sp + 4, kCode3, 4);
  env.w(sp + 8, kFixed1 | kFlagIF | kFlagZF | (3u << 12), 4);
  env.w(sp + 12, 0x6800, 4);
  env.w(sp + 16, kData3, 4);
  env.code(0x4000, {0xCF});
  env.start(0x4000);
  env.s.gpr[RSP] = sp;
  env.run(1);
  EXPECT_EQ(env.cpu.cpl(), 3);
  EXPECT_EQ(env.s.seg[CS].sel, kCode3);
  EXPECT_EQ(env.s.rip, 0x4100u);
  EXPECT_EQ(env.s.gpr[RSP], 0x6800u);
  EXPECT_EQ(env.s.seg[SS].sel, kData3);
  EXPECT_TRUE(env.cpu.rflags() & kFlagIF);
  EXPECT_TRUE(env.cpu.zf());
  EXPECT_EQ((env.cpu.rflags() >> 12) & 3, 3u);
  EXPECT_EQ(env.s.seg[DS].sel, 0);   // ring-0 data nulled

  // At CPL 3 IRET may not change IOPL; with IOPL 3 it may change IF.
  u64 sp3 = 0x6800 - 12;
  env.w(sp3 + 0, 0x4200, 4);
  env.w(sp3 + 4, kCode3, 4);
  env.w(sp3 + 8, kFixed1, 4);   // IOPL 0, IF 0
  env.code(0x4100, {0xCF});
  env.s.gpr[RSP] = sp3;
  env.run(1);
  EXPECT_EQ(env.s.rip, 0x4200u);
  EXPECT_EQ((env.cpu.rflags() >> 12) & 3, 3u);
  EXPECT_FALSE(env.cpu.rflags() & kFlagIF);
}

struct FaultCase {
  const char* name;
  std::vector<u8> setup;   // runs first, must not fault
  std::vector<u8> insn;    // the instruction under test
  bool ring3;
  int vector;              // -1: must not fault
  u32 error;
};

TEST(System, SelectorFaultsCarryTheRightErrorCodes) {
  const std::vector<u8> ax_np = {0x66, 0xB8, kNpData, 0x00};
  const FaultCase cases[] = {
      {"mov ds beyond GDT limit", {0x66, 0xB8, 0xF8, 0x01}, {0x8E, 0xD8}, false, kGP, 0x1F8},
      {"mov ds not present", ax_np, {0x8E, 0xD8}, false, kNP, kNpData},
      {"mov ss not present", ax_np, {0x8E, 0xD0}, false, kSS, kNpData},
      {"mov ss ring-3 data at CPL 0", {0x66, 0xB8, kData3, 0x00}, {0x8E, 0xD0}, false, kGP, kData3 & 0xFFFC},
      {"mov ss null", {0x66, 0x31, 0xC0}, {0x8E, 0xD0}, false, kGP, 0},
      {"mov ds ring-0 data at CPL 3", {0x66, 0xB8, kData0, 0x00}, {0x8E, 0xD8}, true, kGP, kData0},
      {"mov ds code (execute/read)", {0x66, 0xB8, kCode0, 0x00}, {0x8E, 0xD8}, false, -1, 0},
      {"mov ds null, then read", {0x66, 0x31, 0xC0, 0x8E, 0xD8}, {0x8B, 0x06}, false, kGP, 0},
      {"jmp far null", {}, {0xEA, 0, 0, 0, 0, 0, 0}, false, kGP, 0},
      {"jmp far data segment", {}, {0xEA, 0, 0, 0, 0, kData0, 0}, false, kGP, kData0},
      {"jmp far ring-0 code from ring 3", {}, {0xEA, 0, 0, 0, 0, kCode0, 0}, true, kGP, kCode0},
      {"int 0x1F ring-0 gate from ring 3", {}, {0xCD, 0x1F}, true, kGP, 0x1F * 8 + 2},
      {"int beyond IDT limit", {}, {0xCD, 0x40}, false, kGP, 0x40 * 8 + 2},
      {"write through read-only ds", {0x66, 0xB8, 0x48, 0x00, 0x8E, 0xD8}, {0xC6, 0x05, 0x00, 0x70, 0x00, 0x00, 0x01},
       false, kGP, 0},
      {"read beyond ds limit", {0x66, 0xB8, 0x40, 0x00, 0x8E, 0xD8}, {0x8B, 0x05, 0x00, 0x10, 0x00, 0x00}, false, kGP, 0},
      {"hlt at CPL 3", {}, {0xF4}, true, kGP, 0},
      {"cli at CPL 3, IOPL 0", {}, {0xFA}, true, kGP, 0},
      {"mov cr4 reserved bit", {0xB8, 0x00, 0x10, 0x00, 0x00}, {0x0F, 0x22, 0xE0}, false, kGP, 0},
      {"mov cr0 PG without PE", {0xB8, 0x00, 0x00, 0x00, 0x80}, {0x0F, 0x22, 0xC0}, false, kGP, 0},
      {"rdmsr unknown", {0xB9, 0x34, 0x12, 0x00, 0x00}, {0x0F, 0x32}, false, kGP, 0},
      {"rdmsr at CPL 3", {0xB9, 0x80, 0x00, 0x00, 0xC0}, {0x0F, 0x32}, true, kGP, 0},
      {"syscall outside 64-bit mode", {}, {0x0F, 0x05}, false, kUD, 0},
      {"ud2", {}, {0x0F, 0x0B}, false, kUD, 0},
  };
  for (const FaultCase& fc : cases) {
    SCOPED_TRACE(fc.name);
    SysEnv env;
    env.protected32();
    env.gdt(0x48, seg_desc(0, 0xFFFFF, 0x90, 0xC));   // read-only data
    env.gdt(0x40, seg_desc(0, 0xFFF, 0x92, 0x4));     // data, 4 KiB limit
    std::vector<u8> code = fc.setup;
    const u64 insn_at = 0x4000 + code.size();
    code.insert(code.end(), fc.insn.begin(), fc.insn.end());
    code.push_back(0xF4);
    env.code(0x4000, code);
    if (fc.ring3) env.set_cpl3();
    env.start(0x4000);
    env.run(20);
    if (fc.vector < 0) {
      EXPECT_EQ(env.s.rip, 0x4000 + code.size());   // ran to the final HLT
      continue;
    }
    ASSERT_EQ(env.taken_vector(), fc.vector);
    bool has_error = fc.vector == kGP || fc.vector == kNP || fc.vector == kSS || fc.vector == kTS;
    unsigned i = 0;
    if (has_error) {
      EXPECT_EQ(env.stack32(i++), fc.error);
    }
    EXPECT_EQ(env.stack32(i), insn_at);   // the saved EIP is the faulting instruction
  }
}

TEST(System, BadTssStackGivesTs) {
  SysEnv env;
  env.protected32();
  env.w(kIdt + 0x20 * 8, gate_desc(kCode0, 0x5000, 0xE, 3), 8);
  env.s.idtr.limit = 0x21 * 8 - 1;
  env.w(kTss + 8, kCode0, 2);   // SS0 = a code segment
  // #TS is handled at CPL 3 through a conforming segment, so no stack switch is needed.
  env.w(kIdt + kTS * 8, gate_desc(kConf, 0x5800, 0xE, 0), 8);
  env.code(0x5800, {0xEB, 0xFE});   // jmp $
  env.code(0x4000, {0xCD, 0x20});
  env.set_cpl3();
  env.start(0x4000);
  env.run(1);
  EXPECT_EQ(env.s.rip, 0x5800u);
  EXPECT_EQ(env.s.seg[CS].sel, kConf | 3);
  EXPECT_EQ(env.s.gpr[RSP], 0x7000u - 16);
  EXPECT_EQ(env.stack32(0), kCode0);   // error code: the bad SS0, EXT = 0 (software INT)
  EXPECT_EQ(env.stack32(1), 0x4000u);
}

TEST(System, IoBitmapAllowsAndDenies) {
  SysEnv env;
  RecordingPort port;
  env.io.map(0x80, 4, &port, "rec");
  env.protected32();
  env.w(kTss + 0x68 + 0x80 / 8, 0xFE, 1);   // port 0x80 allowed, 0x81..0x87 denied
  // out 0x80, al ; out 0x81, al
  env.code(0x4000, {0xB0, 0x5A, 0xE6, 0x80, 0xE6, 0x81, 0xF4});
  env.set_cpl3();
  env.start(0x4000);
  env.run(10);
  ASSERT_EQ(port.writes.size(), 1u);
  EXPECT_EQ(port.writes[0].first, 0);
  EXPECT_EQ(port.writes[0].second, 0x5Au);
  EXPECT_EQ(env.taken_vector(), kGP);
  EXPECT_EQ(env.stack32(0), 0u);
  EXPECT_EQ(env.stack32(1), 0x4004u);

  // A 16-bit access to 0x80 also needs 0x81.
  EXPECT_TRUE(env.cpu.io_allowed(0x80, 1));
  env.set_cpl3();
  env.cpu.state_changed();
  EXPECT_TRUE(env.cpu.io_allowed(0x80, 1));
  EXPECT_FALSE(env.cpu.io_allowed(0x80, 2));
  EXPECT_FALSE(env.cpu.io_allowed(0x300, 1));   // beyond the TSS limit
  // IOPL 3: no bitmap check.
  env.cpu.set_rflags(kFixed1 | (3u << 12));
  EXPECT_TRUE(env.cpu.io_allowed(0x300, 4));
}

TEST(System, SysenterSysexit32) {
  SysEnv env;
  env.protected32();
  env.s.sysenter_cs = kSysenter;
  env.s.sysenter_esp = 0x9800;
  env.s.sysenter_eip = 0x5000;
  env.code(0x4000, {0x0F, 0x34});           // sysenter
  env.code(0x5000, {0x0F, 0x35});           // sysexit
  env.set_cpl3();
  env.start(0x4000);
  env.cpu.set_rflags(kFixed1 | kFlagIF);
  env.run(1);
  EXPECT_EQ(env.cpu.cpl(), 0);
  EXPECT_EQ(env.s.seg[CS].sel, kSysenter);
  EXPECT_EQ(env.s.seg[SS].sel, kSysenter + 8);
  EXPECT_EQ(env.s.gpr[RSP], 0x9800u);
  EXPECT_EQ(env.s.rip, 0x5000u);
  EXPECT_FALSE(env.cpu.rflags() & kFlagIF);
  env.s.gpr[RCX] = 0x6F00;
  env.s.gpr[RDX] = 0x4444;
  env.run(1);
  EXPECT_EQ(env.cpu.cpl(), 3);
  EXPECT_EQ(env.s.seg[CS].sel, kSysenter + 16 + 3);
  EXPECT_EQ(env.s.seg[SS].sel, kSysenter + 24 + 3);
  EXPECT_EQ(env.s.gpr[RSP], 0x6F00u);
  EXPECT_EQ(env.s.rip, 0x4444u);
  EXPECT_EQ(env.cpu.mode(), CpuMode::Prot32);
}

TEST(System, Virtual8086RoundTrip) {
  SysEnv env;
  env.protected32();
  env.w(kIdt + 0x20 * 8, gate_desc(kCode0, 0x5000, 0xE, 3), 8);
  env.s.idtr.limit = 0x21 * 8 - 1;
  env.code(0x5000, {0xCF});                        // iretd
  env.code(0x4010, {0xA1, 0x02, 0x00, 0xCD, 0x20});  // V86 at 0400:0010: mov ax, [2]; int 0x20
  env.w(0x7002, 0xBEEF, 2);                        // DS = 0x0700
  const u32 frame[] = {0x10, 0x400, u32(kFixed1 | kFlagVM | (3u << 12)), 0xFF0, 0x500, 0x600, 0x700, 0, 0};
  u64 sp = 0x8000 - sizeof(frame);
  for (unsigned i = 0; i < 9; i++) env.w(sp + 4 * i, frame[i], 4);
  env.code(0x4000 - 0x100, {0xCF});
  env.start(0x4000 - 0x100);
  env.s.gpr[RSP] = sp;
  env.run(1);
  ASSERT_TRUE(env.cpu.v86());
  EXPECT_EQ(env.cpu.cpl(), 3);
  EXPECT_EQ(env.s.seg[CS].base, 0x4000u);
  EXPECT_EQ(env.s.seg[DS].base, 0x7000u);
  EXPECT_EQ(env.s.gpr[RSP], 0xFF0u);
  EXPECT_EQ(env.s.rip, 0x10u);
  env.run(1);
  EXPECT_EQ(env.s.gpr[RAX] & 0xFFFF, 0xBEEFu);
  env.run(1);   // int 0x20 from V86: ring-0 stack with the data segments pushed
  EXPECT_FALSE(env.cpu.v86());
  EXPECT_EQ(env.s.seg[CS].sel, kCode0);
  EXPECT_EQ(env.s.rip, 0x5000u);
  EXPECT_EQ(env.s.gpr[RSP], 0x9000u - 36);
  EXPECT_EQ(env.stack32(0), 0x15u);
  EXPECT_EQ(env.stack32(1), 0x400u);
  EXPECT_EQ(env.stack32(2), u32(kFixed1 | kFlagVM | (3u << 12)));
  EXPECT_EQ(env.stack32(3), 0xFF0u);
  EXPECT_EQ(env.stack32(4), 0x500u);
  EXPECT_EQ(env.stack32(5), 0x600u);
  EXPECT_EQ(env.stack32(6), 0x700u);
  EXPECT_EQ(env.s.seg[DS].sel, 0);
  env.run(1);   // iretd back to V86
  EXPECT_TRUE(env.cpu.v86());
  EXPECT_EQ(env.s.rip, 0x15u);
  EXPECT_EQ(env.s.seg[DS].sel, 0x700);
  EXPECT_EQ(env.s.gpr[RSP], 0xFF0u);
}

TEST(System, TaskGateCallAndIretReturn) {
  SysEnv env;
  env.protected32();
  env.s.gdtr.limit = 0xFF;
  constexpr u64 kTss2 = 0x3800;
  constexpr u16 kTss2Sel = 0x80, kTaskGateSel = 0x88;
  env.gdt(kTss2Sel, seg_desc(kTss2, 0x67, 0x89, 0));
  env.gdt(kTaskGateSel, gate_desc(kTss2Sel, 0, 0x5, 0));
  env.w(kTss2 + 0x20, 0x5000, 4);    // EIP
  env.w(kTss2 + 0x24, kFixed1, 4);   // EFLAGS
  env.w(kTss2 + 0x28, 0x11, 4);      // EAX
  env.w(kTss2 + 0x38, 0x8800, 4);    // ESP
  const u16 sels[6] = {kData0, kCode0, kData0, kData0, 0, 0};
  for (unsigned i = 0; i < 6; i++) env.w(kTss2 + 0x48 + 4 * i, sels[i], 2);
  // mov eax, 0x1234; call far 0x88:0 ; (return here)
  env.code(0x4000, {0xB8, 0x34, 0x12, 0x00, 0x00, 0x9A, 0, 0, 0, 0, kTaskGateSel, 0x00, 0xF4});
  env.code(0x5000, {0xCF});   // iretd: back through the link
  env.start(0x4000);
  env.run(2);
  EXPECT_EQ(env.s.tr.sel, kTss2Sel);
  EXPECT_EQ(env.s.rip, 0x5000u);
  EXPECT_EQ(env.s.gpr[RAX], 0x11u);
  EXPECT_EQ(env.s.gpr[RSP], 0x8800u);
  EXPECT_TRUE(env.cpu.rflags() & kFlagNT);
  EXPECT_TRUE(env.s.cr0 & kCr0Ts);
  EXPECT_EQ(env.r(kTss2, 2), kTssSel);            // back link
  EXPECT_EQ(env.r(kTss + 0x20, 4), 0x400Cu);      // saved EIP of the caller
  EXPECT_EQ(env.r(kTss + 0x28, 4), 0x1234u);      // saved EAX
  EXPECT_EQ(env.seg(kTss2Sel).type(), desc::kTss32Busy);
  env.run(1);
  EXPECT_EQ(env.s.tr.sel, kTssSel);
  EXPECT_EQ(env.s.rip, 0x400Cu);
  EXPECT_EQ(env.s.gpr[RAX], 0x1234u);
  EXPECT_EQ(env.s.gpr[RSP], 0x8000u);
  EXPECT_FALSE(env.cpu.rflags() & kFlagNT);
  EXPECT_EQ(env.seg(kTss2Sel).type(), desc::kTss32Avail);
}

TEST(System, LarLslVerrVerwLtrLldt) {
  SysEnv env;
  env.protected32();
  env.s.gdtr.limit = 0xFF;
  constexpr u16 kLdtSel = 0x80, kTss2 = 0x88;
  env.gdt(kLdtSel, seg_desc(0x3C00, 0x0F, 0x82, 0));         // LDT with two entries
  env.gdt(kTss2, seg_desc(0x3800, 0x67, 0x89, 0));           // available TSS
  env.w(0x3C08, seg_desc(0x12345000, 0xFF, 0xF2, 0x4), 8);   // LDT entry 1: ring-3 data
  // lar eax, [kCode3]; lsl ebx, ax(=kData0 via cx); verr dx; verw si
  env.s.gpr[RCX] = kCode3;
  env.s.gpr[RDX] = kCode0;      // readable code: VERR ok
  env.s.gpr[RSI] = kCode0;      // code: VERW fails
  env.code(0x4000, {0x0F, 0x02, 0xC1,          // lar eax, ecx
                    0x0F, 0x03, 0xD9,          // lsl ebx, ecx
                    0x0F, 0x00, 0xE2});        // verr dx
  env.start(0x4000);
  env.run(3);
  EXPECT_EQ(env.s.gpr[RAX], 0x00C0FA00u);   // 00F0FF00 mask, as QEMU (bits 19:16 undefined)
  EXPECT_EQ(env.s.gpr[RBX], 0xFFFFFFFFu);
  EXPECT_TRUE(env.cpu.zf());
  env.code(0x4009, {0x0F, 0x00, 0xEE});        // verw si
  env.run(1);
  EXPECT_FALSE(env.cpu.zf());
  // lsl on a selector beyond the GDT: ZF = 0, destination unchanged.
  env.s.gpr[RCX] = 0x1F8;
  env.code(0x400C, {0x0F, 0x03, 0xD9});
  env.run(1);
  EXPECT_FALSE(env.cpu.zf());
  EXPECT_EQ(env.s.gpr[RBX], 0xFFFFFFFFu);

  // ltr marks the TSS busy; lldt + a load through the LDT (selector 0x0F: index 1, TI, RPL 3).
  env.s.gpr[RAX] = kTss2;
  env.s.gpr[RBX] = kLdtSel;
  env.s.gpr[RCX] = 0x0F;
  env.code(0x400F, {0x0F, 0x00, 0xD8,          // ltr ax
                    0x0F, 0x00, 0xD3,          // lldt bx
                    0x8E, 0xE1});              // mov fs, cx
  env.run(3);
  EXPECT_EQ(env.s.tr.sel, kTss2);
  EXPECT_EQ(env.seg(kTss2).type(), desc::kTss32Busy);
  EXPECT_EQ(env.s.ldtr.base, 0x3C00u);
  EXPECT_EQ(env.s.seg[FS].base, 0x12345000u);
  EXPECT_EQ(env.s.seg[FS].limit, 0xFFu);
  EXPECT_TRUE(env.r(0x3C08 + 5, 1) & 1);       // accessed bit set in the LDT
}

TEST(System, SgdtSidtAndMsrs) {
  SysEnv env;
  env.protected32();
  env.code(0x4000, {0x0F, 0x01, 0x05, 0x00, 0x71, 0x00, 0x00,    // sgdt [0x7100]
                    0x0F, 0x01, 0x0D, 0x10, 0x71, 0x00, 0x00});  // sidt [0x7110]
  env.start(0x4000);
  env.run(2);
  EXPECT_EQ(env.r(0x7100, 2), 0x7Fu);
  EXPECT_EQ(env.r(0x7102, 4), kGdt);
  EXPECT_EQ(env.r(0x7110, 2), 32u * 8 - 1);
  EXPECT_EQ(env.r(0x7112, 4), kIdt);

  u64 v = 0;
  EXPECT_TRUE(env.cpu.write_msr(msr::kFsBase, 0xFFFF800012345000ull));
  EXPECT_EQ(env.s.seg[FS].base, 0xFFFF800012345000ull);
  EXPECT_FALSE(env.cpu.write_msr(msr::kFsBase, 0x0000800000000000ull));   // non-canonical
  EXPECT_FALSE(env.cpu.write_msr(msr::kPat, 0x0202020202020202ull));      // type 2 is reserved
  EXPECT_TRUE(env.cpu.write_msr(msr::kMtrrPhysBase0 + 1, 0xFF00000800ull));
  EXPECT_TRUE(env.cpu.read_msr(msr::kMtrrPhysBase0 + 1, v));
  EXPECT_EQ(v, 0xFF00000800ull);
  EXPECT_TRUE(env.cpu.read_msr(msr::kMtrrCap, v));
  EXPECT_EQ(v & 0xFF, 8u);
  EXPECT_FALSE(env.cpu.read_msr(0x12345678, v));
  EXPECT_FALSE(env.cpu.write_msr(msr::kEfer, 1ull << 3));                  // reserved bit
}

TEST(System, LongModeActivationChecks) {
  SysEnv env;
  env.protected32();
  env.s.efer = kEferLme;
  // mov eax, cr0; or eax, 0x80000000; mov cr0, eax -- without CR4.PAE: #GP(0)
  env.code(0x4000, {0x0F, 0x20, 0xC0, 0x0D, 0x00, 0x00, 0x00, 0x80, 0x0F, 0x22, 0xC0, 0xF4});
  env.w(0x10000, 0x11007, 8);
  env.w(0x11000, 0x12007, 8);
  env.w(0x12000, 0x87, 8);
  env.s.cr3 = 0x10000;
  env.start(0x4000);
  env.run(10);
  EXPECT_EQ(env.taken_vector(), kGP);
  EXPECT_FALSE(env.s.efer & kEferLma);
  // With PAE the same code activates IA-32e mode (compatibility mode: CS.L = 0).
  env.s.cr4 = kCr4Pae;
  env.set_cpl0();
  env.start(0x4000);
  env.run(10);
  EXPECT_EQ(env.s.rip, 0x400Cu);
  EXPECT_TRUE(env.s.efer & kEferLma);
  EXPECT_EQ(env.cpu.mode(), CpuMode::Prot32);
}

TEST(System, SixteenBitGateAndIret) {
  SysEnv env;
  env.protected32();
  env.gdt(0x40, seg_desc(0, 0xFFFF, 0x9A, 0x0));   // 16-bit code, ring 0
  env.gdt(0x48, seg_desc(0, 0xFFFF, 0x92, 0x0));   // 16-bit data (16-bit stack)
  env.w(kIdt + 0x10 * 8, gate_desc(0x40, 0x5000, 0x6, 0), 8);   // 16-bit interrupt gate
  env.code(0x4000, {0xCD, 0x10, 0xF4});   // int 0x10; hlt
  env.code(0x5000, {0xCF});               // iret (16-bit)
  env.s.seg[CS] = env.seg(0x40);
  env.s.seg[SS] = env.seg(0x48);
  env.start(0x4000);
  env.s.gpr[RSP] = 0x12340800;            // upper half of ESP must survive a 16-bit stack
  env.cpu.set_rflags(kFixed1 | kFlagIF);
  env.run(1);
  EXPECT_EQ(env.cpu.mode(), CpuMode::Prot16);
  EXPECT_EQ(env.s.rip, 0x5000u);
  EXPECT_EQ(env.s.gpr[RSP], 0x123407FAu);
  EXPECT_EQ(env.r(0x7FA, 2), 0x4002u);
  EXPECT_EQ(env.r(0x7FC, 2), 0x40u);
  EXPECT_EQ(env.r(0x7FE, 2), u64(kFixed1 | kFlagIF));
  EXPECT_FALSE(env.cpu.rflags() & kFlagIF);
  env.run(1);
  EXPECT_EQ(env.s.rip, 0x4002u);
  EXPECT_EQ(env.s.gpr[RSP], 0x12340800u);
  EXPECT_TRUE(env.cpu.rflags() & kFlagIF);
}

// ---- long mode ----

struct LongEnv : SysEnv {
  static constexpr u64 kPml4 = 0x10000;
  void long64() {
    protected32();
    gdt(kCode64, seg_desc(0, 0xFFFFF, 0x9A, 0xA));
    gdt(kCode64u, seg_desc(0, 0xFFFFF, 0xFA, 0xA));
    gdt(kTssSel, seg_desc(kTss, 0x67 + 0x20, 0x8B, 0));   // busy: it is TR
    w(kGdt + kTssSel + 8, 0, 8);
    // Identity map the first 2 MiB, user accessible.
    w(kPml4, (kPml4 + 0x1000) | 7, 8);
    w(kPml4 + 0x1000, (kPml4 + 0x2000) | 7, 8);
    w(kPml4 + 0x2000, 0x87, 8);
    // 64-bit IDT: 16-byte gates at kIdt for vectors 0..31.
    for (unsigned v = 0; v < 32; v++) {
      w(kIdt + v * 16, gate_desc(kCode64, kHandlers + v * 16, 0xE, 0), 8);
      w(kIdt + v * 16 + 8, 0, 8);
    }
    w(kTss + 4, 0x9000, 8);          // RSP0
    w(kTss + 0x24, 0xA008, 8);       // IST1 (misaligned on purpose: delivery aligns it)
    s.idtr = {kIdt, 64 * 16 - 1};
    s.cr0 = kCr0Pe | kCr0Et | kCr0Pg;
    s.cr4 = kCr4Pae;
    s.cr3 = kPml4;
    s.efer = kEferLme | kEferLma | kEferSce | kEferNxe;
    s.tr = seg(kTssSel);
    s.tr.attr |= 2;
    s.seg[CS] = seg(kCode64);
  }
};

TEST(System, SyscallSysretLongMode) {
  LongEnv env;
  env.long64();
  env.s.star = (u64(0x30) << 48) | (u64(kCode64) << 32);   // SYSRET base 0x30: CS 0x43, SS 0x3B
  env.s.lstar = 0x5000;
  env.s.sfmask = kFlagIF | kFlagDF;
  env.gdt(0x38, seg_desc(0, 0xFFFFF, 0x9A, 0xA));
  env.code(0x4000, {0x0F, 0x05});           // syscall
  env.code(0x5000, {0x48, 0x0F, 0x07});     // sysretq
  env.set_cpl3();
  env.s.seg[CS] = env.seg(kCode64u);
  env.start(0x4000);
  env.cpu.set_rflags(kFixed1 | kFlagIF | kFlagDF | kFlagCF);
  env.s.gpr[RSP] = 0x7777;
  env.run(1);
  EXPECT_EQ(env.cpu.mode(), CpuMode::Long64);
  EXPECT_EQ(env.cpu.cpl(), 0);
  EXPECT_EQ(env.s.seg[CS].sel, kCode64);
  EXPECT_EQ(env.s.seg[SS].sel, kCode64 + 8);
  EXPECT_EQ(env.s.rip, 0x5000u);
  EXPECT_EQ(env.s.gpr[RCX], 0x4002u);
  EXPECT_EQ(env.s.gpr[R11], u64(kFixed1 | kFlagIF | kFlagDF | kFlagCF));
  EXPECT_EQ(env.cpu.rflags(), u64(kFixed1 | kFlagCF));
  EXPECT_EQ(env.s.gpr[RSP], 0x7777u);
  env.s.gpr[R11] = kFixed1 | kFlagIF | kFlagZF;
  env.run(1);
  EXPECT_EQ(env.cpu.cpl(), 3);
  EXPECT_EQ(env.cpu.mode(), CpuMode::Long64);
  EXPECT_EQ(env.s.seg[CS].sel, 0x43);
  EXPECT_EQ(env.s.seg[SS].sel, 0x3B);
  EXPECT_EQ(env.s.rip, 0x4002u);
  EXPECT_EQ(env.cpu.rflags(), u64(kFixed1 | kFlagIF | kFlagZF));
}

TEST(System, SysretNonCanonicalRcxFaultsInRing0) {
  LongEnv env;
  env.long64();
  env.s.star = (u64(0x30) << 48) | (u64(kCode64) << 32);
  env.code(0x4000, {0x48, 0x0F, 0x07});
  env.start(0x4000);
  env.s.gpr[RCX] = 0x0000800000000000ull;
  env.run(2);
  ASSERT_EQ(env.taken_vector(), kGP);
  EXPECT_EQ(env.cpu.cpl(), 0);
  EXPECT_EQ(env.stack64(0), 0u);         // error code
  EXPECT_EQ(env.stack64(1), 0x4000u);    // RIP of SYSRET
}

TEST(System, LongModeInterruptUsesIstAndAlignsStack) {
  LongEnv env;
  env.long64();
  // Vector 0x20: 64-bit interrupt gate, DPL 3, IST 1, to ring 0.
  env.w(kIdt + 0x20 * 16, gate_desc(kCode64, 0x5000, 0xE, 3) | (1ull << 32), 8);
  env.w(kIdt + 0x20 * 16 + 8, 0, 8);
  env.code(0x4000, {0xCD, 0x20});
  env.code(0x5000, {0x48, 0xCF});   // iretq
  env.set_cpl3();
  env.s.seg[CS] = env.seg(kCode64u);
  env.start(0x4000);
  env.s.gpr[RSP] = 0x7123;
  env.cpu.set_rflags(kFixed1 | kFlagIF);
  env.run(1);
  EXPECT_EQ(env.cpu.cpl(), 0);
  EXPECT_EQ(env.s.rip, 0x5000u);
  EXPECT_EQ(env.s.gpr[RSP], 0xA000u - 40);   // IST1 aligned down to 16, five slots
  EXPECT_EQ(env.s.seg[SS].sel, 0);           // null SS with RPL 0
  EXPECT_EQ(env.stack64(0), 0x4002u);
  EXPECT_EQ(env.stack64(1), kCode64u);
  EXPECT_EQ(env.stack64(2), u64(kFixed1 | kFlagIF));
  EXPECT_EQ(env.stack64(3), 0x7123u);
  EXPECT_EQ(env.stack64(4), kData3);
  EXPECT_FALSE(env.cpu.rflags() & kFlagIF);
  env.run(1);   // iretq
  EXPECT_EQ(env.cpu.cpl(), 3);
  EXPECT_EQ(env.s.rip, 0x4002u);
  EXPECT_EQ(env.s.gpr[RSP], 0x7123u);
  EXPECT_EQ(env.s.seg[SS].sel, kData3);
  EXPECT_TRUE(env.cpu.rflags() & kFlagIF);
}

TEST(System, LongModeFaultPushesErrorCode) {
  LongEnv env;
  env.long64();
  env.code(0x4000, {0x66, 0xB8, kNpData, 0x00, 0x8E, 0xD8});   // mov ax, sel; mov ds, ax
  env.start(0x4000);
  env.s.gpr[RSP] = 0x8008;
  env.run(5);
  ASSERT_EQ(env.taken_vector(), kNP);
  EXPECT_EQ(env.s.gpr[RSP], 0x8000u - 48);   // aligned, six slots
  EXPECT_EQ(env.stack64(0), kNpData);
  EXPECT_EQ(env.stack64(1), 0x4004u);
  EXPECT_EQ(env.stack64(4), 0x8008u);        // old RSP, even at the same privilege
}

TEST(System, ConformingCodeKeepsCpl) {
  SysEnv env;
  env.protected32();
  // From ring 3, jmp far to a DPL-0 conforming segment: CPL stays 3, CS.RPL = 3.
  env.code(0x4000, {0xEA, 0x00, 0x50, 0x00, 0x00, kConf, 0x00});
  env.code(0x5000, {0x90});
  env.set_cpl3();
  env.start(0x4000);
  env.run(1);
  EXPECT_EQ(env.s.rip, 0x5000u);
  EXPECT_EQ(env.s.seg[CS].sel, kConf | 3);
  EXPECT_EQ(env.cpu.cpl(), 3);
}

TEST(System, StiShadowAndPopfRules) {
  SysEnv env;
  env.protected32();
  // At CPL 3 with IOPL 0, POPF silently keeps IF and IOPL.
  env.code(0x4000, {0x68, 0x00, 0x32, 0x00, 0x00, 0x9D});   // push 0x3200 (IF|IOPL3); popf
  env.set_cpl3();
  env.start(0x4000);
  env.run(2);
  EXPECT_EQ(env.s.rip, 0x4006u);
  EXPECT_FALSE(env.cpu.rflags() & kFlagIF);
  EXPECT_EQ((env.cpu.rflags() >> 12) & 3, 0u);
  // At CPL 0 both change.
  env.set_cpl0();
  env.start(0x4000);
  env.run(2);
  EXPECT_TRUE(env.cpu.rflags() & kFlagIF);
  EXPECT_EQ((env.cpu.rflags() >> 12) & 3, 3u);
}

}  // namespace
}  // namespace rv::test
