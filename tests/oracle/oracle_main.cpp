// oracle_test: the differential harness's driver (see oracle.h for the design).
//
//   oracle_test [--count N] [--seed S|random] [--mode 64|32|both] [--ops a,b,-c] [--max-items N]
//               [--fault-percent P] [--cpl0] [--verbose] [--reports N] [--no-minimize] [--list-ops]
//               [--selftest]
//     --ops           templates to use (names from --list-ops); "-name" excludes one; "simd"
//                     names all x87/MMX/SSE templates
//     --fault-percent chance that a memory operand is made to fault (#PF, #GP); default 2
//     --cpl0          run the interpreter at CPL 0 (HLT ends the run without an exception)
//     --reports       detailed failure reports to print (all failures are counted)
//     --selftest      corrupts every interpreter result: passes only if all cases fail
//     --strict-rf     also compare RFLAGS.RF in exception frames
//   oracle_test --case SEED --mode 64|32 [...]       re-runs one case and prints it in full
//   oracle_test --case SEED --item K --mode 64|32    re-runs the standalone repro of item K
//   oracle_test --record-corpus DIR [--count N --mode 32 --ops ... --seed S]
//                   runs as usual and also stores every case that needs compatibility mode
//                   (32-bit cases, 64-bit cases with far transfers) with its native end state
//                   in DIR/m<mode>-<ops>-<seed>.rvoc (corpus.h); needs a host that runs them
//   oracle_test --corpus-check [--corpus DIR] [--count N] [--ops ...]
//                   judges the interpreter against every recorded case (any host)
//   oracle_test --corpus-case FILE:K                  re-runs one recorded case in full
//   --corpus DIR    the recorded corpus (default: tests/oracle/corpus of the source tree)
//
// At start the runner probes what the host runs natively (NativeRunner::probe). Where it
// cannot run 32-bit code (or with RV_ORACLE_NO_COMPAT32=1, which makes any host behave so),
// it says so in one line, generates no 64-bit case that needs compatibility mode, and gives
// the 32-bit share of the cases to the recorded corpus instead: those are judged against the
// recorded native end states, and the closing lines say how many the corpus judged. Recorded
// cases whose results are the host's own (corpus_host_dependent) are not judged on a host of
// another vendor than the recording one.
//
// Cases run in a forked worker (the native run executes random code); if the worker dies the
// driver reports the case it was on and forks a new worker for the rest. The last line is
// "N passed, N failed"; the exit status is non-zero if anything failed.
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <algorithm>
#include <cstring>
#include <map>
#include <random>
#include <string>

#include "memory/log.h"
#include "tests/oracle/corpus.h"
#include "tests/oracle/generator.h"
#include "tests/oracle/interp_runner.h"
#include "tests/oracle/native_runner.h"
#include "tests/oracle/report.h"

