// Supervision mechanics (stage: supervise): start the ranks, move their
// output, deliver exits, signals and the loss of the parent as events from
// one poll loop, and end every process the job started. No policy here:
// what to do on a failure lives in app/supervise.cc.
//
// This runs in rankwrap's keeper process (adapters/posix/keeper.h): a child
// subreaper in a process group of its own, so every descendant of a rank
// stays findable, and a launcher killing the wrapper's process group does
// not kill the keeper before it has ended them.
#pragma once

#include <sys/types.h>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "adapters/posix/child.h"
#include "adapters/posix/output.h"
#include "core/env/snapshot.h"
#include "core/error.h"

namespace rankwrap::posix {

struct ChildSpec {
  std::vector<std::string> argv;
  EnvSnapshot env;
  // Runs in the child after fork, before exec (binding). Returns an error to
  // stop the child.
  std::function<Status()> before_exec;
};

struct StartOptions {
  pid_t pgid = 0;            // the process group the ranks join (the launcher's/terminal's); 0: this one's
  int stdin_child = 0;       // the child that gets stdin; the others read /dev/null (-1: none)
  bool pipe_output = false;  // through OutputRouter; else the ranks write to rankwrap's stdout/stderr directly
};

struct Event {
  enum class Kind { kExit, kSignal, kParentGone, kWatched } kind = Kind::kExit;
  int child = -1;         // kExit: index into the started children
  ExitStatus status;      // kExit
  int signal = 0;         // kSignal: a signal the wrapper received
  bool from_tty = false;  // kSignal: sent by the terminal to the whole foreground group (the ranks got it too)
};

class Supervisor {
 public:
  // `control_fd`: the keeper's pipe from the wrapper (signals, and EOF when
  // the wrapper is gone), or -1. `router`: where piped output goes.
  Supervisor(int control_fd, OutputRouter* router);
  ~Supervisor();
  Supervisor(const Supervisor&) = delete;
  Supervisor& operator=(const Supervisor&) = delete;

  // Starts every child. An error before exec is written to the child's
  // stderr by `format_error` and the child exits with its code. On error,
  // the children started so far are killed.
  Status Start(std::vector<ChildSpec> specs, const StartOptions& so,
               const std::function<std::string(const Error&)>& format_error);
  // The next event, or nullopt after `timeout_ms` (-1: no limit). Output is
  // moved meanwhile, a bounded amount per turn, after exits and signals.
  std::optional<Event> Next(int timeout_ms);
  // Sends `sig` to every process the job started that still runs, whatever
  // process group or session it moved to.
  void SignalAll(int sig);
  // Also wait for `fd` to become readable (a kWatched event each time it is;
  // the caller must drain or stop watching it).
  void Watch(int fd) { watch_fd_ = fd; }
  int RunningCount() const;
  // Events taken from the system but not yet returned by Next (a second
  // rank's exit reaped in the same turn as the first's).
  bool HasPending() const { return next_pending_ < pending_.size(); }
  bool Running(int i) const { return !children_[static_cast<std::size_t>(i)].exited; }
  // True while a process of the job runs (a rank, or anything it started).
  bool AnyAlive() const;
  pid_t Pid(int i) const { return children_[static_cast<std::size_t>(i)].pid; }
  std::size_t size() const { return children_.size(); }
  // After every process ended: the rest of the output, then the consoles.
  void FinishOutput();

 private:
  struct Child {
    pid_t pid = -1;
    int out = -1, err = -1;
    bool exited = false;
  };
  void Reap();
  void PushSignal(int sig, bool from_tty, bool direct);
  void ReadControl();
  bool ReadOutput(int i, bool is_stderr);  // false at EOF
  int control_fd_;
  OutputRouter* router_;
  std::vector<Child> children_;
  std::vector<Event> pending_;
  std::size_t next_pending_ = 0;
  bool parent_gone_ = false;
  bool first_turn_ = true;
  int last_signal_ = 0;
  double last_signal_at_ = -1e9;
  bool last_direct_ = false, last_paired_ = false;
  int watch_fd_ = -1;
};

// Catches CHLD (to wake the loop) and TERM, INT, HUP, QUIT, USR1, USR2 sent
// to the keeper itself (Next reports them as signals from outside, one event
// when the wrapper relays the same), and ignores PIPE. Call in the keeper
// before starting children.
Status PrepareSignals();

// Monotonic seconds.
double Now();

// Free space of /dev/shm in bytes (total, available), or nullopt.
std::optional<std::pair<std::uint64_t, std::uint64_t>> ShmSpace();
// The oom_kill count of this process's cgroup (cgroup v2 memory.events), or nullopt.
std::optional<std::uint64_t> OomKillCount();

}  // namespace rankwrap::posix
