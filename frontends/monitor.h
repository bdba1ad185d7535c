// Monitor: the commands a user types at the "(retrovisor) " prompt (QEMU's monitor, in
// miniature). It knows the machine, not the terminal: frontends/terminal_input.h switches the
// console between the guest and the monitor (Ctrl-A C), edits the line and writes the reply.
//
// Commands run from PcConfig::serial_input, that is between two slices of Pc::run()'s loop,
// where the board is consistent: an engine switch asked for here happens at the next
// instruction boundary the loop reaches, before the guest runs again.
//
//   help                 the commands
//   info engine          the engine running the CPU, and whether KVM is open in this run
//   info registers       RIP, RFLAGS, the general registers, CS/SS, CR0/CR3/CR4, EFER
//   engine interp|kvm    move the running guest to that engine
//   info status          running or halted, the engine, the instruction count, virtual time
//   info replay          a recording's or replay's position, end, inputs and next input
//   info devices [NAME]  every device's state as named fields (NAME: one, e.g. pit8254);
//                        info pic, info pit, info apic, info ioapic, info rtc, info uart
//   info gdt|idt|ldt     the descriptor tables, decoded
//   explain ADDR         the page walk of a linear address, level by level, every bit named
//   info mem [ADDR]      the page tables' mappings (from ADDR on): linear ranges, rights
//   info tlb             the interpreter's TLB: cached translations and what each allows
//   info blocks          the decoded-block cache: blocks per guest-physical code page
//   x ADDR [COUNT]       COUNT bytes of guest memory at linear address ADDR (hex)
//   x/NF ADDR            QEMU's form (F: x b h w g hex units, i instructions); xp: physical
//   quit, q              end the run (as Ctrl-A X does)
// QEMU commands it lacks (stop, cont, system_powerdown...) are answered by name.
#pragma once
#include <string>
#include <string_view>

#include "memory/types.h"

namespace rv {

class Pc;

class Monitor {
 public:
  static constexpr const char* kPrompt = "(retrovisor) ";

  struct Reply {
    std::string text;   // for the user: complete lines, each ending in '\n'; may be empty
    bool quit = false;  // end the run
  };

  explicit Monitor(Pc& pc) : m_pc(pc) {}

  // One command line (without its newline). Blank lines do nothing.
  Reply execute(std::string_view line);

 private:
  std::string info_engine() const;
  std::string info_registers();
  std::string info_status();
  std::string examine(std::string_view addr, std::string_view count, bool phys);
  std::string examine_fmt(std::string_view fmt, std::string_view addr, bool phys);
  std::string dump(u64 addr, u64 count, unsigned size, bool phys);
  std::string disassemble_at(u64 addr, u64 n, bool phys);
  bool guest_byte(u64 addr, bool phys, u8& b);
  static bool parse_number(std::string_view t, int base, u64& v);   // 0x... is hex
  // The teaching views (monitor_views.cpp).
  std::string info_devices(std::string_view name);
  std::string info_descriptors(char table);   // 'g' GDT, 'i' IDT, 'l' LDT
  std::string explain(std::string_view addr);
  std::string info_mem(std::string_view from);
  std::string info_tlb();
  std::string info_blocks();
  std::string engine(std::string_view name);
  std::string savevm(std::string_view file);
  std::string loadvm(std::string_view file);

  Pc& m_pc;
};

}  // namespace rv
