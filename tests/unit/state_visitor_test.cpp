// StateVisitor (memory/state_visitor.h) and the machine's state walk (Pc::visit_state,
// machine/snapshot.h): round trips, the checks a load makes, and a machine whose devices were
// programmed, saved and loaded into a fresh machine continuing exactly as the original.
#include <gtest/gtest.h>

#include "machine/pc.h"
#include "tests/unit/rom_image.h"
#include "machine/snapshot.h"
#include "memory/state_visitor.h"

namespace rv {
namespace {

struct Toy {
  u8 a = 1;
  u16 b = 2;
  u32 c = 3;
  u64 d = 4;
  bool e = true;
  i32 f = -5;
  std::array<u32, 3> g{7, 8, 9};
  std::array<u8, 4> h{1, 2, 3, 4};
  std::vector<u8> fifo{0xAA, 0xBB};
  u32 version = 1;
  void visit(StateVisitor& v) {
    v.begin("toy", version);
    v.field("a", a);
    v.field("b", b);
    v.field("c", c);
    v.field("d", d);
    v.field("e", e);
    v.field("f", f);
    v.field("g", g);
    v.field("h", h);
    v.bytes("fifo", fifo, 4);
    v.check(c < 100, "c", "is above 99");
    v.end();
  }
};

std::vector<u8> save(Toy& t) {
  StateWriter w;
  t.visit(w);
  return w.data();
}

TEST(StateVisitor, WriterAndReaderRoundTrip) {
  Toy t;
  t.a = 0xF1, t.b = 0xBEEF, t.c = 42, t.d = 0x123456789ABCDEF0ull, t.e = false, t.f = -77;
  t.g = {10, 20, 30};
  t.h = {9, 8, 7, 6};
  t.fifo = {1, 2, 3};
  std::vector<u8> bytes = save(t);
  Toy u;
  StateReader r(bytes.data(), bytes.size(), "test");
  u.visit(r);
  EXPECT_TRUE(r.at_end());
  EXPECT_EQ(u.a, 0xF1);
  EXPECT_EQ(u.b, 0xBEEF);
  EXPECT_EQ(u.c, 42u);
  EXPECT_EQ(u.d, 0x123456789ABCDEF0ull);
  EXPECT_FALSE(u.e);
  EXPECT_EQ(u.f, -77);
  EXPECT_EQ(u.g, (std::array<u32, 3>{10, 20, 30}));
  EXPECT_EQ(u.h, (std::array<u8, 4>{9, 8, 7, 6}));
  EXPECT_EQ(u.fifo, (std::vector<u8>{1, 2, 3}));
  EXPECT_EQ(save(u), bytes);
}

TEST(StateVisitor, HasherSeesEveryField) {
  Toy t;
  StateHasher h0;
  t.visit(h0);
  for (int k = 0; k < 5; k++) {
    Toy u;
    if (k == 0) u.a++;
    if (k == 1) u.g[2]++;
    if (k == 2) u.h[0]++;
    if (k == 3) u.fifo.push_back(0);
    if (k == 4) u.e = false;
    StateHasher h;
    u.visit(h);
    EXPECT_NE(h.hash(), h0.hash()) << "change " << k;
  }
  Toy same;
  StateHasher h1;
  same.visit(h1);
  EXPECT_EQ(h1.hash(), h0.hash());
}

TEST(StateVisitor, PrinterNamesFields) {
  Toy t;
  StatePrinter p;
  t.visit(p);
  const auto& l = p.lines();
  EXPECT_NE(std::find(l.begin(), l.end(), "toy.b = 0x0002"), l.end());
  EXPECT_NE(std::find(l.begin(), l.end(), "toy.g[1] = 0x00000008"), l.end());
  EXPECT_NE(std::find(l.begin(), l.end(), "toy.fifo = aabb"), l.end());
}

std::string load_error(const std::vector<u8>& bytes, Toy into = Toy{}) {
  try {
    StateReader r(bytes.data(), bytes.size(), "snap");
    into.visit(r);
    if (!r.at_end()) return "not at end";
  } catch (const StateError& e) {
    return e.what();
  }
  return "";
}

TEST(StateVisitor, ReaderRefusesWhatDoesNotFit) {
  Toy t;
  std::vector<u8> bytes = save(t);
  EXPECT_EQ(load_error(bytes), "");
  // Every truncation is an error, never a crash.
  for (size_t n = 0; n < bytes.size(); n++) {
    std::vector<u8> cut(bytes.begin(), bytes.begin() + static_cast<long>(n));
    EXPECT_NE(load_error(cut), "") << "cut at " << n;
  }
  // A newer component version, by name.
  Toy newer;
  newer.version = 2;
  EXPECT_EQ(load_error(save(newer)).find("snap: toy: version 2 of this component; this build reads version 1 (the snapshot is newer"), 0u)
      << load_error(save(newer));
  // A FIFO longer than the component holds.
  Toy big;
  big.fifo = {1, 2, 3, 4, 5};
  EXPECT_NE(load_error(save(big)).find("'fifo' holds 5 bytes; it holds at most 4"), std::string::npos);
  // A value the component cannot hold (its own check), and a bool that is not 0 or 1.
  Toy bad;
  bad.c = 100;
  EXPECT_NE(load_error(save(bad)).find("toy.c is above 99"), std::string::npos) << load_error(save(bad));
  std::vector<u8> b = save(t);
  // The bool "e": find its value byte (tag V, name length 1, 'e', size 1, index -1, value).
  for (size_t i = 0; i + 6 < b.size(); i++)
    if (b[i] == 'V' && b[i + 1] == 1 && b[i + 2] == 'e' && b[i + 3] == 1) b[i + 6] = 2;
  EXPECT_NE(load_error(b).find("toy.e is not 0 or 1"), std::string::npos) << load_error(b);
  // A renamed field.
  std::vector<u8> r = save(t);
  for (size_t i = 0; i + 2 < r.size(); i++)
    if (r[i] == 'V' && r[i + 1] == 1 && r[i + 2] == 'b') r[i + 2] = 'z';
  EXPECT_NE(load_error(r).find("found field 'z' where this build expects 'b'"), std::string::npos) << load_error(r);
}

// ---- the machine ----

std::shared_ptr<const std::vector<u8>> spin_rom() {
  // 64 KiB of a real-mode loop at F000:0000 that counts in AX and writes it to the POST
  // port and the scratch register of COM1: JMP F000:0000 at the reset vector.
  auto v = blank_rom();
  const u8 code[] = {0x40,                     // inc ax
                     0xE6, 0x80,               // out 0x80, al
                     0xBA, 0xFF, 0x03,         // mov dx, 0x3FF
                     0xEE,                     // out dx, al
                     0xEB, 0xF7};              // jmp short 0
  std::copy(std::begin(code), std::end(code), v->begin());
  return v;
}

PcConfig spin_config() {
  PcConfig c;
  c.ram_bytes = 16 * MiB;
  c.bios = spin_rom();
  return c;
}

void program_devices(Pc& pc) {
  IoBus& io = pc.io();
  io.write(0x3FB, 0x80, 1);   // COM1: DLAB, divisor 3, 8N1, FIFOs on, interrupts on
  io.write(0x3F8, 0x03, 1);
  io.write(0x3FB, 0x03, 1);
  io.write(0x3FA, 0xC7, 1);
  io.write(0x3F9, 0x0F, 1);
  io.write(0x3FC, 0x0B, 1);
  pc.devices().com1.push_input('h');
  pc.devices().com1.push_input('i');
  io.write(0x43, 0x34, 1);    // PIT channel 0: rate generator, 1000 counts
  io.write(0x40, 0xE8, 1);
  io.write(0x40, 0x03, 1);
  io.write(0x70, 0x8B, 1);    // RTC: NMI masked, register B: periodic interrupts on
  io.write(0x71, 0x42, 1);
  io.write(0x21, 0xFA, 1);    // PIC master IMR
  io.write(0x64, 0xAA, 1);    // i8042 self-test: its answer waits in the output buffer
  pc.memory().write(0xFED00010, 1, 4);   // HPET on
  pc.memory().write(0x100000, 0xDEADBEEF, 4);
}

std::vector<std::string> printed(Pc& pc) {
  StatePrinter p;
  pc.visit_state(p);
  return p.lines();
}

TEST(Snapshot, LoadedMachineContinuesExactly) {
  PcConfig cfg = spin_config();
  cfg.max_insns = 300'000;
  Pc a(cfg);
  program_devices(a);
  a.run();
  const std::vector<u8> payload = snapshot_payload(a);
  Pc b(cfg);
  load_payload(b, payload.data(), payload.size(), "test");
  EXPECT_EQ(printed(b), printed(a));
  EXPECT_EQ(snapshot_payload(b), payload);   // saved again: the same bytes
  EXPECT_EQ(b.state_hash(), a.state_hash());
  EXPECT_EQ(b.memory().read(0x100000, 4), 0xDEADBEEFu);
  // Both go on: the same instructions, the same interrupts, the same state.
  RunResult ra = a.run(), rb = b.run();
  EXPECT_EQ(ra.guest_insns, rb.guest_insns);
  EXPECT_EQ(a.cpu().state().icount, 600'000u);
  EXPECT_EQ(printed(b), printed(a));
  EXPECT_EQ(b.state_hash(), a.state_hash());
}

TEST(Snapshot, LoadsIntoAMachineAtAnotherTime) {
  // A state loaded into a machine that ran further (a checkpoint restored, a loadvm from the
  // monitor) is the state saved: no device recomputes its outputs from the clock it replaces.
  PcConfig cfg = spin_config();
  cfg.max_insns = 200'000;
  // PIT channel 0 as a square wave of 1000 counts: OUT0 changes every ~419 us.
  auto square = [](Pc& pc) {
    program_devices(pc);
    pc.io().write(0x43, 0x36, 1);
    pc.io().write(0x40, 0xE8, 1);
    pc.io().write(0x40, 0x03, 1);
  };
  Pc a(cfg);
  square(a);
  a.run();
  const std::vector<u8> payload = snapshot_payload(a);
  for (u64 further : {1'000ull, 300'000ull, 500'000ull}) {   // OUT0 high, low, low there
    PcConfig c2 = spin_config();
    c2.max_insns = 200'000 + further;
    Pc b(c2);
    square(b);
    b.run();
    load_payload(b, payload.data(), payload.size(), "test");
    EXPECT_EQ(printed(b), printed(a)) << further;
    EXPECT_EQ(b.state_hash(), a.state_hash()) << further;
  }
}

TEST(Snapshot, StateHashCoversDevices) {
  Pc a(spin_config()), b(spin_config());
  EXPECT_EQ(a.state_hash(), b.state_hash());
  b.io().write(0x3FF, 0x55, 1);   // COM1's scratch register: a device, not the CPU or RAM
  EXPECT_NE(a.state_hash(), b.state_hash());
}

TEST(Snapshot, ABadStateLeavesTheMachineAsItWas) {
  Pc a(spin_config());
  program_devices(a);
  std::vector<u8> payload = snapshot_payload(a);
  // COM1's receive FIFO made 17 bytes long: the name of the FIFO's length byte is "rx".
  size_t at = 0;
  for (size_t i = 8; i + 4 < payload.size(); i++)
    if (payload[i] == 'B' && payload[i + 1] == 2 && payload[i + 2] == 'r' && payload[i + 3] == 'x') { at = i + 4; break; }
  ASSERT_NE(at, 0u);
  payload[at] = 17;
  Pc b(spin_config());
  const auto before = printed(b);
  try {
    load_payload(b, payload.data(), payload.size(), "bad.rvs");
    FAIL() << "loaded a 17-byte FIFO";
  } catch (const SnapshotError& e) {
    EXPECT_NE(std::string(e.what()).find("bad.rvs: pc.uart16550: 'rx' holds 17 bytes; it holds at most 16"), std::string::npos) << e.what();
  }
  EXPECT_EQ(printed(b), before);
  // A RAM size that is not this machine's.
  std::vector<u8> p2 = snapshot_payload(a);
  PcConfig small = spin_config();
  small.ram_bytes = 8 * MiB;
  Pc c(small);
  EXPECT_THROW(load_payload(c, p2.data(), p2.size(), "x"), SnapshotError);
}

}  // namespace
}  // namespace rv
