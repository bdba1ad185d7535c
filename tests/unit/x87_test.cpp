// x87 FPU (cpu/interp/x87*.cpp): each test runs the same instruction bytes in the interpreter
// (64-bit guest) and natively on the host (an executable page between FXRSTOR64 and FXSAVE64),
// starting from the same FXSAVE image and data, and compares the FXSAVE images (FCW, FSW,
// abridged FTW, MXCSR, ST0..ST7; FOP/FIP/FDP are host-specific and checked separately) and the
// data the code stored (harness: x87_harness.h). Sequences with an unmasked exception end at
// the faulting instruction: a waiting x87 instruction after it would deliver #MF (SIGFPE) on
// the host.
#include "tests/unit/x87_harness.h"

namespace rv::test {
namespace {

const double kValues[] = {1.5, -2.25, 3.0, 1e300, -1e-300, 4.9e-324, 0.0, -0.0, 1.0 / 3.0, 123456789.125,
                          std::numeric_limits<double>::infinity(), -std::numeric_limits<double>::infinity(),
                          std::numeric_limits<double>::quiet_NaN(), 7.0e-310, 1.7e308 / 4, -1e-320};

TEST(X87, ArithmeticAllRoundingAndPrecisionModes) {
  const Bytes code = cat({M(0xD9, 5, D(0x00)),                    // fldcw [0x00]
                          M(0xDD, 0, D(0x10)), M(0xDD, 0, D(0x18)),   // fld a; fld b
                          R(0xD8, 0xC1), SW(0x70),                // fadd st0, st1
                          R(0xDC, 0xC9), SW(0x72),                // fmul st1, st0
                          M(0xDC, 6, D(0x10)), SW(0x74),          // fdiv qword a
                          M(0xD8, 5, D(0x20)), SW(0x76),          // fsubr dword
                          R(0xD9, 0xFA), SW(0x78),                // fsqrt
                          M(0xDE, 0, D(0x28)), SW(0x7A),          // fiadd word
                          M(0xDA, 7, D(0x24)),                    // fidivr dword
                          R(0xDE, 0xF9),                          // fdivp st1, st0
                          M(0xDB, 7, D(0x40)),                    // fstp tbyte
                          M(0xD9, 2, D(0x50)),                    // fst dword (empty: underflow)
                          M(0xDD, 0, D(0x10)), M(0xDC, 1, D(0x18)),   // fld a; fmul b
                          R(0xD9, 0xC0), R(0xDE, 0xE9),           // fld st0; fsubp
                          M(0xDD, 2, D(0x58)),                    // fst qword
                          M(0xDF, 7, D(0x60)),                    // fistp qword
                          kFnstswAxToMem});
  for (u16 rc = 0; rc < 4; rc++)
    for (u16 pc : {0, 2, 3})
      for (unsigned i = 0; i < std::size(kValues); i++) {
        Data d{};
        put<u16>(d, 0x00, static_cast<u16>(0x3F | (pc << 8) | (rc << 10)));
        put(d, 0x10, kValues[i]);
        put(d, 0x18, kValues[(i * 7 + 3) % std::size(kValues)]);
        put(d, 0x20, static_cast<float>(kValues[(i + 5) % std::size(kValues)]));
        put<i32>(d, 0x24, static_cast<i32>(i * 1000003) - 7);
        put<i16>(d, 0x28, static_cast<i16>(i * 37 - 100));
        char what[64];
        std::snprintf(what, sizeof what, "rc=%u pc=%u value %u", rc, pc, i);
        compare(code, d, initial_image(), what);
      }
}

TEST(X87, StackOverflowAndUnderflowMasked) {
  Bytes code;
  for (int i = 0; i < 9; i++) code = cat({code, R(0xD9, 0xE8)});   // 9 x fld1: overflow on the 9th
  code = cat({code, kFnstswAxToMem, R(0xDB, 0xE3)});               // fninit
  code = cat({code, R(0xD8, 0xC3), M(0xDD, 3, D(0x40)), R(0xDD, 0xC2), R(0xD9, 0xC9), kFnstswAxToMem});
  Data d{};
  Outcome o = compare(code, d);
  const u16 sw = x87::rd16(o.guest.b + 2);
  EXPECT_TRUE(sw & x87::kSF) << std::hex << sw;
  EXPECT_TRUE(sw & x87::kIE);
  EXPECT_FALSE(sw & x87::kES);
}

TEST(X87, UnmaskedStackFaultLeavesStateAndSetsEs) {
  for (bool overflow : {false, true}) {
    Bytes code = {};
    if (overflow)
      for (int i = 0; i < 8; i++) code = cat({code, R(0xD9, 0xEB)});   // 8 x fldpi
    code = cat({M(0xD9, 5, D(0x00)), code, overflow ? R(0xD9, 0xEE) : R(0xD8, 0xC1)});
    Data d{};
    put<u16>(d, 0, 0x037E);   // IM = 0
    Outcome o = compare(code, d, initial_image(), overflow ? "overflow" : "underflow");
    const u16 sw = x87::rd16(o.guest.b + 2);
    EXPECT_EQ(sw & (x87::kES | x87::kB | x87::kSF | x87::kIE), x87::kES | x87::kB | x87::kSF | x87::kIE);
    EXPECT_EQ(!!(sw & x87::kC1), overflow);
  }
}

// Every exception, masked and then unmasked alone; unmasked sequences end at the exception.
TEST(X87, ExceptionsMaskedAndUnmasked) {
  struct Case { const char* name; u16 bit; double a, b; Bytes op; };
  const double big = 1e308, tiny = 1e-308;
  const Case cases[] = {
      {"ZE 1/0", x87::kZE, 0.0, 1.0, R(0xD8, 0xF1)},              // fdiv st0, st1: 1/0
      {"IE 0/0", x87::kIE, 0.0, 0.0, R(0xD8, 0xF1)},
      {"IE sqrt(-1)", x87::kIE, 0.0, -1.0, R(0xD9, 0xFA)},
      {"OE reg", x87::kOE, 1.0, 1.0, cat({M(0xDB, 5, D(0x30)), R(0xD8, 0xC8)})},   // huge m80 squared
      {"OE fst m64", x87::kOE, big, big, cat({R(0xD8, 0xC9), M(0xDD, 2, D(0x40))})},
      {"UE reg", x87::kUE, 1.0, 1.0, cat({M(0xDB, 5, D(0x60)), R(0xD8, 0xC8)})},   // tiny m80 squared
      {"UE fst m32", x87::kUE, 1.0, tiny, M(0xD9, 2, D(0x40))},
      {"PE", x87::kPE, 3.0, 1.0, R(0xD8, 0xF1)},
      {"DE", x87::kDE, 1.0, 1.0, M(0xDC, 0, D(0x20))},            // fadd m64 denormal
      {"IE fist", x87::kIE, 0.0, 1e10, M(0xDF, 2, D(0x40))},      // fist m16 out of range
  };
  for (const Case& c : cases) {
    for (bool unmask : {false, true}) {
      Data d{};
      put<u16>(d, 0, static_cast<u16>(0x037F & ~(unmask ? c.bit : 0)));
      put(d, 0x10, c.a);
      put(d, 0x18, c.b);
      put<u64>(d, 0x40, 0x1122334455667788ull);
      put(d, 0x20, 4.9e-324);
      put80(d, 0x30, 0xC000000000000000ull, 0x7FFE);
      put80(d, 0x60, 0xC000000000000000ull, 0x0001);
      const Bytes code = cat({M(0xD9, 5, D(0x00)), M(0xDD, 0, D(0x10)), M(0xDD, 0, D(0x18)), c.op});
      std::string what = std::string(c.name) + (unmask ? " unmasked" : " masked");
      Outcome o = compare(code, d, initial_image(), what.c_str());
      const u16 sw = x87::rd16(o.guest.b + 2);
      EXPECT_TRUE(sw & c.bit) << what;
      EXPECT_EQ(!!(sw & x87::kES), unmask) << what;
    }
  }
}

// #MF comes at the next waiting x87 instruction (or FWAIT), not at the faulting one; the
// non-waiting FNSTSW does not take it. FOP/FIP/FDP still name the faulting instruction.
TEST(X87, UnmaskedExceptionRaisesMfAtNextWaitingInstruction) {
  for (int next : {0, 1, 2}) {
    Data d{};
    put<u16>(d, 0, 0x037B);   // ZM = 0
    put(d, 0x10, 1.0);
    put(d, 0x18, 0.0);
    const Bytes head = cat({M(0xD9, 5, D(0x00)), M(0xDD, 0, D(0x10)), M(0xDC, 6, D(0x18))});   // fdiv m64 0
    const Bytes tail = next == 0 ? Bytes{0x9B} : next == 1 ? R(0xD9, 0xE8) : M(0xD9, 7, D(0x60));
    X87Env e;
    e.run_code(cat({head, kFnstswAxToMem, tail}), initial_image(), d.data());
    const u64 fdiv_at = kCode + 6, next_at = kCode + 9 + kFnstswAxToMem.size();
    u16 stored_sw;
    std::memcpy(&stored_sw, d.data() + 8, 2);
    if (next == 2) {   // FNSTCW does not wait
      EXPECT_EQ(e.vector, -1);
      continue;
    }
    EXPECT_EQ(e.vector, kMF) << next;
    EXPECT_EQ(e.fault_rip, next_at) << next;
    EXPECT_TRUE(e.fsw() & x87::kES);
    EXPECT_TRUE(e.fsw() & x87::kZE);
    EXPECT_EQ(e.fop(), (4u << 8) | 0x76u);   // DC /6 with ModRM 76
    EXPECT_EQ(e.fip(), fdiv_at);
    EXPECT_EQ(e.fdp(), kData + 0x18);
    EXPECT_EQ(stored_sw & 0x80, 0x80);   // FNSTSW ran (no #MF) and saw ES
  }
  // CR0.NE = 0: no #MF; the exception stays pending.
  X87Env e;
  Data d{};
  put<u16>(d, 0, 0x037B);
  put(d, 0x10, 1.0);
  const Bytes code = cat({M(0xD9, 5, D(0x00)), M(0xDD, 0, D(0x10)), M(0xDC, 6, D(0x18)), R(0xD9, 0xE8)});
  e.long_mode(code);
  e.s.cr0 &= ~kCr0Ne;
  e.cpu.state_changed();
  e.mem.write_bytes(kData, d.data(), kDataSize);
  std::memcpy(e.s.fpu.fxsave, initial_image().b, 512);
  e.cpu.run(1000);
  EXPECT_TRUE(e.cpu.state().halted);
  EXPECT_TRUE(interp::x87_pending_exception(e.cpu));
}

// 32-bit protected mode: #MF goes through the IDT (vector 16, no error code) to a handler that
// clears the exception (FNCLEX) and IRETs; the interrupted FLD1 then runs again and completes.
TEST(X87, MfDeliveredThroughIdtAndRetried) {
  X87Env e;
  auto w = [&](u64 a, u64 v, unsigned n) { e.mem.write(a, v, n); };
  w(0x508, 0x00CF9A000000FFFFull, 8);   // code, flat 32-bit
  w(0x510, 0x00CF92000000FFFFull, 8);   // data
  for (unsigned v = 0; v < 32; v++) {
    const u32 h = v == kMF ? 0x3000 : 0x3100;
    w(0x600 + 8 * v, (h & 0xFFFF) | (0x08u << 16) | (u64((h & 0xFFFF0000u) | 0x8E00) << 32), 8);
  }
  const Bytes handler = {0xFF, 0x05, 0x10, 0x40, 0x00, 0x00, 0xDB, 0xE2, 0xCF};   // inc dword [0x4010]; fnclex; iretd
  e.mem.write_bytes(0x3000, handler.data(), handler.size());
  w(0x3100, 0xF4, 1);
  const Bytes code = {0xD9, 0x2D, 0x00, 0x40, 0x00, 0x00,   // fldcw [0x4000]
                      0xD9, 0xE8, 0xD9, 0xEE, 0xDE, 0xF9,   // fld1; fldz; fdivp: 1/0, ZE unmasked
                      0xD9, 0xE8, 0xF4};                    // fld1 -> #MF, then again; hlt
  e.mem.write_bytes(0x2000, code.data(), code.size());
  w(0x4000, 0x037B, 2);
  CpuState& s = e.s;
  s.cr0 = kCr0Pe | kCr0Ne | kCr0Et;
  s.gdtr = {0x500, 0x17};
  s.idtr = {0x600, 32 * 8 - 1};
  s.seg[CS] = Segment{0x08, 0xC09B, 0xFFFFFFFF, 0};
  for (int r : {ES, SS, DS, FS, GS}) s.seg[r] = Segment{0x10, 0xC093, 0xFFFFFFFF, 0};
  s.rip = 0x2000;
  s.gpr[RSP] = 0x8000;
  std::memcpy(s.fpu.fxsave, initial_image().b, 512);
  e.cpu.state_changed();
  ExcHook hook(e.cpu);
  e.cpu.run(100);
  EXPECT_TRUE(s.halted);
  EXPECT_EQ(s.rip, 0x2000u + code.size());   // HLT of the main code, not of the default handler
  EXPECT_EQ(e.mem.read(0x4010, 4), 1u);       // the #MF handler ran once
  EXPECT_EQ(x87::top(e.cpu), 5u);   // unmasked ZE: FDIVP neither stored nor popped; then FLD1
  EXPECT_EQ(e.fsw() & (x87::kZE | x87::kES), 0);
  EXPECT_EQ(e.fop(), 0x1E8u);                 // the retried FLD1
}

TEST(X87, NmUdAndPointers) {
  Data d{};
  for (u64 bit : {kCr0Ts, kCr0Em}) {
    X87Env f;
    f.long_mode(R(0xD9, 0xE8));
    f.s.cr0 |= bit;
    f.cpu.state_changed();
    ExcHook hook(f.cpu);
    f.cpu.set_trace(&hook);
    f.cpu.run(10);
    EXPECT_EQ(hook.m_vector, kNM);
  }
  for (Bytes bad : {R(0xD9, 0xD1), R(0xD9, 0xE2), M(0xD9, 1, 0), R(0xDE, 0xD8), R(0xDF, 0xE1), R(0xDD, 0xF0),
                    Bytes{0xF0, 0xD9, 0xE8}}) {   // LOCK: #UD
    X87Env f;
    f.run_code(bad, initial_image(), d.data());
    EXPECT_EQ(f.vector, kUD) << hex(bad.data(), 2);
  }
  // Control instructions leave FOP/FIP/FDP alone; FADD records them (FDP only with memory).
  X87Env g;
  g.run_code(cat({M(0xDD, 0, D(0x10)), R(0xD9, 0xE8), R(0xDE, 0xC1), M(0xD9, 7, D(0x40)), R(0xDB, 0xE2)}),
             initial_image(), d.data());
  EXPECT_EQ(g.vector, -1);
  EXPECT_EQ(g.fop(), (6u << 8) | 0xC1u);
  EXPECT_EQ(g.fip(), kCode + 5);
  EXPECT_EQ(g.fdp(), kData + 0x10);
}

// Whether the host's x87 records FOP for an instruction without an unmasked exception. AMD's
// does; recent Intel CPUs store 0 there (FOP is "deprecated": kept only for unmasked
// exceptions), so the host cannot judge FOP on them and it is vendor-specific state.
bool host_records_fop() {
  Data d{};
  put<u16>(d, 0, 0x037F);
  const Bytes code = cat({R(0xD9, 0xE8), R(0xD9, 0xE8), R(0xDE, 0xC1), M(0xD9, 6, 0x40)});   // fld1 fld1 faddp fnstenv
  Image hi = initial_image();
  HostExec host;
  host.run(code, hi, d.data());
  return x87::rd16(d.data() + 0x50 + 18) != 0;
}

// Which instructions record FOP: compared with the host through FNSTENV's FOP field.
TEST(X87, FopRecordedLikeTheHost) {
  if (!host_records_fop()) GTEST_SKIP() << "this host's x87 stores FOP = 0 without an unmasked exception (Intel's FOP deprecation): it cannot judge FOP";
  const Bytes ops[] = {R(0xD9, 0xD0), R(0xD9, 0xF7), R(0xD9, 0xF6), R(0xDD, 0xC1), R(0xDF, 0xC1), R(0xD9, 0xC9),
                       M(0xD9, 5, D(0x00)), R(0xDB, 0xE2), M(0xD9, 7, D(0x08)), M(0xDD, 7, D(0x08)), R(0xDF, 0xE0)};
  for (const Bytes& op : ops) {
    Data d{};
    put<u16>(d, 0, 0x037F);
    const Bytes code = cat({R(0xD9, 0xE8), R(0xD9, 0xE8), R(0xDE, 0xC1), op, M(0xD9, 6, 0x40)});
    Data hd = d, gd = d;
    Image hi = initial_image();
    HostExec host;
    host.run(code, hi, hd.data());
    X87Env e;
    e.run_code(code, initial_image(), gd.data());
    EXPECT_EQ(x87::rd16(hd.data() + 0x50 + 18), x87::rd16(gd.data() + 0x50 + 18)) << hex(op.data(), 2);
  }
}

// The undocumented register forms run as on the host (hardware): FSTP1 (D9 D8+i), FCOM2
// (DC D0+i), FCOMP3 (DC D8+i), FXCH4 (DD C8+i), FCOMP5 (DE D0+i), FXCH7 (DF C8+i), FSTP8
// (DF D0+i), FSTP9 (DF D8+i): stack, condition codes and exceptions (an empty ST(i) too).
TEST(X87, UndocumentedAliasesRunAsOnHardware) {
  const Bytes aliases[] = {R(0xD9, 0xD9), R(0xDC, 0xD1), R(0xDC, 0xD9), R(0xDD, 0xC9), R(0xDE, 0xD1),
                           R(0xDF, 0xC9), R(0xDF, 0xD1), R(0xDF, 0xD9), R(0xD9, 0xDF), R(0xDF, 0xCF)};
  for (const Bytes& op : aliases) {
    Data d{};
    put(d, 0x10, 2.5);
    put(d, 0x18, -7.0);
    const Bytes code = cat({M(0xDD, 0, D(0x10)), M(0xDD, 0, D(0x18)), op, kFnstswAxToMem, R(0xDF, 0xE0),
                            {0x66, 0x89, 0x46, 0xF2}});
    compare(code, d, initial_image(), hex(op.data(), 2).c_str());
  }
}

TEST(X87, FxamClassesAndConstants) {
  struct V { u64 m; u16 se; };
  const V vals[] = {{0, 0}, {0, 0x8000}, {1, 0}, {0x8000000000000001ull, 0},   // zero, -zero, denormal, pseudo-denormal
                    {0x8000000000000000ull, 0x3FFF}, {0x8000000000000000ull, 0x7FFF},   // 1, +inf
                    {0xC000000000000000ull, 0xFFFF}, {0x4000000000000000ull, 0x7FFF},   // -QNaN, pseudo-NaN
                    {0x0000000000000000ull, 0x7FFF}, {0x4000000000000000ull, 0x3FFF},   // pseudo-inf, unnormal
                    {0xA000000000000000ull, 0x7FFF}};                                  // SNaN
  for (const V& v : vals) {
    Data d{};
    put80(d, 0x30, v.m, v.se);
    const Bytes code = cat({R(0xD9, 0xE5), kFnstswAxToMem, M(0xDB, 5, D(0x30)), R(0xD9, 0xE5),   // fxam empty; fld m80; fxam
                            M(0xDF, 0, D(0x28)), R(0xD9, 0xE4), R(0xDD, 0xD8), R(0xD9, 0xE5),   // fild; ftst; fstp; fxam
                            {0x66, 0x89, 0x46, 0xF2}, R(0xDF, 0xE0), {0x66, 0x89, 0x46, 0xF4},
                            R(0xD8, 0xC0), {0x9B}, R(0xD9, 0xEA), R(0xD9, 0xE9), R(0xD9, 0xEC), R(0xD9, 0xED),
                            R(0xD9, 0xEE), R(0xD9, 0xEB)});
    compare(code, d, initial_image(), hex(d.data() + 0x30, 10).c_str());
  }
}

TEST(X87, ComparisonsFcomiAndFcmov) {
  const Bytes setcc = {0x0F, 0x94, 0x46, 0x50, 0x0F, 0x9A, 0x46, 0x51, 0x0F, 0x92, 0x46, 0x52};   // setz/setp/setc
  for (unsigned i = 0; i < std::size(kValues); i++)
    for (unsigned j : {0u, 2u, 6u, 12u}) {
      Data d{};
      put(d, 0x10, kValues[i]);
      put(d, 0x18, kValues[j]);
      const Bytes code = cat({M(0xDD, 0, D(0x10)), M(0xDD, 0, D(0x18)),
                              R(0xDB, 0xF1), setcc,                     // fcomi st0, st1
                              R(0xDA, 0xC1), R(0xDB, 0xD1), R(0xDA, 0xD9),   // fcmovb, fcmovnbe, fcmovu
                              R(0xDB, 0xE9), {0x0F, 0x94, 0x46, 0x53},   // fucomi
                              R(0xD8, 0xD1), kFnstswAxToMem,             // fcom st1
                              M(0xDC, 3, D(0x10)), {0x66, 0x89, 0x46, 0x54},   // fcomp m64 (no sw store: AX stale)
                              R(0xDF, 0xE0), {0x66, 0x89, 0x46, 0x56},
                              M(0xDE, 2, D(0x28)), R(0xDF, 0xE0), {0x66, 0x89, 0x46, 0x58},   // ficom m16
                              R(0xDF, 0xE9), R(0xDE, 0xD9)});            // fucomip; fcompp (underflow)
      compare(code, d, initial_image(), "fcomi");
    }
}

TEST(X87, IntegerAndBcdConversions) {
  const double vals[] = {0.5, 1.5, 2.5, -2.5, 32767.5, 32768.0, -32768.0, -32769.0, 2147483647.6, 1e10, -1e19,
                         9.2233720368547758e18, 1e18 - 1, 999999999999999999.0, 1e18, -0.0,
                         std::numeric_limits<double>::quiet_NaN(), std::numeric_limits<double>::infinity()};
  for (u16 rc = 0; rc < 4; rc++)
    for (double v : vals) {
      Data d{};
      put<u16>(d, 0, static_cast<u16>(0x037F | (rc << 10)));
      put(d, 0x10, v);
      put<u64>(d, 0x30, 0x0000001234567890ull);   // packed BCD 1234567890
      put<u16>(d, 0x38, 0x8000);                  // negative
      const Bytes code = cat({M(0xD9, 5, D(0x00)), M(0xDD, 0, D(0x10)),
                              M(0xDF, 2, D(0x40)), M(0xDB, 2, D(0x44)), M(0xDF, 1, D(0x48)),   // fist16 fist32 fisttp16
                              M(0xDD, 0, D(0x10)), M(0xDB, 1, D(0x4C)),                      // fisttp32
                              M(0xDD, 0, D(0x10)), M(0xDD, 1, D(0x50)),                      // fisttp64
                              M(0xDD, 0, D(0x10)), R(0xD9, 0xC0), M(0xDF, 7, D(0x58)),        // fistp64
                              M(0xDF, 6, D(0x60)),                                           // fbstp
                              M(0xDF, 4, D(0x30)), M(0xDF, 4, D(0x60)), M(0xDF, 5, D(0x58)),  // fbld x2, fild64
                              M(0xDB, 0, D(0x44)), kFnstswAxToMem});
      compare(code, d, initial_image(), "int/bcd");
    }
}

TEST(X87, TranscendentalsAndPartialRemainders) {
  const double vals[] = {0.5, -0.75, 1.0, 3.14159, 100.0, 1e18, 1e19, -1e30, 1e-5, 0.0, 2.5, 0.999,
                         -std::numeric_limits<double>::infinity(), std::numeric_limits<double>::quiet_NaN()};
  for (u16 rc : {0, 3})
    for (double a : vals)
      for (double b : {3.0, -0.1, 1e-20, 7.5e10}) {
        Data d{};
        put<u16>(d, 0, static_cast<u16>(0x037F | (rc << 10)));
        put(d, 0x10, a);
        put(d, 0x18, b);
        const Bytes ld = cat({M(0xDD, 0, D(0x18)), M(0xDD, 0, D(0x10))});   // st1 = b, st0 = a
        const Bytes code = cat({M(0xD9, 5, D(0x00)),
                                ld, R(0xD9, 0xFE), R(0xD9, 0xFF), R(0xD9, 0xFB),   // fsin fcos fsincos
                                R(0xD9, 0xF2), kFnstswAxToMem, R(0xDB, 0xE3), M(0xD9, 5, D(0x00)),   // fptan
                                ld, R(0xD9, 0xF3), R(0xD9, 0xF0), ld, R(0xD9, 0xF1), ld, R(0xD9, 0xF9),   // fpatan f2xm1 fyl2x fyl2xp1
                                R(0xDB, 0xE3), M(0xD9, 5, D(0x00)),
                                ld, R(0xD9, 0xFD), R(0xD9, 0xFC), R(0xD9, 0xF4),   // fscale frndint fxtract
                                R(0xDB, 0xE3), M(0xD9, 5, D(0x00)),
                                ld, R(0xD9, 0xF8), {0x66, 0x89, 0x46, 0x40}, R(0xDF, 0xE0),   // fprem (AX before)
                                {0x66, 0x89, 0x46, 0x42}, R(0xD9, 0xF5), R(0xDF, 0xE0), {0x66, 0x89, 0x46, 0x44},
                                R(0xD9, 0xE1), R(0xD9, 0xE0), R(0xD9, 0xF6), R(0xD9, 0xF7), R(0xDD, 0xC1),   // fabs fchs fdecstp fincstp ffree
                                R(0xDF, 0xC0), R(0xD9, 0xC9), R(0xD9, 0xD0)});   // ffreep fxch fnop
        compare(code, d, initial_image(), "transcendental");
      }
  // FPREM with a large exponent difference: partial remainder, C2 = 1 until done.
  Data d{};
  put(d, 0x10, 1e300);
  put(d, 0x18, 3.0);
  Bytes code = cat({M(0xDD, 0, D(0x18)), M(0xDD, 0, D(0x10))});
  for (int i = 0; i < 4; i++) code = cat({code, R(0xD9, 0xF8), R(0xDF, 0xE0), {0x66, 0x89, 0x46, static_cast<u8>(0x40 + 2 * i)}});
  Outcome o = compare(code, d, initial_image(), "fprem partial");
  const u16 sw0 = x87::rd16(o.guest_data.data() + 0x50);
  EXPECT_TRUE(sw0 & x87::kC2) << std::hex << sw0;
}

// FNSTENV/FLDENV/FNSAVE/FRSTOR in 32- and 16-bit formats (64-bit mode: protected layouts).
// FIP, FCS/FOP dword, FDP and FDS hold host addresses on the host: they are compared against
// the guest's own pointers instead.
TEST(X87, EnvironmentAndSaveImages) {
  for (bool b16 : {false, true})
    for (int kind : {0, 1}) {   // 0 fnstenv, 1 fnsave
      Data d{};
      put<u16>(d, 0, 0x0273);
      put(d, 0x10, 2.0);
      put(d, 0x18, 4.9e-324);
      put80(d, 0x30, 0x4000000000000000ull, 0x3FFF);   // unnormal: special tag
      Bytes st = kind ? M(0xDD, 6, 0x40) : M(0xD9, 6, 0x40);
      if (b16) st.insert(st.begin(), 0x66);
      const Bytes code = cat({M(0xD9, 5, D(0x00)), M(0xDD, 0, D(0x10)), R(0xD9, 0xEE), M(0xDD, 0, D(0x18)),
                              M(0xDB, 5, D(0x30)), R(0xD9, 0xF7), R(0xD8, 0xD1), st,
                              R(0xD9, 0xE8), kFnstswAxToMem});
      Data host_d = d;
      Image hi = initial_image();
      HostExec host;
      host.run(code, hi, host_d.data());
      X87Env e;
      Data gd = d;
      e.run_code(code, initial_image(), gd.data());
      ASSERT_EQ(e.vector, -1);
      const unsigned base = 0x50, env = b16 ? 14 : 28, n = env + (kind ? 80 : 0);
      const bool fop = host_records_fop();   // else FOP (bytes 18-19 of the 32-bit image) is not compared
      for (unsigned i = 0; i < n; i++) {
        const bool pointer = b16 ? (i >= 6) && i < 14 : (i >= 12 && i < 16) || (i >= 16 && i < 18) || (i >= 20 && i < 26);
        if (pointer || (!b16 && !fop && (i == 18 || i == 19))) continue;
        EXPECT_EQ(host_d[base + i], gd[base + i]) << "byte " << i << (b16 ? " 16-bit" : " 32-bit") << " kind " << kind;
      }
      // Our pointers: FIP = the FCOM (last non-control insn), FDP = the FLD m80 operand.
      const u64 fcom_at = kCode + 3 + 3 + 2 + 3 + 3 + 2;
      if (b16) {
        u16 ip, dp;
        std::memcpy(&ip, gd.data() + base + 6, 2);
        std::memcpy(&dp, gd.data() + base + 10, 2);
        EXPECT_EQ(ip, static_cast<u16>(fcom_at));
        EXPECT_EQ(dp, static_cast<u16>(kData + 0x30));
      } else {
        u32 ip, fop, dp;
        std::memcpy(&ip, gd.data() + base + 12, 4);
        std::memcpy(&fop, gd.data() + base + 16, 4);
        std::memcpy(&dp, gd.data() + base + 20, 4);
        EXPECT_EQ(ip, static_cast<u32>(fcom_at));
        EXPECT_EQ(fop >> 16, 0xD1u);
        EXPECT_EQ(dp, static_cast<u32>(kData + 0x30));
      }
      for (unsigned i = 0; i < 8; i++)
        EXPECT_EQ(hex(hi.b + 32 + 16 * i, 10), hex(e.s.fpu.fxsave + 32 + 16 * i, 10)) << "ST" << i;
      EXPECT_EQ(hex(hi.b, 6), hex(e.s.fpu.fxsave, 6));
    }
  // FLDENV/FRSTOR round trip through memory, then arithmetic on the restored stack.
  for (bool b16 : {false, true}) {
    Data d{};
    put(d, 0x10, 2.0);
    put(d, 0x18, -3.5);
    Bytes sv = M(0xDD, 6, 0x40), rs = M(0xDD, 4, 0x40), se = M(0xD9, 6, 0x40), le = M(0xD9, 4, 0x40);
    for (Bytes* b : {&sv, &rs, &se, &le})
      if (b16) b->insert(b->begin(), 0x66);
    const Bytes code = cat({M(0xDD, 0, D(0x10)), M(0xDD, 0, D(0x18)), R(0xD9, 0xF7), sv, R(0xD9, 0xE8), rs,
                            R(0xD9, 0xF6), R(0xDE, 0xC9), se, R(0xD9, 0xF7), R(0xD9, 0xF7), le, R(0xD9, 0xEB),
                            kFnstswAxToMem});
    compare(code, d, initial_image(), b16 ? "restore 16" : "restore 32", 0x50);   // the image holds host pointers
  }
}

// Real-mode layouts (SDM Vol.1 Figures 8-10 and 8-12): linear instruction and data pointers
// (segment base + offset) split around FOP. CS base 0x1000, DS base 0x2000.
TEST(X87, RealModeEnvironmentLayouts) {
  X87Env e;
  const Bytes code = {0xD9, 0xE8, 0xD9, 0xEE,              // fld1; fldz
                      0xD8, 0x06, 0x00, 0x01,              // fadd dword [0x100]
                      0xD9, 0x36, 0x00, 0x02,              // fnstenv [0x200]   (14 bytes)
                      0x66, 0xD9, 0x36, 0x40, 0x02,        // o32 fnstenv [0x240] (28 bytes)
                      0xD9, 0xE8, 0xDE, 0xC1,              // fld1; faddp: new FOP/FIP
                      0xD9, 0x26, 0x00, 0x02};             // fldenv [0x200]
  e.real_mode_code(0x2000, code);
  e.s.seg[CS] = Segment{0x100, 0x9B, 0xFFFF, 0x1000};
  e.s.seg[DS] = Segment{0x200, 0x93, 0xFFFF, 0x2000};
  e.s.rip = 0x1000;
  std::memcpy(e.s.fpu.fxsave, initial_image().b, 512);
  e.cpu.state_changed();
  const float one = 1.0f;
  u32 bits;
  std::memcpy(&bits, &one, 4);
  e.mem.write(0x2100, bits, 4);
  e.cpu.run(100);
  ASSERT_TRUE(e.cpu.state().halted);
  const u64 fip_lin = 0x1000 + 0x1004, fdp_lin = 0x2000 + 0x100;
  auto r16 = [&](u64 a) { return static_cast<u32>(e.mem.read(0x2000 + a, 2)); };
  auto r32 = [&](u64 a) { return static_cast<u32>(e.mem.read(0x2000 + a, 4)); };
  EXPECT_EQ(r16(0x200), 0x037Fu);
  EXPECT_EQ(r16(0x206), fip_lin & 0xFFFF);
  EXPECT_EQ(r16(0x208), ((fip_lin >> 16) & 0xF) << 12 | 0x006);
  EXPECT_EQ(r16(0x20A), fdp_lin & 0xFFFF);
  EXPECT_EQ(r16(0x20C), ((fdp_lin >> 16) & 0xF) << 12);
  EXPECT_EQ(r32(0x240) & 0xFFFF, 0x037Fu | 0x3F);   // masked by the first FNSTENV
  EXPECT_EQ(r32(0x24C) & 0xFFFF, fip_lin & 0xFFFF);
  EXPECT_EQ(r32(0x250), static_cast<u32>(((fip_lin >> 16) << 12) | 0x006));
  EXPECT_EQ(r32(0x254) & 0xFFFF, fdp_lin & 0xFFFF);
  EXPECT_EQ(r32(0x258), static_cast<u32>((fdp_lin >> 16) << 12));
  // Physical registers 6 and 7 hold 1.0 (tag 00 each), the rest are empty (11); TOP = 6.
  EXPECT_EQ(r16(0x204), 0x0FFFu);
  EXPECT_EQ((r16(0x202) >> 11) & 7, 6u);
  // FLDENV restored the pointers of the FADD, not of the later FADDP.
  EXPECT_EQ(e.fop(), 0x006);
  EXPECT_EQ(e.fip(), 0x1004u);
  EXPECT_EQ(e.fdp(), 0x100u);
  EXPECT_EQ(interp::x87::top(e.cpu), 6u);
}

TEST(X87, ControlWordStatusWordAndInit) {
  for (u16 cw : {0x0000, 0xFFFF, 0x0C7F, 0x1234}) {
    Data d{};
    put<u16>(d, 0, cw);
    put(d, 0x10, 1.0);
    const Bytes code = cat({M(0xD9, 5, D(0x00)), M(0xD9, 7, D(0x40)), M(0xDD, 7, D(0x42)), R(0xDB, 0xE2),
                            M(0xDD, 7, D(0x44)), R(0xDB, 0xE3), M(0xD9, 7, D(0x46)), R(0xD9, 0xE8)});
    compare(code, d, initial_image(0x037F), "fldcw");
  }
}

TEST(X87, MmxHelpersRotateToTopZero) {
  X87Env e;
  e.long_mode({});
  std::memcpy(e.s.fpu.fxsave, initial_image().b, 512);
  interp::x87::set_top(e.cpu, 5);
  interp::x87::set_phys(e.cpu, 2, 0x1122334455667788ull, 0x4000);
  EXPECT_EQ(interp::x87::phys_mant(e.cpu, 2), 0x1122334455667788ull);
  u64 m;
  std::memcpy(&m, e.s.fpu.fxsave + 32 + 16 * 5, 8);   // ST(5) = physical (5 + 5) & 7 = 2
  EXPECT_EQ(m, 0x1122334455667788ull);
  interp::mmx_enter(e.cpu);
  EXPECT_EQ(interp::x87::top(e.cpu), 0u);
  EXPECT_EQ(interp::x87::ftw(e.cpu), 0xFF);
  std::memcpy(&m, e.s.fpu.fxsave + 32 + 16 * 2, 8);
  EXPECT_EQ(m, 0x1122334455667788ull);
  interp::mmx_emms(e.cpu);
  EXPECT_EQ(interp::x87::ftw(e.cpu), 0);
}

}  // namespace
}  // namespace rv::test
