// retrovisor: the command-line frontend. Parses the options, builds the PC, runs it and
// turns the way the run ended into the process exit status (README.md "Exit statuses").
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <exception>
#include <memory>
#include <thread>

#include "devices/char_sink.h"
#include "frontends/cli_options.h"
#include "frontends/gdb_stub.h"
#include "frontends/monitor.h"
#include "frontends/terminal_input.h"
#include "machine/pc.h"
#include "machine/replay_log.h"
#include "machine/timeline.h"
#include "machine/snapshot.h"
#include "machine/tracer.h"

namespace {

// A second name for a sink (--serial stdio with --debugcon stdio share stdout).
class SharedSink final : public rv::CharSink {
 public:
  explicit SharedSink(rv::CharSink& s) : m_s(s) {}
  void put(rv::u8 b) override { m_s.put(b); }
  void flush() override { m_s.flush(); }
  std::string error() const override { return m_s.error(); }

 private:
  rv::CharSink& m_s;
};

int host_error(const std::string& msg) {
  std::fflush(stdout);
  std::fprintf(stderr, "retrovisor: error: %s\n", msg.c_str());
  return rv::kExitUsage;
}

// --record: the machine's arguments (all but --record FILE), for --replay.
std::vector<std::string> recorded_args(int argc, char** argv) {
  std::vector<std::string> out;
  for (int i = 1; i < argc; i++) {
    std::string a = argv[i];
    if (a == "--record") { i++; continue; }
    if (a.rfind("--record=", 0) == 0) continue;
    out.push_back(a);
  }
  return out;
}

// The files a run reads, with their hashes (recorded, then checked by --replay).
std::vector<std::pair<std::string, rv::u64>> input_files(const rv::CliOptions& o, const rv::PcConfig& cfg) {
  std::vector<std::pair<std::string, rv::u64>> f;
  auto add = [&](const std::string& path, const std::shared_ptr<const std::vector<rv::u8>>& data) {
    if (data) f.push_back({path, rv::fnv1a(data->data(), data->size())});
  };
  add(o.bios_path, cfg.bios);
  add(o.kernel_path, cfg.kernel);
  add(o.initrd_path, cfg.initrd);
  return f;
}

int run(const rv::CliOptions& o, int argc, char** argv, rv::LogReader* replay, const rv::Snapshot* snap = nullptr) {
  rv::PcConfig cfg;
  std::unique_ptr<rv::LogWriter> record;   // --record
  cfg.ram_bytes = o.ram_bytes;
  if (!o.bios_path.empty()) {
    cfg.bios = rv::load_bios_image(o.bios_path);
    cfg.bios_name = "BIOS image '" + o.bios_path + "'";
  }
  if (!o.kernel_path.empty()) {
    // No kernel or initrd can be larger than the guest's RAM; checked before reading.
    cfg.kernel = rv::load_host_file(o.kernel_path, "kernel", o.ram_bytes, "the guest's RAM");
    cfg.kernel_name = o.kernel_path;
    if (!o.initrd_path.empty()) {
      cfg.initrd = rv::load_host_file(o.initrd_path, "initrd", o.ram_bytes, "the guest's RAM");
      cfg.initrd_name = o.initrd_path;
    }
    cfg.cmdline = o.append;
  }
  cfg.on_triple_fault = o.on_triple_fault;
  cfg.max_insns = o.max_insns;
  cfg.no_reboot = o.no_reboot;
  cfg.pace = o.pace;
  if (o.realtime_clock) {
    // The only place host time enters the machine (DESIGN.md decision 7).
    cfg.host_clock = [] {
      return static_cast<rv::Nanos>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                    std::chrono::steady_clock::now().time_since_epoch())
                                    .count());
    };
    cfg.host_sleep = [](rv::Nanos ns) { std::this_thread::sleep_for(std::chrono::nanoseconds(ns)); };
  }
  cfg.cpu = o.cpu;
  cfg.accel = o.accel;
  cfg.kvm_ready = o.kvm_ready;
  cfg.kvm_device = o.kvm_device;
  cfg.engine_switches = o.engine_switches;

  std::unique_ptr<rv::CharSink> sink;
  if (o.debugcon == "stdio") sink = std::make_unique<rv::FileSink>(rv::FileSink::stdout_sink());
  else if (o.debugcon.rfind("file:", 0) == 0) sink = std::make_unique<rv::FileSink>(o.debugcon.substr(5));
  cfg.debugcon = sink.get();
  // --serial stdio: COM1's output goes to stdout, its input comes from stdin (a terminal
  // in raw mode, Ctrl-A X quits, Ctrl-A C opens the monitor: frontends/terminal_input.h).
  std::unique_ptr<rv::CharSink> serial;
  if (o.serial == "stdio") {
    if (o.debugcon == "stdio") serial = std::make_unique<SharedSink>(*sink);
    else serial = std::make_unique<rv::FileSink>(rv::FileSink::stdout_sink());
  } else if (o.serial.rfind("file:", 0) == 0) {
    serial = std::make_unique<rv::FileSink>(o.serial.substr(5));
  }
  cfg.serial = serial.get();
  std::unique_ptr<rv::CharSink> serial_extra[3];
  for (int i = 0; i < 3; i++) {
    if (o.serial_extra[i].rfind("file:", 0) == 0) serial_extra[i] = std::make_unique<rv::FileSink>(o.serial_extra[i].substr(5));
    cfg.serial_extra[i] = serial_extra[i].get();
  }
  // A replay or recording under gdb goes back and forth: the guest's output is shown the first time its
  // instructions run, not again when a seek runs through them (Timeline::output_open).
  std::unique_ptr<rv::Timeline> timeline;
  std::vector<std::unique_ptr<rv::GatedSink>> gates;
  const bool reversible = o.gdb_port && (replay || !o.record_path.empty());   // a Timeline (below)
  if (reversible) {
    auto gate = [&](rv::CharSink*& k) {
      if (!k) return;
      gates.push_back(std::make_unique<rv::GatedSink>(*k, [&timeline] { return !timeline || timeline->output_open(); }));
      k = gates.back().get();
    };
    gate(cfg.debugcon);
    gate(cfg.serial);
    for (rv::CharSink*& k : cfg.serial_extra) gate(k);
  }
  std::unique_ptr<rv::TerminalInput> input;
  if (o.serial == "stdio" && !replay) {   // a replay's input is the log's only
    input = std::make_unique<rv::TerminalInput>();
    cfg.serial_input = [in = input.get()] { return in->next(); };
    cfg.idle_wait = [in = input.get()](rv::Nanos ns) { in->wait(ns); };
  }

  std::unique_ptr<std::FILE, int (*)(std::FILE*)> trace_file(nullptr, &std::fclose);
  std::unique_ptr<rv::InsnTracer> tracer;
  if (!o.trace_path.empty()) {
    trace_file.reset(std::fopen(o.trace_path.c_str(), "w"));
    if (!trace_file) return host_error("cannot open trace file '" + o.trace_path + "': " + std::strerror(errno));
    std::setvbuf(trace_file.get(), nullptr, _IOFBF, 1 << 20);
    tracer = std::make_unique<rv::InsnTracer>(trace_file.get());
  }

  // Output the host could not write (a full disk, an I/O error) ends the run: status 2.
  auto output_error = [&]() -> std::string {
    for (rv::CharSink* k : {sink.get(), serial.get(), serial_extra[0].get(), serial_extra[1].get(), serial_extra[2].get()})
      if (k && !k->error().empty()) return k->error();
    if (tracer && !tracer->error().empty()) return tracer->error();
    if (record && !record->error().empty()) return record->error();
    return {};
  };
  cfg.output_error = output_error;
  cfg.savevm_at = o.savevm_at;
  if (snap) {
    // The same machine: every input file must be the one the snapshot's machine read.
    const auto now = input_files(o, cfg);
    for (const auto& [path, hash] : snap->origin.files) {
      bool found = false;
      for (const auto& [p2, h2] : now)
        if (p2 == path) {
          found = true;
          if (h2 != hash) return host_error("--loadvm: '" + path + "' differs from the file the snapshot's machine read");
        }
      if (!found) return host_error("--loadvm: the snapshot's machine read '" + path + "', this run does not");
    }
    cfg.snapshot_origin = snap->origin;
  } else {
    cfg.snapshot_origin = {o.machine_args, input_files(o, cfg)};
  }
  constexpr rv::u64 kHashInterval = 1ull << 28;   // a state hash every 268 million counted instructions
  if (replay) {
    // The same machine: every input file must be the recorded one, byte for byte (their
    // hashes were taken once, for snapshots: cfg.snapshot_origin).
    const auto& now = cfg.snapshot_origin.files;
    for (const auto& [path, hash] : replay->header().files) {
      bool found = false;
      for (const auto& [p2, h2] : now) {
        if (p2 != path) continue;
        found = true;
        if (h2 != hash) return host_error("--replay: '" + path + "' differs from the file the recording read");
      }
      if (!found) return host_error("--replay: the recording read '" + path + "', this run does not");
    }
  } else if (!o.record_path.empty()) {
    rv::LogHeader h;
    h.args = recorded_args(argc, argv);
    h.files = cfg.snapshot_origin.files;
    h.hash_interval = kHashInterval;
    record = std::make_unique<rv::LogWriter>(o.record_path, h);   // LogError: a clear line
  }
  rv::Pc pc(cfg);
  if (snap) {
    try {
      rv::load_snapshot(pc, *snap, o.loadvm_path);
    } catch (const rv::SnapshotError& e) {
      return host_error(std::string("--loadvm: ") + e.what());
    }
  }
  if (record) pc.set_record(record.get(), kHashInterval);
  if (replay) pc.set_replay(replay, replay->header().hash_interval);
  if (!pc.accel_note().empty()) std::fprintf(stderr, "retrovisor: %s\n", pc.accel_note().c_str());
  rv::Monitor monitor(pc);
  if (input) input->attach_monitor(&monitor);
  if (tracer) pc.set_trace(tracer.get());
  rv::RunResult r;
  if (o.gdb_port) {
    if (reversible) timeline = std::make_unique<rv::Timeline>(pc, o.checkpoint_mem);
    rv::GdbStub gdb(pc, o.gdb_port, timeline.get());
    r = gdb.serve();
    timeline.reset();   // before the machine it hooks into
  } else {
    r = pc.run();
  }
  if (record) {
    record->flush();
    if (!record->error().empty() && r.kind != rv::StopKind::OutputError) {
      r.kind = rv::StopKind::OutputError;
      r.exit_status = rv::kExitUsage;
      r.message = record->error();
    }
  }
  if (tracer) tracer->flush();
  for (rv::CharSink* k : {sink.get(), serial.get(), serial_extra[0].get(), serial_extra[1].get(), serial_extra[2].get()})
    if (k) k->flush();
  std::fflush(stdout);
  if (r.kind != rv::StopKind::OutputError && !output_error().empty()) {   // failed at the last flush
    r.kind = rv::StopKind::OutputError;
    r.exit_status = rv::kExitUsage;
    r.message = output_error();
  }
  if (!r.message.empty()) std::fprintf(stderr, "retrovisor: %s\n", r.message.c_str());
  if (o.stats) {
    double mips = r.cpu_seconds > 0 ? r.guest_insns / r.cpu_seconds / 1e6 : 0;
    std::fprintf(stderr, "retrovisor: stats: guest_insns=%llu host_s=%.3f cpu_s=%.3f mips=%.1f resets=%u\n",
                 static_cast<unsigned long long>(r.guest_insns), r.host_seconds, r.cpu_seconds, mips, r.resets);
    std::fprintf(stderr, "retrovisor: stats: blocks_cached=%zu block_cache_flushes=%llu\n", pc.cpu().cached_blocks(),
                 static_cast<unsigned long long>(pc.cpu().cache_flushes()));
    if (r.engine_switches || r.kvm_seconds > 0)
      std::fprintf(stderr, "retrovisor: stats: engine_switches=%u kvm_s=%.3f kvm_exits=%llu (guest_insns counts the interpreter's only)\n",
                   r.engine_switches, r.kvm_seconds, static_cast<unsigned long long>(r.kvm_exits));
  }
  return r.exit_status;
}

}  // namespace

