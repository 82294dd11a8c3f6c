#include "core/supervise/policy.h"

#include <signal.h>

#include <algorithm>

namespace rankwrap::supervise {

bool Terminating(int sig) { return sig == SIGTERM || sig == SIGINT || sig == SIGHUP || sig == SIGQUIT; }

Actions Policy::StopAll(double now) {
  if (kill_at_ == 0) kill_at_ = now + o_.grace;
  return Actions{SIGTERM, 0};
}

Actions Policy::OnExit(int child, ProcessEnd end, double now) {
  if (end.ok()) return {};
  if (out_.first_code == 0) out_.first_code = end.WrapperCode();
  if (out_.failed || out_.external || out_.remote || suspect_) return {};
  if (Terminating(end.signal)) {
    // The ranks share the wrapper's process group: a launcher's
    // kill(-pgid, SIGTERM) reaches them and the wrapper at once, and the
    // wrapper's relay may arrive just after the rank's death.
    suspect_ = std::make_pair(child, end);
    suspect_until_ = now + o_.relay_window;
    return {};
  }
  out_.failed = child;
  out_.failure = end;
  return StopAll(now);
}

Actions Policy::OnSignal(int received, bool from_tty, double now) {
  if (!from_tty) out_.received = received;
  int sig = received;
  for (const auto& [from, to] : o_.signal_map) {
    if (received == from) {
      sig = to;
      break;
    }
  }
  if (received == SIGINT) {
    // srun's convention: a second Ctrl-C within a second kills at once.
    if (now - last_int_ <= o_.double_int) {
      out_.external = SIGINT;
      out_.escalated = true;
      kill_at_ = 0;
      return Actions{SIGKILL, 0};
    }
    last_int_ = now;
  }
  if (Terminating(sig)) {
    if (!out_.external) out_.external = sig;
    if (kill_at_ == 0) kill_at_ = now + o_.grace;
  }
  // The terminal delivered its own signal to the ranks already (they are
  // in the wrapper's foreground process group).
  if (from_tty && sig == received) return {};
  // Stop signals go to every process of the job, as Slurm signals a step;
  // the others to the ranks, which decide what their children get.
  return Terminating(sig) ? Actions{sig, 0} : Actions{0, sig};
}

Actions Policy::OnRemoteFailure(ProcessEnd end, double now) {
  if (out_.failed || out_.external || out_.remote) return {};
  suspect_.reset();  // whatever this node saw since is a consequence
  out_.remote = end;
  return StopAll(now);
}

Actions Policy::OnParentGone() {
  out_.parent_gone = true;
  out_.external = SIGKILL;
  out_.escalated = true;
  kill_at_ = 0;
  return Actions{SIGKILL, 0};
}

Actions Policy::OnTick(double now, bool ranks_running, bool anything_alive) {
  Actions a;
  if (suspect_ && (out_.external || out_.remote || now >= suspect_until_)) {
    if (!out_.external && !out_.failed && !out_.remote) {
      out_.failed = suspect_->first;
      out_.failure = suspect_->second;
      a = StopAll(now);
    }
    suspect_.reset();
  }
  if (kill_at_ > 0 && now >= kill_at_) {
    kill_at_ = 0;
    if (out_.external) out_.escalated = true;
    return Actions{SIGKILL, 0};
  }
  if (!ranks_running && anything_alive && !stragglers_stopped_) {
    // Every rank ended: whatever they left behind ends too.
    stragglers_stopped_ = true;
    return StopAll(now);
  }
  return a;
}

double Policy::NextDeadline(double now) const {
  double next = -1;
  for (double at : {kill_at_, suspect_ ? suspect_until_ : 0.0}) {
    if (at <= 0) continue;
    const double d = std::max(0.0, at - now);
    if (next < 0 || d < next) next = d;
  }
  return next;
}

bool Policy::Done(bool ranks_running, bool anything_alive) const {
  return !ranks_running && !anything_alive && !suspect_;
}

std::string LikelyCause(const ProcessEnd& end, const FailureFacts& f) {
  if (end.signal == SIGKILL && f.oom_kills_before && f.oom_kills_after && *f.oom_kills_after > *f.oom_kills_before) {
    return "out of memory: the cgroup's memory.events oom_kill count rose from " + std::to_string(*f.oom_kills_before) +
           " to " + std::to_string(*f.oom_kills_after);
  }
  if (end.signal == SIGBUS && f.shm_total && f.shm_free) {
    const std::uint64_t mib = 1024 * 1024, total = *f.shm_total, avail = *f.shm_free;
    if (total < 1024 * mib || avail * 10 < total) {
      return "shared memory: /dev/shm has " + std::to_string(total / mib) + " MiB, " + std::to_string(avail / mib) +
             " MiB free (a container's default 64 MiB is too small for NCCL and data loaders)";
    }
  }
  return {};
}

Verdict Decide(const Outcome& o, unsigned attempt, unsigned max_restarts) {
  Verdict v;
  if (o.external) {
    // Stopped from outside: the ranks' own code (0 when they handled the
    // stop and exited cleanly), or 128 + the signal when rankwrap had to kill.
    v.exit_code = o.escalated ? 128 + o.external : o.first_code;
    return v;
  }
  if (o.remote) {
    // The job-wide first failure was another node's: its code, reported
    // (here as the reason this node stopped); never restarted from one node.
    v.exit_code = o.remote->WrapperCode();
    v.report = true;
    return v;
  }
  if (!o.failed) return v;
  v.exit_code = o.failure.WrapperCode();
  v.report = true;
  v.restart = attempt < max_restarts;
  return v;
}

}  // namespace rankwrap::supervise
