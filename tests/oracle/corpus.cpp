#include "tests/oracle/corpus.h"

#include <capstone/capstone.h>
#include <cpuid.h>
#include <dirent.h>
#include <zstd.h>

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>

#include "tests/oracle/generator.h"

namespace rv::oracle {
namespace {

constexpr char kMagic[4] = {'R', 'V', 'O', 'C'};
constexpr u32 kVersion = 1;

// ---- byte streams ----

class Writer {
 public:
  void u8_(u8 v) { m_b.push_back(v); }
  void u16_(u16 v) { put(&v, 2); }
  void u32_(u32 v) { put(&v, 4); }
  void u64_(u64 v) { put(&v, 8); }
  void put(const void* p, size_t n) { auto* b = static_cast<const u8*>(p); m_b.insert(m_b.end(), b, b + n); }
  void str8(const std::string& s) { u8_(static_cast<u8>(std::min<size_t>(s.size(), 255))); put(s.data(), std::min<size_t>(s.size(), 255)); }
  // The differences of `now` against `base` (same size) as runs of changed bytes.
  void runs(const std::vector<u8>& base, const std::vector<u8>& now) {
    std::vector<std::pair<u16, u16>> r;
    for (size_t k = 0; k < now.size();) {
      if (now[k] == base[k]) { k++; continue; }
      size_t e = k;
      while (e < now.size() && (now[e] != base[e] || (e + 1 < now.size() && now[e + 1] != base[e + 1]))) e++;
      r.push_back({static_cast<u16>(k), static_cast<u16>(e - k)});
      k = e;
    }
    u16_(static_cast<u16>(r.size()));
    for (auto [off, len] : r) { u16_(off); u16_(len); put(&now[off], len); }
  }
  std::vector<u8>& bytes() { return m_b; }

 private:
  std::vector<u8> m_b;
};

class Reader {
 public:
  Reader(const std::vector<u8>& b, std::string what) : m_b(b), m_what(std::move(what)) {}
  [[noreturn]] void fail(const std::string& why) const {
    char buf[64];
    std::snprintf(buf, sizeof buf, " (offset %zu of %zu decompressed bytes)", m_pos, m_b.size());
    throw CorpusError(m_what + ": " + why + buf);
  }
  void need(size_t n) const { if (m_b.size() - m_pos < n) fail("truncated"); }
  void get(void* p, size_t n) { need(n); std::memcpy(p, &m_b[m_pos], n); m_pos += n; }
  u8 u8_() { u8 v; get(&v, 1); return v; }
  u16 u16_() { u16 v; get(&v, 2); return v; }
  u32 u32_() { u32 v; get(&v, 4); return v; }
  u64 u64_() { u64 v; get(&v, 8); return v; }
  std::string str8() { std::string s(u8_(), '\0'); get(s.data(), s.size()); return s; }
  // Applies runs to `v` (which already holds the base contents).
  void runs(std::vector<u8>& v) {
    unsigned n = u16_();
    for (unsigned k = 0; k < n; k++) {
      unsigned off = u16_(), len = u16_();
      if (off + len > v.size()) fail("a difference run lies outside its page");
      get(&v[off], len);
    }
  }
  bool done() const { return m_pos == m_b.size(); }
  void seek(size_t pos) { m_pos = pos; }
  size_t pos() const { return m_pos; }

