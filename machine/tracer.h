// InsnTracer: the --trace writer, an rv::TraceHook that prints one line per instruction:
//
//   f000:fff0  ea 04 03 00 f0             ljmp 0xf000:0x304               cs=f000
//   000f070e  0f 22 c0                    mov cr0, eax                    cr0=e0000011 efer=500
//   00000000000f0718  66 b8 10 00                 mov ax, 0x10                    rax=00000000e0000010
//
// The address is CS:IP in real and virtual-8086 mode, the linear address (CS base + EIP)
// in protected mode and RIP in 64-bit mode. Then the instruction bytes, Capstone's Intel
// disassembly in the mode the CPU decodes in, and every register the instruction changed
// as name=new value (general registers at the mode's width, eflags/rflags, segment
// registers, control, debug and descriptor-table registers, the MSRs CpuState holds).
// An instruction that faults ends with "!#GP(0000)" (vector name and error code) instead,
// and the next line, "  delivered: ...", lists what delivering the exception changed
// (stack pointer, CS, flags); an event with no instruction line before it (an external
// interrupt) gets its own "event" line. Memory writes are not shown.
#pragma once
#include <cstdio>
#include <string>

#include "cpu/cpu.h"

namespace rv {

class InsnTracer final : public TraceHook {
 public:
  // Writes to `out` (not owned; the caller closes it after flush()).
  explicit InsnTracer(std::FILE* out);
  ~InsnTracer() override;
  InsnTracer(const InsnTracer&) = delete;
  InsnTracer& operator=(const InsnTracer&) = delete;

  void before(const Cpu& cpu, u64 rip, const u8* bytes, unsigned len) override;
  void after(const Cpu& cpu) override;
  void exception(const Cpu& cpu, u8 vector, bool has_error, u32 error) override;
  void flush();
  // The first write error ("cannot write to the trace file: ..."), or empty.
  std::string error() const { return m_error; }
  u64 lines() const { return m_lines; }

 private:
  void emit(const std::string& tail);
  void append_changes(const Cpu& cpu, std::string& out) const;

  std::FILE* m_out;
  std::string m_error;
  CpuState m_prev;
  u64 m_prev_flags = 0;
  bool m_pending = false;
  bool m_delivered = false;  // an event was just delivered: show its changes at the next line
  std::string m_line;        // address, bytes and disassembly of the pending instruction
  size_t m_tail_col = 0;     // column where the changed registers start
  u64 m_lines = 0;
};

}  // namespace rv
