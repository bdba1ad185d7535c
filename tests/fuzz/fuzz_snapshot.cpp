// The snapshot reader on random files, and the state loader on random payloads: every input
// is refused with a SnapshotError (one message) or loads; a refused one leaves the machine as
// it was (its state hash unchanged); never a crash, a hang or an unbounded allocation.
// Input: byte 0 picks the path: even = the whole input is a .rvs file (read_snapshot, then
// load_snapshot); odd = the rest is a decompressed payload (load_payload, as checkpoints).
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>

#include "machine/pc.h"
#include "machine/snapshot.h"
#include "tests/fuzz/fuzz_machine.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  rv::Pc& pc = fuzz_machine(1000);
  const rv::u64 before = pc.state_hash();
  bool loaded = false;
  try {
    if (data[0] % 2 == 0) {
      static int fd = memfd_create("rvs", 0);
      if (fd < 0) return 0;
      if (ftruncate(fd, 0) != 0 || pwrite(fd, data, size, 0) != static_cast<ssize_t>(size)) return 0;
      const rv::Snapshot s = rv::read_snapshot("/proc/self/fd/" + std::to_string(fd));
      rv::load_snapshot(pc, s, "fuzz");
    } else {
      rv::load_payload(pc, data + 1, size - 1, "fuzz");
    }
    loaded = true;
  } catch (const rv::SnapshotError&) {
  }
  // A refused snapshot must leave the machine untouched (Snapshot.ABadStateLeavesTheMachineAsItWas).
  if (!loaded && pc.state_hash() != before) std::abort();
  return 0;
}
