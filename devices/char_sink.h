// CharSink: where a character device's output goes (the host side of a console).
//
// A device holds a CharSink& and calls put() per byte; it never knows whether the bytes
// end up on stdout, in a file or nowhere. FileSink writes to a stdio stream (stdout or a
// file it opened) and flushes at each newline, so interleaving with the emulator's own
// messages on a terminal stays readable and nothing is lost if the host process dies.
#pragma once
#include <cstdio>
#include <functional>
#include <string>

#include "memory/types.h"

namespace rv {

class CharSink {
 public:
  virtual ~CharSink() = default;
  virtual void put(u8 byte) = 0;
  virtual void flush() {}
  // The first write error ("cannot write to 'PATH': No space left on device"), or empty.
  // A sink that failed drops what follows; the board polls this and ends the run.
  virtual std::string error() const { return {}; }
};

// Discards everything (--debugcon none, tests).
class NullSink final : public CharSink {
 public:
  void put(u8) override {}
};

// Writes to a stdio stream: stdout (not owned) or a file opened by path (owned).
class FileSink final : public CharSink {
 public:
  static FileSink stdout_sink() { return FileSink(stdout, false); }
  // Opens (truncates) `path`; throws std::runtime_error naming the path and the reason.
  explicit FileSink(const std::string& path);
  FileSink(FileSink&& o) noexcept : m_file(o.m_file), m_owned(o.m_owned), m_name(std::move(o.m_name)), m_error(std::move(o.m_error)) {
    o.m_file = nullptr;
    o.m_owned = false;
  }
  FileSink(const FileSink&) = delete;
  FileSink& operator=(const FileSink&) = delete;
  ~FileSink() override;

  void put(u8 byte) override;
  void flush() override;
  std::string error() const override { return m_error; }

 private:
  FileSink(std::FILE* f, bool owned) : m_file(f), m_owned(owned), m_name("standard output") {}
  void check(bool ok);
  std::FILE* m_file;
  bool m_owned;
  std::string m_name;
  std::string m_error;
};

// Passes bytes on to another sink while open() says so (a replay's seeks run through output
// that was shown already: machine/timeline.h).
class GatedSink final : public CharSink {
 public:
  GatedSink(CharSink& to, std::function<bool()> open) : m_to(to), m_open(std::move(open)) {}
  void put(u8 byte) override {
    if (m_open()) m_to.put(byte);
  }
  void flush() override { m_to.flush(); }
  std::string error() const override { return m_to.error(); }

 private:
  CharSink& m_to;
  std::function<bool()> m_open;
};

// Collects the bytes in memory (unit tests).
class StringSink final : public CharSink {
 public:
  void put(u8 byte) override { m_text.push_back(static_cast<char>(byte)); }
  const std::string& text() const { return m_text; }

 private:
  std::string m_text;
};

}  // namespace rv