namespace rv::oracle {
namespace {

struct Options {
  u64 count = 1000;
  u64 seed = 0x5EED;
  int modes = 3;              // bit 0: 64, bit 1: 32
  std::string ops;
  unsigned max_items = 8;
  unsigned fault_percent = 2;
  bool cpl0 = false, verbose = false, minimize = true, selftest = false;
  u64 reports = 10;
  bool single = false;
  u64 case_seed = 0;
  int item = -1;
  u64 crash_at = ~0ull;       // testing the driver: the worker kills itself at this case
  bool count_given = false;
  std::string record_dir;     // --record-corpus
  std::string corpus_dir = RV_ORACLE_CORPUS_DIR;
  bool corpus_check = false;  // --corpus-check: every case from the corpus
  std::string corpus_case;    // --corpus-case FILE:K
};

constexpr unsigned kMaxTemplates = 64;
struct Shared {            // MAP_SHARED between the driver and its workers
  u64 done, passed, failed, reported, current;
  u64 corpus32, corpus64;    // recorded cases judged, by mode
  u64 vendor_skipped;        // recorded cases not judged: results of another vendor's units
  u64 beyond;                // cases the corpus had none left for
  u64 recorded;              // cases stored by --record-corpus
  u64 culprit[kMaxTemplates];
};

std::vector<const Template*> enabled_for(Mode mode, const std::string& ops, bool cpl0) {
  std::vector<std::string> inc, exc;
  size_t pos = 0;
  while (pos < ops.size()) {
    size_t e = ops.find(',', pos);
    std::string w = ops.substr(pos, e == std::string::npos ? std::string::npos : e - pos);
    if (!w.empty()) (w[0] == '-' ? exc.push_back(w.substr(1)) : inc.push_back(w));
    if (e == std::string::npos) break;
    pos = e + 1;
  }
  u32 feats = host_features();
  std::vector<const Template*> out;
  for (const Template& t : all_templates()) {
    if (!(t.modes & (mode == Mode::Long64 ? 1 : 2))) continue;
    if (t.feature && !(feats & t.feature)) continue;
    // "simd" names every x87/MMX/SSE template at once.
    auto has = [&](const std::vector<std::string>& v) {
      for (auto& w : v) if (w == t.name || (t.simd && w == "simd")) return true;
      return false;
    };
    if (!inc.empty() && !has(inc)) continue;
    if (t.opt_in && !has(inc)) continue;
    if (has(exc)) continue;
    std::string n = t.name;
    if (cpl0 && (n == "traps" || n == "segs" || n == "far")) continue;   // CPL 3 behaviour, user selectors
    out.push_back(&t);
  }
  return out;
}

unsigned template_index(const std::string& name) {
  const auto& all = all_templates();
  for (unsigned i = 0; i < all.size() && i < kMaxTemplates; i++) if (name == all[i].name) return i;
  return 0;
}

// The recorded corpus (loaded by the driver before forking) and the cases of it this run
// judges, in order.
Corpus g_corpus;
std::vector<size_t> g_judged;
std::string g_scratch;   // --record-corpus: the workers' scratch file

bool served_by_corpus(const Options& o, Mode mode) { return o.corpus_check || (mode == Mode::Compat32 && !g_native_compat32); }
u64 corpus_index(const Options& o, u64 i) { return o.corpus_check || o.modes != 3 ? i : i / 2; }
// Cases that a host without compatibility mode cannot run: 32-bit ones, and 64-bit ones
// with far transfers (which may go to 32-bit code).
bool needs_compat(const Case& c) {
  if (c.mode == Mode::Compat32) return true;
  for (const std::string& n : c.item_name) if (n == "far") return true;
  return false;
}

bool make_program(u64 case_seed, Mode mode, const Options& o, Program& p, Case& c) {
  std::vector<const Template*> en = enabled_for(mode, o.ops, o.cpl0);
  if (en.empty()) return false;
  for (u64 attempt = 0; attempt < 100; attempt++) {
    p = generate(attempt ? mix_seed(case_seed, attempt) : case_seed, mode, en, o.max_items, o.fault_percent, !o.cpl0);
    p.seed = case_seed;
    if (layout(p, 0, p.items.size(), c)) return true;
  }
  return false;
}

std::string repro_cmd(u64 case_seed, Mode mode, const Options& o, int item = -1) {
  char buf[256];
  snprintf(buf, sizeof buf, "oracle_test --case 0x%" PRIx64 " --mode %s", case_seed, mode_name(mode));
  std::string s = buf;
  if (item >= 0) s += " --item " + std::to_string(item);
  if (!o.ops.empty()) s += " --ops " + o.ops;
  if (o.max_items != 8) s += " --max-items " + std::to_string(o.max_items);
  if (o.fault_percent != 2) s += " --fault-percent " + std::to_string(o.fault_percent);
  if (o.cpl0) s += " --cpl0";
  return s;
}

class Checker {
 public:
  explicit Checker(const Options& o) : m_o(o), m_interp(!o.cpl0) {}

  std::string check(const Case& c, Snapshot* n_out = nullptr, Snapshot* i_out = nullptr) {
    Snapshot n = NativeRunner::run(c);
    Snapshot i = m_interp.run(c);
    if (m_o.selftest) i.gpr[0] ^= 1;   // the comparison must notice
    std::string d = compare(c, n, i);
    if (n_out) *n_out = std::move(n);
    if (i_out) *i_out = std::move(i);
    return d;
  }

