// Snapshots (machine/snapshot.h) and the machine's state walk (Pc::visit_state).
#include "machine/snapshot.h"

#include <zlib.h>
#include <zstd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "machine/pc.h"
#include "memory/state_visitor.h"

namespace rv {

// The order of the walk is the order of a load, chosen so that every side effect of a
// component's load is overwritten by a later one: first the board's own fields, then the
// devices that drive interrupt lines (their loads drive the lines, which reach the 8259As,
// the IOAPIC and the local APIC), the ISA line fabric (which drives every line again from
// its saved levels), then the receivers of those lines (their saved state replaces whatever
// the driving did), then the CPU (its pending NMI, its halt), and last the scheduler, whose
// saved pending events (with their order) replace whatever the devices' loads scheduled.
// Finally the board re-derives what is not state: the A20 gate and the CPU's INTR pin.
void Pc::visit_state(StateVisitor& v) {
  if (!v.loading() && m_engine == Engine::Kvm && m_kvm_live) kvm_take_state();   // the vCPU's state, exact
  BoardDevices& d = *m_dev;
  Nanos t = now();
  // The door's and the idle clock's bookkeeping matter only at the current instruction
  // count (the polls already made at it; the halt that began at it): kept in that form, so
  // that the state does not depend on how the loop's turns fell before.
  const u64 ic = m_cpu.state().icount;
  const bool idle_here = m_idle_since_icount == ic && m_idle_start != kNever;
  u64 idle_start = idle_here ? m_idle_start : kNever;
  u64 idle_events = idle_here ? m_idle_events : 0;
  u64 door_polls = m_door_icount == ic ? m_door_poll + 1 : 0;
  bool kbc_a20 = d.kbc_a20;
  v.begin("pc", 1);
  v.begin("board", 2);
  v.field("now", t);
  v.field("idle_start", idle_start);
  v.field("idle_events", idle_events);
  v.field("door_polls", door_polls);
  v.field("kbc_a20", kbc_a20);
  v.end();
  m_port92.visit(v);
  m_post.visit(v);
  d.pit.visit(v);
  d.port61.visit(v);
  d.rtc.visit(v);
  d.com1.visit(v);
  d.com2.visit(v);
  d.com3.visit(v);
  d.com4.visit(v);
  d.kbc.visit(v);
  d.hpet.visit(v);
  d.pm.visit(v);
  d.pci.visit(v);
  d.pci_host_bridge.visit(v);
  d.pci_isa.visit(v);
  d.pci_pm.visit(v);
  d.fw_cfg.visit(v);
  d.isa.visit(v);
  d.pic_master.visit(v);
  d.pic_slave.visit(v);
  d.ioapic.visit(v);
  d.lapic.visit(v);
  m_cpu.visit(v);
  m_sched.visit(v);
  v.end();
  if (!v.loading()) return;
  const Nanos icount_ns = static_cast<Nanos>(m_cpu.state().icount) * kNsPerInsn;
  v.check(t >= icount_ns || host_timed(), "now", "is before the instruction count's time");
  d.kbc_a20 = kbc_a20;
  const u64 now_ic = m_cpu.state().icount;
  m_idle_start = idle_start;
  m_idle_since_icount = idle_start == kNever ? 0 : now_ic;
  m_idle_events = idle_start == kNever ? 0 : idle_events;
  m_door_icount = door_polls ? now_ic : ~0ull;
  m_door_poll = door_polls ? door_polls - 1 : 0;
  // The clock continues from the saved time under whichever engine runs now.
  if (realtime()) m_host_epoch = m_cfg.host_clock() - t;
  else if (m_engine == Engine::Kvm) {
    m_kvm_t0 = t;
    m_kvm_h0 = host_clock();
  } else {
    m_idle_ns = t - icount_ns;
  }
  m_kvm_live = false;             // a KVM slice loads the vCPU from this state
  m_kvm_halted = m_cpu.state().halted;
  m_exit_requested = m_reset_requested = m_power_off_requested = false;
  m_sleep_requested = -1;
  set_a20_gate();
  update_intr();
}

u64 Pc::state_hash() {
  StateHasher h;
  visit_state(h);
  // RAM: every page that is not all zeros, with its number (hash_ram_pages).
  h.mix(ram_digest());
  return h.hash();
}

namespace {

constexpr char kMagic[4] = {'R', 'V', 'S', 'S'};
constexpr u32 kVersion = 2;
constexpr size_t kMaxHeader = 1 << 20;
constexpr u64 kPage = 4096;

void put(std::vector<u8>& b, u64 v, unsigned n) {
  for (unsigned i = 0; i < n; i++) b.push_back(static_cast<u8>(v >> (8 * i)));
}

u64 get(const u8* p, unsigned n) {
  u64 v = 0;
  for (unsigned i = 0; i < n; i++) v |= static_cast<u64>(p[i]) << (8 * i);
  return v;
}


}  // namespace

std::vector<u8> snapshot_payload(Pc& pc) {
  StateWriter w;
  pc.visit_state(w);
  std::vector<u8>& st = w.data();
  std::vector<u8> out;
  put(out, st.size(), 8);
  out.insert(out.end(), st.begin(), st.end());
  // RAM: the pages that are not all zeros.
  PhysMemory& mem = pc.memory();
  const u8* ram = mem.ram();
  const std::vector<u32> used = mem.nonzero_ram_pages();
  put(out, mem.ram_size(), 8);
  put(out, used.size(), 8);
  out.reserve(out.size() + used.size() * (4 + kPage));
  for (u32 pg : used) put(out, pg, 4);
  for (u32 pg : used) out.insert(out.end(), ram + pg * kPage, ram + (pg + 1) * kPage);
  return out;
}

void load_payload(Pc& pc, const u8* p, size_t n, const std::string& what) {
  auto fail = [&](const std::string& why) { throw SnapshotError(what + ": " + why); };
  if (n < 8) fail("the state is missing");
  const u64 st_len = get(p, 8);
  if (st_len > n - 8) fail("the state is truncated");
  const u8* ram_part = p + 8 + st_len;
  size_t rest = n - 8 - st_len;
  if (rest < 16) fail("the RAM is missing");
  PhysMemory& mem = pc.memory();
  const u64 ram_size = get(ram_part, 8), count = get(ram_part + 8, 8);
  if (ram_size != mem.ram_size())
    fail("its RAM is " + std::to_string(ram_size) + " bytes, this machine's " + std::to_string(mem.ram_size()));
  const u64 pages = ram_size / kPage;
  if (count > pages || rest - 16 < count * (4 + kPage)) fail("the RAM pages are truncated");
  const u8* nums = ram_part + 16;
  const u8* data = nums + 4 * count;
  if (rest - 16 != count * (4 + kPage)) fail("there are bytes after the RAM pages");
  for (u64 k = 0; k < count; k++) {
    const u64 pg = get(nums + 4 * k, 4);
    if (pg >= pages || (k && pg <= get(nums + 4 * (k - 1), 4))) fail("the RAM page list is out of order or out of range");
  }
  // The state first (RAM is untouched until it has loaded). A state that breaks part-way
  // would leave a half-loaded machine: the machine's own state, saved before, is put back.
  const std::vector<u8> before = [&] {
    StateWriter w;
    pc.visit_state(w);
    return std::move(w.data());
  }();
  try {
    StateReader r(p + 8, st_len, what);
    pc.visit_state(r);
    if (!r.at_end()) throw StateError(what + ": there are bytes after the machine's state (state byte " + std::to_string(r.position()) + ")");
  } catch (const StateError& e) {
    StateReader back(before.data(), before.size(), "the machine's own state");
    pc.visit_state(back);
    const std::string m = e.what();
    throw SnapshotError(m.rfind(what, 0) == 0 ? m : what + ": " + m);
  }
  mem.clear_ram();
  u8* ram = mem.ram();
  for (u64 k = 0; k < count; k++) std::memcpy(ram + get(nums + 4 * k, 4) * kPage, data + k * kPage, kPage);
}

void save_snapshot(Pc& pc, const std::string& path, const SnapshotOrigin& origin) {
  std::string text;
  for (const std::string& a : origin.args) {
    if (a.find('\n') != std::string::npos) throw SnapshotError("a command-line argument holds a newline, which a snapshot cannot keep");
    text += "arg=" + a + "\n";
  }
  for (const auto& [p, hash] : origin.files) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(hash));
    text += "file=" + std::string(buf) + " " + p + "\n";
  }
  text += "icount=" + std::to_string(pc.cpu().state().icount) + "\n";
  const std::vector<u8> payload = snapshot_payload(pc);
  std::vector<u8> b(kMagic, kMagic + 4);
  put(b, kVersion, 4);
  put(b, text.size(), 4);
  b.insert(b.end(), text.begin(), text.end());
  put(b, static_cast<u32>(crc32(0, reinterpret_cast<const Bytef*>(text.data()), static_cast<uInt>(text.size()))), 4);
  put(b, payload.size(), 8);
  const size_t head = b.size();
  b.resize(head + ZSTD_compressBound(payload.size()));
  ZSTD_CCtx* cc = ZSTD_createCCtx();
  ZSTD_CCtx_setParameter(cc, ZSTD_c_compressionLevel, 3);
  ZSTD_CCtx_setParameter(cc, ZSTD_c_checksumFlag, 1);
  ZSTD_CCtx_setParameter(cc, ZSTD_c_nbWorkers, 0);
  const size_t z = ZSTD_compress2(cc, b.data() + head, b.size() - head, payload.data(), payload.size());
  ZSTD_freeCCtx(cc);
  if (ZSTD_isError(z)) throw SnapshotError("compression failed: " + std::string(ZSTD_getErrorName(z)));
  b.resize(head + z);
  // The frame's own CRC: zstd's content checksum covers what it decodes to, and a flipped bit
  // in an unused part of an entropy table decodes to the same bytes; this one catches every
  // change to the file.
  const u32 fcrc = static_cast<u32>(crc32_z(0, b.data() + head, z));
  b.insert(b.begin() + static_cast<std::ptrdiff_t>(head), {static_cast<u8>(fcrc), static_cast<u8>(fcrc >> 8),
                                                          static_cast<u8>(fcrc >> 16), static_cast<u8>(fcrc >> 24)});
  const std::string tmp = path + ".tmp";
  std::FILE* f = std::fopen(tmp.c_str(), "wb");
  if (!f) throw SnapshotError("cannot create '" + tmp + "': " + std::strerror(errno));
  const bool ok = std::fwrite(b.data(), 1, b.size(), f) == b.size() && std::fflush(f) == 0;
  const int err = errno;
  if (std::fclose(f) != 0 || !ok) {
    std::remove(tmp.c_str());
    throw SnapshotError("cannot write '" + path + "': " + std::strerror(ok ? errno : err));
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    const int e = errno;
    std::remove(tmp.c_str());
    throw SnapshotError("cannot rename '" + tmp + "' to '" + path + "': " + std::strerror(e));
  }
}

