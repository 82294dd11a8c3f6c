// What supervision decides, as a pure state machine (stage: supervise): the
// keeper's loop (app/supervise.cc) feeds it exits, signals and the clock and
// carries out the actions it returns. Every rule of the job's stop lives
// here and is unit-tested with a fake clock (tests/unit/policy_test.cc):
// the first failure, the grace period, signal mapping and delivery, the
// double Ctrl-C, a wrapper that is gone, stragglers, the exit code and
// restarts.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace rankwrap::supervise {

// How a process ended: its exit code, or the signal that killed it.
struct ProcessEnd {
  int code = 0;
  int signal = 0;
  bool ok() const { return code == 0 && signal == 0; }
  // The wrapper's exit code for it, as a shell reports it: code, or 128 + signal.
  int WrapperCode() const { return signal != 0 ? 128 + signal : code; }
};

struct PolicyOptions {
  double grace = 30;                            // seconds from SIGTERM to SIGKILL
  std::vector<std::pair<int, int>> signal_map;  // received -> delivered
  // A rank dead of TERM/INT/HUP/QUIT waits this long for the wrapper's
  // relay of the same stop before it counts as the rank's own failure.
  double relay_window = 0.3;
  double double_int = 1.0;  // a second SIGINT within this many seconds kills at once
};

// What the loop must do now.
struct Actions {
  int signal_all = 0;    // send to every process of the job (0: none)
  int signal_ranks = 0;  // send to the ranks only (0: none)
  bool operator==(const Actions& o) const { return signal_all == o.signal_all && signal_ranks == o.signal_ranks; }
};

// How an attempt ended.
struct Outcome {
  std::optional<int> failed;  // the child that failed first on its own
  ProcessEnd failure;         // how it ended
  int external = 0;           // a terminating signal from outside (0: none)
  int received = 0;           // the last signal from outside of any kind, before mapping (0: none)
  bool escalated = false;     // rankwrap SIGKILLed after an external stop
  int first_code = 0;         // the first non-zero wrapper code of any rank
  bool parent_gone = false;
  // A rank on another node failed first (the job control plane said so).
  std::optional<ProcessEnd> remote;
};

class Policy {
 public:
  explicit Policy(PolicyOptions o) : o_(std::move(o)) {}

  Actions OnExit(int child, ProcessEnd end, double now);
  Actions OnSignal(int sig, bool from_tty, double now);
  // Another node's rank failed first (the job control plane): stop here too.
  Actions OnRemoteFailure(ProcessEnd end, double now);
  // The wrapper is gone: end everything at once.
  Actions OnParentGone();
  // The clock moved; `ranks_running`: some rank has not exited;
  // `anything_alive`: some process of the job still runs.
  Actions OnTick(double now, bool ranks_running, bool anything_alive);
  // Seconds from `now` to the next deadline, or -1 when there is none.
  double NextDeadline(double now) const;
  // The attempt is over: no rank runs, nothing they started is alive, no
  // decision is pending.
  bool Done(bool ranks_running, bool anything_alive) const;
  const Outcome& outcome() const { return out_; }

 private:
  Actions StopAll(double now);
  PolicyOptions o_;
  Outcome out_;
  double kill_at_ = 0;  // SIGKILL everything at this time (0: not armed)
  double last_int_ = -1e9;
  bool stragglers_stopped_ = false;
  std::optional<std::pair<int, ProcessEnd>> suspect_;  // died of a stop signal: external or not?
  double suspect_until_ = 0;
};

// What the job does after an attempt.
struct Verdict {
  bool restart = false;
  int exit_code = 0;
  bool report = false;  // print the failure summary (a failure of its own, not an outside stop)
};
Verdict Decide(const Outcome& o, unsigned attempt, unsigned max_restarts);

// What the machine said around a failure (read by the keeper from the
// cgroup and /dev/shm; absent when unreadable).
struct FailureFacts {
  std::optional<std::uint64_t> oom_kills_before, oom_kills_after;  // cgroup v2 memory.events oom_kill
  std::optional<std::uint64_t> shm_total, shm_free;                // /dev/shm, bytes
};
// The common causes users otherwise dig out of dmesg and df: SIGKILL with a
// rising oom_kill count (out of memory), SIGBUS with a small or full
// /dev/shm (shared memory). Empty when neither applies.
std::string LikelyCause(const ProcessEnd& end, const FailureFacts& facts);

// True for TERM, INT, HUP, QUIT: the signals that stop a job.
bool Terminating(int sig);

}  // namespace rankwrap::supervise
