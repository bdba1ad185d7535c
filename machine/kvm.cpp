// The KVM engine's vCPU (kvm.h). The only file that includes <linux/kvm.h>.
#include "machine/kvm.h"

#include <fcntl.h>
#include <linux/kvm.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <vector>

#include "cpu/cpu.h"
#include "memory/log.h"

namespace rv {

namespace {

constexpr u64 kPage = 4096;
// Three pages KVM needs for real mode on hosts without unrestricted guests (a TSS and an
// identity page table), placed in the PCI hole where the board maps nothing.
constexpr u64 kTssAddr = 0xFEFFD000;
constexpr u64 kIdentityMapAddr = 0xFEFFC000;
constexpr int kKickSignal = SIGUSR2;

// The vCPU a kick signal stops. One vCPU per process is all the board builds (--smp 1).
std::atomic<::kvm_run*> g_kick_target{nullptr};

void on_kick_signal(int) {
  if (::kvm_run* r = g_kick_target.load(std::memory_order_relaxed)) r->immediate_exit = 1;
}

std::string errno_text() { return std::strerror(errno); }

// A one-shot monotonic timer that sends the kick signal to this thread; false if the host
// refuses one.
bool make_kick_timer(timer_t& t) {
  sigevent sev{};
  sev.sigev_notify = SIGEV_THREAD_ID;
  sev.sigev_signo = kKickSignal;
  sev._sigev_un._tid = static_cast<pid_t>(syscall(SYS_gettid));
  return timer_create(CLOCK_MONOTONIC, &sev, &t) == 0;
}

void arm_timer(timer_t t, u64 ns) {
  itimerspec its{};
  its.it_value.tv_sec = static_cast<time_t>(ns / 1'000'000'000);
  its.it_value.tv_nsec = static_cast<long>(ns % 1'000'000'000);
  timer_settime(t, 0, &its, nullptr);
}

[[noreturn]] void ioctl_failed(const char* what) {
  throw std::runtime_error(std::string("KVM: ") + what + " failed: " + errno_text());
}

// The VMX access-rights layout of Segment::attr (state.h) <-> struct kvm_segment.
kvm_segment to_kvm(const Segment& s) {
  kvm_segment k{};
  k.base = s.base;
  k.limit = s.limit;
  k.selector = s.sel;
  k.type = s.attr & 0xF;
  k.s = (s.attr >> 4) & 1;
  k.dpl = (s.attr >> 5) & 3;
  k.present = (s.attr >> 7) & 1;
  k.avl = (s.attr >> 12) & 1;
  k.l = (s.attr >> 13) & 1;
  k.db = (s.attr >> 14) & 1;
  k.g = (s.attr >> 15) & 1;
  k.unusable = !k.present;
  return k;
}

Segment from_kvm(const kvm_segment& k) {
  Segment s;
  s.base = k.base;
  s.limit = k.limit;
  s.sel = k.selector;
  const bool present = k.present && !k.unusable;
  s.attr = static_cast<u16>((k.type & 0xF) | (k.s << 4) | ((k.dpl & 3) << 5) | (present << 7) | (k.avl << 12) |
                            (k.l << 13) | (k.db << 14) | (k.g << 15));
  return s;
}

// The MSRs CpuState holds outside struct kvm_sregs (EFER, APIC base and the FS/GS bases
// travel there).
struct MsrField {
  u32 index;
  u64 CpuState::*field;
};
constexpr MsrField kMsrFields[] = {
    {msr::kStar, &CpuState::star},
    {msr::kLstar, &CpuState::lstar},
    {msr::kCstar, &CpuState::cstar},
    {msr::kSfmask, &CpuState::sfmask},
    {msr::kKernelGsBase, &CpuState::kernel_gs_base},
    {msr::kSysenterCs, &CpuState::sysenter_cs},
    {msr::kSysenterEsp, &CpuState::sysenter_esp},
    {msr::kSysenterEip, &CpuState::sysenter_eip},
    {msr::kTscAux, &CpuState::tsc_aux},
    {msr::kPat, &CpuState::pat},
    {msr::kMiscEnable, &CpuState::misc_enable},
    {msr::kMtrrDefType, &CpuState::mtrr_def_type},
};
constexpr u32 kFixedMtrrs[11] = {0x250, 0x258, 0x259, 0x268, 0x269, 0x26A, 0x26B, 0x26C, 0x26D, 0x26E, 0x26F};

// A KVM header struct followed by its flexible array of N entries. The kernel's layout is
// an 8-byte header (a count and padding) and the entries right after it. In C++ the uapi
// headers' __DECLARE_FLEX_ARRAY adds an empty struct, which makes sizeof(kvm_msrs) and
// sizeof(kvm_cpuid2) 12 and so changes the size field of ioctl numbers built from them:
// those ioctls are spelled out here with the kernel's 8.
constexpr size_t kFlexHeader = 8;
template <class Hdr, class Entry, size_t N>
struct WithEntries {
  alignas(16) u8 bytes[kFlexHeader + N * sizeof(Entry)] = {};
  Hdr* hdr() { return reinterpret_cast<Hdr*>(bytes); }
  Entry* e() { return reinterpret_cast<Entry*>(bytes + kFlexHeader); }
};
constexpr unsigned long kGetSupportedCpuid = _IOC(_IOC_READ | _IOC_WRITE, KVMIO, 0x05, kFlexHeader);
constexpr unsigned long kSetCpuid2 = _IOC(_IOC_WRITE, KVMIO, 0x90, kFlexHeader);
constexpr unsigned long kGetMsrs = _IOC(_IOC_READ | _IOC_WRITE, KVMIO, 0x88, kFlexHeader);
constexpr unsigned long kSetMsrs = _IOC(_IOC_WRITE, KVMIO, 0x89, kFlexHeader);
// struct kvm_xsave is 4096 bytes for the kernel (the flexible `extra` adds 4 in C++).
constexpr size_t kXsaveSize = 4096;
constexpr unsigned long kGetXsave = _IOC(_IOC_READ, KVMIO, 0xa4, kXsaveSize);
constexpr unsigned long kSetXsave = _IOC(_IOC_WRITE, KVMIO, 0xa5, kXsaveSize);
// The other structures have the same size in C and C++.
static_assert(sizeof(kvm_regs) == 144 && sizeof(kvm_sregs) == 312 && sizeof(kvm_xcrs) == 392 &&
              sizeof(kvm_debugregs) == 128 && sizeof(kvm_vcpu_events) == 64 && sizeof(kvm_interrupt) == 4 &&
              sizeof(kvm_userspace_memory_region) == 32);
using MsrList = WithEntries<kvm_msrs, kvm_msr_entry, 64>;
using CpuidList = WithEntries<kvm_cpuid2, kvm_cpuid_entry2, 256>;

// Every MSR the vCPU should carry, with a pointer to its CpuState field (null: the TSC).
std::vector<std::pair<u32, u64*>> msr_table(CpuState& s) {
  std::vector<std::pair<u32, u64*>> t;
  for (const MsrField& f : kMsrFields) t.emplace_back(f.index, &(s.*f.field));
  for (unsigned i = 0; i < 16; i++) t.emplace_back(msr::kMtrrPhysBase0 + i, &s.mtrr_var[i]);
  for (unsigned i = 0; i < 11; i++) t.emplace_back(kFixedMtrrs[i], &s.mtrr_fixed[i]);
  t.emplace_back(msr::kTsc, nullptr);
  return t;
}

// Once per MSR and direction: the same MSR is refused at every engine switch.
void log_refused_msr(const char* dir, u32 index) {
  static std::vector<std::pair<std::string, u32>> seen;
  for (const auto& [d, i] : seen)
    if (d == dir && i == index) return;
  seen.emplace_back(dir, index);
  log_message("retrovisor: KVM refused to %s MSR 0x%x; its value does not travel between engines", dir, index);
}

}  // namespace

std::unique_ptr<KvmVcpu> KvmVcpu::open(PhysMemory& mem, std::string& why, const std::string& device) {
  std::unique_ptr<KvmVcpu> v(new KvmVcpu());
  if (!v->setup(mem, why, device)) return nullptr;
  return v;
}

bool KvmVcpu::setup(PhysMemory& mem, std::string& why, const std::string& device) {
  m_kvm = ::open(device.c_str(), O_RDWR | O_CLOEXEC);
  if (m_kvm < 0) {
    why = errno == ENOENT ? device + " does not exist (no KVM on this host)"
                          : "cannot open " + device + ": " + errno_text() +
                                (errno == EACCES ? " (add the user to group kvm)" : "");
    return false;
  }
  const int api = ioctl(m_kvm, KVM_GET_API_VERSION, 0);
  if (api != KVM_API_VERSION) {
    why = api < 0 ? device + " is not a KVM device (KVM_GET_API_VERSION: " + errno_text() + ")"
                  : device + " speaks KVM API version " + std::to_string(api) + ", this engine needs " +
                        std::to_string(KVM_API_VERSION);
    return false;
  }
  struct Cap {
    int id;
    const char* name;
  };
  static constexpr Cap kCaps[] = {
      {KVM_CAP_USER_MEMORY, "KVM_CAP_USER_MEMORY"},     {KVM_CAP_SET_TSS_ADDR, "KVM_CAP_SET_TSS_ADDR"},
      {KVM_CAP_EXT_CPUID, "KVM_CAP_EXT_CPUID"},         {KVM_CAP_IMMEDIATE_EXIT, "KVM_CAP_IMMEDIATE_EXIT"},
      {KVM_CAP_VCPU_EVENTS, "KVM_CAP_VCPU_EVENTS"},     {KVM_CAP_XSAVE, "KVM_CAP_XSAVE"},
      {KVM_CAP_XCRS, "KVM_CAP_XCRS"},                   {KVM_CAP_DEBUGREGS, "KVM_CAP_DEBUGREGS"},
      {KVM_CAP_READONLY_MEM, "KVM_CAP_READONLY_MEM"},   {KVM_CAP_SET_IDENTITY_MAP_ADDR, "KVM_CAP_SET_IDENTITY_MAP_ADDR"},
  };
  for (const Cap& c : kCaps) {
    if (ioctl(m_kvm, KVM_CHECK_EXTENSION, c.id) <= 0) {
      why = std::string("the host's KVM lacks ") + c.name;
      return false;
    }
  }
  // KVM_GET_XSAVE fills 4096 bytes; a host whose XSAVE area is larger needs KVM_GET_XSAVE2.
  const int xsave_size = ioctl(m_kvm, KVM_CHECK_EXTENSION, KVM_CAP_XSAVE2);
  if (xsave_size > static_cast<int>(kXsaveSize)) {
    why = "the host's XSAVE area (" + std::to_string(xsave_size) + " bytes) needs KVM_GET_XSAVE2, not supported yet";
    return false;
  }

  m_vm = ioctl(m_kvm, KVM_CREATE_VM, 0);
  if (m_vm < 0) {
    why = "KVM_CREATE_VM failed: " + errno_text();
    return false;
  }
  if (ioctl(m_vm, KVM_SET_TSS_ADDR, kTssAddr) < 0) {
    why = "KVM_SET_TSS_ADDR failed: " + errno_text();
    return false;
  }
  u64 idmap = kIdentityMapAddr;
  if (ioctl(m_vm, KVM_SET_IDENTITY_MAP_ADDR, &idmap) < 0) {
    why = "KVM_SET_IDENTITY_MAP_ADDR failed: " + errno_text();
    return false;
  }

  // Memory slots: RAM as it is, ROM as read-only page-aligned copies. MMIO and unmapped
  // addresses get no slot, so every access there exits to the board.
  u32 slot = 0;
  for (const Region& r : mem.regions()) {
    if (r.kind == RegionKind::Mmio) continue;
    // A ROM image need not fill whole pages: its slot is widened to page bounds and the
    // bytes around the image read as all ones, as unmapped addresses do in the interpreter.
    const u64 slot_base = r.base & ~(kPage - 1);
    const u64 slot_end = (r.base + r.size + kPage - 1) & ~(kPage - 1);
    const bool padded = slot_base != r.base || slot_end != r.base + r.size;
    if (padded && (r.kind != RegionKind::Rom || (slot_base != r.base && mem.find(slot_base)) ||
                   (slot_end != r.base + r.size && mem.find(slot_end - 1)))) {
      why = "region '" + r.name + "' does not fill whole pages; KVM maps whole pages";
      return false;
    }
    kvm_userspace_memory_region m{};
    m.slot = slot++;
    m.guest_phys_addr = slot_base;
    m.memory_size = slot_end - slot_base;
    if (r.kind == RegionKind::Ram) {
      m.userspace_addr = reinterpret_cast<u64>(r.host);
    } else {
      void* p = mmap(nullptr, m.memory_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
      if (p == MAP_FAILED) {
        why = "cannot allocate a copy of ROM '" + r.name + "': " + errno_text();
        return false;
      }
      m_roms.push_back({static_cast<u8*>(p), m.memory_size, r.base - slot_base, &r});
      std::memset(p, 0xFF, m.memory_size);
      std::memcpy(static_cast<u8*>(p) + (r.base - slot_base), r.host, r.size);
      m.userspace_addr = reinterpret_cast<u64>(p);
      m.flags = KVM_MEM_READONLY;
    }
    if (ioctl(m_vm, KVM_SET_USER_MEMORY_REGION, &m) < 0) {
      why = "KVM_SET_USER_MEMORY_REGION for '" + r.name + "' failed: " + errno_text();
      return false;
    }
  }

  m_vcpu = ioctl(m_vm, KVM_CREATE_VCPU, 0);
  if (m_vcpu < 0) {
    why = "KVM_CREATE_VCPU failed: " + errno_text();
    return false;
  }
  const int run_size = ioctl(m_kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
  if (run_size < static_cast<int>(sizeof(::kvm_run))) {
    why = "KVM_GET_VCPU_MMAP_SIZE failed";
    return false;
  }
  void* run = mmap(nullptr, run_size, PROT_READ | PROT_WRITE, MAP_SHARED, m_vcpu, 0);
  if (run == MAP_FAILED) {
    why = "cannot map the vCPU's run structure: " + errno_text();
    return false;
  }
  m_run = static_cast<::kvm_run*>(run);
  m_run_size = run_size;

  // What CPUID KVM can offer.
  CpuidList sup;
  sup.hdr()->nent = 256;
  if (ioctl(m_kvm, kGetSupportedCpuid, sup.bytes) < 0) {
    why = "KVM_GET_SUPPORTED_CPUID failed: " + errno_text();
    return false;
  }
  m_supported_cpuid.assign(6, 0);
  for (u32 i = 0; i < sup.hdr()->nent; i++) {
    const kvm_cpuid_entry2& e = sup.e()[i];
    if (e.function == 1) { m_supported_cpuid[0] = e.ecx; m_supported_cpuid[1] = e.edx; }
    if (e.function == 7 && e.index == 0) m_supported_cpuid[2] = e.ebx;
    if (e.function == 0x80000001) { m_supported_cpuid[3] = e.ecx; m_supported_cpuid[4] = e.edx; }
    if (e.function == 0xD && e.index == 1) m_supported_cpuid[5] = e.eax;
  }
  const int khz = ioctl(m_vcpu, KVM_GET_TSC_KHZ, 0);
  m_tsc_khz = khz > 0 ? static_cast<u64>(khz) : 0;
  kvm_device_attr tsc_attr{};
  tsc_attr.group = KVM_VCPU_TSC_CTRL;
  tsc_attr.attr = KVM_VCPU_TSC_OFFSET;
  m_tsc_offset_attr = ioctl(m_vcpu, KVM_HAS_DEVICE_ATTR, &tsc_attr) == 0;

  struct sigaction sa{};
  sa.sa_handler = on_kick_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0;   // no SA_RESTART: KVM_RUN must return EINTR
  sigaction(kKickSignal, &sa, nullptr);
  m_selftest_problem = run_selftest();
  if (m_selftest_problem.rfind("!", 0) == 0) {   // even integer code does not run
    why = m_selftest_problem.substr(1);
    return false;
  }
  g_kick_target.store(m_run);
  return true;
}

// The self-test (kvm.h). Each program runs in its own VM: 64 KiB of RAM, 64-bit mode, a
// 2 MiB identity page, code at 0x1000. It reports progress on port 0x80 and ends with HLT;
// the result is the last progress value reported before the end (or the failure), -1 if the
// VM could not be built (`problem` then starts with "!").
int KvmVcpu::selftest_program(const u8* code, size_t size, std::string& problem, const u32* cpuid_leaf1_ecx,
                               u32* reported) {
  struct Fd {
    int fd;
    ~Fd() { if (fd >= 0) close(fd); }
  };
  Fd vm{ioctl(m_kvm, KVM_CREATE_VM, 0)};
  if (vm.fd < 0) return problem = "!KVM_CREATE_VM failed: " + errno_text(), -1;
  constexpr u64 kSize = 0x10000;
  u8* mem = static_cast<u8*>(mmap(nullptr, kSize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
  if (mem == MAP_FAILED) return problem = "!cannot allocate the self-test's memory", -1;
  struct Unmap {
    u8* p;
    ~Unmap() { munmap(p, kSize); }
  } unmap{mem};
  kvm_userspace_memory_region m{};
  m.memory_size = kSize;
  m.userspace_addr = reinterpret_cast<u64>(mem);
  if (ioctl(vm.fd, KVM_SET_USER_MEMORY_REGION, &m) < 0) return problem = "!KVM_SET_USER_MEMORY_REGION failed: " + errno_text(), -1;
  const u64 pml4 = 0x2000, pdpt = 0x3000, pd = 0x4000;
  auto put64 = [&](u64 at, u64 v) { std::memcpy(mem + at, &v, 8); };
  put64(pml4, pdpt | 3);
  put64(pdpt, pd | 3);
  put64(pd, 0x83);
  put64(0x5000, 0x1F80);   // MXCSR image for LDMXCSR
  std::memcpy(mem + 0x1000, code, std::min<size_t>(size, 0x1000));
  Fd vcpu{ioctl(vm.fd, KVM_CREATE_VCPU, 0)};
  if (vcpu.fd < 0) return problem = "!KVM_CREATE_VCPU failed: " + errno_text(), -1;
  auto* run = static_cast<::kvm_run*>(mmap(nullptr, m_run_size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu.fd, 0));
  if (run == MAP_FAILED) return problem = "!cannot map the self-test vCPU", -1;
  if (cpuid_leaf1_ecx) {
    CpuidList c;
    c.hdr()->nent = 2;
    c.e()[0].function = 0;
    c.e()[0].eax = 1;
    c.e()[1].function = 1;
    c.e()[1].ecx = *cpuid_leaf1_ecx;
    c.e()[1].edx = m_supported_cpuid[1];
    if (ioctl(vcpu.fd, kSetCpuid2, c.bytes) < 0) return problem = "!KVM_SET_CPUID2 failed: " + errno_text(), -1;
  }
  struct UnmapRun {
    ::kvm_run* r;
    u64 n;
    ~UnmapRun() { munmap(r, n); }
  } unmap_run{run, m_run_size};
  kvm_sregs sr{};
  if (ioctl(vcpu.fd, KVM_GET_SREGS, &sr) < 0) return problem = "!KVM_GET_SREGS failed: " + errno_text(), -1;
  kvm_segment cs{};
  cs.limit = 0xFFFFFFFF; cs.selector = 8; cs.type = 11; cs.present = 1; cs.s = 1; cs.l = 1; cs.g = 1;
  kvm_segment ds{};
  ds.limit = 0xFFFFFFFF; ds.selector = 16; ds.type = 3; ds.present = 1; ds.s = 1; ds.db = 1; ds.g = 1;
  sr.cs = cs;
  sr.ds = sr.es = sr.fs = sr.gs = sr.ss = ds;
  sr.cr0 = kCr0Pe | kCr0Mp | kCr0Et | kCr0Ne | kCr0Pg;
  sr.cr3 = pml4;
  sr.cr4 = kCr4Pae | kCr4Osfxsr | kCr4Osxmmexcpt;
  sr.efer = kEferLme | kEferLma;
  if (ioctl(vcpu.fd, KVM_SET_SREGS, &sr) < 0) return problem = "!KVM_SET_SREGS failed: " + errno_text(), -1;
  kvm_regs regs{};
  regs.rip = 0x1000;
  regs.rflags = 2;
  regs.rsp = 0x8000;
  if (ioctl(vcpu.fd, KVM_SET_REGS, &regs) < 0) return problem = "!KVM_SET_REGS failed: " + errno_text(), -1;

  // A watchdog: a KVM that hangs on the program is stopped after 2 s.
  g_kick_target.store(run);
  timer_t t;
  const bool timed = make_kick_timer(t);
  if (timed) arm_timer(t, 2'000'000'000);
  int reached = 0;
  problem.clear();
  for (int exits = 0; exits < 16 && problem.empty(); exits++) {
    const int rc = ioctl(vcpu.fd, KVM_RUN, 0);
    if (rc < 0) {
      problem = errno == EINTR ? "did not finish in 2 s" : "KVM_RUN failed: " + errno_text();
      break;
    }
    if (run->exit_reason == KVM_EXIT_IO && run->io.port == 0x80) {
      reached = reinterpret_cast<u8*>(run)[run->io.data_offset];
      continue;
    }
    if (run->exit_reason == KVM_EXIT_IO && run->io.port == 0x84 && run->io.size == 4 && reported) {
      std::memcpy(reported, reinterpret_cast<u8*>(run) + run->io.data_offset, 4);
      continue;
    }
    if (run->exit_reason == KVM_EXIT_HLT) break;
    if (run->exit_reason == KVM_EXIT_INTERNAL_ERROR)
      problem = "KVM internal error " + std::to_string(run->internal.suberror) +
                (run->internal.suberror == 1 ? " (instruction emulation failed)" : "");
    else if (run->exit_reason == KVM_EXIT_SHUTDOWN)
      problem = "a fault (the self-test has no IDT: shutdown)";
    else
      problem = "unexpected exit reason " + std::to_string(run->exit_reason);
  }
  if (timed) timer_delete(t);
  g_kick_target.store(nullptr);
  return reached;
}

std::string KvmVcpu::run_selftest() {
  static const u8 kFpu[] = {
      0x48, 0xB8, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11,   // mov rax, 0x1122334455667788
      0x48, 0x0F, 0xAF, 0xC0,                                       // imul rax, rax
      0xB0, 0x01, 0xE6, 0x80,                                       // mov al, 1; out 0x80, al
      0xDB, 0xE3,                                                   // fninit
      0xD9, 0xEE,                                                   // fldz
      0xDD, 0xD8,                                                   // fstp st0
      0x0F, 0xAE, 0x14, 0x25, 0x00, 0x50, 0x00, 0x00,               // ldmxcsr [0x5000]
      0x66, 0x0F, 0xEF, 0xC0,                                       // pxor xmm0, xmm0
      0x0F, 0xAE, 0x04, 0x25, 0x00, 0x60, 0x00, 0x00,               // fxsave [0x6000]
      0xB0, 0x02, 0xE6, 0x80,                                       // mov al, 2; out 0x80, al
      0xF4,                                                         // hlt
  };
  static const u8 kCx16[] = {
      0x31, 0xC0, 0x31, 0xD2,                                       // xor eax, eax; xor edx, edx
      0xBB, 0x01, 0x00, 0x00, 0x00, 0x31, 0xC9,                     // mov ebx, 1; xor ecx, ecx
      0xB0, 0x01, 0xE6, 0x80,                                       // mov al, 1; out 0x80, al
      0x31, 0xC0,                                                   // xor eax, eax
      0xF0, 0x48, 0x0F, 0xC7, 0x0C, 0x25, 0x10, 0x50, 0x00, 0x00,   // lock cmpxchg16b [0x5010]
      0xB0, 0x02, 0xE6, 0x80,                                       // mov al, 2; out 0x80, al
      0xF4,                                                         // hlt
  };
  std::string problem;
  const int fpu = selftest_program(kFpu, sizeof kFpu, problem);
  if (fpu < 0) return problem;
  if (fpu < 1) return "!the host's KVM failed to run a short 64-bit integer program (" + problem + ")";
  std::string result = fpu >= 2 ? "" : "x87/SSE instructions stop with " + problem;
  problem.clear();
  m_cx16_works = selftest_program(kCx16, sizeof kCx16, problem) >= 2;
  static const u8 kCpuid[] = {
      0xB8, 0x01, 0x00, 0x00, 0x00,   // mov eax, 1
      0x0F, 0xA2,                     // cpuid
      0x89, 0xC8,                     // mov eax, ecx
      0xE7, 0x84,                     // out 0x84, eax
      0xB0, 0x02, 0xE6, 0x80,         // mov al, 2; out 0x80, al
      0xF4,                           // hlt
  };
  // Leaf 1 ECX with every optional bit clear but one KVM supports, if any (bit 0 SSE3, else 0).
  const u32 given = m_supported_cpuid[0] & 1u;
  u32 seen = ~0u;
  if (selftest_program(kCpuid, sizeof kCpuid, problem, &given, &seen) >= 2) {
    // KVM computes OSXSAVE (27) and may set the hypervisor bit (31) itself.
    constexpr u32 kRuntime = (1u << 27) | (1u << 31);
    if ((seen & ~kRuntime) != given) {
      char buf[160];
      std::snprintf(buf, sizeof buf, "CPUID is not the one given with KVM_SET_CPUID2 (leaf 1 ECX 0x%08x instead of 0x%08x)",
                    seen, given);
      result += std::string(result.empty() ? "" : "; ") + buf;
    }
  }
  return result;
}

KvmVcpu::~KvmVcpu() {
  if (g_kick_target.load() == m_run) g_kick_target.store(nullptr);
  if (m_timer_made) timer_delete(static_cast<timer_t>(m_timer));
  if (m_run) munmap(m_run, m_run_size);
  for (const Rom& r : m_roms) munmap(r.host, r.size);
  if (m_vcpu >= 0) close(m_vcpu);
  if (m_vm >= 0) close(m_vm);
  if (m_kvm >= 0) close(m_kvm);
}

CpuFeatures KvmVcpu::supported(const CpuFeatures& want) const {
  CpuFeatures f = want;
  auto has = [&](unsigned reg, unsigned bit) { return (m_supported_cpuid[reg] >> bit) & 1; };
  f.sse3 = f.sse3 && has(0, 0);
  f.ssse3 = f.ssse3 && has(0, 9);
  f.cx16 = f.cx16 && has(0, 13) && m_cx16_works;   // some software KVMs advertise it but cannot run it
  f.sse41 = f.sse41 && has(0, 19);
  f.sse42 = f.sse42 && has(0, 20);
  f.movbe = f.movbe && has(0, 22);
  f.popcnt = f.popcnt && has(0, 23);
  f.xsave = f.xsave && has(0, 26);
  f.xsaveopt = f.xsaveopt && f.xsave && has(5, 0);
  f.lahf_lm = f.lahf_lm && has(3, 0);
  f.lzcnt = f.lzcnt && has(3, 5);
  f.pcid = f.pcid && has(0, 17);
  f.rdtscp = f.rdtscp && has(4, 27);
  return f;
}

void KvmVcpu::set_cpuid(const Cpu& cpu) {
  CpuidList c;
  u32 n = 0;
  auto add = [&](u32 leaf, u32 sub, bool indexed) {
    u32 out[4];
    cpu.cpuid(leaf, sub, out);
    kvm_cpuid_entry2& e = c.e()[n++];
    e.function = leaf;
    e.index = sub;
    e.flags = indexed ? KVM_CPUID_FLAG_SIGNIFCANT_INDEX : 0;
    e.eax = out[0];
    e.ebx = out[1];
    e.ecx = out[2];
    e.edx = out[3];
    // Bits KVM cannot give the guest are dropped; the model's optional features were
    // already restricted (supported()), so only baseline bits can disappear here.
    u32 lost = 0;
    if (leaf == 1) {
      // OSXSAVE and APIC are computed by KVM from CR4 and the APIC base at run time.
      lost = (e.ecx & ~m_supported_cpuid[0] & ~(1u << 27)) | (e.edx & ~m_supported_cpuid[1] & ~(1u << 9));
      e.ecx &= m_supported_cpuid[0] | (1u << 27);
      e.edx &= m_supported_cpuid[1] | (1u << 9);
    } else if (leaf == 0x80000001) {
      lost = (e.ecx & ~m_supported_cpuid[3]) | (e.edx & ~m_supported_cpuid[4]);
      e.ecx &= m_supported_cpuid[3];
      e.edx &= m_supported_cpuid[4];
    }
    if (lost)
      log_message("retrovisor: KVM cannot offer CPUID leaf 0x%x bits 0x%x of this CPU model; the guest does not see them",
                  leaf, lost);
  };
  u32 out[4];
  cpu.cpuid(0, 0, out);
  for (u32 leaf = 0; leaf <= out[0]; leaf++) {
    const bool indexed = leaf == 4 || leaf == 7 || leaf == 0xB || leaf == 0xD;
    add(leaf, 0, indexed);
    if (leaf == 0xD) add(leaf, 1, true);
  }
  cpu.cpuid(0x80000000, 0, out);
  for (u32 leaf = 0x80000000; leaf <= out[0] && n < 64; leaf++) add(leaf, 0, false);
  c.hdr()->nent = n;
  if (ioctl(m_vcpu, kSetCpuid2, c.bytes) < 0) ioctl_failed("KVM_SET_CPUID2");
}

void KvmVcpu::refresh_rom() {
  for (const Rom& r : m_roms) std::memcpy(r.host + r.offset, r.region->host, r.region->size);
}

// Re-enters with immediate_exit set: KVM completes the instruction of the last I/O or MMIO
// exit and returns EINTR without running anything else.
void KvmVcpu::complete_pending_io() {
  if (!m_io_pending) return;
  m_io_pending = false;
  m_run->immediate_exit = 1;
  const int rc = ioctl(m_vcpu, KVM_RUN, 0);
  m_run->immediate_exit = 0;
  if (rc < 0 && errno != EINTR && errno != EAGAIN) ioctl_failed("KVM_RUN (completing an I/O exit)");
}

void KvmVcpu::put_state(const CpuState& s, u64 tsc) {
  complete_pending_io();   // else it would complete on top of the state loaded here
  kvm_regs regs{};
  regs.rax = s.gpr[RAX]; regs.rbx = s.gpr[RBX]; regs.rcx = s.gpr[RCX]; regs.rdx = s.gpr[RDX];
  regs.rsi = s.gpr[RSI]; regs.rdi = s.gpr[RDI]; regs.rsp = s.gpr[RSP]; regs.rbp = s.gpr[RBP];
  regs.r8 = s.gpr[R8]; regs.r9 = s.gpr[R9]; regs.r10 = s.gpr[R10]; regs.r11 = s.gpr[R11];
  regs.r12 = s.gpr[R12]; regs.r13 = s.gpr[R13]; regs.r14 = s.gpr[R14]; regs.r15 = s.gpr[R15];
  regs.rip = s.rip;
  regs.rflags = materialize_flags(s);

  kvm_sregs sr{};
  sr.es = to_kvm(s.seg[ES]); sr.cs = to_kvm(s.seg[CS]); sr.ss = to_kvm(s.seg[SS]);
  sr.ds = to_kvm(s.seg[DS]); sr.fs = to_kvm(s.seg[FS]); sr.gs = to_kvm(s.seg[GS]);
  sr.tr = to_kvm(s.tr);
  sr.ldt = to_kvm(s.ldtr);
  sr.gdt.base = s.gdtr.base; sr.gdt.limit = static_cast<u16>(s.gdtr.limit);
  sr.idt.base = s.idtr.base; sr.idt.limit = static_cast<u16>(s.idtr.limit);
  sr.cr0 = s.cr0; sr.cr2 = s.cr2; sr.cr3 = s.cr3; sr.cr4 = s.cr4; sr.cr8 = s.cr8;
  sr.efer = s.efer;
  sr.apic_base = s.apic_base;
  if (ioctl(m_vcpu, KVM_SET_SREGS, &sr) < 0) ioctl_failed("KVM_SET_SREGS");
  if (ioctl(m_vcpu, KVM_SET_REGS, &regs) < 0) ioctl_failed("KVM_SET_REGS");

  // x87/SSE: the FXSAVE image is the XSAVE legacy region; both components present.
  kvm_xsave xs{};
  std::memcpy(xs.region, s.fpu.fxsave, 512);
  const u64 xstate_bv = 3;
  std::memcpy(reinterpret_cast<u8*>(xs.region) + 512, &xstate_bv, 8);
  if (ioctl(m_vcpu, kSetXsave, &xs) < 0) ioctl_failed("KVM_SET_XSAVE");
  kvm_xcrs xcrs{};
  xcrs.nr_xcrs = 1;
  xcrs.xcrs[0].xcr = 0;
  xcrs.xcrs[0].value = s.xcr0;
  if (ioctl(m_vcpu, KVM_SET_XCRS, &xcrs) < 0) ioctl_failed("KVM_SET_XCRS");

  kvm_debugregs dr{};
  for (int i = 0; i < 4; i++) dr.db[i] = s.dr[i];
  dr.dr6 = s.dr[6];
  dr.dr7 = s.dr[7];
  if (ioctl(m_vcpu, KVM_SET_DEBUGREGS, &dr) < 0) ioctl_failed("KVM_SET_DEBUGREGS");

  CpuState copy = s;
  auto table = msr_table(copy);
  MsrList ml;
  u32 n = 0;
  for (auto& [index, field] : table) {
    ml.e()[n].index = index;
    ml.e()[n].data = field ? *field : tsc;
    n++;
  }
  // KVM_SET_MSRS stops at the first MSR it refuses: note it and go on with the rest.
  for (u32 start = 0; start < n;) {
    MsrList part;
    part.hdr()->nmsrs = n - start;
    std::memcpy(part.e(), ml.e() + start, (n - start) * sizeof(kvm_msr_entry));
    const int done = ioctl(m_vcpu, kSetMsrs, part.bytes);
    if (done < 0) ioctl_failed("KVM_SET_MSRS");
    if (static_cast<u32>(done) < n - start) log_refused_msr("write", ml.e()[start + done].index);
    start += static_cast<u32>(done) + 1;
  }

  // The guest TSC: KVM_SET_MSRS(IA32_TSC) above; where KVM offers it, the TSC offset
  // attribute too (guest TSC = host TSC + offset, exact from now on).
  if (m_tsc_offset_attr) {
    u64 offset = tsc - __builtin_ia32_rdtsc();
    kvm_device_attr a{};
    a.group = KVM_VCPU_TSC_CTRL;
    a.attr = KVM_VCPU_TSC_OFFSET;
    a.addr = reinterpret_cast<u64>(&offset);
    if (ioctl(m_vcpu, KVM_SET_DEVICE_ATTR, &a) < 0) ioctl_failed("KVM_SET_DEVICE_ATTR (TSC offset)");
  }

  kvm_vcpu_events ev{};
  if (ioctl(m_vcpu, KVM_GET_VCPU_EVENTS, &ev) < 0) ioctl_failed("KVM_GET_VCPU_EVENTS");
  ev.exception = {};
  ev.interrupt = {};
  ev.interrupt.shadow = s.icount < s.int_shadow_until ? KVM_X86_SHADOW_INT_STI : 0;
  ev.nmi.injected = 0;
  ev.nmi.pending = s.nmi_pending;
  ev.nmi.masked = s.nmi_blocked;
  ev.flags = KVM_VCPUEVENT_VALID_NMI_PENDING | KVM_VCPUEVENT_VALID_SHADOW;
  if (ioctl(m_vcpu, KVM_SET_VCPU_EVENTS, &ev) < 0) ioctl_failed("KVM_SET_VCPU_EVENTS");
  m_run->cr8 = s.cr8;
  // kvm_run reports IF and injectability only at exits; until the first one, say what the
  // state just loaded says (a halted guest with IF=1 must be woken, not stopped).
  m_run->if_flag = (regs.rflags & kFlagIF) != 0;
  m_run->ready_for_interrupt_injection = m_run->if_flag && !ev.interrupt.shadow;
}

void KvmVcpu::get_state(CpuState& s, u64& tsc, PendingEvent& pending) {
  complete_pending_io();
  kvm_regs regs{};
  if (ioctl(m_vcpu, KVM_GET_REGS, &regs) < 0) ioctl_failed("KVM_GET_REGS");
  kvm_sregs sr{};
  if (ioctl(m_vcpu, KVM_GET_SREGS, &sr) < 0) ioctl_failed("KVM_GET_SREGS");
  s.gpr[RAX] = regs.rax; s.gpr[RBX] = regs.rbx; s.gpr[RCX] = regs.rcx; s.gpr[RDX] = regs.rdx;
  s.gpr[RSI] = regs.rsi; s.gpr[RDI] = regs.rdi; s.gpr[RSP] = regs.rsp; s.gpr[RBP] = regs.rbp;
  s.gpr[R8] = regs.r8; s.gpr[R9] = regs.r9; s.gpr[R10] = regs.r10; s.gpr[R11] = regs.r11;
  s.gpr[R12] = regs.r12; s.gpr[R13] = regs.r13; s.gpr[R14] = regs.r14; s.gpr[R15] = regs.r15;
  s.rip = regs.rip;
  s.rflags = regs.rflags | kFixed1;
  s.lazy = LazyFlags{};
  s.seg[ES] = from_kvm(sr.es); s.seg[CS] = from_kvm(sr.cs); s.seg[SS] = from_kvm(sr.ss);
  s.seg[DS] = from_kvm(sr.ds); s.seg[FS] = from_kvm(sr.fs); s.seg[GS] = from_kvm(sr.gs);
  s.tr = from_kvm(sr.tr);
  s.ldtr = from_kvm(sr.ldt);
  s.gdtr = {sr.gdt.base, sr.gdt.limit};
  s.idtr = {sr.idt.base, sr.idt.limit};
  s.cr0 = sr.cr0; s.cr2 = sr.cr2; s.cr3 = sr.cr3; s.cr4 = sr.cr4; s.cr8 = sr.cr8;
  s.efer = sr.efer;
  s.apic_base = sr.apic_base;

  kvm_xsave xs{};
  if (ioctl(m_vcpu, kGetXsave, &xs) < 0) ioctl_failed("KVM_GET_XSAVE");
  u8* img = s.fpu.fxsave;
  std::memcpy(img, xs.region, 512);
  u64 xstate_bv = 0;
  std::memcpy(&xstate_bv, reinterpret_cast<const u8*>(xs.region) + 512, 8);
  if (!(xstate_bv & 1)) {   // x87 in its initial state (SDM Vol.1 §13.6)
    const u32 mxcsr = [&] { u32 m; std::memcpy(&m, img + 24, 4); return m; }();
    const u32 mxcsr_mask = [&] { u32 m; std::memcpy(&m, img + 28, 4); return m; }();
    std::memset(img, 0, 160);
    img[0] = 0x7F;
    img[1] = 0x03;   // FCW = 0x037F
    std::memcpy(img + 24, &mxcsr, 4);
    std::memcpy(img + 28, &mxcsr_mask, 4);
  }
  if (!(xstate_bv & 2)) std::memset(img + 160, 0, 256);   // XMM0-15 in their initial state
  kvm_xcrs xcrs{};
  if (ioctl(m_vcpu, KVM_GET_XCRS, &xcrs) < 0) ioctl_failed("KVM_GET_XCRS");
  for (u32 i = 0; i < xcrs.nr_xcrs; i++)
    if (xcrs.xcrs[i].xcr == 0) s.xcr0 = xcrs.xcrs[i].value;

  kvm_debugregs dr{};
  if (ioctl(m_vcpu, KVM_GET_DEBUGREGS, &dr) < 0) ioctl_failed("KVM_GET_DEBUGREGS");
  for (int i = 0; i < 4; i++) s.dr[i] = dr.db[i];
  s.dr[6] = dr.dr6;
  s.dr[7] = dr.dr7;

  auto table = msr_table(s);
  for (size_t start = 0; start < table.size();) {
    MsrList ml;
    const u32 n = static_cast<u32>(table.size() - start);
    ml.hdr()->nmsrs = n;
    for (u32 i = 0; i < n; i++) ml.e()[i].index = table[start + i].first;
    const int done = ioctl(m_vcpu, kGetMsrs, ml.bytes);
    if (done < 0) ioctl_failed("KVM_GET_MSRS");
    for (int i = 0; i < done; i++) {
      u64* field = table[start + i].second;
      if (field) *field = ml.e()[i].data;
      else tsc = ml.e()[i].data;
    }
    if (static_cast<u32>(done) < n) log_refused_msr("read", table[start + done].first);
    start += static_cast<size_t>(done) + 1;
  }

  kvm_vcpu_events ev{};
  if (ioctl(m_vcpu, KVM_GET_VCPU_EVENTS, &ev) < 0) ioctl_failed("KVM_GET_VCPU_EVENTS");
  s.int_shadow_until = ev.interrupt.shadow ? s.icount + 1 : 0;
  s.nmi_pending = ev.nmi.pending;
  s.nmi_blocked = ev.nmi.masked;
  s.halted = false;
  pending = PendingEvent{};
  // An event KVM accepted but has not delivered (the run was kicked first, or an exit came
  // in the middle of delivery). RIP is at the instruction that raised a fault and at INT n,
  // INT3 or INTO for software events: those are executed again, so only hardware events
  // and faults are handed over.
  if (ev.exception.injected && ev.exception.nr != 3 && ev.exception.nr != 4) {
    pending.vector = ev.exception.nr;
    pending.has_error = ev.exception.has_error_code;
    pending.error = ev.exception.error_code;
  } else if (ev.nmi.injected) {
    pending.vector = 2;
    pending.external = true;
  } else if (ev.interrupt.injected && !ev.interrupt.soft) {
    pending.vector = ev.interrupt.nr;
    pending.external = true;
  }
}

KvmExit KvmVcpu::run(bool want_irq_window) {
  KvmExit x;
  m_run->request_interrupt_window = want_irq_window ? 1 : 0;
  const int rc = ioctl(m_vcpu, KVM_RUN, 0);
  m_run->immediate_exit = 0;
  m_io_pending = false;
  if (rc < 0) {
    if (errno == EINTR || errno == EAGAIN) return x;   // Kicked
    x.kind = KvmExit::Kind::Failed;
    x.error = "KVM_RUN failed: " + errno_text();
    return x;
  }
  switch (m_run->exit_reason) {
    case KVM_EXIT_IO:
      x.kind = KvmExit::Kind::Io;
      x.write = m_run->io.direction == KVM_EXIT_IO_OUT;
      x.size = m_run->io.size;
      x.port = m_run->io.port;
      x.count = m_run->io.count;
      x.data = reinterpret_cast<u8*>(m_run) + m_run->io.data_offset;
      m_io_pending = true;
      if (m_run->io.data_offset + static_cast<u64>(x.size) * x.count > m_run_size) {
        x.kind = KvmExit::Kind::Failed;
        x.error = "KVM reported port I/O data outside the run structure";
      }
      return x;
    case KVM_EXIT_MMIO:
      x.kind = KvmExit::Kind::Mmio;
      x.write = m_run->mmio.is_write;
      x.size = static_cast<u8>(m_run->mmio.len);
      x.addr = m_run->mmio.phys_addr;
      x.data = m_run->mmio.data;
      m_io_pending = true;
      if (x.size == 0 || x.size > 8) {
        x.kind = KvmExit::Kind::Failed;
        x.error = "KVM reported an MMIO access of " + std::to_string(x.size) + " bytes";
      }
      return x;
    case KVM_EXIT_HLT: x.kind = KvmExit::Kind::Halt; return x;
    case KVM_EXIT_IRQ_WINDOW_OPEN: x.kind = KvmExit::Kind::IrqWindow; return x;
    case KVM_EXIT_INTR: return x;
    case KVM_EXIT_SHUTDOWN: x.kind = KvmExit::Kind::Shutdown; return x;
    case KVM_EXIT_FAIL_ENTRY: {
      char buf[96];
      std::snprintf(buf, sizeof buf, "VM entry failed (hardware reason 0x%llx)",
                    static_cast<unsigned long long>(m_run->fail_entry.hardware_entry_failure_reason));
      x.kind = KvmExit::Kind::Failed;
      x.error = buf;
      return x;
    }
    case KVM_EXIT_INTERNAL_ERROR: {
      static const char* const kWhat[] = {"", "instruction emulation failed", "event delivery failed",
                                          "unexpected simultaneous exceptions", "unexpected exit during event delivery"};
      const u32 sub = m_run->internal.suberror;
      x.kind = KvmExit::Kind::Failed;
      x.error = "KVM internal error " + std::to_string(sub) + (sub < 5 ? std::string(" (") + kWhat[sub] + ")" : "");
      return x;
    }
    default:
      x.kind = KvmExit::Kind::Failed;
      x.error = "unexpected KVM exit reason " + std::to_string(m_run->exit_reason);
      return x;
  }
}

bool KvmVcpu::can_inject() const { return m_run->ready_for_interrupt_injection && m_run->if_flag; }
bool KvmVcpu::interrupt_flag() const { return m_run->if_flag; }
u64 KvmVcpu::cr8() const { return m_run->cr8; }

void KvmVcpu::inject_interrupt(u8 vector) {
  kvm_interrupt irq{};
  irq.irq = vector;
  if (ioctl(m_vcpu, KVM_INTERRUPT, &irq) < 0) ioctl_failed("KVM_INTERRUPT");
}

void KvmVcpu::inject_nmi() {
  if (ioctl(m_vcpu, KVM_NMI, 0) < 0) ioctl_failed("KVM_NMI");
}

void KvmVcpu::kick_after(u64 ns) {
  if (ns == 0) {
    m_run->immediate_exit = 1;
    return;
  }
  if (!m_timer_made) {
    timer_t t;
    if (!make_kick_timer(t)) throw std::runtime_error("KVM: timer_create failed: " + errno_text());
    m_timer = t;
    m_timer_made = true;
  }
  arm_timer(static_cast<timer_t>(m_timer), ns);
}

std::string KvmVcpu::describe() const {
  std::string s = "KVM API " + std::to_string(KVM_API_VERSION);
  if (m_tsc_khz) s += ", guest TSC " + std::to_string(m_tsc_khz / 1000) + " MHz";
  return s;
}

}  // namespace rv
