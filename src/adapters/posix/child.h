// How a child process ended, and signal names (stage: supervise). The
// processes themselves: adapters/posix/keeper.h and supervisor.h.
#pragma once

#include <string>

#include "core/supervise/policy.h"

namespace rankwrap::posix {

// How a child ended (the core's type: the supervision policy decides on it).
using ExitStatus = supervise::ProcessEnd;

// "SIGSEGV" for 11, "signal 42" for names it does not know.
std::string SignalName(int sig);

}  // namespace rankwrap::posix
