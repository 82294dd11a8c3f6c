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
  bool plan_command = false;  // `rankwrap plan ...`
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
// RANKWRAP_LAUNCHER is what rankwrap exports to the program.
Result<Options> ParseCommandLine(int argc, const char* const* argv, const EnvSnapshot& env);

// The --help text.
std::string HelpText();

}  // namespace rankwrap::tools
