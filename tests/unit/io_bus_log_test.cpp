// The open-bus log names every distinct unmapped port once (not only the first one).
#include <gtest/gtest.h>

#include <cstdio>
#include <string>

#include "memory/io_bus.h"
#include "memory/log.h"

namespace rv {

TEST(IoBusLog, EachUnmappedPortLoggedOnce) {
  std::FILE* f = std::tmpfile();
  ASSERT_NE(f, nullptr);
  set_log_file(f);
  set_log_quiet(false);
  IoBus bus;
  bus.read(0x1234, 1);
  bus.read(0x1234, 1);
  bus.read(0x1235, 2);
  bus.write(0x1236, 7, 1);
  set_log_file(nullptr);
  std::rewind(f);
  std::string text;
  char buf[256];
  while (std::fgets(buf, sizeof buf, f)) text += buf;
  std::fclose(f);
  auto count = [&](const std::string& needle) {
    size_t n = 0;
    for (size_t pos = text.find(needle); pos != std::string::npos; pos = text.find(needle, pos + 1)) n++;
    return n;
  };
  EXPECT_EQ(count("port 0x1234"), 1u);
  EXPECT_EQ(count("port 0x1235"), 1u);
  EXPECT_EQ(count("port 0x1236"), 1u);
}

}  // namespace rv
