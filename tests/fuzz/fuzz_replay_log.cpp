// The --replay log reader on random files: every input is read to its end or to a LogError
// (one message naming the byte); never a crash, a hang or an unbounded allocation.
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <string>

#include "machine/replay_log.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static int fd = memfd_create("rvr", 0);
  if (fd < 0) return 0;
  if (ftruncate(fd, 0) != 0 || pwrite(fd, data, size, 0) != static_cast<ssize_t>(size)) return 0;
  const std::string path = "/proc/self/fd/" + std::to_string(fd);
  try {
    rv::LogReader r(path);
    rv::LogRecord rec;
    while (r.next(rec)) {
    }
  } catch (const rv::LogError&) {
  }
  return 0;
}
