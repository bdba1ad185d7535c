// The input door and record/replay (DESIGN.md decision 8; log format: replay_log.h).
//
// Everything non-deterministic that enters a run comes through Pc::poll_door(), once per
// turn of the run loop: today COM1's input from the host terminal (and its quit). A live
// run takes it from PcConfig::serial_input; --record also writes each input to the log with
// its position (icount, poll), a state hash every hash_interval counted instructions, and
// the end; --replay takes the input from the log alone and checks every hash and the end.
// Because the run is otherwise a pure function of its configuration (virtual time), the
// replay reaches each recorded position at the same turn of the loop; reaching a later
// position first means it diverged.

#include <algorithm>
#include <cinttypes>
#include <cstring>
#include <optional>

#include "machine/pc.h"

namespace rv {
namespace {

// 64-bit hash of a page-sized buffer, four independent lanes (speed), then mixed.
u64 hash_page(const u8* p, size_t n, bool& nonzero) {
  u64 h[4] = {0x9E3779B97F4A7C15ull, 0xC2B2AE3D27D4EB4Full, 0x165667B19E3779F9ull, 0x27D4EB2F165667C5ull};
  u64 any = 0;
  for (size_t i = 0; i + 32 <= n; i += 32) {
    for (int k = 0; k < 4; k++) {
      u64 w;
      std::memcpy(&w, p + i + 8 * k, 8);
      any |= w;
      h[k] = (h[k] ^ w) * 0x100000001B3ull;
      h[k] ^= h[k] >> 29;
    }
  }
  nonzero = any != 0;
  u64 r = h[0] ^ (h[1] * 3) ^ (h[2] * 5) ^ (h[3] * 7);
  r ^= r >> 33;
  r *= 0xFF51AFD7ED558CCDull;
  return r ^ (r >> 33);
}

struct Mix {
  u64 h = 0xcbf29ce484222325ull;
  void add(u64 v) {
    h ^= v;
    h *= 0x100000001B3ull;
    h ^= h >> 31;
  }
  void add(const Segment& s) { add(s.sel | static_cast<u64>(s.attr) << 16 | static_cast<u64>(s.limit) << 32); add(s.base); }
};

}  // namespace

void Pc::set_record(LogWriter* log, u64 hash_interval) {
  m_record = log;
  m_hash_interval = hash_interval;
  m_next_hash = hash_interval;
}

void Pc::set_replay(LogReader* log, u64 hash_interval) {
  m_replay = log;
  m_hash_interval = hash_interval;
  m_next_hash = hash_interval;
}

u64 Pc::ram_digest() {
  Mix m;
  bool nz;
  // RAM: every page that is not all zeros, with its number (the zero test and the hash in
  // one pass; pages the host never committed are zero and skipped).
  const u8* ram = m_mem.ram();
  const std::vector<bool> committed = m_mem.committed_ram_pages();
  for (u64 pg = 0; pg < committed.size(); pg++) {
    if (!committed[pg]) continue;
    u64 h = hash_page(ram + pg * 4096, 4096, nz);
    if (!nz) continue;
    m.add(pg);
    m.add(h);
  }
  return m.h;
}

Pc::DoorMark Pc::door_mark() const {
  DoorMark m;
  if (m_replay) m.cursor = m_replay->cursor();
  else if (m_record) m.cursor = {m_record->written().size(), m_record->last_icount()};   // live: the log's end
  m.have_next = m_have_next;
  m.next_rec = m_next_rec;
  m.next_hash = m_next_hash;
  return m;
}

void Pc::restore_door(const DoorMark& m) {
  if (m_record) {
    // A live recording goes back: its input up to the frontier comes from its own log.
    m_behind = std::make_unique<LogReader>(m_record->path(), m_record->written());
    m_replay = m_behind.get();
  }
  if (m_replay) m_replay->seek(m.cursor);
  m_have_next = m.have_next;
  m_next_rec = m.next_rec;
  m_next_hash = m.next_hash;
  m_replay_error.clear();
  m_door_polled = false;
  m_stop_at = kNoStop;
  m_step_pending = false;
}

bool Pc::replay_next(LogRecord& r) {
  if (!m_have_next) {
    m_have_next = m_replay->next(m_next_rec);   // throws LogError
    if (!m_have_next) return false;
  }
  r = m_next_rec;
  return true;
}

namespace {

std::string describe_input(const LogRecord& r) {
  char buf[160];
  if (r.kind == LogRecord::Quit) {
    std::snprintf(buf, sizeof buf, "a quit at instruction %" PRIu64 " (poll %" PRIu64 ")", r.icount, r.poll);
  } else {
    const unsigned c = static_cast<unsigned>(r.value & 0xFF);
    char shown[8];
    if (c >= 0x20 && c < 0x7F) std::snprintf(shown, sizeof shown, "'%c' ", static_cast<char>(c));
    else shown[0] = 0;
    std::snprintf(buf, sizeof buf, "serial byte %s(0x%02x) at instruction %" PRIu64 " (poll %" PRIu64 ")", shown, c, r.icount,
                  r.poll);
  }
  return buf;
}

}  // namespace

std::string Pc::replay_info() {
  const u64 ic = m_cpu.state().icount;
  char buf[400];
  if (m_record) {
    std::snprintf(buf, sizeof buf, "recording to %s: at instruction %" PRIu64 "; %" PRIu64 " inputs logged, %" PRIu64 " bytes%s\n",
                  m_record->path().c_str(), ic, m_record->inputs(), m_record->bytes(), m_record_ended ? "; the run has ended" : "");
    std::string out = buf;
    if (m_behind) {
      std::snprintf(buf, sizeof buf, "gone back: the recorded input is replayed up to instruction %" PRIu64 ", then the terminal's is recorded again\n",
                    m_front_icount);
      out += m_record_ended ? std::string("gone back: the recorded input is replayed to the recorded end\n") : std::string(buf);
    }
    return out;
  }
  if (!m_replay) return "not recording or replaying (--record FILE, --replay FILE)\n";
  const LogReader::Summary& s = m_replay->summary();
  std::string out;
  std::snprintf(buf, sizeof buf, "replaying %s: at instruction %" PRIu64 "; ", m_replay->path().c_str(), ic);
  out += buf;
  if (s.end) {
    std::snprintf(buf, sizeof buf, "the recording ends at instruction %" PRIu64 " (exit status %d, %.1f%% done)\n", s.end->icount,
                  static_cast<int>(s.end->value), s.end->icount ? 100.0 * static_cast<double>(std::min(ic, s.end->icount)) / static_cast<double>(s.end->icount) : 100.0);
    out += buf;
  } else {
    out += "the log has no end record" + (s.error.empty() ? std::string(" (cut short)") : " (" + s.error + ")") + "\n";
  }
  // Inputs before the read position were delivered, but for the lookahead record.
  const u64 upto = m_have_next ? m_next_rec.offset : m_replay->cursor().pos;
  const u64 delivered = static_cast<u64>(std::lower_bound(s.input_offsets.begin(), s.input_offsets.end(), upto) - s.input_offsets.begin());
  std::snprintf(buf, sizeof buf, "inputs: %" PRIu64 " of %zu delivered", delivered, s.input_offsets.size());
  out += buf;
  // The next input: the lookahead if it is one, else the first input record after it.
  std::optional<LogRecord> next;
  if (m_have_next && (m_next_rec.kind == LogRecord::Serial || m_next_rec.kind == LogRecord::Quit)) {
    next = m_next_rec;
  } else if (delivered < s.input_offsets.size()) {
    const LogReader::Cursor was = m_replay->cursor();
    LogRecord r;
    try {
      while (m_replay->next(r))
        if (r.kind == LogRecord::Serial || r.kind == LogRecord::Quit) {
          next = r;
          break;
        }
    } catch (const LogError&) {
    }
    m_replay->seek(was);
  }
  out += next ? "; next: " + describe_input(*next) + "\n" : std::string("; no more input\n");
  return out;
}

std::string Pc::truncated_log_message() const {
  return "--replay: " + m_replay->path() + ": the log ends at byte " + std::to_string(m_replay->size()) +
         " without its end record (the recording was cut short)";
}

Pc::DoorResult Pc::poll_door() {
  const u64 ic = m_cpu.state().icount;
  if (ic != m_door_icount) {
    m_door_icount = ic;
    m_door_poll = 0;
  } else {
    m_door_poll++;
  }
  const bool hash_due = m_hash_interval && ic >= m_next_hash;
  if (hash_due) m_next_hash = (ic / m_hash_interval + 1) * m_hash_interval;
  Uart16550& com1 = m_dev->com1;

  if (m_replay) {
    char where[96];
    std::snprintf(where, sizeof where, "instruction %" PRIu64 " (poll %" PRIu64 ")", ic, m_door_poll);
    try {
      LogRecord r;
      for (;;) {
        if (!replay_next(r)) {
          // A live recording gone back (m_behind): its log holds no more input up to the
          // frontier, where the run goes live again (below).
          if (m_behind) break;
          // A log is only complete with its End record: what the recording read after the
          // cut is unknown, so the replay cannot go on (a guest polling for input would
          // wait forever).
          m_replay_error = truncated_log_message();
          return DoorResult::Diverged;
        }
        if (r.icount < ic || (r.icount == ic && r.poll < m_door_poll)) {
          char buf[320];
          std::snprintf(buf, sizeof buf, "the recorded input at instruction %" PRIu64 " (poll %" PRIu64 ", log byte %" PRIu64
                        ") was not reached: the replay is at %s", r.icount, r.poll, r.offset, where);
          m_replay_error = std::string("replay diverged: ") + buf;
          return DoorResult::Diverged;
        }
        if (r.icount != ic || r.poll != m_door_poll) break;
        m_have_next = false;
        switch (r.kind) {
          case LogRecord::Serial:
            if (com1.rx_space() == 0) {
              m_replay_error = std::string("replay diverged: COM1 has no room for the recorded input at ") + where;
              return DoorResult::Diverged;
            }
            com1.push_input(static_cast<u8>(r.value));
            break;
          case LogRecord::Quit:
            return DoorResult::Quit;
          case LogRecord::Hash: {
            const u64 h = state_hash();
            if (h != r.value) {
              char buf[320];
              std::snprintf(buf, sizeof buf, "the machine state at %s differs from the recording (hash %016" PRIx64
                            ", recorded %016" PRIx64 ")", where, h, r.value);
              m_replay_error = std::string("replay diverged: ") + buf;
              return DoorResult::Diverged;
            }
            break;
          }
          case LogRecord::End:
            m_have_next = true;   // the run's end checks it (door_end)
            return DoorResult::Go;
        }
      }
    } catch (const LogError& e) {
      m_replay_error = e.what();
      return DoorResult::Diverged;
    }
    // A live recording gone back reaches its frontier (the last poll it made live): from the
    // next poll on, the input is the terminal's again and is recorded (never once the
    // recording has ended: then the log holds the whole run).
    if (m_behind && !m_record_ended && (ic > m_front_icount || (ic == m_front_icount && m_door_poll >= m_front_poll))) {
      m_replay = nullptr;
      m_have_next = false;
      m_behind.reset();
    }
    return DoorResult::Go;
  }

  if (m_record) {
    m_front_icount = ic;
    m_front_poll = m_door_poll;
  }
  if (hash_due && m_record) m_record->write({LogRecord::Hash, ic, m_door_poll, state_hash()});
  if (!m_cfg.serial_input) return DoorResult::Go;
  while (com1.rx_space() > 0) {
    const int c = m_cfg.serial_input();
    if (c == kInputQuit) {
      if (m_record) m_record->write({LogRecord::Quit, ic, m_door_poll, 0});
      return DoorResult::Quit;
    }
    if (c < 0) break;
    if (m_record) m_record->write({LogRecord::Serial, ic, m_door_poll, static_cast<u64>(c)});
    com1.push_input(static_cast<u8>(c));
  }
  return DoorResult::Go;
}

void Pc::door_end(const RunResult& res) {
  const u64 ic = m_cpu.state().icount;
  if (m_record && !m_behind) {
    LogRecord r{LogRecord::End, ic, 0, static_cast<u64>(static_cast<u32>(res.exit_status))};
    r.final_hash = state_hash();
    m_record->write(r);
    m_record_ended = true;
    return;
  }
  if (!m_replay || !m_replay_error.empty()) return;
  try {
    LogRecord r;
    if (!replay_next(r)) {
      m_replay_error = truncated_log_message();
      return;
    }
    char buf[320];
    if (r.kind != LogRecord::End) {
      std::snprintf(buf, sizeof buf, "the replay ended at instruction %" PRIu64 ", the recording went on (its next input is at instruction %" PRIu64 ")",
                    ic, r.icount);
      m_replay_error = std::string("replay diverged: ") + buf;
      return;
    }
    const u64 h = state_hash();
    if (r.icount != ic || r.value != static_cast<u64>(static_cast<u32>(res.exit_status)) || r.final_hash != h) {
      std::snprintf(buf, sizeof buf, "the replay ended at instruction %" PRIu64 " with status %d and state %016" PRIx64
                    ", the recording at %" PRIu64 " with status %d and state %016" PRIx64, ic, res.exit_status, h, r.icount,
                    static_cast<int>(r.value), r.final_hash);
      m_replay_error = std::string("replay diverged: ") + buf;
    }
  } catch (const LogError& e) {
    m_replay_error = e.what();
  }
}

}  // namespace rv
