// Runs a scheduler's command and captures its output (stage: supervise):
// `scontrol show config` for --grace scheduler, `scontrol requeue` for
// --requeue. No shell: argv as given, found on PATH.
#pragma once

#include <string>
#include <vector>

#include "core/error.h"

namespace rankwrap::posix {

struct CommandResult {
  int exit_code = 0;   // 128 + signal when it was killed
  std::string output;  // stdout and stderr together, at most 1 MiB
};

// The command's result, or an Error (exit 7) when it cannot be started or
// ran past `timeout` seconds (it is killed then).
Result<CommandResult> RunCommand(const std::vector<std::string>& argv, double timeout);

}  // namespace rankwrap::posix
