// Basic integer types and small helpers shared by every layer. memory/ is the bottom layer,
// so the few definitions every other library needs live here.
#pragma once
#include <cstddef>
#include <cstdint>

namespace rv {
using u8 = std::uint8_t;
using u16 = std::uint16_t;
using u32 = std::uint32_t;
using u64 = std::uint64_t;
using i8 = std::int8_t;
using i16 = std::int16_t;
using i32 = std::int32_t;
using i64 = std::int64_t;

constexpr u64 kPageSize = 4096;
constexpr u64 kPageMask = ~(kPageSize - 1);

#define RV_LIKELY(x) __builtin_expect(!!(x), 1)
#define RV_UNLIKELY(x) __builtin_expect(!!(x), 0)
}  // namespace rv
