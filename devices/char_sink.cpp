#include "devices/char_sink.h"

#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace rv {

FileSink::FileSink(const std::string& path) : m_file(std::fopen(path.c_str(), "wb")), m_owned(true) {
  if (!m_file) throw std::runtime_error("cannot open '" + path + "' for writing: " + std::strerror(errno));
}

FileSink::~FileSink() {
  if (m_file) std::fflush(m_file);
  if (m_owned && m_file) std::fclose(m_file);
}

void FileSink::put(u8 byte) {
  std::fputc(byte, m_file);
  if (byte == '\n') std::fflush(m_file);
}

void FileSink::flush() { std::fflush(m_file); }

}  // namespace rv
