// The recorded corpus: cases with their native end state, for hosts that cannot run them.
//
// Some hosts' kernels refuse 32-bit compatibility mode to processes (a far JMP to selector
// 0x23 raises #GP(0x20)): no 32-bit sequence, and no 64-bit sequence that far-jumps to 32-bit
// code, runs natively there. `oracle_test --record-corpus DIR` (on a host that can run them)
// stores such cases, each with its start state and the native end state, in DIR; a host that
// cannot run them judges the interpreter against the recorded end states instead. The corpus
// also lets a host of one vendor tell a vendor difference from a bug in a case recorded on
// the other (corpus_host_dependent() says which instructions take the host's own results).
//
// File format (".rvoc", version 1), the whole file one zstd frame with its content checksum:
//   "RVOC" u32 version
//   u32 header length, header text: "key=value" lines (vendor, cpu, seed, mode, ops, count)
//   u32 entry count, then the entries, each:
//     u64 seed, u8 mode (0: 64-bit, 1: 32-bit), u64 page_seed,
//     u16 code length, code; 16 x u64 GPRs; u64 RFLAGS; 512 bytes FXSAVE image; 16 bytes tail;
//     u64 undef_end; u8 items, each: u16 offset, u64 undef_in/out/any, u8 name length, name;
//     runs (data page vs fill_pages(page_seed)), runs (stack page vs the same), u64 FNV-1a
//     of both start pages (a changed fill_pages is caught at load);
//     the native end state: 16 x u64 GPRs, u64 RFLAGS, i16 vector, u64 fault RIP, error
//     code, CR2, 6 x u16 selectors; runs (data page vs the start), runs (stack page vs the
//     start), runs (FXSAVE image vs the start)
//   runs: u16 count, each u16 offset, u16 length, bytes. All integers little-endian.
// The data and stack pages are never stored whole: they are fill_pages(page_seed) (generator.h)
// plus the runs, so a case costs a few hundred bytes instead of 8 KiB of random page contents.
#pragma once
#include <stdexcept>
#include <string>
#include <vector>

#include "tests/oracle/generator.h"
#include "tests/oracle/oracle.h"

namespace rv::oracle {

struct CorpusEntry {
  Case c;
  Snapshot native;
  std::string file;   // where it came from (reports)
  size_t index = 0;   // its position in that file
};

// The corpus folder, read and checked whole at load; entries are expanded on demand.
struct Corpus {
  struct Ref {
    u32 blob = 0;
    size_t offset = 0;              // in the decompressed file
    u32 index = 0;                  // position in its file
    Mode mode = Mode::Long64;
    std::vector<std::string> items; // template names, for --ops
  };
  std::vector<std::vector<u8>> blobs;   // decompressed files
  std::vector<std::string> files;       // one per blob
  std::vector<Ref> refs;
  std::string vendor;   // of the recording host, e.g. "GenuineIntel"
  std::string cpu;      // its model name
  CorpusEntry entry(size_t k) const;
};

class CorpusError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The host's CPUID vendor string and model name.
std::string host_vendor();
std::string host_cpu_name();

// Recording: each case is appended, uncompressed, to a scratch file (one worker at a time);
// finish_corpus turns that into `path` (compressed, with `header`) and returns the count.
void append_scratch(const std::string& path, const Case& c, const Snapshot& native);
u32 finish_corpus(const std::string& scratch, const std::string& path, const std::string& header);
// Reads every *.rvoc file of `dir` in name order. Throws CorpusError naming the file and the
// byte offset where it breaks (truncated, corrupt, foreign or newer-version files).
Corpus read_corpus_dir(const std::string& dir);

// Why a recorded case cannot be judged on this host, or empty: the instructions whose results
// the interpreter takes from the host's own unit and which differ between vendors (RCPPS/
// RCPSS/RSQRTPS/RSQRTSS approximations, SDM Vol.2 "RCPPS": relative error <= 1.5*2^-12 is
// all the architecture promises), when the recording host's vendor is not this one.
std::string corpus_host_dependent(const Case& c, const std::string& recorded_vendor);

}  // namespace rv::oracle
