#include "machine/replay_log.h"

#include <zlib.h>

#include <cerrno>
#include <cstring>
#include <fstream>

namespace rv {
namespace {

constexpr char kMagic[4] = {'R', 'V', 'R', 'L'};
constexpr u32 kVersion = 2;   // 2: checkpoint hashes cover every device's state (StateHasher), not only CPU and RAM
constexpr size_t kMaxHeader = 1 << 20;

void put_varint(std::vector<u8>& b, u64 v) {
  while (v >= 0x80) {
    b.push_back(static_cast<u8>(v | 0x80));
    v >>= 7;
  }
  b.push_back(static_cast<u8>(v));
}

void put32(std::vector<u8>& b, u32 v) {
  for (int i = 0; i < 4; i++) b.push_back(static_cast<u8>(v >> (8 * i)));
}

u32 crc(const u8* p, size_t n) { return static_cast<u32>(crc32(0, p, static_cast<uInt>(n))); }

}  // namespace

u64 fnv1a(const u8* p, size_t n, u64 h) {
  for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 0x100000001b3ull;
  return h;
}

LogWriter::LogWriter(const std::string& path, const LogHeader& h) : m_path(path) {
  m_f = std::fopen(path.c_str(), "wb");
  if (!m_f) throw LogError("cannot create '" + path + "': " + std::strerror(errno));
  std::string text;
  for (const std::string& a : h.args) {
    if (a.find('\n') != std::string::npos) throw LogError("--record: a command-line argument holds a newline, which the log cannot keep");
    text += "arg=" + a + "\n";
  }
  for (const auto& [p, hash] : h.files) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(hash));
    text += "file=" + std::string(buf) + " " + p + "\n";
  }
  text += "hash_interval=" + std::to_string(h.hash_interval) + "\n";
  std::vector<u8> b(kMagic, kMagic + 4);
  put32(b, kVersion);
  put32(b, static_cast<u32>(text.size()));
  b.insert(b.end(), text.begin(), text.end());
  put32(b, crc(b.data(), b.size()));
  if (std::fwrite(b.data(), 1, b.size(), m_f) != b.size() || std::fflush(m_f) != 0)
    throw LogError("cannot write to '" + path + "': " + std::strerror(errno));
  m_copy = b;
}

LogWriter::~LogWriter() {
  if (m_f) std::fclose(m_f);
}

void LogWriter::write(const LogRecord& r) {
  if (!m_error.empty()) return;
  std::vector<u8> b;
  b.push_back(r.kind);
  put_varint(b, r.icount - m_last_icount);
  put_varint(b, r.poll);
  put_varint(b, r.value);
  if (r.kind == LogRecord::End) put_varint(b, r.final_hash);
  put32(b, crc(b.data(), b.size()));
  m_last_icount = r.icount;
  errno = 0;
  if (std::fwrite(b.data(), 1, b.size(), m_f) != b.size())
    m_error = "cannot write to '" + m_path + "': " + std::strerror(errno ? errno : EIO);
  m_copy.insert(m_copy.end(), b.begin(), b.end());
  if (r.kind == LogRecord::Serial || r.kind == LogRecord::Quit) m_inputs++;
  // The end and the quit must be on disk even if the process dies right after.
  if (r.kind == LogRecord::End || r.kind == LogRecord::Quit) flush();
}

void LogWriter::flush() {
  if (!m_error.empty()) return;
  errno = 0;
  if (std::fflush(m_f) != 0) m_error = "cannot write to '" + m_path + "': " + std::strerror(errno ? errno : EIO);
}

void LogReader::fail(u64 at, const std::string& why) const {
  throw LogError("--replay: " + m_path + ": " + why + " at byte " + std::to_string(at) + " of " +
                 std::to_string(m_data.size()));
}