 private:
  const std::vector<u8>& m_b;
  std::string m_what;
  size_t m_pos = 0;
};

// FNV-1a over both start pages.
u64 pages_hash(const std::vector<u8>& data, const std::vector<u8>& stack) {
  u64 h = 0xcbf29ce484222325ull;
  for (const std::vector<u8>* v : {&data, &stack})
    for (u8 b : *v) h = (h ^ b) * 0x100000001b3ull;
  return h;
}

void put_entry(Writer& w, const Case& c, const Snapshot& n) {
  w.u64_(c.seed);
  w.u8_(c.mode == Mode::Compat32 ? 1 : 0);
  w.u64_(c.page_seed);
  w.u16_(static_cast<u16>(c.code.size()));
  w.put(c.code.data(), c.code.size());
  for (u64 r : c.gpr) w.u64_(r);
  w.u64_(c.rflags);
  w.put(c.fpu.data(), 512);
  std::vector<u8> tail = c.tail.size() == 16 ? c.tail : std::vector<u8>(16, 0xCC);
  w.put(tail.data(), 16);
  w.u64_(c.undef_end);
  w.u8_(static_cast<u8>(c.item_offset.size()));
  for (size_t k = 0; k < c.item_offset.size(); k++) {
    w.u16_(static_cast<u16>(c.item_offset[k]));
    w.u64_(c.item_undef_in[k]);
    w.u64_(c.item_undef_out[k]);
    w.u64_(c.item_undef_any[k]);
    w.str8(c.item_name[k]);
  }
  std::vector<u8> data, stack;
  fill_pages(c.page_seed, data, stack);
  w.runs(data, c.data);
  w.runs(stack, c.stack);
  w.u64_(pages_hash(c.data, c.stack));
  for (u64 r : n.gpr) w.u64_(r);
  w.u64_(n.rflags);
  w.u16_(static_cast<u16>(static_cast<i16>(n.vector)));
  w.u64_(n.fault_rip);
  w.u64_(n.error);
  w.u64_(n.cr2);
  for (u16 s : n.sreg) w.u16_(s);
  w.runs(c.data, n.data);
  w.runs(c.stack, n.stack);
  w.runs(c.fpu, n.fpu.size() == 512 ? n.fpu : c.fpu);
}

CorpusEntry get_entry(Reader& r) {
  CorpusEntry e;
  Case& c = e.c;
  c.seed = r.u64_();
  u8 mode = r.u8_();
  if (mode > 1) r.fail("bad mode byte");
  c.mode = mode ? Mode::Compat32 : Mode::Long64;
  c.page_seed = r.u64_();
  c.code.resize(r.u16_());
  if (c.code.size() > kSeqMax) r.fail("sequence longer than the oracle's code area");
  r.get(c.code.data(), c.code.size());
  for (u64& g : c.gpr) g = r.u64_();
  c.rflags = r.u64_();
  c.fpu.resize(512);
  r.get(c.fpu.data(), 512);
  c.tail.resize(16);
  r.get(c.tail.data(), 16);
  c.undef_end = r.u64_();
  unsigned items = r.u8_();
  for (unsigned k = 0; k < items; k++) {
    u16 off = r.u16_();
    if (off > c.code.size() || (k && off < c.item_offset.back())) r.fail("item offsets out of order");
    c.item_offset.push_back(off);
    c.item_undef_in.push_back(r.u64_());
    c.item_undef_out.push_back(r.u64_());
    c.item_undef_any.push_back(r.u64_());
    c.item_name.push_back(r.str8());
  }
  fill_pages(c.page_seed, c.data, c.stack);
  r.runs(c.data);
  r.runs(c.stack);
  if (r.u64_() != pages_hash(c.data, c.stack))
    r.fail("the start pages differ from the recorded ones (fill_pages changed since recording? record the corpus again)");
  Snapshot& n = e.native;
  for (u64& g : n.gpr) g = r.u64_();
  n.rflags = r.u64_();
  n.vector = static_cast<i16>(r.u16_());
  if (n.vector < -1 || n.vector > 31) r.fail("bad exception vector");
  n.fault_rip = r.u64_();
  n.error = r.u64_();
  n.cr2 = r.u64_();
  for (u16& s : n.sreg) s = r.u16_();
  n.data = c.data;
  r.runs(n.data);
  n.stack = c.stack;
  r.runs(n.stack);
  n.fpu = c.fpu;
  r.runs(n.fpu);
  return e;
}

std::vector<u8> read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw CorpusError(path + ": cannot open");
  f.seekg(0, std::ios::end);
  std::streamoff size = f.tellg();
  if (size < 0) throw CorpusError(path + ": cannot read");
  std::vector<u8> b(static_cast<size_t>(size));
  f.seekg(0);
  if (!b.empty() && !f.read(reinterpret_cast<char*>(b.data()), size)) throw CorpusError(path + ": read error");
  return b;
}

std::vector<u8> decompress(const std::vector<u8>& in, const std::string& path) {
  // One frame whose size is in its header (write_corpus); corpora are tens of MiB at most.
  unsigned long long size = ZSTD_getFrameContentSize(in.data(), in.size());
  if (size == ZSTD_CONTENTSIZE_ERROR) throw CorpusError(path + ": not a zstd-compressed corpus file");
  if (size == ZSTD_CONTENTSIZE_UNKNOWN || size > (1ull << 30)) throw CorpusError(path + ": unexpected frame (no or huge content size)");
  std::vector<u8> out(static_cast<size_t>(size));
  size_t got = ZSTD_decompress(out.data(), out.size(), in.data(), in.size());
  if (ZSTD_isError(got)) throw CorpusError(path + ": " + ZSTD_getErrorName(got) + " (truncated or corrupt)");
  if (got != size) throw CorpusError(path + ": decompressed size does not match its header");
  return out;
}

std::string header_value(const std::string& header, const std::string& key) {
  size_t pos = 0;
  while (pos < header.size()) {
    size_t e = header.find('\n', pos);
    std::string line = header.substr(pos, e == std::string::npos ? std::string::npos : e - pos);
    if (line.compare(0, key.size() + 1, key + "=") == 0) return line.substr(key.size() + 1);
    if (e == std::string::npos) break;
    pos = e + 1;
  }
  return "";
}

}  // namespace

