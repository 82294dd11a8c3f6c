// Supervision mechanics (stage: supervise): start child processes with
// their output on pipes, read it line by line, deliver exits and signals as
// events from one poll loop. No policy here: what to do on a failure lives
// in app/supervise.cc.
#pragma once

#include <sys/types.h>

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "adapters/posix/child.h"
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

struct Event {
  enum class Kind { kLine, kExit, kSignal } kind = Kind::kLine;
  int child = -1;          // index into the started children
  bool is_stderr = false;  // kLine
  std::string line;        // kLine, without the newline
  ExitStatus status;       // kExit
  int signal = 0;          // kSignal: a signal this process received
};

class Supervisor {
 public:
  Supervisor();
  ~Supervisor();
  Supervisor(const Supervisor&) = delete;
  Supervisor& operator=(const Supervisor&) = delete;

  // Starts every child in its own process group, killed if this process
  // dies (PR_SET_PDEATHSIG). An exec error is written to the child's
  // stderr by `format_error` and the child exits with its code.
  Status Start(std::vector<ChildSpec> specs, const std::function<std::string(const Error&)>& format_error);
  // The next event, or nullopt after `timeout_ms` (-1: wait forever).
  std::optional<Event> Next(int timeout_ms);
  // Sends `sig` to child `i`'s process group (if it still runs).
  void Signal(int i, int sig);
  bool Running(int i) const;
  int RunningCount() const;
  // True while events are queued (output read before an exit is delivered
  // before that exit, and after it).
  bool HasPending() const { return !pending_.empty(); }
  pid_t Pid(int i) const;
  std::size_t size() const { return children_.size(); }

 private:
  struct Child {
    pid_t pid = -1;
    int out = -1, err = -1;
    std::string out_buf, err_buf;
    bool exited = false;
    std::optional<ExitStatus> status;
  };
  bool Drain(int i, bool is_stderr, bool final);
  void Reap();
  std::vector<Child> children_;
  std::vector<Event> pending_;
};

// Catches TERM, INT, HUP, QUIT, USR1, USR2 (delivered to Supervisor::Next
// as kSignal events) and CHLD. Call before starting children.
Status CatchSignals();

// Free space of /dev/shm in bytes (total, available), or nullopt.
std::optional<std::pair<std::uint64_t, std::uint64_t>> ShmSpace();
// The oom_kill count of this process's cgroup (cgroup v2 memory.events), or nullopt.
std::optional<std::uint64_t> OomKillCount();

}  // namespace rankwrap::posix
