// How a child process ended, and signal names (stage: supervise). The
// processes themselves: adapters/posix/keeper.h and supervisor.h.
#pragma once

#include <sys/types.h>

#include <functional>
#include <string>
#include <vector>

#include "core/env/snapshot.h"
#include "core/error.h"

namespace rankwrap::posix {

struct ExitStatus {
  int code = 0;    // exit code, when the child exited
  int signal = 0;  // the signal that killed it, else 0
  // The wrapper's exit code for this status: code, or 128 + signal.
  int WrapperCode() const { return signal != 0 ? 128 + signal : code; }
};

// "SIGSEGV" for 11, "signal 42" for names it does not know.
std::string SignalName(int sig);

}  // namespace rankwrap::posix