std::string host_vendor() {
  unsigned a, b, c, d;
  __cpuid(0, a, b, c, d);
  char v[13];
  std::memcpy(v, &b, 4);
  std::memcpy(v + 4, &d, 4);
  std::memcpy(v + 8, &c, 4);
  v[12] = 0;
  return v;
}

std::string host_cpu_name() {
  unsigned a, b, c, d;
  __cpuid(0x80000000, a, b, c, d);
  if (a < 0x80000004) return "unknown";
  char name[49] = {};
  for (unsigned k = 0; k < 3; k++) {
    __cpuid(0x80000002 + k, a, b, c, d);
    std::memcpy(name + 16 * k, &a, 4);
    std::memcpy(name + 16 * k + 4, &b, 4);
    std::memcpy(name + 16 * k + 8, &c, 4);
    std::memcpy(name + 16 * k + 12, &d, 4);
  }
  std::string s = name;
  while (!s.empty() && s.back() == ' ') s.pop_back();
  return s.substr(s.find_first_not_of(' ') == std::string::npos ? 0 : s.find_first_not_of(' '));
}

u32 finish_corpus(const std::string& scratch, const std::string& path, const std::string& header) {
  std::vector<u8> entries = read_file(scratch);
  Reader check(entries, scratch);
  u32 count = 0;
  while (!check.done()) { get_entry(check); count++; }
  Writer w;
  w.put(kMagic, 4);
  w.u32_(kVersion);
  w.u32_(static_cast<u32>(header.size()));
  w.put(header.data(), header.size());
  w.u32_(count);
  w.put(entries.data(), entries.size());
  const std::vector<u8>& raw = w.bytes();
  ZSTD_CCtx* cc = ZSTD_createCCtx();
  ZSTD_CCtx_setParameter(cc, ZSTD_c_compressionLevel, 19);
  ZSTD_CCtx_setParameter(cc, ZSTD_c_checksumFlag, 1);
  ZSTD_CCtx_setParameter(cc, ZSTD_c_enableLongDistanceMatching, 1);
  ZSTD_CCtx_setPledgedSrcSize(cc, raw.size());
  std::vector<u8> out(ZSTD_compressBound(raw.size()));
  size_t n = ZSTD_compress2(cc, out.data(), out.size(), raw.data(), raw.size());
  ZSTD_freeCCtx(cc);
  if (ZSTD_isError(n)) throw CorpusError(path + ": compression failed: " + ZSTD_getErrorName(n));
  std::string tmp = path + ".part";
  {
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    f.write(reinterpret_cast<const char*>(out.data()), static_cast<std::streamsize>(n));
    f.flush();
    if (!f) throw CorpusError(tmp + ": write error");
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) throw CorpusError(path + ": cannot rename " + tmp);
  return count;
}

void append_scratch(const std::string& path, const Case& c, const Snapshot& native) {
  Writer w;
  put_entry(w, c, native);
  std::FILE* f = std::fopen(path.c_str(), "ab");
  bool ok = f && std::fwrite(w.bytes().data(), 1, w.bytes().size(), f) == w.bytes().size();
  if (f && std::fclose(f) != 0) ok = false;
  if (!ok) throw CorpusError(path + ": cannot append a recorded case");
}

