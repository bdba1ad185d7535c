#include "tests/kvm/kvm_harness.h"

#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <type_traits>

#include "machine/kvm.h"
#include "tests/kvm/long_mode_env.h"
#include "tests/oracle/generator.h"

namespace rv::kvmtest {
namespace {

static_assert(std::is_trivially_copyable_v<CpuState>, "CpuState crosses the pipe as bytes");

// Outcome <-> bytes, for the pipe from the child.
void put_bytes(std::string& out, const void* p, size_t n) { out.append(static_cast<const char*>(p), n); }
template <class T>
void put_pod(std::string& out, const T& v) { put_bytes(out, &v, sizeof v); }
void put_str(std::string& out, const std::string& s) {
  put_pod(out, static_cast<u64>(s.size()));
  out += s;
}

std::string serialize(const Outcome& o) {
  std::string out;
  put_str(out, o.note);
  put_pod(out, o.kind);
  put_pod(out, o.status);
  put_str(out, o.message);
  put_pod(out, o.cpu);
  put_str(out, std::string(o.mem.begin(), o.mem.end()));
  put_str(out, o.debugcon);
  put_pod(out, o.hook_writes);
  put_pod(out, o.engine_switches);
  put_pod(out, o.kvm_exits);
  put_pod(out, o.final_engine);
  return out;
}

class Reader {
 public:
  explicit Reader(const std::string& s) : m_s(s) {}
  bool ok = true;
  template <class T>
  void pod(T& v) {
    if (!take(sizeof v)) return;
    std::memcpy(&v, m_s.data() + m_at - sizeof v, sizeof v);
  }
  void str(std::string& v) {
    u64 n = 0;
    pod(n);
    if (!ok || !take(n)) return;
    v.assign(m_s, m_at - n, n);
  }

