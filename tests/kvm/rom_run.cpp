#include "tests/kvm/rom_run.h"

#include <sys/stat.h>

#include "devices/char_sink.h"

#ifndef RV_ROM_DIR
#error "RV_ROM_DIR must name the directory of the built test ROMs"
#endif

namespace rv::kvmtest {
namespace {

// Collects port 0xE9's bytes; with `toggle`, each newline asks the board for the other engine.
class ToggleSink final : public CharSink {
 public:
  explicit ToggleSink(bool toggle) : m_toggle(toggle) {}
  void put(u8 byte) override {
    text.push_back(static_cast<char>(byte));
    if (!m_toggle || byte != '\n' || !pc) return;
    std::string why;
    if (!pc->request_engine(pc->engine() == Engine::Kvm ? Engine::Interp : Engine::Kvm, why)) error = why;
  }
  Pc* pc = nullptr;
  std::string text, error;

 private:
  bool m_toggle;
};

}  // namespace

std::string rom_path(const std::string& name) { return std::string(RV_ROM_DIR) + "/" + name + ".bin"; }

bool rom_exists(const std::string& name) {
  struct stat st{};
  return stat(rom_path(name).c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

Outcome run_rom(const std::string& name, const RomSpec& spec, const CpuFeatures& cpu) {
  ToggleSink sink(spec.toggle_on_newline);
  PcConfig cfg;
  cfg.ram_bytes = 32 * MiB;   // as tests/run_rom.sh
  cfg.bios = load_bios_image(rom_path(name));
  cfg.bios_name = rom_path(name);
  cfg.debugcon = &sink;
  cfg.cpu = cpu;
  cfg.accel = spec.accel;
  cfg.kvm_device = kvm_device();
  cfg.engine_switches = spec.switches;
  cfg.kvm_ready = spec.toggle_on_newline;
  cfg.max_insns = 200'000'000;   // the interpreter's share, as tests/run_rom.sh
  Pc pc(cfg);
  sink.pc = &pc;
  const RunResult r = pc.run();
  Outcome o = outcome_of(pc, r);
  o.debugcon = sink.text;
  if (!sink.error.empty()) o.note = "engine request refused: " + sink.error;
  return o;
}

}  // namespace rv::kvmtest