Snapshot read_snapshot(const std::string& path) {
  auto fail = [&](u64 at, const std::string& why) -> void {
    throw SnapshotError(path + ": " + why + " (byte " + std::to_string(at) + ")");
  };
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) throw SnapshotError("cannot open '" + path + "': " + std::strerror(errno));
  std::vector<u8> file;
  u8 buf[1 << 16];
  size_t got;
  while ((got = std::fread(buf, 1, sizeof buf, f)) > 0) file.insert(file.end(), buf, buf + got);
  const bool read_error = std::ferror(f);
  std::fclose(f);
  if (read_error) throw SnapshotError("cannot read '" + path + "'");
  if (file.size() < 4 || std::memcmp(file.data(), kMagic, 4) != 0) fail(0, "not a retrovisor snapshot (no RVSS signature)");
  if (file.size() < 12) fail(file.size(), "truncated header");
  const u32 version = static_cast<u32>(get(&file[4], 4));
  if (version != kVersion)
    fail(4, "snapshot version " + std::to_string(version) + "; this build reads version " + std::to_string(kVersion) +
             (version > kVersion ? " (it was written by a newer retrovisor)" : ""));
  const u64 len = get(&file[8], 4);
  if (len > kMaxHeader || 12 + len + 4 + 8 > file.size()) fail(8, "header truncated or too long");
  const std::string text(reinterpret_cast<const char*>(&file[12]), len);
  if (get(&file[12 + len], 4) != static_cast<u32>(crc32(0, reinterpret_cast<const Bytef*>(text.data()), static_cast<uInt>(len))))
    fail(12, "header corrupt (checksum mismatch)");
  Snapshot s;
  size_t pos = 0;
  while (pos < text.size()) {
    const size_t e = text.find('\n', pos);
    if (e == std::string::npos) fail(12 + pos, "header line without an end");
    const std::string line = text.substr(pos, e - pos);
    if (line.rfind("arg=", 0) == 0) s.origin.args.push_back(line.substr(4));
    else if (line.rfind("file=", 0) == 0 && line.size() > 22 && line[21] == ' ')
      s.origin.files.push_back({line.substr(22), std::strtoull(line.substr(5, 16).c_str(), nullptr, 16)});
    else if (line.rfind("icount=", 0) == 0) s.icount = std::strtoull(line.c_str() + 7, nullptr, 10);
    else fail(12 + pos, "unknown header line '" + line.substr(0, 40) + "'");
    pos = e + 1;
  }
  const size_t at = 12 + len + 4;
  const u64 plen = get(&file[at], 8);
  if (file.size() < at + 12) fail(at + 8, "truncated before the machine's state");
  const u8* z = &file[at + 12];
  const size_t zlen = file.size() - at - 12;
  if (get(&file[at + 8], 4) != static_cast<u32>(crc32_z(0, z, zlen)))
    fail(at + 8, "the machine's state is corrupt or truncated (checksum mismatch)");
  const unsigned long long frame = ZSTD_getFrameContentSize(z, zlen);
  if (frame == ZSTD_CONTENTSIZE_ERROR) fail(at + 12, "the machine's state is not a zstd frame (corrupt)");
  if (frame != ZSTD_CONTENTSIZE_UNKNOWN && frame != plen) fail(at, "the state's length does not match its frame (corrupt)");
  if (plen > (64ull << 30) + (64ull << 20)) fail(at, "the state is larger than any machine's");
  const size_t fz = ZSTD_findFrameCompressedSize(z, zlen);
  if (ZSTD_isError(fz)) fail(at + 12, std::string("the machine's state is truncated or corrupt (") + ZSTD_getErrorName(fz) + ")");
  if (fz != zlen) fail(at + 12 + fz, "there are bytes after the machine's state");
  s.payload.resize(plen);
  const size_t d = ZSTD_decompress(s.payload.data(), plen, z, zlen);
  if (ZSTD_isError(d)) fail(at + 12, std::string("the machine's state is corrupt (") + ZSTD_getErrorName(d) + ")");
  if (d != plen) fail(at, "the state's length does not match its frame (corrupt)");
  return s;
}

void load_snapshot(Pc& pc, const Snapshot& s, const std::string& what) {
  load_payload(pc, s.payload.data(), s.payload.size(), what);
}

}  // namespace rv
