// Register-level tests of the small devices, each alone (no CPU, no board).
#include <gtest/gtest.h>

#include <vector>

#include "devices/char_sink.h"
#include "devices/debug_exit.h"
#include "devices/debugcon.h"
#include "devices/port92.h"
#include "devices/post_port.h"
#include "memory/io_bus.h"
#include "memory/log.h"

namespace rv {
namespace {

TEST(DebugCon, WritesLowByteToSinkAndReadsBackE9) {
  StringSink sink;
  DebugCon con(sink);
  IoBus io;
  io.map(DebugCon::kPort, 1, &con, "debugcon");
  io.write(0xE9, 'h', 1);
  io.write(0xE9, 0x1269, 2);   // 16-bit write: only the low byte reaches the console
  EXPECT_EQ(sink.text(), "hi");
  EXPECT_EQ(io.read(0xE9, 1), 0xE9u);
}

TEST(DebugExit, StatusIsValueShiftedLeftOrOne) {
  std::vector<u32> stops;
  DebugExit dev([&](u32 st) { stops.push_back(st); });
  EXPECT_FALSE(dev.exit_status().has_value());
  dev.io_write(0, 0x10, 1);
  ASSERT_EQ(stops.size(), 1u);
  EXPECT_EQ(stops[0], 0x21u);
  EXPECT_EQ(dev.exit_status().value(), 0x21u);
  dev.io_write(2, 0, 1);   // any port of the four; 0 gives 1
  EXPECT_EQ(dev.exit_status().value(), 1u);
  dev.reset();
  EXPECT_FALSE(dev.exit_status().has_value());
  EXPECT_EQ(dev.io_read(0, 1), 0u);
}

TEST(Port92, ResetOnRisingEdgeOfBitZero) {
  int resets = 0;
  Port92 p([&] { resets++; });
  EXPECT_EQ(p.io_read(0, 1) & Port92::kA20, Port92::kA20);   // open at power-on
  p.io_write(0, Port92::kA20, 1);
  EXPECT_EQ(resets, 0);
  p.io_write(0, Port92::kA20 | Port92::kInitNow, 1);
  EXPECT_EQ(resets, 1);
  EXPECT_EQ(p.io_read(0, 1) & Port92::kInitNow, 0u);   // cleared by the reset
  p.io_write(0, Port92::kA20 | Port92::kInitNow, 1);
  EXPECT_EQ(resets, 2);
}

TEST(Port92, A20GateFollowsBitOne) {
  std::vector<bool> gate;
  Port92 p(nullptr, [&](bool open) { gate.push_back(open); });
  p.io_write(0, 0x08, 1);   // A20 bit clear, lock bit set
  EXPECT_EQ(p.io_read(0, 1), 0x08u);
  EXPECT_FALSE(p.a20());
  p.io_write(0, 0x08, 1);   // no change: no callback
  p.io_write(0, Port92::kA20, 1);
  EXPECT_TRUE(p.a20());
  EXPECT_EQ(gate, (std::vector<bool>{false, true}));
}

TEST(PostPort, RemembersLastCode) {
  PostPort p;
  p.io_write(0, 0x1234, 2);
  EXPECT_EQ(p.last_code(), 0x34);
  EXPECT_EQ(p.io_read(0, 1), 0x34u);
  p.reset();
  EXPECT_EQ(p.last_code(), 0);
}

TEST(FileSink, UnwritablePathIsAClearError) {
  try {
    FileSink f("/nonexistent-dir/out.txt");
    FAIL() << "expected an exception";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent-dir/out.txt"), std::string::npos);
  }
}

}  // namespace
}  // namespace rv
