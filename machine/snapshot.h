// Snapshots: the whole machine in a file (--savevm-at INSNS:FILE, --loadvm FILE, the
// monitor's savevm/loadvm), and the same state in memory for checkpoints.
//
// What a snapshot holds: the machine's state as Pc::visit_state walks it (CPU, board, every
// device, the scheduler's pending events: memory/state_visitor.h), guest RAM (the pages that
// are not all zeros) and what builds the same machine again: the command line's machine
// options and the hash of every file they read (the kernel, initrd or BIOS must be there,
// unchanged, when the snapshot is loaded; as for --replay).
//
// File format (".rvs", version 2), little-endian:
//   "RVSS" u32 version, u32 header length, header text ("key=value" lines as in the replay
//   log: arg=..., file=HASH PATH, icount=N), u32 CRC-32 of the header text,
//   u64 payload length, u32 CRC-32 of the zstd frame (every byte to the file's end), then the
//   payload as one zstd frame with its content checksum:
//     u64 state length, the state stream (StateWriter),
//     u64 RAM size, u64 page count, the page numbers (u32 each, ascending), the pages.
// Writing goes to FILE.tmp, renamed over FILE once complete: an interrupted or failed save
// never leaves a half-written snapshot under the name.
#pragma once
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "memory/types.h"

namespace rv {

class Pc;

// A snapshot that cannot be written or loaded: the message names the file and the problem.
class SnapshotError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct SnapshotOrigin {
  std::vector<std::string> args;                     // the machine's command line
  std::vector<std::pair<std::string, u64>> files;    // path, FNV-1a hash of what was read
};

struct Snapshot {
  SnapshotOrigin origin;
  u64 icount = 0;            // the machine's instruction count when it was taken
  std::vector<u8> payload;   // decompressed
};

// Writes the machine's snapshot to `path`; throws SnapshotError.
void save_snapshot(Pc& pc, const std::string& path, const SnapshotOrigin& origin);
// Reads and checks a snapshot file (magic, version, CRC, zstd checksum); throws SnapshotError.
Snapshot read_snapshot(const std::string& path);
// Loads a snapshot into a machine built from its origin; throws SnapshotError (a RAM size
// or a field that does not fit this machine).
void load_snapshot(Pc& pc, const Snapshot& s, const std::string& what);

// The same in memory (checkpoints): the state stream and the RAM pages, uncompressed.
std::vector<u8> snapshot_payload(Pc& pc);
void load_payload(Pc& pc, const u8* p, size_t n, const std::string& what);

}  // namespace rv
