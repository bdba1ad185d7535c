// StateVisitor: one walk over a component's state with named fields (DESIGN.md decision 9),
// used alike by snapshots (save and load), replay state hashes and the state printouts of a
// diverged replay. A stateful part has one `void visit(StateVisitor&)` that names each field
// once; the visitor decides what happens to it:
//   StateWriter   appends it to a byte stream (snapshots, in-memory checkpoints);
//   StateReader   replaces it with the value read from such a stream, checking that names,
//                 sizes and component versions match (a mismatch is a StateError naming the
//                 component and the field);
//   StateHasher   mixes it into a 64-bit hash;
//   StatePrinter  writes "component.field = value" lines.
// A component opens with begin(name, version) and closes with end(); components nest (the
// i8042 holds its keyboard and mouse). After a load a component validates what it read
// (check(): a FIFO longer than its hardware, an index out of range) and re-derives what is
// not state (IRQ line levels, scheduled events): see Pc::visit_state for the order.
#pragma once
#include <array>
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "memory/types.h"

namespace rv {

// A snapshot or checkpoint that cannot be loaded: the message names what is wrong.
class StateError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class StateVisitor {
 public:
  virtual ~StateVisitor() = default;
  virtual bool loading() const { return false; }

  virtual void begin(std::string_view component, u32 version) = 0;
  virtual void end() = 0;
  // One integer of `bytes` bytes (1, 2, 4 or 8); `index` >= 0 for an element of an array.
  virtual void value(std::string_view name, int index, u64& v, unsigned bytes) = 0;
  // A fixed number of raw bytes (a register file, CMOS RAM, the FXSAVE image).
  virtual void blob(std::string_view name, u8* p, size_t n) = 0;
  // A byte sequence of variable length (a FIFO); loading rejects one longer than `max`.
  virtual void bytes(std::string_view name, std::vector<u8>& v, size_t max) = 0;

  // Integers, bools and enums (bools must load as 0 or 1; an enum's range is the
  // component's to check).
  template <class T>
  void field(std::string_view name, T& v, int index = -1) {
    static_assert(std::is_integral_v<T> || std::is_enum_v<T>);
    u64 x;
    if constexpr (std::is_same_v<T, bool>) x = v;
    else if constexpr (std::is_enum_v<T>) x = static_cast<u64>(static_cast<std::underlying_type_t<T>>(v));
    else x = static_cast<u64>(v);
    value(name, index, x, sizeof(T));
    if (!loading()) return;
    if constexpr (std::is_same_v<T, bool>) {
      check(x <= 1, name, "is not 0 or 1");
      v = x != 0;
    } else if constexpr (std::is_enum_v<T>) {
      v = static_cast<T>(static_cast<std::underlying_type_t<T>>(x));
    } else {
      v = static_cast<T>(x);
    }
  }
  template <class T, size_t N>
  void field(std::string_view name, std::array<T, N>& a) {
    if constexpr (std::is_same_v<T, u8>) {
      blob(name, a.data(), N);
    } else {
      for (size_t i = 0; i < N; i++) field(name, a[i], static_cast<int>(i));
    }
  }
  // Loading: a value the component cannot hold is an error naming the field.
  void check(bool ok, std::string_view name, std::string_view what) {
    if (!ok && loading()) throw StateError(path() + "." + std::string(name) + " " + std::string(what));
  }
  // "pc.i8042.kbd" while inside those components.
  std::string path() const {
    std::string p;
    for (const std::string& s : m_stack) p += (p.empty() ? "" : ".") + s;
    return p;
  }

 protected:
  void push(std::string_view c) { m_stack.emplace_back(c); }
  void pop() {
    if (!m_stack.empty()) m_stack.pop_back();
  }
  std::vector<std::string> m_stack;
};

// Appends the state to a byte stream. Layout, little-endian: per component 'C', u8 name
// length, name, u32 version ... 'E'; per value 'V', u8 name length, name, u8 bytes, i16 index,
// the value (bytes); per blob or byte sequence 'B', u8 name length, name, u32 length, the bytes.
class StateWriter final : public StateVisitor {
 public:
  void begin(std::string_view c, u32 version) override;
  void end() override;
  void value(std::string_view name, int index, u64& v, unsigned bytes) override;
  void blob(std::string_view name, u8* p, size_t n) override;
  void bytes(std::string_view name, std::vector<u8>& v, size_t max) override { blob(name, v.data(), v.size()); }
  std::vector<u8>& data() { return m_out; }

 private:
  void name(std::string_view n);
  void put(u64 v, unsigned n);
  std::vector<u8> m_out;
};

// Reads what a StateWriter wrote, for the same visit() code: names, sizes and versions must
// match field for field (StateError otherwise). `what` names the source in messages.
class StateReader final : public StateVisitor {
 public:
  StateReader(const u8* p, size_t n, std::string what) : m_p(p), m_n(n), m_what(std::move(what)) {}
  bool loading() const override { return true; }
  void begin(std::string_view c, u32 version) override;
  void end() override;
  void value(std::string_view name, int index, u64& v, unsigned bytes) override;
  void blob(std::string_view name, u8* p, size_t n) override;
  void bytes(std::string_view name, std::vector<u8>& v, size_t max) override;
  bool at_end() const { return m_pos == m_n; }
  size_t position() const { return m_pos; }

 private:
  [[noreturn]] void fail(const std::string& why) const;
  u8 tag(char expect, std::string_view name);
  void expect_name(std::string_view name, int index);
  u64 get(unsigned n);
  const u8* m_p;
  size_t m_n, m_pos = 0;
  std::string m_what;
};

// A 64-bit hash of the values (and component names, versions and positions), fast enough
// to run every few hundred million instructions.
class StateHasher final : public StateVisitor {
 public:
  void begin(std::string_view c, u32 version) override;
  void end() override { mix(0xE5D); pop(); }
  void value(std::string_view, int index, u64& v, unsigned) override { mix(v); }
  void blob(std::string_view name, u8* p, size_t n) override;
  void bytes(std::string_view name, std::vector<u8>& v, size_t) override {
    mix(v.size());
    blob(name, v.data(), v.size());
  }
  void mix(u64 v) {
    m_h ^= v;
    m_h *= 0x100000001B3ull;
    m_h ^= m_h >> 31;
  }
  u64 hash() const { return m_h; }

 private:
  u64 m_h = 0xcbf29ce484222325ull;
};

// "component.field = 0x..." lines, one per value (arrays: "field[i]"), for people: the two
// states of a diverged replay, the monitor.
class StatePrinter final : public StateVisitor {
 public:
  // A component that recurs under the same parent (COM1-COM4 are four uart16550) is named
  // NAME, NAME#2, NAME#3... in the lines, so that each instance reads apart.
  void begin(std::string_view c, u32) override;
  void end() override;
  void value(std::string_view name, int index, u64& v, unsigned bytes) override;
  void blob(std::string_view name, u8* p, size_t n) override;
  void bytes(std::string_view name, std::vector<u8>& v, size_t) override { blob(name, v.data(), v.size()); }
  const std::vector<std::string>& lines() const { return m_lines; }

 private:
  std::vector<std::string> m_lines;
  std::vector<std::vector<std::pair<std::string, int>>> m_seen{{}};   // per depth: child name, count
};

}  // namespace rv
