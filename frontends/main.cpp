// retrovisor: the command-line frontend. Parses the options, builds the PC, runs it and
// turns the way the run ended into the process exit status (README.md "Exit statuses").
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <exception>
#include <memory>

#include "devices/char_sink.h"
#include "frontends/cli_options.h"
#include "machine/pc.h"
#include "machine/tracer.h"

namespace {

int host_error(const std::string& msg) {
  std::fflush(stdout);
  std::fprintf(stderr, "retrovisor: error: %s\n", msg.c_str());
  return rv::kExitUsage;
}

int run(const rv::CliOptions& o) {
  rv::PcConfig cfg;
  cfg.ram_bytes = o.ram_bytes;
  cfg.bios = rv::load_bios_image(o.bios_path);
  cfg.bios_name = "BIOS image '" + o.bios_path + "'";
  cfg.on_triple_fault = o.on_triple_fault;
  cfg.max_insns = o.max_insns;
  cfg.cpu = o.cpu;

  std::unique_ptr<rv::CharSink> sink;
  if (o.debugcon == "stdio") sink = std::make_unique<rv::FileSink>(rv::FileSink::stdout_sink());
  else if (o.debugcon.rfind("file:", 0) == 0) sink = std::make_unique<rv::FileSink>(o.debugcon.substr(5));
  cfg.debugcon = sink.get();

  std::unique_ptr<std::FILE, int (*)(std::FILE*)> trace_file(nullptr, &std::fclose);
  std::unique_ptr<rv::InsnTracer> tracer;
  if (!o.trace_path.empty()) {
    trace_file.reset(std::fopen(o.trace_path.c_str(), "w"));
    if (!trace_file) return host_error("cannot open trace file '" + o.trace_path + "': " + std::strerror(errno));
    std::setvbuf(trace_file.get(), nullptr, _IOFBF, 1 << 20);
    tracer = std::make_unique<rv::InsnTracer>(trace_file.get());
  }

  rv::Pc pc(cfg);
  if (tracer) pc.set_trace(tracer.get());
  rv::RunResult r = pc.run();
  if (tracer) tracer->flush();
  std::fflush(stdout);
  if (!r.message.empty()) std::fprintf(stderr, "retrovisor: %s\n", r.message.c_str());
  if (o.stats) {
    double mips = r.cpu_seconds > 0 ? r.guest_insns / r.cpu_seconds / 1e6 : 0;
    std::fprintf(stderr, "retrovisor: stats: guest_insns=%llu host_s=%.3f cpu_s=%.3f mips=%.1f resets=%u\n",
                 static_cast<unsigned long long>(r.guest_insns), r.host_seconds, r.cpu_seconds, mips, r.resets);
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
    return run(*p.options);
  } catch (const std::exception& e) {
    // Host and configuration errors: unreadable files, bad images, no memory.
    return host_error(e.what());
  }
}
