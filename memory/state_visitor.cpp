#include "memory/state_visitor.h"

#include <algorithm>
#include <cinttypes>

namespace rv {

// ---- StateWriter ----

void StateWriter::put(u64 v, unsigned n) {
  for (unsigned i = 0; i < n; i++) m_out.push_back(static_cast<u8>(v >> (8 * i)));
}

void StateWriter::name(std::string_view n) {
  const size_t len = std::min<size_t>(n.size(), 255);
  m_out.push_back(static_cast<u8>(len));
  m_out.insert(m_out.end(), n.begin(), n.begin() + len);
}

void StateWriter::begin(std::string_view c, u32 version) {
  m_out.push_back('C');
  name(c);
  put(version, 4);
}

void StateWriter::end() { m_out.push_back('E'); }

void StateWriter::value(std::string_view n, int index, u64& v, unsigned bytes) {
  m_out.push_back('V');
  name(n);
  m_out.push_back(static_cast<u8>(bytes));
  put(static_cast<u16>(static_cast<i16>(index)), 2);
  put(v, bytes);
}

void StateWriter::blob(std::string_view n, u8* p, size_t len) {
  m_out.push_back('B');
  name(n);
  put(len, 4);
  m_out.insert(m_out.end(), p, p + len);
}

// ---- StateReader ----

void StateReader::fail(const std::string& why) const {
  std::string where = path();
  throw StateError(m_what + ": " + (where.empty() ? "" : where + ": ") + why + " (state byte " + std::to_string(m_pos) + ")");
}

u64 StateReader::get(unsigned n) {
  if (m_n - m_pos < n) fail("the state ends early");
  u64 v = 0;
  for (unsigned i = 0; i < n; i++) v |= static_cast<u64>(m_p[m_pos + i]) << (8 * i);
  m_pos += n;
  return v;
}

u8 StateReader::tag(char expect, std::string_view name) {
  const u8 t = static_cast<u8>(get(1));
  if (t != static_cast<u8>(expect)) {
    auto kind = [](u8 k) -> std::string {
      switch (k) {
        case 'C': return "a component";
        case 'E': return "a component's end";
        case 'V': return "a value";
        case 'B': return "a byte string";
        default: return "an unknown record";
      }
    };
    m_pos--;
    fail("found " + kind(t) + " where this build expects " + kind(static_cast<u8>(expect)) +
         (name.empty() ? "" : " '" + std::string(name) + "'"));
  }
  return t;
}

void StateReader::expect_name(std::string_view name, int index) {
  const size_t len = get(1);
  if (m_n - m_pos < len) fail("the state ends early");
  std::string_view got(reinterpret_cast<const char*>(m_p + m_pos), len);
  const std::string want(name.substr(0, std::min<size_t>(name.size(), 255)));
  if (got != want) {
    std::string g(got);
    m_pos -= 1;
    fail("found field '" + g + "' where this build expects '" + want + "'");
  }
  m_pos += len;
  (void)index;
}

void StateReader::begin(std::string_view c, u32 version) {
  tag('C', c);
  expect_name(c, -1);
  push(c);
  const u64 v = get(4);
  if (v != version)
    fail("version " + std::to_string(v) + " of this component; this build reads version " + std::to_string(version) +
         (v > version ? " (the snapshot is newer than this build)" : ""));
}

void StateReader::end() {
  tag('E', "");
  pop();
}

void StateReader::value(std::string_view name, int index, u64& v, unsigned bytes) {
  tag('V', name);
  expect_name(name, index);
  const u64 b = get(1);
  const i16 idx = static_cast<i16>(get(2));
  if (b != bytes) fail("'" + std::string(name) + "' is " + std::to_string(b) + " bytes; this build has " + std::to_string(bytes));
  if (idx != index) fail("'" + std::string(name) + "' has index " + std::to_string(idx) + " where " + std::to_string(index) + " is expected");
  v = get(bytes);
}

void StateReader::blob(std::string_view name, u8* p, size_t n) {
  tag('B', name);
  expect_name(name, -1);
  const u64 len = get(4);
  if (len != n) fail("'" + std::string(name) + "' is " + std::to_string(len) + " bytes; this build has " + std::to_string(n));
  if (m_n - m_pos < len) fail("the state ends early");
  if (n) std::memcpy(p, m_p + m_pos, n);
  m_pos += n;
}

void StateReader::bytes(std::string_view name, std::vector<u8>& v, size_t max) {
  tag('B', name);
  expect_name(name, -1);
  const u64 len = get(4);
  if (len > max) fail("'" + std::string(name) + "' holds " + std::to_string(len) + " bytes; it holds at most " + std::to_string(max));
  if (m_n - m_pos < len) fail("the state ends early");
  v.assign(m_p + m_pos, m_p + m_pos + len);
  m_pos += len;
}

// ---- StateHasher ----

void StateHasher::begin(std::string_view c, u32 version) {
  u64 h = 0x9E3779B97F4A7C15ull;
  for (char ch : c) h = (h ^ static_cast<u8>(ch)) * 0x100000001B3ull;
  mix(h);
  mix(version);
  push(c);
}

void StateHasher::blob(std::string_view, u8* p, size_t n) {
  u64 w;
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    std::memcpy(&w, p + i, 8);
    mix(w);
  }
  w = 0;
  if (i < n) std::memcpy(&w, p + i, n - i);
  mix(w ^ (static_cast<u64>(n) << 56));
}

// ---- StatePrinter ----

void StatePrinter::begin(std::string_view c, u32) {
  auto& seen = m_seen.back();
  int n = 1;
  auto it = std::find_if(seen.begin(), seen.end(), [&](const auto& p) { return p.first == c; });
  if (it == seen.end()) seen.emplace_back(std::string(c), 1);
  else n = ++it->second;
  push(n == 1 ? std::string(c) : std::string(c) + "#" + std::to_string(n));
  m_seen.emplace_back();
}

void StatePrinter::end() {
  pop();
  if (m_seen.size() > 1) m_seen.pop_back();
}

void StatePrinter::value(std::string_view name, int index, u64& v, unsigned bytes) {
  char buf[64];
  std::snprintf(buf, sizeof buf, " = 0x%0*" PRIx64, static_cast<int>(2 * bytes), v);
  std::string line = path() + "." + std::string(name);
  if (index >= 0) line += "[" + std::to_string(index) + "]";
  m_lines.push_back(line + buf);
}

void StatePrinter::blob(std::string_view name, u8* p, size_t n) {
  std::string line = path() + "." + std::string(name) + " =";
  for (size_t i = 0; i < n; i++) {
    char b[4];
    std::snprintf(b, sizeof b, "%02x", p[i]);
    line += (i % 32 == 0 ? std::string(" ") : std::string()) + b;
  }
  if (n == 0) line += " (empty)";
  m_lines.push_back(line);
}

}  // namespace rv
