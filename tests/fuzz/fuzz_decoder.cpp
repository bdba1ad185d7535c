// The decoder on random bytes in each mode (the first byte picks 16, 32 or 64-bit): it must
// never read past the bytes it is given, and an instruction it decodes must fit them and be
// 1..15 bytes long. (Lengths are checked against Capstone in tests/decoder.)
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "cpu/decoder/decoder.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  static const rv::CpuMode kModes[] = {rv::CpuMode::Real16, rv::CpuMode::Prot32, rv::CpuMode::Long64};
  const rv::CpuMode mode = kModes[data[0] % 3];
  // A heap copy of exactly the bytes given, so that ASan sees any read past them.
  std::vector<uint8_t> bytes(data + 1, data + size);
  const unsigned n = static_cast<unsigned>(std::min<size_t>(bytes.size(), 64));
  rv::DecodedInsn d;
  rv::DecodeStatus st = rv::decode(bytes.data(), n, mode, d);
  if (st == rv::DecodeStatus::Ok && (d.len == 0 || d.len > 15 || d.len > n)) std::abort();
  return 0;
}
