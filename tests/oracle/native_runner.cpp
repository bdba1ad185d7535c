#include "tests/oracle/native_runner.h"

#include <setjmp.h>
#include <signal.h>
#include <sys/mman.h>
#include <asm/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <ucontext.h>
#include <unistd.h>

#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <string>

#include "tests/oracle/encoder.h"

namespace rv::oracle {
namespace {

// Page 0 of the code area.
constexpr u64 kPro64 = kCodeBase + 0x000;     // prologue, 64-bit case
constexpr u64 kPro32 = kCodeBase + 0x200;     // prologue, 32-bit case
constexpr u64 kEpi32 = kCodeBase + 0x400;     // 64-bit epilogue reached from 32-bit code
constexpr u64 kCtl = kCodeBase + 0x800;       // control block
constexpr u64 kInGpr = kCtl + 0x00, kInFlags = kCtl + 0x80, kHostRsp = kCtl + 0x88, kOutGpr = kCtl + 0x90,
              kOutFlags = kCtl + 0x110, kFarToSeq = kCtl + 0x118, kFarBack = kCtl + 0x120, kOutSreg = kCtl + 0x130,
              kInFpu = kCtl + 0x200, kOutFpu = kCtl + 0x400, kHostFpu = kCtl + 0x600;   // 512 bytes each
constexpr u16 kUserCs32 = 0x23, kUserDs = 0x2B, kUserCs64 = 0x33;

Mem abs_mem(u64 addr) { Mem m; m.disp = static_cast<i32>(addr); return m; }

std::vector<u8> epilogue64() {
  Asm a(true);
  for (u8 r = 0; r < 16; r++) a.modrm(8, {0x89}, r, true, RM::m(abs_mem(kOutGpr + 8 * r)));   // MOV [out+8r], r
  for (u8 sr = 0; sr < 6; sr++) a.modrm(4, {0x8C}, sr, false, RM::m(abs_mem(kOutSreg + 2 * sr)));   // MOV [out_sreg], Sreg
  a.modrm(8, {0x0F, 0xAE}, 0, false, RM::m(abs_mem(kOutFpu)));                                 // FXSAVE64 [out_fpu]
  a.modrm(8, {0x0F, 0xAE}, 1, false, RM::m(abs_mem(kHostFpu)));                                // FXRSTOR64 [host_fpu]
  a.modrm(8, {0x8B}, 4, true, RM::m(abs_mem(kHostRsp)));                                        // MOV RSP, [host_rsp]
  a.byte(0x9C);                                                                                 // PUSHFQ
  a.byte(0x58);                                                                                 // POP RAX
  a.modrm(8, {0x89}, 0, true, RM::m(abs_mem(kOutFlags)));
  a.raw({0x68, 0x02, 0x02, 0, 0, 0x9D});                                                      // PUSH 202h; POPFQ: DF=0 (ABI), AC=0
  for (u8 r : {15, 14, 13, 12, 5, 3}) a.opreg(4, {}, 0x58, r);                                  // POP callee-saved
  a.byte(0xC3);
  return a.bytes();
}

std::vector<u8> prologue(bool compat) {
  Asm a(true);
  for (u8 r : {3, 5, 12, 13, 14, 15}) a.opreg(4, {}, 0x50, r);          // PUSH callee-saved
  a.modrm(8, {0x89}, 4, true, RM::m(abs_mem(kHostRsp)));                // MOV [host_rsp], RSP
  a.modrm(8, {0x0F, 0xAE}, 0, false, RM::m(abs_mem(kHostFpu)));         // FXSAVE64 [host_fpu]
  a.modrm(8, {0x0F, 0xAE}, 1, false, RM::m(abs_mem(kInFpu)));           // FXRSTOR64 [in_fpu]
  // 64-bit Linux processes run with null DS/ES, which fault in compatibility mode: the
  // 32-bit case loads 0x2B, the 64-bit case null (a sequence may have changed them).
  a.opreg(4, {}, 0xB8, 0, 4, compat ? kUserDs : 0);                     // MOV EAX, sel
  a.raw({0x8E, 0xD8, 0x8E, 0xC0});                                      // MOV DS, EAX; MOV ES, EAX
  a.modrm(4, {0xFF}, 6, false, RM::m(abs_mem(kInFlags)));               // PUSH [in_flags]
  a.byte(0x9D);                                                         // POPFQ
  for (u8 r = 0; r < 16; r++)
    if (r != 4) a.modrm(8, {0x8B}, r, true, RM::m(abs_mem(kInGpr + 8 * r)));
  a.modrm(8, {0x8B}, 4, true, RM::m(abs_mem(kInGpr + 8 * 4)));
  if (compat) {
    a.modrm(4, {0xFF}, 5, false, RM::m(abs_mem(kFarToSeq)));            // JMP FAR [m16:32]
  } else {
    a.byte(0xE9);                                                       // JMP kSeqAddr
    a.imm(kSeqAddr - (kPro64 + a.size() + 4), 4);
  }
  return a.bytes();
}

u8* at(u64 addr) { return reinterpret_cast<u8*>(addr); }

std::vector<u8> g_epi64;
sigjmp_buf g_jmp;
volatile sig_atomic_t g_in_native = 0;
Snapshot* g_fault_out = nullptr;

void on_signal(int sig, siginfo_t*, void* uc_void) {
  // The sequence may have set EFLAGS.AC, which Linux (CR0.AM=1) leaves set in the handler.
  asm volatile("pushfq; andq $~0x40000, (%%rsp); popfq" ::: "memory", "cc");
  if (!g_in_native || !g_fault_out) {   // not ours: die as we would have
    signal(sig, SIG_DFL);
    raise(sig);
    return;
  }
  const ucontext_t* uc = static_cast<const ucontext_t*>(uc_void);
  const greg_t* gr = uc->uc_mcontext.gregs;
  static const int kMap[16] = {REG_RAX, REG_RCX, REG_RDX, REG_RBX, REG_RSP, REG_RBP, REG_RSI, REG_RDI,
                               REG_R8,  REG_R9,  REG_R10, REG_R11, REG_R12, REG_R13, REG_R14, REG_R15};
  for (int i = 0; i < 16; i++) g_fault_out->gpr[i] = static_cast<u64>(gr[kMap[i]]);
  g_fault_out->rflags = static_cast<u64>(gr[REG_EFL]);
  g_fault_out->fault_rip = static_cast<u64>(gr[REG_RIP]);
  g_fault_out->vector = static_cast<int>(gr[REG_TRAPNO]);
  g_fault_out->error = static_cast<u64>(gr[REG_ERR]);
  g_fault_out->cr2 = static_cast<u64>(gr[REG_CR2]);
  if (uc->uc_mcontext.fpregs) {
    const u8* f = reinterpret_cast<const u8*>(uc->uc_mcontext.fpregs);
    g_fault_out->fpu.assign(f, f + 512);
  }
  g_in_native = 0;
  siglongjmp(g_jmp, 1);
}

}  // namespace

void NativeRunner::map_pages() {
  struct Area { u64 addr; u64 len; int prot; };
  const Area areas[] = {{kCodeBase, 2 * kPage, PROT_READ | PROT_WRITE | PROT_EXEC},
                        {kDataBase, kPage, PROT_READ | PROT_WRITE},
                        {kStackBase, kPage, PROT_READ | PROT_WRITE}};
  for (const Area& a : areas) {
    void* p = mmap(reinterpret_cast<void*>(a.addr), a.len, a.prot, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    if (p != reinterpret_cast<void*>(a.addr))
      throw std::runtime_error("cannot map the oracle page at 0x" + std::to_string(a.addr) + " (address in use?)");
  }
  // A guard page after the code, so that instruction fetch off its end faults (#PF) here too.
  void* guard = mmap(reinterpret_cast<void*>(kCodeBase + 2 * kPage), kPage, PROT_NONE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
  if (guard != reinterpret_cast<void*>(kCodeBase + 2 * kPage)) throw std::runtime_error("cannot map the oracle's guard page");
  void* ro = mmap(reinterpret_cast<void*>(kRoBase), kPage, PROT_READ | PROT_WRITE,
                  MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
  if (ro != reinterpret_cast<void*>(kRoBase)) throw std::runtime_error("cannot map the oracle's read-only page");
  std::memcpy(ro, ro_page_pattern().data(), kPage);
  mprotect(ro, kPage, PROT_READ);
  std::vector<u8> p64 = prologue(false), p32 = prologue(true);
  g_epi64 = epilogue64();
  std::memcpy(at(kPro64), p64.data(), p64.size());
  std::memcpy(at(kPro32), p32.data(), p32.size());
  std::memcpy(at(kEpi32), g_epi64.data(), g_epi64.size());
  u32 off = static_cast<u32>(kSeqAddr);
  u16 sel = kUserCs32;
  std::memcpy(at(kFarToSeq), &off, 4);
  std::memcpy(at(kFarToSeq + 4), &sel, 2);
  off = static_cast<u32>(kEpi32);
  sel = kUserCs64;
  std::memcpy(at(kFarBack), &off, 4);
  std::memcpy(at(kFarBack + 4), &sel, 2);
}

void NativeRunner::install_handlers() {
  // GS is unused by glibc on x86-64: point it at the data page for GS-relative operands.
  if (syscall(SYS_arch_prctl, ARCH_SET_GS, kDataBase) != 0) throw std::runtime_error("arch_prctl(ARCH_SET_GS) failed");
  static std::vector<u8> alt(1 << 16);
  stack_t ss{};
  ss.ss_sp = alt.data();
  ss.ss_size = alt.size();
  sigaltstack(&ss, nullptr);
  struct sigaction sa{};
  sa.sa_sigaction = on_signal;
  sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
  sigemptyset(&sa.sa_mask);
  for (int sig : {SIGSEGV, SIGFPE, SIGILL, SIGBUS, SIGTRAP}) sigaction(sig, &sa, nullptr);
}

Snapshot NativeRunner::run(const Case& c) {
  Snapshot s;
  if (c.code.size() > kSeqMax) { s.note = "sequence too long"; return s; }
  bool compat = c.mode == Mode::Compat32;
  u8* seq = at(kSeqAddr);
  std::memcpy(seq, c.code.data(), c.code.size());
  if (compat) {
    Asm a(false);
    Prefixes cs;
    cs.seg = 0x2E;   // through CS: the sequence may have loaded DS with something unusable
    a.modrm(4, {0xFF}, 5, false, RM::m(abs_mem(kFarBack)), 0, 0, cs);   // JMP FAR [m16:32] back to 64-bit code
    std::memcpy(seq + c.code.size(), a.bytes().data(), a.size());
  } else {
    std::memcpy(seq + c.code.size(), g_epi64.data(), g_epi64.size());
  }
  std::vector<u8> tail = c.tail.size() == 16 ? c.tail : std::vector<u8>(16, 0xCC);
  std::memcpy(at(kTailAddr), tail.data(), 16);
  std::memcpy(at(kDataBase), c.data.data(), kPage);
  std::memcpy(at(kStackBase), c.stack.data(), kPage);
  std::memcpy(at(kInGpr), c.gpr.data(), 128);
  std::memcpy(at(kInFlags), &c.rflags, 8);
  std::memcpy(at(kInFpu), c.fpu.data(), 512);

  g_fault_out = &s;
  if (sigsetjmp(g_jmp, 1) == 0) {
    g_in_native = 1;
    reinterpret_cast<void (*)()>(compat ? kPro32 : kPro64)();
    g_in_native = 0;
    std::memcpy(s.gpr.data(), at(kOutGpr), 128);
    std::memcpy(&s.rflags, at(kOutFlags), 8);
    std::memcpy(s.sreg.data(), at(kOutSreg), 12);
    s.fpu.assign(at(kOutFpu), at(kOutFpu) + 512);
  } else {
    // Back from a fault: the handler ran with a fresh FPU state; restore ours.
    asm volatile("fxrstor64 (%0)" ::"r"(at(kHostFpu)) : "memory");
  }
  g_fault_out = nullptr;
  s.data.assign(at(kDataBase), at(kDataBase) + kPage);
  s.stack.assign(at(kStackBase), at(kStackBase) + kPage);
  return s;
}

NativeRunner::Probe NativeRunner::probe() {
  struct Result { int vector; u64 rip, error, rax; char note[96]; };
  Result res[2] = {};
  int fds[2];
  Probe p;
  if (pipe(fds) != 0) { p.why64 = p.why32 = "pipe() failed"; return p; }
  pid_t pid = fork();
  if (pid == 0) {
    close(fds[0]);
    install_handlers();
    for (int m = 0; m < 2; m++) {
      Case c;
      c.mode = m ? Mode::Compat32 : Mode::Long64;
      c.code = m ? std::vector<u8>{0x83, 0xC0, 0x01} : std::vector<u8>{0x48, 0x83, 0xC0, 0x01};
      c.gpr[0] = 41;
      c.gpr[4] = kStackTop;
      c.data.assign(kPage, 0);
      c.stack.assign(kPage, 0);
      c.fpu.assign(512, 0);
      c.fpu[0] = 0x7F; c.fpu[1] = 0x03;       // FCW 037F
      c.fpu[24] = 0x80; c.fpu[25] = 0x1F;     // MXCSR 1F80
      Snapshot s = run(c);
      res[m].vector = s.vector;
      res[m].rip = s.fault_rip;
      res[m].error = s.error;
      res[m].rax = s.gpr[0];
      std::snprintf(res[m].note, sizeof res[m].note, "%s", s.note.c_str());
    }
    ssize_t w = write(fds[1], res, sizeof res);
    _exit(w == static_cast<ssize_t>(sizeof res) ? 0 : 1);
  }
  close(fds[1]);
  size_t got = 0;
  while (got < sizeof res) {
    ssize_t r = read(fds[0], reinterpret_cast<char*>(res) + got, sizeof res - got);
    if (r <= 0) break;
    got += static_cast<size_t>(r);
  }
  close(fds[0]);
  int st = 0;
  waitpid(pid, &st, 0);
  if (got != sizeof res) {
    p.why64 = p.why32 = std::string("the probe process died (") + (WIFSIGNALED(st) ? "signal " + std::to_string(WTERMSIG(st)) : "status " + std::to_string(WEXITSTATUS(st))) + ")";
    return p;
  }
  auto judge = [](const Result& r, bool compat, std::string& why) {
    char buf[160];
    if (r.note[0]) { why = r.note; return false; }
    if (r.vector < 0 && r.rax == 42) return true;
    if (r.vector < 0) std::snprintf(buf, sizeof buf, "ADD EAX, 1 gave EAX=%#" PRIx64 ", not 42", r.rax);
    else if (compat && r.vector == 13 && r.rip >= kPro32 && r.rip < kPro32 + 0x200)
      std::snprintf(buf, sizeof buf, "far JMP to 0x%02x raises #GP(0x%" PRIx64 ")", kUserCs32, r.error);
    else std::snprintf(buf, sizeof buf, "ADD EAX, 1 raised vector %d (error 0x%" PRIx64 ") at %#" PRIx64, r.vector, r.error, r.rip);
    why = buf;
    return false;
  };
  p.ok64 = judge(res[0], false, p.why64);
  p.compat32 = judge(res[1], true, p.why32);
  return p;
}

}  // namespace rv::oracle
