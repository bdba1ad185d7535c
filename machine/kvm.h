// KvmVcpu: one virtual CPU under the host's KVM (/dev/kvm), the hardware engine (DESIGN.md
// decision 10). It runs from the same CpuState the interpreter uses and leaves it exact when
// the board takes the CPU back, maps the board's RAM and ROM (the same host memory the
// interpreter uses) as memory slots, and reports every exit the board must serve: port I/O,
// MMIO (every region that is not RAM or ROM, so the same device objects answer), HLT, an open
// interrupt window. No in-kernel irqchip is created: the board's PIC, IOAPIC and local APIC
// stay the only interrupt controllers, and the board injects the vector they deliver.
//
// The KVM API (Documentation/virt/kvm/api.rst) is used only here: machine/kvm.cpp is the one
// file that includes <linux/kvm.h>.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "cpu/cpu_features.h"
#include "cpu/state.h"
#include "memory/phys_memory.h"

struct kvm_run;

namespace rv {

class Cpu;

// What a KVM_RUN returned with.
struct KvmExit {
  enum class Kind : u8 {
    Io,          // port I/O: `port`, `size`, `count` items at `data` (in: fill them)
    Mmio,        // one access of `size` bytes at `addr`, value in/at `data`
    Halt,        // HLT retired (RIP is past it)
    IrqWindow,   // the guest can take an interrupt now
    Kicked,      // the run was interrupted from the host (timer or request)
    Shutdown,    // triple fault
    Failed,      // anything KVM could not run; `error` says what
  };
  Kind kind = Kind::Kicked;
  bool write = false;
  u8 size = 0;
  u16 port = 0;
  u32 count = 0;
  u64 addr = 0;
  u8* data = nullptr;
  std::string error;
};

class KvmVcpu {
 public:
  // Opens /dev/kvm, checks the API version and the capabilities this engine needs, creates a
  // VM with one vCPU and maps `mem`'s RAM and ROM regions. Returns null and sets `why` to one
  // line naming what is missing (absent device, permission, API version, capability).
  static std::unique_ptr<KvmVcpu> open(PhysMemory& mem, std::string& why, const std::string& device = "/dev/kvm");
  ~KvmVcpu();
  KvmVcpu(const KvmVcpu&) = delete;
  KvmVcpu& operator=(const KvmVcpu&) = delete;

  // Only the CPU features KVM can run (CPUID bits from KVM_GET_SUPPORTED_CPUID).
  CpuFeatures supported(const CpuFeatures& want) const;
  // Gives the vCPU the CPUID that `cpu` answers (its features must be supported()).
  void set_cpuid(const Cpu& cpu);

  // Copies ROM images into their slots again (a loader may have written them).
  void refresh_rom();

  // Loads the whole architectural state into the vCPU. `tsc` is the TSC the guest reads now.
  // Throws std::runtime_error naming the ioctl that failed.
  void put_state(const CpuState& s, u64 tsc);
  // Reads it back. Flags come back materialised (lazy.op = None). An event KVM had accepted
  // but not delivered yet is returned in `pending` (vector >= 0) for the interpreter to
  // deliver first. `tsc` is the guest's TSC now.
  struct PendingEvent {
    int vector = -1;
    bool has_error = false;
    u32 error = 0;
    bool external = false;   // a hardware interrupt or NMI, not an exception
  };
  void get_state(CpuState& s, u64& tsc, PendingEvent& pending);

  // Runs until the next exit. `want_irq_window`: exit as soon as the guest can take an
  // interrupt. A kick() from a signal handler or a due timer ends the run early (Kicked).
  KvmExit run(bool want_irq_window);
  bool can_inject() const;             // IF=1, no interrupt shadow, nothing queued
  void inject_interrupt(u8 vector);    // KVM_INTERRUPT; valid when can_inject()
  void inject_nmi();
  bool interrupt_flag() const;         // RFLAGS.IF at the last exit
  u64 cr8() const;                     // CR8 at the last exit
  // Arms a host timer that kicks the vCPU out of KVM_RUN after `ns` nanoseconds (0: now).
  void kick_after(u64 ns);

  u64 tsc_khz() const { return m_tsc_khz; }   // the vCPU's TSC rate; 0 if KVM does not say
  std::string describe() const;        // "KVM API 12, host TSC 2.1 GHz" for messages

  // A self-test run at open() in a scratch VM: a 64-bit program with integer, then x87 and
  // SSE instructions, one with CMPXCHG16B (CPUID's CX16 is offered only if it runs), and one
  // that reads CPUID leaf 1 (a KVM that ignores KVM_SET_CPUID2 shows the guest the host's).
  // Empty when all ran; else what failed ("x87/SSE instructions stop with
  // KVM internal error 1 (instruction emulation failed)"): some nested or software KVMs
  // run only part of the ISA.
  const std::string& selftest_problem() const { return m_selftest_problem; }

 private:
  KvmVcpu() = default;
  bool setup(PhysMemory& mem, std::string& why, const std::string& device);
  std::string run_selftest();
  // `cpuid_leaf1_ecx`: give the vCPU a CPUID whose leaf 1 ECX is that value; the program's
  // dword OUTs to port 0x84 land in `reported`.
  int selftest_program(const u8* code, size_t size, std::string& problem, const u32* cpuid_leaf1_ecx = nullptr,
                       u32* reported = nullptr);

  int m_kvm = -1, m_vm = -1, m_vcpu = -1;
  ::kvm_run* m_run = nullptr;
  u64 m_run_size = 0;
  struct Rom {
    u8* host = nullptr;    // page-aligned copy given to KVM
    u64 size = 0;          // rounded to pages
    u64 offset = 0;        // where the image starts in it
    const Region* region = nullptr;
  };
  std::vector<Rom> m_roms;
  std::vector<u32> m_supported_cpuid;   // leaf 1 ECX/EDX, 7 EBX, 0x80000001 ECX/EDX
  u64 m_tsc_khz = 0;
  void* m_timer = nullptr;              // timer_t, created on first kick_after()
  bool m_timer_made = false;
  std::string m_selftest_problem;
  bool m_cx16_works = true;
  // The last exit was port I/O or MMIO: KVM finishes that instruction (RIP, the IN value, an
  // MMIO read's register) only when KVM_RUN is called again (api.rst, KVM_EXIT_IO).
  bool m_io_pending = false;
  bool m_tsc_offset_attr = false;   // KVM_VCPU_TSC_OFFSET can set the guest TSC
  void complete_pending_io();
};

}  // namespace rv