LogReader::LogReader(const std::string& path) : m_path(path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw LogError("--replay: cannot open '" + path + "': " + std::strerror(errno));
  m_data.assign(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
  parse_header();
}

LogReader::LogReader(const std::string& name, std::vector<u8> data) : m_path(name), m_data(std::move(data)) { parse_header(); }

void LogReader::parse_header() {
  if (m_data.size() < 16) fail(m_data.size(), "not a Retrovisor replay log (too short)");
  if (std::memcmp(m_data.data(), kMagic, 4) != 0) fail(0, "not a Retrovisor replay log (bad magic)");
  u32 version, len;
  std::memcpy(&version, &m_data[4], 4);
  std::memcpy(&len, &m_data[8], 4);
  if (version != kVersion)
    fail(4, "log format version " + std::to_string(version) + ", this build reads " + std::to_string(kVersion));
  if (len > kMaxHeader || 12 + static_cast<size_t>(len) + 4 > m_data.size()) fail(8, "header truncated or too long");
  u32 want;
  std::memcpy(&want, &m_data[12 + len], 4);
  if (crc(m_data.data(), 12 + len) != want) fail(12, "header corrupt (checksum mismatch)");
  std::string text(reinterpret_cast<const char*>(&m_data[12]), len);
  size_t pos = 0;
  while (pos < text.size()) {
    size_t e = text.find('\n', pos);
    if (e == std::string::npos) fail(12 + pos, "header line without an end");
    std::string line = text.substr(pos, e - pos);
    if (line.rfind("arg=", 0) == 0) {
      m_header.args.push_back(line.substr(4));
    } else if (line.rfind("file=", 0) == 0 && line.size() > 22 && line[21] == ' ') {
      m_header.files.push_back({line.substr(22), std::strtoull(line.substr(5, 16).c_str(), nullptr, 16)});
    } else if (line.rfind("hash_interval=", 0) == 0) {
      m_header.hash_interval = std::strtoull(line.c_str() + 14, nullptr, 10);
    } else {
      fail(12 + pos, "unknown header line '" + line.substr(0, 40) + "'");
    }
    pos = e + 1;
  }
  m_pos = m_first = 12 + len + 4;
}

const LogReader::Summary& LogReader::summary() {
  if (m_summary) return *m_summary;
  Summary s;
  const Cursor was = cursor();
  seek({m_first, 0});
  try {
    LogRecord r;
    while (next(r)) {
      if (r.kind == LogRecord::Serial || r.kind == LogRecord::Quit) s.input_offsets.push_back(r.offset);
      if (r.kind == LogRecord::End) s.end = r;
    }
  } catch (const LogError& e) {
    s.error = e.what();
  }
  seek(was);
  m_summary = std::move(s);
  return *m_summary;
}

bool LogReader::next(LogRecord& r) {
  if (m_pos >= m_data.size()) return false;
  const size_t start = m_pos;
  size_t p = m_pos;
  auto varint = [&]() -> u64 {
    u64 v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (p >= m_data.size()) fail(start, "record truncated");
      u8 b = m_data[p++];
      v |= static_cast<u64>(b & 0x7F) << shift;
      if (!(b & 0x80)) return v;
    }
    fail(start, "record corrupt (an overlong number)");
  };
  const u8 kind = m_data[p++];
  if (kind < LogRecord::Serial || kind > LogRecord::End) fail(start, "record corrupt (unknown kind " + std::to_string(kind) + ")");
  r.kind = static_cast<LogRecord::Kind>(kind);
  const u64 delta = varint();
  r.poll = varint();
  r.value = varint();
  r.final_hash = r.kind == LogRecord::End ? varint() : 0;
  if (p + 4 > m_data.size()) fail(start, "record truncated");
  u32 want;
  std::memcpy(&want, &m_data[p], 4);
  if (crc(&m_data[start], p - start) != want) fail(start, "record corrupt (checksum mismatch)");
  if ((r.kind == LogRecord::Serial && r.value > 0xFF) || r.poll > (1ull << 32)) fail(start, "record corrupt (value out of range)");
  r.icount = m_last_icount + delta;
  if (r.icount < m_last_icount) fail(start, "record corrupt (position overflow)");
  m_last_icount = r.icount;
  r.offset = start;
  m_pos = p + 4;
  return true;
}

}  // namespace rv