  // Judges the interpreter against a recorded case.
  void check_recorded(const CorpusEntry& e, Shared* sh) {
    std::string why = corpus_host_dependent(e.c, g_corpus.vendor);
    if (!why.empty()) {
      sh->vendor_skipped++;
      if (m_o.verbose) std::printf("not judged: recorded case %s:%zu: %s\n", e.file.c_str(), e.index, why.c_str());
      return;
    }
    Snapshot i = m_interp.run(e.c);
    if (m_o.selftest) i.gpr[0] ^= 1;
    std::string d = compare(e.c, e.native, i);
    (e.c.mode == Mode::Compat32 ? sh->corpus32 : sh->corpus64)++;
    if (d.empty()) { sh->passed++; return; }
    sh->failed++;
    if (sh->reported++ >= m_o.reports) return;
    std::printf("FAIL recorded case 0x%" PRIx64 " (mode %s, %s entry %zu, recorded on %s)\n  reproduce: oracle_test --corpus-case %s:%zu\n"
                "  sequence:\n%s  start:\n%s  native (recorded):\n%s  interp:\n%s  differences:\n%s",
                e.c.seed, mode_name(e.c.mode), e.file.c_str(), e.index, g_corpus.cpu.c_str(), e.file.c_str(), e.index,
                disassembly(e.c).c_str(), state_line(e.c).c_str(), result_line(e.c.mode, e.native).c_str(),
                result_line(e.c.mode, i).c_str(), d.c_str());
    std::fflush(stdout);
  }

  // Finds the first item whose prefix fails and builds a standalone case for it from the
  // native state just before it. Returns the item index, or -1.
  int culprit(const Program& p, Program& alone, Case& alone_case) {
    size_t k = 1;
    for (; k <= p.items.size(); k++) {
      Case pre;
      if (!layout(p, 0, k, pre)) return -1;
      if (!check(pre).empty()) break;
    }
    if (k > p.items.size()) return -1;
    alone = p;
    alone.items = {p.items[k - 1]};
    if (k > 1) {
      Case pre;
      layout(p, 0, k - 1, pre);
      Snapshot n = NativeRunner::run(pre);
      if (n.vector >= 0 || !n.note.empty()) return static_cast<int>(k - 1);
      alone.gpr = n.gpr;
      alone.rflags = (n.rflags & (kComparedFlags | 0x202)) | 0x202;
      alone.data = n.data;
      alone.stack = n.stack;
      alone.fpu = n.fpu;
    }
    alone.items[0].fixups.clear();
    for (const Fixup& f : p.items[k - 1].fixups) {
      Fixup g = f;
      if (g.kind != Fixup::RipDisp) g.target_item = f.target_item == static_cast<int>(k - 1) ? 0 : 1;   // self, or past the end
      alone.items[0].fixups.push_back(g);
    }
    if (!layout(alone, 0, 1, alone_case)) return static_cast<int>(k - 1);
    return static_cast<int>(k - 1);
  }

  void report(const Program& p, const Case& c, const std::string& diff, Shared* sh) {
    Snapshot n, i;
    check(c, &n, &i);
    std::printf("FAIL case 0x%" PRIx64 " (mode %s)\n  reproduce: %s\n  sequence:\n%s  start:\n%s  native:\n%s  interp:\n%s"
                "  differences:\n%s",
                c.seed, mode_name(c.mode), repro_cmd(c.seed, c.mode, m_o).c_str(), disassembly(c).c_str(),
                state_line(c).c_str(), result_line(c.mode, n).c_str(), result_line(c.mode, i).c_str(), diff.c_str());
    if (m_o.minimize && p.items.size() > 0) {
      Program alone;
      Case ac;
      int k = culprit(p, alone, ac);
      if (k < 0) {
        std::printf("  culprit: no failing prefix found (flaky?)\n");
      } else {
        if (sh) sh->culprit[template_index(p.items[static_cast<size_t>(k)].name)]++;
        std::string d2 = check(ac, &n, &i);
        std::printf("  culprit: item #%d (%s); alone from the native state before it: %s\n", k,
                    p.items[static_cast<size_t>(k)].name.c_str(), d2.empty() ? "passes (needs its context)" : "FAILS");
        if (!d2.empty()) {
          std::printf("    repro: %s\n    bytes: %s\n%s  start:\n%s  expected (native):\n%s  got (interp):\n%s  differences:\n%s",
                      repro_cmd(c.seed, c.mode, m_o, k).c_str(), hex(ac.code).c_str(), disassembly(ac).c_str(),
                      state_line(ac).c_str(), result_line(ac.mode, n).c_str(), result_line(ac.mode, i).c_str(), d2.c_str());
        }
      }
    }
    std::fflush(stdout);
  }

