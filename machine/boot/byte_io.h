// Little-endian field access for the loaders. Reads from a host file go through FileView,
// which checks every offset and size taken from the (possibly hostile) file and turns a
// short read into a BootError naming the file; writes go into host buffers the loader sized.
#pragma once
#include <cstring>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

#include "machine/boot/boot_types.h"

namespace rv::boot {

// True if [off, off+len) lies inside a buffer of `size` bytes (no overflow).
constexpr bool in_bounds(u64 size, u64 off, u64 len) { return off <= size && len <= size - off; }

// Overflow-checked a + b; false if it wraps.
constexpr bool add_ok(u64 a, u64 b, u64& out) { out = a + b; return out >= a; }

constexpr u64 align_up(u64 v, u64 a) { return (v + a - 1) & ~(a - 1); }
constexpr u64 align_down(u64 v, u64 a) { return v & ~(a - 1); }

template <typename T>
T get_le(const u8* p) {
  static_assert(std::is_unsigned_v<T>);
  T v = 0;
  for (unsigned i = 0; i < sizeof(T); ++i) v |= T(p[i]) << (8 * i);
  return v;
}

template <typename T>
void put_le(std::vector<u8>& buf, u64 off, T v) {
  static_assert(std::is_unsigned_v<T>);
  if (buf.size() < off + sizeof(T)) buf.resize(off + sizeof(T));
  for (unsigned i = 0; i < sizeof(T); ++i) buf[off + i] = u8(v >> (8 * i));
}

inline void put_bytes(std::vector<u8>& buf, u64 off, const void* src, u64 len) {
  if (buf.size() < off + len) buf.resize(off + len);
  std::memcpy(buf.data() + off, src, len);
}

std::string hex(u64 v);          // "0x1f000"
std::string mib(u64 bytes);      // "12.5 MiB" / "300 KiB"

class FileView {
 public:
  FileView(std::span<const u8> data, std::string name) : m_data(data), m_name(std::move(name)) {}
  u64 size() const { return m_data.size(); }
  const std::string& name() const { return m_name; }
  std::span<const u8> bytes() const { return m_data; }
  bool has(u64 off, u64 len) const { return in_bounds(m_data.size(), off, len); }

  // Throws "NAME is truncated: WHAT at offset X needs N bytes, the file has SIZE".
  void need(u64 off, u64 len, const std::string& what) const;
  std::span<const u8> sub(u64 off, u64 len, const std::string& what) const {
    need(off, len, what);
    return m_data.subspan(off, len);
  }
  template <typename T>
  T get(u64 off, const char* what = "a header field") const {
    need(off, sizeof(T), what);
    return get_le<T>(m_data.data() + off);
  }
  [[noreturn]] void fail(const std::string& msg) const { throw BootError(m_name + ": " + msg); }

 private:
  std::span<const u8> m_data;
  std::string m_name;
};

}  // namespace rv::boot
