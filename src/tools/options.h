// The command line (Boost.Program_options lives here only).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "app/config.h"
#include "core/env/snapshot.h"
#include "core/error.h"

namespace rankwrap::tools {

// The command line: the typed configuration (app::Config) and what only
// the command line does (actions, `rankwrap plan`).
struct Options {
  app::Config config;
  bool plan_command = false;       // `rankwrap plan ...`
  bool preflight_command = false;  // `rankwrap preflight ...`: check this node, run nothing
  bool help = false;
  bool version = false;
  bool explain = false;
  bool dry_run = false;
  bool print_env = false;
  bool json = false;
  bool report = false;
  // `rankwrap plan` only.
  std::optional<unsigned> ranks_per_node;
  std::string svg;
};

// Parses `rankwrap [OPTIONS] [--] PROGRAM [ARGS...]` and `rankwrap plan
// [OPTIONS]`. Options stop at the first word that is not an option (or at
// "--"): everything after belongs to the program. Every option may also
// come from RANKWRAP_<OPTION> in `env` (the flag wins), except --launcher:
// RANKWRAP_LAUNCHER is what rankwrap exports to the program. torchrun's
// spellings (--nproc-per-node, --local-ranks-filter, --redirects 3, --tee 3,
// --log_dir, --max_restarts) and srun's binding values (map_gpu:, ldoms,
// verbose) are accepted where they mean the same (docs/cli-compat.md); an
// unknown option's error suggests the closest one.
Result<Options> ParseCommandLine(int argc, const char* const* argv, const EnvSnapshot& env);

// The --help text: usage, the options by group, examples, the launchers and
// the exit codes.
std::string HelpText();
// `rankwrap plan --help`: the plan's options and the binding options only.
std::string PlanHelpText();
// `rankwrap preflight --help`.
std::string PreflightHelpText();
// `rankwrap hostnames --help` and `rankwrap hostlist --help` (`command` is
// "hostnames" or "hostlist").
std::string HostlistHelpText(const std::string& command);

}  // namespace rankwrap::tools