 private:
  const Options& m_o;
  InterpRunner m_interp;
};

Mode mode_of(const Options& o, u64 i) {
  if (o.modes == 1) return Mode::Long64;
  if (o.modes == 2) return Mode::Compat32;
  return i % 2 ? Mode::Compat32 : Mode::Long64;
}

[[noreturn]] void worker(const Options& o, Shared* sh, u64 start) {
  NativeRunner::install_handlers();
  Checker chk(o);
  alarm(60);
  for (u64 i = start; i < o.count; i++) {
    sh->current = i;
    if (i % 4096 == 0) alarm(60);
    if (i == o.crash_at) raise(SIGKILL);
    Mode mode = mode_of(o, i);
    if (served_by_corpus(o, mode)) {
      u64 k = corpus_index(o, i);
      if (k < g_judged.size()) chk.check_recorded(g_corpus.entry(g_judged[k]), sh);
      else sh->beyond++;
      sh->done = i + 1;
      continue;
    }
    u64 cs = mix_seed(o.seed, i);
    Program p;
    Case c;
    if (!make_program(cs, mode, o, p, c)) {
      std::printf("cannot generate case 0x%" PRIx64 " (no templates enabled for mode %s?)\n", cs, mode_name(mode));
      std::fflush(stdout);
      sh->failed++;
      sh->done = i + 1;
      continue;
    }
    Snapshot native;
    std::string d = chk.check(c, &native);
    if (!g_scratch.empty() && native.note.empty() && needs_compat(c)) {
      append_scratch(g_scratch, c, native);
      sh->recorded++;
    }
    if (d.empty()) {
      sh->passed++;
    } else {
      sh->failed++;
      if (sh->reported++ < o.reports) chk.report(p, c, d, sh);
      else if (o.minimize && sh->reported < o.reports + 2000) {   // still attribute the failure
        Program alone;
        Case ac;
        int k = chk.culprit(p, alone, ac);
        if (k >= 0) sh->culprit[template_index(p.items[static_cast<size_t>(k)].name)]++;
      }
    }
    sh->done = i + 1;
  }
  std::fflush(stdout);
  _exit(0);
}

int run_single(const Options& o) {
  NativeRunner::install_handlers();
  Mode mode = o.modes == 2 ? Mode::Compat32 : Mode::Long64;
  Program p;
  Case c;
  if (!make_program(o.case_seed, mode, o, p, c)) { std::printf("cannot generate the case\n"); return 2; }
  Checker chk(o);
  if (o.item >= 0) {
    Program alone;
    Case ac;
    int k = chk.culprit(p, alone, ac);
    if (k != o.item) std::printf("note: the first failing item is %d\n", k);
    if (k < 0) { std::printf("0 passed, 0 failed\n"); return 0; }
    c = ac;
  }
  Snapshot n, i;
  std::string d = chk.check(c, &n, &i);
  std::printf("case 0x%" PRIx64 " (mode %s)\n  sequence:\n%s  start:\n%s  native:\n%s  interp:\n%s", o.case_seed,
              mode_name(mode), disassembly(c).c_str(), state_line(c).c_str(), result_line(mode, n).c_str(),
              result_line(mode, i).c_str());
  if (!d.empty()) {
    std::printf("  differences:\n%s", d.c_str());
    if (o.item < 0) chk.report(p, c, d, nullptr);
  }
  std::printf("%d passed, %d failed\n", d.empty() ? 1 : 0, d.empty() ? 0 : 1);
  return d.empty() ? 0 : 1;
}

u64 parse_u64(const char* s) { return std::strtoull(s, nullptr, 0); }

// The recorded cases this run judges: those of its modes whose templates are all enabled,
// the files interleaved in proportion to their sizes (so that a short run samples each).
void judged_list(const Options& o) {
  if (o.cpl0) return;   // recorded at CPL 3
  std::vector<std::vector<size_t>> per_file(g_corpus.files.size());
  std::vector<std::string> en[2];
  for (int m = 0; m < 2; m++)
    for (const Template* t : enabled_for(m ? Mode::Compat32 : Mode::Long64, o.ops, false)) en[m].push_back(t->name);
  for (size_t k = 0; k < g_corpus.refs.size(); k++) {
    const Corpus::Ref& r = g_corpus.refs[k];
    int m = r.mode == Mode::Compat32 ? 1 : 0;
    if (!o.corpus_check && !(o.modes & (m ? 2 : 1))) continue;
    bool ok = true;
    for (const std::string& n : r.items) ok = ok && std::find(en[m].begin(), en[m].end(), n) != en[m].end();
    if (ok) per_file[r.blob].push_back(k);
  }
  std::vector<std::pair<double, size_t>> order;
  for (const auto& f : per_file)
    for (size_t at = 0; at < f.size(); at++) order.push_back({(static_cast<double>(at) + 0.5) / static_cast<double>(f.size()), f[at]});
  std::stable_sort(order.begin(), order.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  for (const auto& [key, k] : order) g_judged.push_back(k);
}

int run_corpus_case(const Options& o) {
  size_t colon = o.corpus_case.rfind(':');
  if (colon == std::string::npos) { std::fprintf(stderr, "--corpus-case takes FILE:K\n"); return 2; }
  std::string file = o.corpus_case.substr(0, colon);
  file = file.substr(file.rfind('/') == std::string::npos ? 0 : file.rfind('/') + 1);
  u64 index = parse_u64(o.corpus_case.c_str() + colon + 1);
  for (size_t k = 0; k < g_corpus.refs.size(); k++) {
    const Corpus::Ref& r = g_corpus.refs[k];
    std::string f = g_corpus.files[r.blob];
    if (f.substr(f.rfind('/') + 1) != file || r.index != index) continue;
    NativeRunner::install_handlers();
    CorpusEntry e = g_corpus.entry(k);
    InterpRunner interp(true);
    Snapshot i = interp.run(e.c);
    std::string d = compare(e.c, e.native, i);
    std::printf("recorded case 0x%" PRIx64 " (mode %s, %s entry %zu, recorded on %s)\n  sequence:\n%s  start:\n%s  native (recorded):\n%s  interp:\n%s",
                e.c.seed, mode_name(e.c.mode), e.file.c_str(), e.index, g_corpus.cpu.c_str(), disassembly(e.c).c_str(),
                state_line(e.c).c_str(), result_line(e.c.mode, e.native).c_str(), result_line(e.c.mode, i).c_str());
    if (!d.empty()) std::printf("  differences:\n%s", d.c_str());
    std::string why = corpus_host_dependent(e.c, g_corpus.vendor);
    if (!why.empty()) std::printf("  note: not judged in runs on this host: %s\n", why.c_str());
    std::printf("%d passed, %d failed\n", d.empty() ? 1 : 0, d.empty() ? 0 : 1);
    return d.empty() ? 0 : 1;
  }
  std::fprintf(stderr, "oracle_test: no recorded case %s in %s\n", o.corpus_case.c_str(), o.corpus_dir.c_str());
  return 2;
}

int main_impl(int argc, char** argv) {
  Options o;
  for (int a = 1; a < argc; a++) {
    std::string k = argv[a];
    auto val = [&]() -> const char* {
      if (a + 1 >= argc) { std::fprintf(stderr, "%s needs a value\n", k.c_str()); std::exit(2); }
      return argv[++a];
    };
    if (k == "--count") { o.count = parse_u64(val()); o.count_given = true; }
    else if (k == "--record-corpus") o.record_dir = val();
    else if (k == "--corpus") o.corpus_dir = val();
    else if (k == "--corpus-check") o.corpus_check = true;
    else if (k == "--corpus-case") o.corpus_case = val();
    else if (k == "--seed") {
      std::string v = val();
      o.seed = v == "random" ? std::random_device{}() ^ (static_cast<u64>(std::random_device{}()) << 32) : parse_u64(v.c_str());
    } else if (k == "--mode") {
      std::string v = val();
      o.modes = v == "64" ? 1 : v == "32" ? 2 : v == "both" ? 3 : 0;
      if (!o.modes) { std::fprintf(stderr, "--mode is 64, 32 or both\n"); return 2; }
    } else if (k == "--ops") o.ops = val();
    else if (k == "--max-items") o.max_items = static_cast<unsigned>(std::max<u64>(1, parse_u64(val())));
    else if (k == "--cpl0") o.cpl0 = true;
    else if (k == "--strict-rf") g_strict_rf = true;
    else if (k == "--fault-percent") o.fault_percent = static_cast<unsigned>(parse_u64(val()));
    else if (k == "--verbose") o.verbose = true;
    else if (k == "--reports") o.reports = parse_u64(val());
    else if (k == "--no-minimize") o.minimize = false;
    else if (k == "--selftest") o.selftest = true;
    else if (k == "--case") { o.single = true; o.case_seed = parse_u64(val()); }
    else if (k == "--item") o.item = static_cast<int>(parse_u64(val()));
    else if (k == "--crash-at") o.crash_at = parse_u64(val());
    else if (k == "--list-ops") {
      u32 f = host_features();
      for (const Template& t : all_templates())
        std::printf("%-14s modes:%s%s%s%s%s\n", t.name, t.modes & 1 ? " 64" : "", t.modes & 2 ? " 32" : "",
                    t.feature && !(f & t.feature) ? " (host lacks the feature: disabled)" : "",
                    t.opt_in ? " (opt-in: only when named in --ops)" : "", t.simd ? " [simd]" : "");
      return 0;
    } else {
      std::fprintf(stderr, "unknown option %s (see the comment at the top of oracle_main.cpp)\n", k.c_str());
      return 2;
    }
  }
  set_log_quiet(!o.verbose);
  NativeRunner::map_pages();
  // What this host runs natively (a probe, not a guess).
  NativeRunner::Probe probe = NativeRunner::probe();
  if (!probe.ok64) {
    std::fprintf(stderr, "oracle_test: this host cannot run the oracle's 64-bit sequences natively (%s)\n", probe.why64.c_str());
    return 2;
  }
  const char* no_compat = std::getenv("RV_ORACLE_NO_COMPAT32");
  bool forced = no_compat && *no_compat && std::strcmp(no_compat, "0") != 0;
  g_native_compat32 = probe.compat32 && !forced;
  bool wants32 = (o.modes & 2) || o.corpus_check || !o.corpus_case.empty();
  if (!g_native_compat32 && wants32) {
    if (forced && probe.compat32)
      std::printf("oracle: RV_ORACLE_NO_COMPAT32=1: behaving as a host that cannot run 32-bit code natively; 32-bit cases are checked against the recorded corpus instead\n");
    else
      std::printf("oracle: this host cannot run 32-bit code natively (%s); 32-bit cases are checked against the recorded corpus instead\n",
                  probe.compat32 ? "RV_ORACLE_NO_COMPAT32=1" : probe.why32.c_str());
  }
  if (!o.record_dir.empty() && !g_native_compat32) {
    std::fprintf(stderr, "oracle_test: --record-corpus needs a host that runs 32-bit code natively (here: %s)\n",
                 forced ? "RV_ORACLE_NO_COMPAT32=1" : probe.why32.c_str());
    return 2;
  }
  if (o.single && o.modes == 2 && !g_native_compat32) {
    std::fprintf(stderr, "oracle_test: this host cannot run 32-bit code natively; recorded cases re-run with --corpus-case FILE:K\n");
    return 2;
  }
  if (o.single) return run_single(o);
  bool need_corpus = o.corpus_check || !o.corpus_case.empty() || (!g_native_compat32 && (o.modes & 2));
  if (need_corpus) {
    try {
      g_corpus = read_corpus_dir(o.corpus_dir);
    } catch (const CorpusError& e) {
      std::fprintf(stderr, "oracle_test: corpus: %s\n", e.what());
      return 2;
    }
    if (!o.corpus_case.empty()) return run_corpus_case(o);
    judged_list(o);
    if (o.corpus_check && !o.count_given) o.count = g_judged.size();
    std::printf("oracle: corpus %s: %zu files, %zu cases recorded on %s (%s); %zu of them for this run's modes and templates\n",
                o.corpus_dir.c_str(), g_corpus.files.size(), g_corpus.refs.size(), g_corpus.vendor.c_str(), g_corpus.cpu.c_str(),
                g_judged.size());
    if (g_judged.empty() && (o.corpus_check || o.modes == 2)) {
      std::printf("oracle: nothing to judge: the corpus holds no case for this run%s (skipped)\n",
                  o.cpl0 ? " (its cases are recorded at CPL 3, not --cpl0)" : "");
      return 77;
    }
  }
  if (!o.record_dir.empty()) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "/.scratch-%d", static_cast<int>(getpid()));
    g_scratch = o.record_dir + buf;
    std::remove(g_scratch.c_str());
  }

