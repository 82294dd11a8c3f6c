// The command line (Boost.Program_options lives here only).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/env/snapshot.h"
#include "core/error.h"

namespace rankwrap::tools {

struct Options {
  bool plan_command = false;  // `rankwrap plan ...`
  bool help = false;
  bool version = false;
  bool explain = false;
  bool dry_run = false;
  bool print_env = false;
  bool json = false;
  bool report = false;
  std::string launcher;
  std::optional<std::string> master_addr;
  std::optional<std::uint16_t> master_port;
  // Binding.
  std::string bind = "auto";
  std::string gpu_bind = "closest";
  std::string gpu_visibility = "single";
  std::string cpu_bind = "auto";
  std::string mem_bind = "local";
  std::string topology;  // --topology FILE.xml; empty: this machine
  // Bootstrap.
  std::string nccl_bootstrap = "none";  // none | mpi
  std::optional<double> bootstrap_timeout;  // seconds
  bool nccl_comm_id = false;
  // Supervision.
  std::optional<unsigned> nproc;  // --nproc N: N local ranks, rankwrap their parent
  bool supervise = false;         // stay the program's parent (implied by --nproc)
  bool tag_output = false;
  std::string log_dir;
  bool tee = false;
  std::vector<std::uint64_t> ranks_filter;  // empty: every rank on the console
  double grace = 30.0;
  std::string failure_file;
  unsigned max_restarts = 0;
  std::vector<std::pair<int, int>> signal_map;  // received -> delivered
  // `rankwrap plan` only.
  std::optional<unsigned> ranks_per_node;
  std::string svg;
  std::vector<std::string> program;  // PROGRAM [ARGS...]
};

// Parses `rankwrap [OPTIONS] [--] PROGRAM [ARGS...]` and `rankwrap plan
// [OPTIONS]`. Options stop at the first word that is not an option (or at
// "--"): everything after belongs to the program. Every option may also
// come from RANKWRAP_<OPTION> in `env` (the flag wins), except --launcher:
// RANKWRAP_LAUNCHER is what rankwrap exports to the program.
Result<Options> ParseCommandLine(int argc, const char* const* argv, const EnvSnapshot& env);

// The --help text.
std::string HelpText();

}  // namespace rankwrap::tools