 private:
  bool take(u64 n) {
    if (!ok || m_s.size() - m_at < n) return ok = false;
    m_at += n;
    return true;
  }
  const std::string& m_s;
  size_t m_at = 0;
};

bool deserialize(const std::string& s, Outcome& o) {
  Reader r(s);
  std::string mem;
  r.str(o.note);
  r.pod(o.kind);
  r.pod(o.status);
  r.str(o.message);
  r.pod(o.cpu);
  r.str(mem);
  r.str(o.debugcon);
  r.pod(o.hook_writes);
  r.pod(o.engine_switches);
  r.pod(o.kvm_exits);
  r.pod(o.final_engine);
  o.mem.assign(mem.begin(), mem.end());
  return r.ok;
}

void write_all(int fd, const std::string& s) {
  size_t at = 0;
  while (at < s.size()) {
    const ssize_t n = ::write(fd, s.data() + at, s.size() - at);
    if (n <= 0) return;
    at += static_cast<size_t>(n);
  }
}

}  // namespace

oracle::Case probe_case(std::vector<u8> code) {
  oracle::Case c;
  c.code = std::move(code);
  c.gpr[RSP] = oracle::kStackTop;
  c.data.assign(oracle::kPage, 0);
  c.stack.assign(oracle::kPage, 0);
  c.fpu.assign(512, 0);
  c.fpu[0] = 0x7F;   // FCW 037F
  c.fpu[1] = 0x03;
  c.fpu[25] = 0x1F;  // MXCSR 1F80
  c.fpu[24] = 0x80;
  c.tail.assign(16, 0xCC);
  return c;
}

namespace {

// KVM opens and runs a counted loop (1000 iterations of ADD/DEC/JNZ) in 64-bit mode, or the
// reason why not.
KvmProbe make_probe() {
  KvmProbe p;
  {
    std::string why;
    PhysMemory mem(1 * MiB);
    mem.map_ram(0, 1 * MiB, 0, "probe");
    std::unique_ptr<KvmVcpu> v = KvmVcpu::open(mem, why, kvm_device());
    if (!v) {
      p.why = "KVM unavailable: " + why;
      return p;
    }
    p.features = v->supported(CpuFeatures{});
    p.fpu_problem = v->selftest_problem();
  }   // closed again: KVM is only ever used by children (kvm_harness.h)
  const u64 expect_rax = 0x1122334455667788ull + 500500;
  const oracle::Case c = probe_case({0x48, 0xB8, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11,   // mov rax, imm64
                                     0xB9, 0xE8, 0x03, 0x00, 0x00,                               // mov ecx, 1000
                                     0x48, 0x01, 0xC8,                                           // add rax, rcx
                                     0xFF, 0xC9,                                                 // dec ecx
                                     0x75, 0xF9});                                               // jnz add
  const CpuFeatures f = p.features;
  const auto t0 = std::chrono::steady_clock::now();
  constexpr double kProbeTimeout = 10.0;
  const Outcome o = run_isolated([&] { return run_case(c, on_engine(Accel::Kvm), f); }, kProbeTimeout);
  p.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (!o.note.empty()) {
    p.why = "KVM opens, but a 64-bit test program did not run under it: " + o.note;
    return p;
  }
  if (o.kind != StopKind::Halted) {
    p.why = "KVM opens, but cannot run a 64-bit test program: " + o.message;
    return p;
  }
  // A wrong result is not a reason to skip: the tests report it.
  if (o.cpu.gpr[RAX] != expect_rax)
    std::fprintf(stderr, "kvm probe: RAX %llx, expected %llx\n", static_cast<unsigned long long>(o.cpu.gpr[RAX]),
                 static_cast<unsigned long long>(expect_rax));
  p.usable = true;

  probe_limits(p);
  return p;
}

}  // namespace

Outcome run_isolated(const std::function<Outcome()>& fn, double timeout_s) {
  Outcome failed;
  int fds[2];
  if (pipe(fds) != 0) {
    failed.note = std::string("pipe failed: ") + std::strerror(errno);
    return failed;
  }
  std::fflush(stdout);
  std::fflush(stderr);
  const pid_t pid = fork();
  if (pid < 0) {
    failed.note = std::string("fork failed: ") + std::strerror(errno);
    close(fds[0]);
    close(fds[1]);
    return failed;
  }
  if (pid == 0) {
    close(fds[0]);
    Outcome o;
    try {
      o = fn();
    } catch (const std::exception& e) {
      o = Outcome{};
      o.note = std::string("exception in the run: ") + e.what();
    }
    write_all(fds[1], serialize(o));
    close(fds[1]);
    std::fflush(stdout);
    std::fflush(stderr);
    _exit(0);
  }
  close(fds[1]);
  std::string bytes;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_s);
  bool timed_out = false;
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      timed_out = true;
      break;
    }
    pollfd pf{fds[0], POLLIN, 0};
    const int r = poll(&pf, 1, static_cast<int>(left.count()));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) continue;
    char buf[65536];
    const ssize_t n = read(fds[0], buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    bytes.append(buf, static_cast<size_t>(n));
  }
  close(fds[0]);
  if (timed_out) kill(pid, SIGKILL);
  int st = 0;
  while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
  }
  char what[128];
  if (timed_out) {
    std::snprintf(what, sizeof what, "did not finish within %.0f s (killed)", timeout_s);
    failed.note = what;
    return failed;
  }
  if (WIFSIGNALED(st)) {
    std::snprintf(what, sizeof what, "the run's process died with signal %d (%s)", WTERMSIG(st), strsignal(WTERMSIG(st)));
    failed.note = what;
    return failed;
  }
  Outcome o;
  if (!deserialize(bytes, o)) {
    failed.note = "the run's process exited without a complete result";
    return failed;
  }
  return o;
}

std::string kvm_device() {
  const char* e = std::getenv("RV_KVM_DEVICE");
  return e && *e ? e : "/dev/kvm";
}

const KvmProbe& kvm_probe() {
  static const KvmProbe p = make_probe();
  return p;
}

std::vector<u64> program_seeds(u64 base, unsigned fallback) {
  if (const char* one = std::getenv("RV_KVM_SEED"); one && *one) return {std::strtoull(one, nullptr, 0)};
  unsigned n = fallback;
  if (const char* e = std::getenv("RV_KVM_PROGRAMS"); e && *e) {
    const long v = std::strtol(e, nullptr, 0);
    if (v > 0) n = static_cast<unsigned>(v);
  }
  std::vector<u64> seeds;
  for (unsigned i = 0; i < n; i++) seeds.push_back(oracle::mix_seed(base, i));
  return seeds;
}

Outcome outcome_of(Pc& pc, const RunResult& r) {
  pc.sync_cpu_state();
  Outcome o;
  o.kind = r.kind;
  o.status = r.exit_status;
  o.message = r.message;
  o.engine_switches = r.engine_switches;
  o.kvm_exits = r.kvm_exits;
  o.final_engine = pc.engine();
  o.cpu = pc.cpu().state();
  return o;
}

}  // namespace rv::kvmtest
