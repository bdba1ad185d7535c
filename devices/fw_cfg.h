// FwCfg: QEMU's firmware configuration device, the interface through which firmware and
// loaders read the machine's configuration (facts from QEMU's docs/specs/fw_cfg.txt).
//
// What it is: a 16-bit selector register (offset 0, port 0x510 on x86) choosing an item,
// and an 8-bit data register (offset 1, port 0x511) that reads the selected item one byte
// at a time from offset 0; reads past the end return 0; selecting an item rewinds it.
// Items: 0x0000 signature "QEMU", 0x0001 ID (feature bitmap, little-endian u32: bit 0 =
// traditional interface, bit 1 = DMA when offered), 0x0003 RAM size (u64), 0x0005 CPU
// count (u16), 0x000F max CPUs (u16), 0x0019 the file directory, 0x0020 and up named
// files ("etc/e820", ACPI tables later). Integer items are little-endian; the file directory is big-endian: a u32 count,
// then per file {u32 size; u16 select; u16 reserved; char name[56]} (NUL padded).
// DMA interface (when constructed with guest memory): a 64-bit address register at offset
// 4 (port 0x514), written big-endian as two 32-bit halves, high half first (0x514) then the
// low half (0x518), which starts the transfer. The address names a big-endian
// FWCfgDmaAccess {u32 control; u32 length; u64 address}; control bits: error (0), read (1),
// skip (2), select (3, selector in bits 31:16), write (4). Reads copy the item and fill
// the rest with zeros; the device writes control back as 0, or with the error bit set. The
// register reads back the signature "QEMU CFG". Every guest address is checked against
// PhysMemory (RAM only): a bad one sets the error bit (DESIGN.md decision 11).
// Wiring (the board's job): map it at 0x510, 2 ports (kPortCount), or 12 (kPortCountDma,
// 0x510-0x51B) with the DMA interface; add items before the guest runs.
// Files get selectors 0x20, 0x21, ... in the order they are added; the directory lists
// them sorted by name, as QEMU does.
// Not emulated: writes to items (the write bit 0x4000 of the selector is deprecated and
// ignored, as in QEMU since 2.4; a DMA write sets the error bit).
#pragma once
#include <map>
#include <span>
#include <string>
#include <vector>

#include "memory/io_bus.h"
#include "memory/phys_memory.h"

namespace rv {

class StateVisitor;

class FwCfg final : public PortDevice {
 public:
  static constexpr u16 kPort = 0x510;
  static constexpr u16 kPortCount = 2;
  static constexpr u16 kPortCountDma = 12;
  static constexpr u16 kDmaOffset = 4;            // port 0x514
  static constexpr u64 kDmaSignature = 0x51454D5520434647ull;   // "QEMU CFG"
  static constexpr u32 kDmaError = 1u << 0, kDmaRead = 1u << 1, kDmaSkip = 1u << 2,
                       kDmaSelect = 1u << 3, kDmaWrite = 1u << 4;
  // Selector keys (fw_cfg.txt "Selector Register" and "Firmware Configuration Items").
  static constexpr u16 kSignature = 0x0000, kId = 0x0001, kRamSize = 0x0003, kNbCpus = 0x0005,
                       kMaxCpus = 0x000F, kFileDir = 0x0019, kFileFirst = 0x0020;
  static constexpr u16 kWriteBit = 0x4000;
  static constexpr u32 kFeatureTraditional = 1u << 0, kFeatureDma = 1u << 1;
  static constexpr size_t kMaxNameLen = 55;   // 56 bytes with the terminating NUL
  static constexpr size_t kDirEntrySize = 64;

  enum class E820Type : u32 { Ram = 1, Reserved = 2, Acpi = 3, Nvs = 4, Unusable = 5 };
  struct E820Entry {
    u64 address = 0;
    u64 length = 0;
    E820Type type = E820Type::Ram;
  };

  struct State {
    u16 selector = 0;
    u32 offset = 0;
    u32 dma_high = 0;           // the DMA address's high half, as last written
    bool operator==(const State&) const = default;
  };

  // With `dma_memory`, the DMA interface is offered (ID bit 1) and transfers go there.
  explicit FwCfg(PhysMemory* dma_memory = nullptr);

  void reset() { m_s = State{}; }
  u32 io_read(u16 offset, unsigned size) override;
  void io_write(u16 offset, u32 value, unsigned size) override;

  // Items are configuration, set by the board before the guest runs.
  void add_item(u16 key, std::vector<u8> data);
  void set_ram_size(u64 bytes);
  void set_cpu_count(u16 cpus);
  // Adds a named file and returns its selector. Throws std::invalid_argument for a name
  // longer than 55 bytes or one that exists already.
  u16 add_file(const std::string& name, std::vector<u8> data);
  // "etc/e820": packed little-endian {u64 address; u64 length; u32 type} records.
  void set_e820(std::span<const E820Entry> entries);
  const std::vector<u8>* item(u16 key) const;

  State save() const { return m_s; }
  void load(const State& s) { m_s = s; }
  void visit(StateVisitor& v);   // snapshots, state hashes (memory/state_visitor.h)

 private:
  void rebuild_directory();
  void run_dma(u64 address);
  bool guest_ram(u64 address, u64 length) const;   // every byte is RAM (not ROM, not MMIO)
  bool dma_transfer(u32 control, u32 length, u64 address);

  PhysMemory* m_mem;
  std::map<u16, std::vector<u8>> m_items;
  std::map<std::string, u16> m_files;   // name -> selector (sorted by name)
  u16 m_next_file = kFileFirst;
  State m_s;
};

}  // namespace rv
