// A child process that waits for its environment (stage: exec, supervise
// mode). Forked before MPI, verbs or NCCL are touched in the parent (fork
// after them is fragile); released with its final environment when the
// parent knows it; then the parent stays its thin parent.
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

class WaitingChild {
 public:
  // Forks. The child puts itself in its own process group, asks to be
  // killed when the parent dies (PR_SET_PDEATHSIG), and blocks until
  // Release() or Abandon().
  static Result<WaitingChild> Fork(std::vector<std::string> argv);
  WaitingChild(WaitingChild&& other) noexcept;
  WaitingChild& operator=(WaitingChild&&) = delete;
  ~WaitingChild();

  // Sends `env`; the child execs argv with exactly that environment. Returns
  // the exec error (127 not found, 126 not executable) if exec failed.
  Status Release(const EnvSnapshot& env);
  // Tells the child to exit 0 without running anything.
  void Abandon();
  pid_t pid() const { return pid_; }
  // Waits for the child to end, calling `probe` about every 100 ms while it
  // runs. Signals forwarded meanwhile: see ForwardSignals.
  ExitStatus Wait(const std::function<void()>& probe);

 private:
  WaitingChild(pid_t pid, int go_fd, int err_fd) : pid_(pid), go_fd_(go_fd), err_fd_(err_fd) {}
  pid_t pid_ = -1;
  int go_fd_ = -1;
  int err_fd_ = -1;
};

// Forwards TERM, INT, HUP, QUIT, USR1 and USR2 received by this process to
// the process group `pgid`. A second INT within one second sends KILL.
void ForwardSignals(pid_t pgid);

// The last signal ForwardSignals passed on, or 0: when the program then dies
// of it, the stop came from outside (the launcher, scancel), not from the
// program.
int LastForwardedSignal();

}  // namespace rankwrap::posix