int main(int argc, char** argv) {
  rv::CliParse p = rv::parse_command_line(argc, argv);
  if (!p.options) {
    std::fputs(p.text.c_str(), p.exit_status == 0 ? stdout : stderr);
    return p.exit_status;
  }
  try {
    if (!p.options->loadvm_path.empty()) {
      // --loadvm: the machine comes from the snapshot's command line; the run's own options
      // from this one.
      rv::Snapshot snap;
      try {
        snap = rv::read_snapshot(p.options->loadvm_path);
      } catch (const rv::SnapshotError& e) {
        return host_error(std::string("--loadvm: ") + e.what());
      }
      std::vector<const char*> args{argv[0]};
      for (const std::string& a : snap.origin.args) args.push_back(a.c_str());
      rv::CliParse rec = rv::parse_command_line(static_cast<int>(args.size()), args.data());
      if (!rec.options) return host_error("--loadvm: " + p.options->loadvm_path + ": the snapshot's command line is not valid: " + rec.text);
      rv::CliOptions o = *rec.options;
      const rv::CliOptions& here = *p.options;
      o.serial = here.serial;
      o.serial_extra = here.serial_extra;
      o.debugcon = here.debugcon;
      o.trace_path = here.trace_path;
      o.stats = here.stats;
      o.max_insns = here.max_insns;
      o.savevm_at = here.savevm_at;
      o.gdb_port = here.gdb_port;
      o.loadvm_path = here.loadvm_path;
      if (here.realtime_clock || !here.pace) {
        o.realtime_clock = here.realtime_clock;
        o.pace = here.pace;
      }
      if (here.accel != rv::Accel::Interp || here.kvm_ready) {
        o.accel = here.accel;
        o.kvm_ready = here.kvm_ready;
        o.kvm_device = here.kvm_device;
      }
      return run(o, argc, argv, nullptr, &snap);
    }
    if (p.options->replay_path.empty()) return run(*p.options, argc, argv, nullptr);
    // --replay: the machine comes from the log's recorded command line; the output options
    // from this one.
    rv::LogReader log(p.options->replay_path);
    std::vector<const char*> args{argv[0]};
    for (const std::string& a : log.header().args) args.push_back(a.c_str());
    rv::CliParse rec = rv::parse_command_line(static_cast<int>(args.size()), args.data());
    if (!rec.options) return host_error("--replay: " + p.options->replay_path + ": the recorded command line is not valid: " + rec.text);
    rv::CliOptions o = *rec.options;
    const rv::CliOptions& here = *p.options;
    o.serial = here.serial;
    o.serial_extra = here.serial_extra;
    o.debugcon = here.debugcon;
    o.trace_path = here.trace_path;
    o.stats = here.stats;
    o.gdb_port = here.gdb_port;
    o.checkpoint_mem = here.checkpoint_mem;
    o.record_path.clear();
    return run(o, argc, argv, &log);
  } catch (const std::exception& e) {
    // Host and configuration errors: unreadable files, bad images, no memory.
    return host_error(e.what());
  }
}
