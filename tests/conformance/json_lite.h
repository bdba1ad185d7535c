// A small JSON reader for the conformance vectors: a DOM of null/bool/number/string/array/
// object. Numbers are kept as i64 (the vectors hold only integers; a fraction is truncated).
// Errors throw std::runtime_error with the byte offset.
#pragma once
#include <cstdint>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace rv::json {

struct Member;
struct Value {
  enum class Type : std::uint8_t { Null, Bool, Number, String, Array, Object };
  Type type = Type::Null;
  std::int64_t num = 0;
  std::string str;
  std::vector<Value> arr;
  std::vector<Member> obj;   // (a pair<string, Value> would need Value complete here)

  bool is_object() const { return type == Type::Object; }
  bool is_array() const { return type == Type::Array; }
  // Member lookup; null when absent (or when this is not an object).
  const Value* find(std::string_view key) const;
  std::int64_t int_or(std::string_view key, std::int64_t def) const {
    const Value* v = find(key);
    return v && v->type == Type::Number ? v->num : def;
  }
};
struct Member {
  std::string first;
  Value second;
  Member(std::string k, Value v) : first(std::move(k)), second(std::move(v)) {}
};
inline const Value* Value::find(std::string_view key) const {
  for (const Member& kv : obj)
    if (kv.first == key) return &kv.second;
  return nullptr;
}

class Parser {
 public:
  explicit Parser(std::string_view text) : m_s(text) {}

  Value parse() {
    Value v = value();
    skip_ws();
    if (m_pos != m_s.size()) error("trailing characters");
    return v;
  }

 private:
  [[noreturn]] void error(const char* what) const {
    throw std::runtime_error(std::string("JSON: ") + what + " at byte " + std::to_string(m_pos));
  }
  void skip_ws() {
    while (m_pos < m_s.size() && (m_s[m_pos] == ' ' || m_s[m_pos] == '\n' || m_s[m_pos] == '\r' || m_s[m_pos] == '\t'))
      m_pos++;
  }
  char peek() {
    skip_ws();
    if (m_pos >= m_s.size()) error("unexpected end");
    return m_s[m_pos];
  }
  void expect(char c) {
    if (peek() != c) error("unexpected character");
    m_pos++;
  }
  bool literal(std::string_view word) {
    if (m_s.substr(m_pos, word.size()) != word) return false;
    m_pos += word.size();
    return true;
  }

  Value value() {
    Value v;
    char c = peek();
    if (c == '{') {
      v.type = Value::Type::Object;
      m_pos++;
      if (peek() == '}') { m_pos++; return v; }
      for (;;) {
        std::string key = string();
        expect(':');
        v.obj.emplace_back(std::move(key), value());
        char n = peek();
        m_pos++;
        if (n == '}') return v;
        if (n != ',') error("expected , or }");
      }
    }
    if (c == '[') {
      v.type = Value::Type::Array;
      m_pos++;
      if (peek() == ']') { m_pos++; return v; }
      for (;;) {
        v.arr.push_back(value());
        char n = peek();
        m_pos++;
        if (n == ']') return v;
        if (n != ',') error("expected , or ]");
      }
    }
    if (c == '"') {
      v.type = Value::Type::String;
      v.str = string();
      return v;
    }
    if (literal("true")) { v.type = Value::Type::Bool; v.num = 1; return v; }
    if (literal("false")) { v.type = Value::Type::Bool; return v; }
    if (literal("null")) return v;
    if (c == '-' || (c >= '0' && c <= '9')) {
      const char* start = m_s.data() + m_pos;
      char* end = nullptr;
      v.type = Value::Type::Number;
      v.num = std::strtoll(start, &end, 10);
      m_pos += static_cast<std::size_t>(end - start);
      while (m_pos < m_s.size() && (m_s[m_pos] == '.' || m_s[m_pos] == 'e' || m_s[m_pos] == 'E' ||
                                    m_s[m_pos] == '+' || m_s[m_pos] == '-' || (m_s[m_pos] >= '0' && m_s[m_pos] <= '9')))
        m_pos++;   // fraction/exponent: not used by the vectors, skipped
      return v;
    }
    error("unexpected character");
  }

  std::string string() {
    expect('"');
    std::string out;
    while (m_pos < m_s.size() && m_s[m_pos] != '"') {
      char c = m_s[m_pos++];
      if (c != '\\') { out += c; continue; }
      if (m_pos >= m_s.size()) break;
      char e = m_s[m_pos++];
      switch (e) {
        case 'n': out += '\n'; break;
        case 't': out += '\t'; break;
        case 'r': out += '\r'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'u': {
          if (m_pos + 4 > m_s.size()) error("bad \\u escape");
          unsigned cp = static_cast<unsigned>(std::strtoul(std::string(m_s.substr(m_pos, 4)).c_str(), nullptr, 16));
          m_pos += 4;
          if (cp < 0x80) out += static_cast<char>(cp);
          else out += '?';   // non-ASCII: names only, never compared
          break;
        }
        default: out += e; break;   // \" \\ \/
      }
    }
    if (m_pos >= m_s.size()) error("unterminated string");
    m_pos++;
    return out;
  }

  std::string_view m_s;
  std::size_t m_pos = 0;
};

inline Value parse(std::string_view text) { return Parser(text).parse(); }

}  // namespace rv::json
