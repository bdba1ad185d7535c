// Logging and the three kinds of emulator gap (STYLE.md guideline 12).
//
//   RV_UNIMPLEMENTED(...)  the guest used something we do not emulate
//   RV_UNUSUAL(...)        legal but rare; worth knowing when debugging a guest
//   RV_UNVERIFIED(...)     emulated from the manual, never checked on hardware
//
// Each is printed once per call site (to stderr or the log file) and counted.
#pragma once
#include <atomic>
#include <cstdarg>
#include <cstdio>
#include <string>

namespace rv {

enum class GapKind { Unimplemented, Unusual, Unverified };

void log_message(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
void log_gap(GapKind kind, const char* where, const char* fmt, ...) __attribute__((format(printf, 3, 4)));
void set_log_file(std::FILE* f);     // default stderr
void set_log_quiet(bool quiet);      // suppress gap messages (counts still kept)
unsigned gap_count(GapKind kind);

// Prints once per call site: the static flag lives in the macro expansion.
#define RV_GAP_ONCE(kind, ...)                                         \
  do {                                                                 \
    static std::atomic<bool> rv_gap_seen_{false};                      \
    if (!rv_gap_seen_.exchange(true)) ::rv::log_gap(kind, __func__, __VA_ARGS__); \
  } while (0)
#define RV_UNIMPLEMENTED(...) RV_GAP_ONCE(::rv::GapKind::Unimplemented, __VA_ARGS__)
#define RV_UNUSUAL(...) RV_GAP_ONCE(::rv::GapKind::Unusual, __VA_ARGS__)
#define RV_UNVERIFIED(...) RV_GAP_ONCE(::rv::GapKind::Unverified, __VA_ARGS__)

[[noreturn]] void assert_fail(const char* expr, const char* file, int line);
#define RV_ASSERT(x) \
  do { if (RV_UNLIKELY(!(x))) ::rv::assert_fail(#x, __FILE__, __LINE__); } while (0)

}  // namespace rv
