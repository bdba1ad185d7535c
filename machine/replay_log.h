// The record/replay log (--record FILE, --replay FILE): everything non-deterministic that
// entered a run through the input door (machine/pc.cpp, Pc::poll_door), stamped with its
// position, plus state hashes along the way and the run's end (DESIGN.md decision 8).
//
// A position is (icount, poll): icount is the CPU's count of retired instructions and event
// deliveries; poll numbers the input door's polls at that icount (the door is polled once
// per turn of the run loop, and a halted CPU can take several turns at one icount).
//
// File format (".rvr", version 1), little-endian:
//   "RVRL" u32 version, u32 header length, header text: "key=value" lines:
//     arg=...   the recorded command line, one line per argument (less --record FILE)
//     file=HASH PATH   the FNV-1a hash of each input file (kernel, initrd, BIOS) as read
//     hash_interval=N  instructions between state hashes
//   records, each: u8 kind, varint icount delta (from the previous record), varint poll,
//   varint value, u32 CRC-32 of the record's bytes before it. Kinds:
//     1 serial   a byte from the host into COM1 (value)
//     2 quit     the user quit (Ctrl-A X, the monitor's quit)
//     3 hash     the machine's state hash at this position (value)
//     4 end      the run ended here with exit status `value`; then one more varint: the final
//                state hash. The last record of a complete log.
#pragma once
#include <cstdio>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "memory/types.h"

namespace rv {

struct LogRecord {
  enum Kind : u8 { Serial = 1, Quit = 2, Hash = 3, End = 4 };
  Kind kind = Serial;
  u64 icount = 0;
  u64 poll = 0;
  u64 value = 0;
  u64 final_hash = 0;   // End only
  u64 offset = 0;       // where it starts in the file (reader)
};

// A malformed, truncated, corrupt, foreign or newer-version log: the message names the
// file and the byte offset where it breaks.
class LogError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct LogHeader {
  std::vector<std::string> args;                              // recorded command line
  std::vector<std::pair<std::string, u64>> files;             // path, FNV-1a hash
  u64 hash_interval = 0;
};

class LogWriter {
 public:
  // Creates (truncates) `path` and writes the header; throws LogError.
  LogWriter(const std::string& path, const LogHeader& h);
  ~LogWriter();
  LogWriter(const LogWriter&) = delete;
  LogWriter& operator=(const LogWriter&) = delete;
  void write(const LogRecord& r);
  void flush();
  // The first write error ("cannot write to 'run.rvr': ..."), or empty.
  const std::string& error() const { return m_error; }
  u64 bytes() const { return m_copy.size(); }
  const std::string& path() const { return m_path; }
  u64 inputs() const { return m_inputs; }   // Serial and Quit records written
  // Everything written so far (a live recording under gdb reads its own log back when it
  // goes backwards: machine/timeline.h), and the icount the next record's delta is from.
  const std::vector<u8>& written() const { return m_copy; }
  u64 last_icount() const { return m_last_icount; }

 private:
  std::FILE* m_f = nullptr;
  std::string m_path, m_error;
  u64 m_last_icount = 0, m_inputs = 0;
  std::vector<u8> m_copy;   // every byte written (or tried: a write error keeps the count)
};

class LogReader {
 public:
  // Opens `path` and reads the header; throws LogError.
  explicit LogReader(const std::string& path);
  // A log held in memory (`name` is for messages): a live recording's own (LogWriter::written).
  LogReader(const std::string& name, std::vector<u8> data);
  const LogHeader& header() const { return m_header; }
  // The next record, or false at the end of the file. Throws LogError where a record is
  // truncated or corrupt. A log whose last record is not End is reported by the caller.
  bool next(LogRecord& r);
  // Where the next read starts, to come back to (checkpoints for reverse execution).
  struct Cursor {
    size_t pos = 0;
    u64 last_icount = 0;
  };
  Cursor cursor() const { return {m_pos, m_last_icount}; }
  void seek(const Cursor& c) { m_pos = c.pos; m_last_icount = c.last_icount; }
  const std::string& path() const { return m_path; }
  u64 size() const { return m_data.size(); }
  // The whole log at a glance (read once, from a copy of the cursor): the input records'
  // offsets and the End record, if the log has a readable one.
  struct Summary {
    std::vector<u64> input_offsets;    // Serial and Quit records, ascending
    std::optional<LogRecord> end;
    std::string error;                 // where reading stopped early, if it did
  };
  const Summary& summary();

 private:
  [[noreturn]] void fail(u64 at, const std::string& why) const;
  void parse_header();
  std::string m_path;
  std::vector<u8> m_data;
  size_t m_pos = 0, m_first = 0;   // m_first: the first record
  u64 m_last_icount = 0;
  LogHeader m_header;
  std::optional<Summary> m_summary;
};

// FNV-1a over bytes (input files in the header).
u64 fnv1a(const u8* p, size_t n, u64 h = 0xcbf29ce484222325ull);

}  // namespace rv
