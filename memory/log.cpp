#include "memory/log.h"

#include <cstdlib>

namespace rv {
namespace {
std::FILE* g_log = nullptr;
bool g_quiet = false;
std::atomic<unsigned> g_counts[3];
const char* kGapNames[] = {"unimplemented", "unusual", "unverified"};
std::FILE* out() { return g_log ? g_log : stderr; }
}  // namespace

void set_log_file(std::FILE* f) { g_log = f; }
void set_log_quiet(bool quiet) { g_quiet = quiet; }
unsigned gap_count(GapKind kind) { return g_counts[static_cast<int>(kind)].load(); }

void log_message(const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  std::vfprintf(out(), fmt, ap);
  va_end(ap);
  std::fputc('\n', out());
  std::fflush(out());
}

void log_gap(GapKind kind, const char* where, const char* fmt, ...) {
  g_counts[static_cast<int>(kind)]++;
  if (g_quiet) return;
  std::fprintf(out(), "retrovisor: %s (%s): ", kGapNames[static_cast<int>(kind)], where);
  va_list ap;
  va_start(ap, fmt);
  std::vfprintf(out(), fmt, ap);
  va_end(ap);
  std::fputc('\n', out());
  std::fflush(out());
}

void assert_fail(const char* expr, const char* file, int line) {
  std::fprintf(stderr, "retrovisor: internal error: assertion '%s' failed at %s:%d\n", expr, file, line);
  std::abort();
}
}  // namespace rv
