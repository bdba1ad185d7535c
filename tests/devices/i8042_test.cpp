// i8042 keyboard controller with PS/2 keyboard and mouse (IBM PS/2 Hardware Interface
// Technical Reference: keyboard controller, keyboard and mouse chapters), at register level.
#include <gtest/gtest.h>

#include <vector>

#include "devices/i8042.h"
#include "tests/devices/irq_recorder.h"

namespace rv {
namespace {

using test::IrqRecorder;

struct KbcEnv {
  IrqRecorder pic;
  std::vector<bool> a20;
  int resets = 0;
  I8042 kbc{IrqLine(&pic, 1), IrqLine(&pic, 12), [this](bool on) { a20.push_back(on); }, [this] { resets++; }};

  u8 status() { return static_cast<u8>(kbc.io_read(I8042::kStatusOffset, 1)); }
  void command(u8 c) { kbc.io_write(I8042::kStatusOffset, c, 1); }
  void data(u8 d) { kbc.io_write(I8042::kDataOffset, d, 1); }
  // Everything in the output buffer, as a polling driver reads it.
  std::vector<u8> drain() {
    std::vector<u8> out;
    while (status() & I8042::kStOutFull) out.push_back(static_cast<u8>(kbc.io_read(I8042::kDataOffset, 1)));
    return out;
  }
  void set_command_byte(u8 v) {
    command(0x60);
    data(v);
  }
};

using Bytes = std::vector<u8>;

TEST(I8042, ResetStateAndSelfTest) {
  KbcEnv e;
  EXPECT_EQ(e.status(), I8042::kStSys | I8042::kStUnlocked);
  e.command(0x20);
  EXPECT_EQ(e.status() & (I8042::kStOutFull | I8042::kStCmd), I8042::kStOutFull | I8042::kStCmd);
  EXPECT_EQ(e.drain(), Bytes{0x47});
  e.command(0xAA);
  EXPECT_EQ(e.drain(), Bytes{0x55});
  e.command(0xAB);   // keyboard interface test
  e.command(0xA9);   // mouse interface test
  EXPECT_EQ(e.drain(), (Bytes{0x00, 0x00}));
  e.command(0xA4);
  EXPECT_EQ(e.drain(), Bytes{0xF1});
}

TEST(I8042, CommandByteControlsIrqAndSysFlag) {
  KbcEnv e;
  e.set_command_byte(0x00);
  EXPECT_EQ(e.status() & I8042::kStSys, 0);
  e.command(0x20);
  EXPECT_FALSE(e.pic.level(1));   // IRQ1 disabled
  EXPECT_EQ(e.drain(), Bytes{0x00});
  e.set_command_byte(0x05);
  e.command(0x20);
  EXPECT_TRUE(e.pic.level(1));    // controller replies raise IRQ1 when enabled
  EXPECT_EQ(e.kbc.io_read(0, 1), 0x05u);
  EXPECT_FALSE(e.pic.level(1));   // reading the data port lowers it
  EXPECT_EQ(e.status() & I8042::kStSys, I8042::kStSys);
}

TEST(I8042, OutputPortA20AndResetPulse) {
  KbcEnv e;
  e.command(0xD0);
  EXPECT_EQ(e.drain(), Bytes{0xCF});   // A20 open, not in reset
  e.command(0xD1);
  e.data(0xCD);                        // A20 off
  EXPECT_EQ(e.a20, std::vector<bool>{false});
  EXPECT_FALSE(e.kbc.a20());
  e.command(0xD1);
  e.data(0xCF);
  EXPECT_EQ(e.a20, (std::vector<bool>{false, true}));
  e.command(0xDD);
  e.command(0xDF);
  EXPECT_EQ(e.a20.size(), 4u);
  EXPECT_EQ(e.resets, 0);
  e.command(0xFF);                     // pulse nothing
  EXPECT_EQ(e.resets, 0);
  e.command(0xFE);                     // pulse bit 0: CPU reset
  EXPECT_EQ(e.resets, 1);
  e.command(0xD1);
  e.data(0xCE);                        // output port bit 0 low: reset too
  EXPECT_EQ(e.resets, 2);
}

TEST(I8042, KeyboardResetIdentifyAndEcho) {
  KbcEnv e;
  e.data(0xFF);
  EXPECT_EQ(e.drain(), (Bytes{0xFA, 0xAA}));
  e.data(0xF2);
  EXPECT_EQ(e.drain(), (Bytes{0xFA, 0xAB, 0x41}));   // 0x83 translated: the set 1 view
  e.set_command_byte(0x07);                          // translation off
  e.data(0xF2);
  EXPECT_EQ(e.drain(), (Bytes{0xFA, 0xAB, 0x83}));
  e.data(0xEE);
  EXPECT_EQ(e.drain(), Bytes{0xEE});
  e.data(0x12);                                      // not a command
  EXPECT_EQ(e.drain(), Bytes{0xFE});
  e.data(0xFE);                                      // resend the last byte
  EXPECT_EQ(e.drain(), Bytes{0xFE});
}

TEST(I8042, KeyboardLedsTypematicAndScancodeSet) {
  KbcEnv e;
  e.set_command_byte(0x07);
  e.data(0xED);
  e.data(0x05);
  EXPECT_EQ(e.drain(), (Bytes{0xFA, 0xFA}));
  EXPECT_EQ(e.kbc.keyboard().leds(), 5);
  e.data(0xF3);
  e.data(0x20);
  EXPECT_EQ(e.drain(), (Bytes{0xFA, 0xFA}));
  e.data(0xF0);
  e.data(0x00);
  EXPECT_EQ(e.drain(), (Bytes{0xFA, 0xFA, 0x02}));
  e.data(0xF0);
  e.data(0x01);
  EXPECT_EQ(e.drain(), (Bytes{0xFA, 0xFA}));
  EXPECT_EQ(e.kbc.keyboard().scancode_set(), 1);
  e.kbc.key_event(0x1C, true);                       // 'A' in set 1, no controller translation
  e.kbc.key_event(0x1C, false);
  EXPECT_EQ(e.drain(), (Bytes{0x1E, 0x9E}));
  e.data(0xED);
  e.data(0xF4);                                      // a command instead of the parameter
  EXPECT_EQ(e.drain(), (Bytes{0xFA, 0xFA}));
}

TEST(I8042, ScancodeTranslationToSet1) {
  KbcEnv e;
  e.kbc.key_event(0x1C, true);      // 'A'
  e.kbc.key_event(0x1C, false);
  e.kbc.key_event(0xE014, true);    // right Ctrl
  e.kbc.key_event(0xE014, false);
  e.kbc.key_event(0x76, true);      // Esc
  EXPECT_EQ(e.drain(), (Bytes{0x1E, 0x9E, 0xE0, 0x1D, 0xE0, 0x9D, 0x01}));
  e.set_command_byte(0x07);         // raw set 2
  e.kbc.key_event(0x1C, true);
  e.kbc.key_event(0x1C, false);
  e.kbc.key_event(0xE014, false);
  EXPECT_EQ(e.drain(), (Bytes{0x1C, 0xF0, 0x1C, 0xE0, 0xF0, 0x14}));
}

TEST(I8042, EachByteIsANewIrqEdge) {
  KbcEnv e;
  e.kbc.key_event(0x1C, true);
  e.kbc.key_event(0x1C, false);
  EXPECT_EQ(e.pic.rises(1), 1);
  e.kbc.io_read(0, 1);
  EXPECT_EQ(e.pic.rises(1), 2);     // lowered, then raised for the next byte
  e.kbc.io_read(0, 1);
  EXPECT_FALSE(e.pic.level(1));
  EXPECT_EQ(e.kbc.io_read(0, 1), 0x9Eu);   // an empty buffer reads its last byte again
}

TEST(I8042, DisableAndEnableKeyboard) {
  KbcEnv e;
  e.data(0xF5);                     // keyboard: default disable
  EXPECT_EQ(e.drain(), Bytes{0xFA});
  e.kbc.key_event(0x1C, true);
  EXPECT_EQ(e.drain(), Bytes{});
  e.data(0xF4);
  EXPECT_EQ(e.drain(), Bytes{0xFA});
  e.command(0xAD);                  // controller: keyboard port disabled (clock held)
  e.kbc.key_event(0x1C, true);
  EXPECT_EQ(e.drain(), Bytes{});
  e.command(0x20);
  EXPECT_EQ(e.drain(), Bytes{0x57});
  e.command(0xAE);
  EXPECT_EQ(e.drain(), Bytes{0x1E}); // held until the port is enabled
}

TEST(I8042, MouseResetAndStreamPackets) {
  KbcEnv e;
  e.command(0xD4);
  e.data(0xFF);
  EXPECT_EQ(e.status() & I8042::kStAuxData, I8042::kStAuxData);
  EXPECT_TRUE(e.pic.level(12));
  EXPECT_FALSE(e.pic.level(1));
  EXPECT_EQ(e.drain(), (Bytes{0xFA, 0xAA, 0x00}));
  e.kbc.mouse_event(5, -3, 0, 1);   // not reporting yet
  EXPECT_EQ(e.drain(), Bytes{});
  e.command(0xD4);
  e.data(0xF4);
  EXPECT_EQ(e.drain(), Bytes{0xFA});
  e.kbc.mouse_event(5, -3, 0, 1);
  EXPECT_EQ(e.drain(), (Bytes{0x29, 0x05, 0xFD}));   // left, Y negative
  e.kbc.mouse_event(300, 0, 0, 2);
  EXPECT_EQ(e.drain(), (Bytes{0x4A, 0xFF, 0x00}));   // X overflow, clamped
  e.command(0xA7);                  // mouse port disabled
  e.kbc.mouse_event(1, 1, 0, 0);
  EXPECT_EQ(e.drain(), Bytes{});
  e.command(0xA8);
  EXPECT_EQ(e.drain(), (Bytes{0x08, 0x01, 0x01}));
}

TEST(I8042, MouseCommands) {
  KbcEnv e;
  auto mouse = [&](u8 b) {
    e.command(0xD4);
    e.data(b);
  };
  mouse(0xE8);
  mouse(0x03);   // 8 counts/mm
  mouse(0xF3);
  mouse(40);
  mouse(0xE7);   // 2:1
  EXPECT_EQ(e.drain(), (Bytes{0xFA, 0xFA, 0xFA, 0xFA, 0xFA}));
  mouse(0xE9);
  EXPECT_EQ(e.drain(), (Bytes{0xFA, 0x10, 0x03, 40}));
  mouse(0xF0);   // remote mode
  mouse(0xF4);
  e.drain();
  e.kbc.mouse_event(3, 4, 0, 4);    // no packet in remote mode
  EXPECT_EQ(e.drain(), Bytes{});
  mouse(0xE9);
  EXPECT_EQ(e.drain(), (Bytes{0xFA, 0x72, 0x03, 40}));   // remote, enabled, 2:1, middle
  mouse(0xEB);   // read data: scaling does not apply to remote reads
  EXPECT_EQ(e.drain(), (Bytes{0xFA, 0x0C, 0x03, 0x04}));
  mouse(0xEA);   // back to stream mode, 2:1 applies
  e.drain();
  e.kbc.mouse_event(4, 0, 0, 0);
  EXPECT_EQ(e.drain(), (Bytes{0x08, 0x06, 0x00}));
  mouse(0xEE);   // wrap mode echoes
  mouse(0x42);
  mouse(0xEC);
  EXPECT_EQ(e.drain(), (Bytes{0xFA, 0x42, 0xFA}));
  mouse(0xF2);
  EXPECT_EQ(e.drain(), (Bytes{0xFA, 0x00}));
}

TEST(I8042, IntelliMouseKnocks) {
  KbcEnv e;
  auto rate = [&](u8 r) {
    e.command(0xD4);
    e.data(0xF3);
    e.command(0xD4);
    e.data(r);
  };
  rate(200);
  rate(100);
  rate(80);
  e.command(0xD4);
  e.data(0xF2);
  EXPECT_EQ(e.drain(), (Bytes{0xFA, 0xFA, 0xFA, 0xFA, 0xFA, 0xFA, 0xFA, 0x03}));
  e.command(0xD4);
  e.data(0xF4);
  e.drain();
  e.kbc.mouse_event(0, 0, -1, 0);
  EXPECT_EQ(e.drain(), (Bytes{0x08, 0x00, 0x00, 0xFF}));
  rate(200);
  rate(200);
  rate(80);
  e.drain();
  EXPECT_EQ(e.kbc.mouse().id(), 4);
  e.kbc.mouse_event(0, 0, 2, 0x10);   // button 5, wheel +2
  EXPECT_EQ(e.drain(), (Bytes{0x08, 0x00, 0x00, 0x22}));
  e.command(0xD4);
  e.data(0xFF);
  EXPECT_EQ(e.drain(), (Bytes{0xFA, 0xAA, 0x00}));
  EXPECT_EQ(e.kbc.mouse().id(), 0);
}

TEST(I8042, WriteToOutputBuffers) {
  KbcEnv e;
  e.command(0xD2);
  e.data(0x12);
  EXPECT_EQ(e.status() & I8042::kStAuxData, 0);
  EXPECT_EQ(e.drain(), Bytes{0x12});
  e.command(0xD3);
  e.data(0x34);
  EXPECT_EQ(e.status() & I8042::kStAuxData, I8042::kStAuxData);
  EXPECT_TRUE(e.pic.level(12));
  EXPECT_EQ(e.drain(), Bytes{0x34});
}

TEST(I8042, SaveLoadRoundTrip) {
  KbcEnv e;
  e.set_command_byte(0x47);
  e.command(0xD4);
  e.data(0xF4);
  e.kbc.key_event(0x1C, true);
  e.kbc.key_event(0x1C, false);
  e.command(0xD1);   // waiting for the output port byte
  I8042::State s = e.kbc.save();

  KbcEnv f;
  f.kbc.load(s);
  EXPECT_EQ(f.kbc.save(), s);
  EXPECT_EQ(f.pic.level(12), e.pic.level(12));
  f.data(0xCD);      // completes the pending D1
  EXPECT_EQ(f.a20, std::vector<bool>{false});
  EXPECT_EQ(f.drain(), (Bytes{0xFA, 0x1E, 0x9E}));
  EXPECT_NE(f.kbc.save(), s);
}

}  // namespace
}  // namespace rv