CorpusEntry Corpus::entry(size_t k) const {
  const Ref& ref = refs.at(k);
  Reader r(blobs[ref.blob], files[ref.blob]);
  r.seek(ref.offset);
  CorpusEntry e = get_entry(r);
  e.file = files[ref.blob];
  e.index = ref.index;
  return e;
}

Corpus read_corpus_dir(const std::string& dir) {
  std::vector<std::string> names;
  DIR* d = opendir(dir.c_str());
  if (!d) throw CorpusError(dir + ": cannot open the corpus folder");
  while (dirent* de = readdir(d)) {
    std::string n = de->d_name;
    if (n.size() > 5 && n.compare(n.size() - 5, 5, ".rvoc") == 0) names.push_back(n);
  }
  closedir(d);
  std::sort(names.begin(), names.end());
  Corpus all;
  for (const std::string& n : names) {
    std::string path = dir + "/" + n;
    std::vector<u8> b = decompress(read_file(path), path);
    Reader r(b, path);
    char magic[4];
    r.get(magic, 4);
    if (std::memcmp(magic, kMagic, 4) != 0) r.fail("not a Retrovisor oracle corpus (bad magic)");
    u32 version = r.u32_();
    if (version != kVersion) r.fail("corpus format version " + std::to_string(version) + ", this build reads " + std::to_string(kVersion));
    u32 hlen = r.u32_();
    if (hlen > 65536) r.fail("header too long");
    std::string header(hlen, '\0');
    r.get(header.data(), hlen);
    std::string vendor = header_value(header, "vendor");
    if (all.vendor.empty()) { all.vendor = vendor; all.cpu = header_value(header, "cpu"); }
    else if (all.vendor != vendor) throw CorpusError(path + ": recorded on " + vendor + ", the other files on " + all.vendor + " (keep one vendor per corpus folder)");
    u32 count = r.u32_();
    u32 blob = static_cast<u32>(all.blobs.size());
    for (u32 k = 0; k < count; k++) {
      Corpus::Ref ref;
      ref.blob = blob;
      ref.offset = r.pos();
      ref.index = k;
      CorpusEntry e = get_entry(r);   // checks the whole entry now
      ref.mode = e.c.mode;
      ref.items = std::move(e.c.item_name);
      all.refs.push_back(std::move(ref));
    }
    if (!r.done()) r.fail("bytes after the last entry");
    all.blobs.push_back(std::move(b));
    all.files.push_back(path);
  }
  return all;
}

std::string corpus_host_dependent(const Case& c, const std::string& recorded_vendor) {
  static const std::string here = host_vendor();
  if (recorded_vendor == here) return "";
  // The interpreter runs these on the host's own units (cpu/interp/sse_arith.cpp, x87_host.cpp):
  // RCP/RSQRT are approximations whose bits the SDM leaves to the implementation, and the x87
  // transcendentals are specified only to about one ulp; their exact bits differ by vendor.
  // DPPS/DPPD run as the host's own instruction (cpu/interp/sse4_sse41_fp.cpp): with NaN
  // inputs, which NaN each result element carries is the vendor's (Intel's elements can differ
  // from one another; AMD's are one NaN broadcast), seen first on an AMD EPYC build host.
  static const char* const kHostDependent[] = {"rcpps", "rcpss", "rsqrtps", "rsqrtss", "fsin",   "fcos",
                                               "fsincos", "fptan", "fpatan", "f2xm1", "fyl2x", "fyl2xp1",
                                               "dpps", "dppd"};
  csh h;
  if (cs_open(CS_ARCH_X86, c.mode == Mode::Long64 ? CS_MODE_64 : CS_MODE_32, &h) != CS_ERR_OK) return "";
  cs_insn* insn = nullptr;
  size_t n = cs_disasm(h, c.code.data(), c.code.size(), kSeqAddr, 0, &insn);
  std::string why;
  for (size_t k = 0; k < n && why.empty(); k++)
    for (const char* m : kHostDependent)
      if (std::strcmp(insn[k].mnemonic, m) == 0) { why = m; break; }
  if (n) cs_free(insn, n);
  cs_close(&h);
  if (why.empty()) return "";
  const bool nan_choice = why == "dpps" || why == "dppd";
  return why + (nan_choice ? " gives the host's own choice of NaN" : " gives the host's own approximation") + " (recorded on " +
         recorded_vendor + ", this host is " + here + ")";
}

}  // namespace rv::oracle
