// The keeper: the process that supervises a job's ranks (stage: supervise).
//
//   launcher ── rankwrap (the wrapper: what the launcher started and waits for)
//                 └── keeper (own process group, child subreaper)
//                       └── rank(s), in the wrapper's process group
//                             └── whatever they start (stays the keeper's descendant)
//
// The wrapper relays the signals it receives to the keeper over a pipe and
// exits with the keeper's code. Why a separate process: a launcher that ends
// a task with kill(-wrapper_pgid, SIGKILL) (Hydra, Open MPI) or a user's
// kill -9 ends the wrapper at once, and nothing can run in a process that
// got SIGKILL. The keeper is outside that process group, sees the pipe close,
// and ends every descendant of the job, including those that left the group
// or the session. The ranks themselves stay in the wrapper's group so that
// the terminal (Ctrl-C, Ctrl-Z, stdin) and the launcher reach them directly.
#pragma once

#include <sys/types.h>

#include <functional>
#include <string>

#include "adapters/posix/child.h"
#include "core/env/snapshot.h"
#include "core/error.h"

namespace rankwrap::posix {

// One record on the wrapper-to-keeper pipe.
struct ControlRecord {
  char type = 'S';  // 'S': a signal the wrapper received
  unsigned char signal = 0;
  unsigned char from_tty = 0;  // sent by the terminal to the whole foreground group
  unsigned char pad = 0;
};

class Keeper {
 public:
  // Forks the keeper. It runs `body(control_fd)` and exits with its value;
  // `control_fd` is non-blocking and reads EOF when the wrapper is gone.
  // With `wait_for_env`, the keeper first blocks until Release (or EOF:
  // exits 0) and `body` gets the released environment through `released`.
  // With `relay_now`, the wrapper relays its signals from the moment of the
  // fork (none is lost or kills the wrapper in between); otherwise only
  // after RelaySignals().
  static Result<Keeper> Fork(bool wait_for_env,
                             const std::function<int(int control_fd, const EnvSnapshot* released)>& body,
                             bool relay_now = false);
  Keeper(Keeper&& o) noexcept;
  Keeper& operator=(Keeper&&) = delete;
  ~Keeper();

  pid_t pid() const { return pid_; }
  // Sends the environment the keeper waits for.
  Status Release(const EnvSnapshot& env);
  // From now on TERM, INT, HUP, QUIT, USR1, USR2 received by the wrapper go
  // to the keeper (which decides what the ranks get).
  void RelaySignals();
  // Waits for the keeper, calling `probe` about every 100 ms. When the
  // keeper itself was killed, ends what it left behind.
  ExitStatus Wait(const std::function<void()>& probe);
  // The keeper that waits for its environment exits 0 without running anything.
  void Abandon();
  // Ends the keeper and everything below it at once.
  void Kill();

 private:
  Keeper(pid_t pid, int fd) : pid_(pid), fd_(fd) {}
  pid_t pid_ = -1;
  int fd_ = -1;  // write end of the control pipe
};

// The last terminating signal (TERM, INT, HUP, QUIT) the wrapper relayed, or 0.
int LastRelayedSignal();

}  // namespace rankwrap::posix