  auto* sh = static_cast<Shared*>(mmap(nullptr, sizeof(Shared), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0));
  std::memset(sh, 0, sizeof *sh);
  if (o.corpus_check)
    std::printf("oracle: %" PRIu64 " recorded cases%s\n", o.count, o.ops.empty() ? "" : (", ops " + o.ops).c_str());
  else
    std::printf("oracle: %" PRIu64 " cases, seed 0x%" PRIx64 ", mode %s%s\n", o.count, o.seed,
                o.modes == 3 ? "both" : o.modes == 1 ? "64" : "32", o.ops.empty() ? "" : (", ops " + o.ops).c_str());
  auto t0 = std::chrono::steady_clock::now();
  u64 start = 0;
  while (start < o.count) {
    std::fflush(nullptr);
    pid_t pid = fork();
    if (pid == 0) worker(o, sh, start);
    int st = 0;
    waitpid(pid, &st, 0);
    if (WIFEXITED(st) && WEXITSTATUS(st) == 0 && sh->done >= o.count) break;
    u64 bad = sh->current;
    Mode mode = mode_of(o, bad);
    u64 cs = mix_seed(o.seed, bad);
    std::printf("FAIL case 0x%" PRIx64 " (mode %s): the worker died (%s %d)\n  reproduce: %s\n", cs, mode_name(mode),
                WIFSIGNALED(st) ? "signal" : "exit status", WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st),
                repro_cmd(cs, mode, o).c_str());
    Program p;
    Case c;
    if (make_program(cs, mode, o, p, c)) std::printf("  sequence:\n%s", disassembly(c).c_str());
    sh->failed++;
    start = bad + 1;
  }
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  bool any = false;
  for (unsigned t = 0; t < kMaxTemplates && t < all_templates().size(); t++) {
    if (!sh->culprit[t]) continue;
    if (!any) std::printf("failures by culprit template:");
    any = true;
    std::printf(" %s=%" PRIu64, all_templates()[t].name, sh->culprit[t]);
  }
  if (any) std::printf("\n");
  if (need_corpus) {
    std::printf("oracle: the corpus judged %" PRIu64 " cases (%" PRIu64 " 32-bit, %" PRIu64 " 64-bit with far transfers)", sh->corpus32 + sh->corpus64,
                sh->corpus32, sh->corpus64);
    if (sh->vendor_skipped)
      std::printf("; %" PRIu64 " not judged: they use RCP/RSQRT, x87 transcendentals or DPPS/DPPD, whose bits are the host's own and differ from %s's",
                  sh->vendor_skipped, g_corpus.vendor.c_str());
    if (sh->beyond) std::printf("; %" PRIu64 " more were asked for than it holds", sh->beyond);
    std::printf("\n");
  }
  if (!g_scratch.empty()) {
    std::string name = o.record_dir + "/m" + (o.modes == 3 ? std::string("both") : mode_name(o.modes == 1 ? Mode::Long64 : Mode::Compat32)) +
                       "-" + (o.ops.empty() ? std::string("all") : o.ops) + "-" + [&] { char b[32]; std::snprintf(b, sizeof b, "%" PRIx64, o.seed); return std::string(b); }() + ".rvoc";
    for (char& ch : name) if (ch == ',') ch = '+';
    std::string header = "vendor=" + host_vendor() + "\ncpu=" + host_cpu_name() + "\nseed=" + std::to_string(o.seed) +
                         "\nmode=" + (o.modes == 3 ? "both" : o.modes == 1 ? "64" : "32") + "\nops=" + o.ops + "\n";
    try {
      u32 n = sh->recorded ? finish_corpus(g_scratch, name, header) : 0;
      std::remove(g_scratch.c_str());
      std::printf("oracle: recorded %u cases in %s\n", n, sh->recorded ? name.c_str() : "(none: nothing needed compatibility mode)");
    } catch (const CorpusError& e) {
      std::fprintf(stderr, "oracle_test: %s\n", e.what());
      return 2;
    }
  }
  std::printf("%.1f s, %.0f cases/s\n", secs, secs > 0 ? static_cast<double>(sh->passed + sh->failed) / secs : 0.0);
  std::printf("%" PRIu64 " passed, %" PRIu64 " failed\n", sh->passed, sh->failed);
  if (o.selftest) return sh->passed == 0 && sh->failed == o.count - sh->vendor_skipped - sh->beyond ? 0 : 1;
  return sh->failed ? 1 : 0;
}

}  // namespace
}  // namespace rv::oracle

int main(int argc, char** argv) {
  try {
    return rv::oracle::main_impl(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "oracle_test: %s\n", e.what());
    return 2;
  }
}
