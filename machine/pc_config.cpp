#include "machine/pc_config.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <fstream>
#include <sys/stat.h>

namespace rv {

namespace {
std::string size_text(u64 bytes) {
  if (bytes % MiB == 0) return std::to_string(bytes / MiB) + " MiB";
  if (bytes % KiB == 0) return std::to_string(bytes / KiB) + " KiB";
  return std::to_string(bytes) + " bytes";
}
}  // namespace

void check_bios_size(u64 size, const std::string& name) {
  if (size == 0) throw ConfigError(name + " is empty");
  if (size > kMaxBiosSize)
    throw ConfigError(name + " is " + size_text(size) + "; a BIOS image can be at most 16 MiB");
}

std::shared_ptr<const std::vector<u8>> load_bios_image(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0)
    throw ConfigError("cannot open BIOS image '" + path + "': " + std::strerror(errno));
  if (S_ISDIR(st.st_mode)) throw ConfigError("BIOS image '" + path + "' is a directory");
  // Check the size before reading, so a huge file is not read into memory first.
  if (S_ISREG(st.st_mode)) check_bios_size(static_cast<u64>(st.st_size), "BIOS image '" + path + "'");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ConfigError("cannot open BIOS image '" + path + "': " + std::strerror(errno));
  auto image = std::make_shared<std::vector<u8>>();
  char buf[65536];
  while (in) {
    in.read(buf, sizeof buf);
    image->insert(image->end(), buf, buf + in.gcount());
    if (image->size() > kMaxBiosSize) break;
  }
  if (in.bad()) throw ConfigError("cannot read BIOS image '" + path + "'");
  check_bios_size(image->size(), "BIOS image '" + path + "'");
  return image;
}

std::shared_ptr<const std::vector<u8>> load_host_file(const std::string& path, const std::string& what,
                                                      u64 max_size, const std::string& limit_name) {
  const std::string name = what + " '" + path + "'";
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) throw ConfigError("cannot open " + name + ": " + std::strerror(errno));
  if (S_ISDIR(st.st_mode)) throw ConfigError(name + " is a directory");
  if (S_ISREG(st.st_mode) && static_cast<u64>(st.st_size) > max_size)
    throw ConfigError(name + " is " + size_text(static_cast<u64>(st.st_size)) + ", larger than " + limit_name);
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ConfigError("cannot open " + name + ": " + std::strerror(errno));
  auto data = std::make_shared<std::vector<u8>>();
  if (S_ISREG(st.st_mode)) data->reserve(static_cast<size_t>(st.st_size));
  char buf[1 << 16];
  while (in) {
    in.read(buf, sizeof buf);
    data->insert(data->end(), buf, buf + in.gcount());
    if (data->size() > max_size) throw ConfigError(name + " is larger than " + limit_name);
  }
  if (in.bad()) throw ConfigError("cannot read " + name);
  if (data->empty()) throw ConfigError(name + " is empty");
  return data;
}

u64 parse_memory_size(const std::string& text) {
  auto bad = [&](const std::string& why) {
    return ConfigError("invalid memory size '" + text + "': " + why);
  };
  size_t i = 0;
  while (i < text.size() && (std::isdigit(static_cast<unsigned char>(text[i])) || text[i] == '.')) i++;
  std::string number = text.substr(0, i), suffix = text.substr(i);
  if (number.empty() || number == "." || std::count(number.begin(), number.end(), '.') > 1)
    throw bad("expected a number with an optional suffix K, M, G or T (e.g. 512M, 2G)");
  for (char& c : suffix) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  u64 unit = MiB;
  if (!suffix.empty()) {
    std::string rest = suffix.substr(1);
    if (rest != "" && rest != "B" && rest != "IB" && rest != "I") throw bad("unknown suffix '" + text.substr(i) + "'");
    switch (suffix[0]) {
      case 'B': if (rest.empty()) { unit = 1; break; } throw bad("unknown suffix '" + text.substr(i) + "'");
      case 'K': unit = KiB; break;
      case 'M': unit = MiB; break;
      case 'G': unit = GiB; break;
      case 'T': unit = 1024 * GiB; break;
      default: throw bad("unknown suffix '" + text.substr(i) + "'");
    }
  }
  long double v = std::strtold(number.c_str(), nullptr) * static_cast<long double>(unit);
  if (v > static_cast<long double>(kMaxRam)) throw bad("more than the maximum of 64 GiB");
  u64 bytes = static_cast<u64>(std::ceil(v));
  bytes = (bytes + kPageSize - 1) & kPageMask;
  if (bytes < kMinRam) throw bad("less than the minimum of 1 MiB");
  return bytes;
}

const char* engine_name(Engine e) { return e == Engine::Kvm ? "kvm" : "interp"; }

}  // namespace rv
