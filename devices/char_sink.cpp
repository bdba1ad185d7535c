#include "devices/char_sink.h"

#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace rv {

FileSink::FileSink(const std::string& path) : m_file(std::fopen(path.c_str(), "wb")), m_owned(true), m_name("'" + path + "'") {
  if (!m_file) throw std::runtime_error("cannot open '" + path + "' for writing: " + std::strerror(errno));
}

FileSink::~FileSink() {
  if (m_file) std::fflush(m_file);
  if (m_owned && m_file) std::fclose(m_file);
}

void FileSink::check(bool ok) {
  if (ok || !m_error.empty()) return;
  m_error = "cannot write to " + m_name + ": " + std::strerror(errno ? errno : EIO) + " (output lost from here)";
}

void FileSink::put(u8 byte) {
  if (!m_error.empty() || !m_file) return;
  errno = 0;
  check(std::fputc(byte, m_file) != EOF && (byte != '\n' || std::fflush(m_file) == 0));
}

void FileSink::flush() {
  if (!m_error.empty() || !m_file) return;
  errno = 0;
  check(std::fflush(m_file) == 0);
}

}  // namespace rv
