#include "app/supervise.h"

#include <signal.h>
#include <time.h>
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <memory>

#include "adapters/posix/files.h"
#include "app/errorfiles.h"
#include "adapters/posix/command.h"
#include "app/plane.h"
#include "adapters/posix/output.h"
#include "adapters/posix/posix.h"
#include "adapters/posix/supervisor.h"
#include "core/launch/report.h"
#include "core/supervise/logrun.h"

namespace rankwrap::app {
namespace {

std::string UtcNow() {
  char buf[32];
  const time_t t = time(nullptr);
  tm tm{};
  gmtime_r(&t, &tm);
  strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

Error SupError(int code, std::string what, std::string why, std::string hint) {
  return Error{code, "supervise", std::move(what), std::move(why), std::move(hint)};
}

struct Failure {
  std::uint64_t rank = 0, local_rank = 0;
  std::vector<std::string> gpus;
  std::string time;
  posix::ExitStatus status;
  std::string cause;
  std::optional<supervise::RankError> error;  // what the rank wrote to TORCHELASTIC_ERROR_FILE
};

// The rank's own error, indented under the summary.
std::string ErrorLines(const supervise::RankError& e) {
  std::string s = "\n  error: " + e.message;
  std::string tb = e.traceback;
  while (!tb.empty() && tb.back() == '\n') tb.pop_back();
  if (!tb.empty()) {
    s += "\n    ";
    for (char c : tb) s += c == '\n' ? std::string("\n    ") : std::string(1, c);
  }
  return s;
}

std::string Join(const std::vector<std::string>& items) {
  std::string out;
  for (const std::string& i : items) out += (out.empty() ? "" : ",") + i;
  return out;
}

std::string Describe(const posix::ExitStatus& s) {
  return s.signal ? "was killed by " + posix::SignalName(s.signal) : "exited with code " + std::to_string(s.code);
}

std::string Cause(const posix::ExitStatus& s, std::optional<std::uint64_t> oom_before) {
  supervise::FailureFacts facts;
  facts.oom_kills_before = oom_before;
  facts.oom_kills_after = posix::OomKillCount();
  if (auto shm = posix::ShmSpace()) {
    facts.shm_total = shm->first;
    facts.shm_free = shm->second;
  }
  return supervise::LikelyCause(s, facts);
}

std::vector<posix::ChildSpec> ChildSpecs(const std::vector<RankSpec>& ranks) {
  std::vector<posix::ChildSpec> specs;
  for (const RankSpec& r : ranks) {
    posix::ChildSpec spec;
    spec.argv = r.argv;
    spec.env = r.env;
    if (r.bind) {
      const std::vector<unsigned> cpus = r.cpus, numa = r.numa;
      const posix::MemPolicy policy = r.strict_memory ? posix::MemPolicy::kStrict : posix::MemPolicy::kPrefer;
      spec.before_exec = [cpus, numa, policy] { return posix::BindProcess(cpus, numa, policy); };
    }
    specs.push_back(std::move(spec));
  }
  return specs;
}

std::string AttemptDir(const SuperviseConfig& o, unsigned attempt) {
  return o.max_restarts > 0 ? "attempt-" + std::to_string(attempt) : "";
}

// --log-dir: this run's directory DIR/<run>, created (core/supervise/logrun.h
// names it). The keeper of rank 0 says where the logs go and points
// DIR/latest at it. Empty without --log-dir.
Result<std::string> LogRunDir(const SuperviseConfig& o, const SuperviseIo& io, const std::vector<RankSpec>& ranks) {
  if (o.log_dir.empty() || ranks.empty()) return std::string();
  const std::string option = "--log-dir";
  auto top = posix::OpenOwnedDir(o.log_dir, option);
  if (!top) return top.error();
  // One keeper for the whole job (--nproc alone) may pick a free name; the
  // keepers of a bigger job must all compute the same one.
  const bool alone = io.starts_every_rank;
  std::string base = io.log_run;
  if (base.empty()) base = alone ? supervise::LocalLogRunName(time(nullptr), getpid()) : "unnamed";
  std::string name;
  for (unsigned n = 0;; ++n) {
    name = supervise::LogRunCandidate(base, n);
    auto made = posix::CreateSubdir(*top, name, o.log_dir + "/" + name, option);
    if (!made) return made.error();
    if (*made || !alone) break;
    if (n == 9999) {
      return SupError(kExitUsage, option + " '" + o.log_dir + "'", "it holds 10000 runs named " + base + " already",
                      "give another directory, or clean it up");
    }
  }
  const std::string dir = o.log_dir + "/" + name;
  if (auto d = posix::OpenOwnedSubdir(*top, name, dir, option); !d) return d.error();
  const bool has_rank0 = std::any_of(ranks.begin(), ranks.end(), [](const RankSpec& r) { return r.rank == 0; });
  if (has_rank0) {
    // Best effort: a DIR/latest that is not a link stays, with a word.
    auto linked = posix::ReplaceLink(*top, "latest", name, o.log_dir + "/latest", option);
    io.notice("the logs of this run go to " + dir + "/" +
              (linked ? " (" + o.log_dir + "/latest points there)"
                      : "; " + linked.error().what + " was not updated: " + linked.error().why + " (" +
                            linked.error().hint + ")"));
  }
  return dir;
}

// Log files under --log-dir: <run dir>[/attempt-K]/<rank>/{stdout,stderr}.log,
// created fresh, never through a link, in directories this user owns.
Status OpenLogs(const SuperviseConfig& o, const std::string& run_dir, const std::vector<RankSpec>& ranks,
                unsigned attempt, posix::OutputOptions* out, std::vector<int>* fds) {
  const std::string option = "--log-dir";
  auto top = posix::OpenOwnedDir(run_dir, option);
  if (!top) return top.error();
  posix::Dir base = std::move(*top);
  std::string shown = run_dir;
  if (const std::string sub = AttemptDir(o, attempt); !sub.empty()) {
    shown += "/" + sub;
    auto d = posix::OpenOwnedSubdir(base, sub, shown, option);
    if (!d) return d.error();
    base = std::move(*d);
  }
  for (std::size_t i = 0; i < ranks.size(); ++i) {
    const std::string name = std::to_string(ranks[i].rank);
    auto d = posix::OpenOwnedSubdir(base, name, shown + "/" + name, option);
    if (!d) return d.error();
    for (bool err : {false, true}) {
      const std::string file = err ? "stderr.log" : "stdout.log";
      auto fd = posix::CreateFileIn(*d, file, shown + "/" + name + "/" + file, option);
      if (!fd) return fd.error();
      fds->push_back(*fd);
      (err ? out->log_err : out->log_out)[i] = *fd;
    }
  }
  return Ok{};
}

bool Listed(const std::vector<std::uint64_t>& list, std::uint64_t n) {
  return std::find(list.begin(), list.end(), n) != list.end();
}

// On the console: --ranks-filter by global rank, --local-ranks-filter by local rank.
bool Shown(const SuperviseConfig& o, const RankSpec& r) {
  if (!o.ranks_filter.empty()) return Listed(o.ranks_filter, r.rank);
  if (!o.local_ranks_filter.empty()) return Listed(o.local_ranks_filter, r.local_rank);
  return true;
}

bool NeedsPipes(const SuperviseConfig& o) {
  return o.tag_output || !o.log_dir.empty() || !o.ranks_filter.empty() || !o.local_ranks_filter.empty();
}

std::int64_t UnixMs() { return static_cast<std::int64_t>(time(nullptr)) * 1000; }

// Runs one attempt's loop: feeds the policy, carries out its actions, and
// with a plane tells the other nodes of this node's first failure and stops
// on theirs.
supervise::Outcome Loop(const SuperviseConfig& o, posix::Supervisor& run, const std::vector<RankSpec>& ranks,
                        Plane* plane, const std::string& host, std::optional<plane::Failure>* remote,
                        const std::function<std::string(std::uint64_t rank)>& error_of) {
  supervise::Policy policy(supervise::PolicyOptions{o.grace, o.signal_map});
  auto act = [&](const supervise::Actions& a) {
    if (a.signal_all) run.SignalAll(a.signal_all);
    if (a.signal_ranks) {
      for (std::size_t i = 0; i < run.size(); ++i) {
        if (run.Running(static_cast<int>(i))) kill(run.Pid(static_cast<int>(i)), a.signal_ranks);
      }
    }
  };
  bool reported = false;
  auto report = [&] {
    if (!plane || reported || !policy.outcome().failed) return;
    reported = true;
    const RankSpec& r = ranks[static_cast<std::size_t>(*policy.outcome().failed)];
    const supervise::ProcessEnd& e = policy.outcome().failure;
    plane->ReportFailure(plane::Failure{r.rank, 0, host, e.code, e.signal, UnixMs(), error_of(r.rank)});
  };
  if (plane) run.Watch(plane->failure_fd());
  while (true) {
    // An exit reaped but not yet handed over still counts: ranks that end
    // together are reaped in one turn, and the attempt must not end before
    // the policy has seen every one of them (a failure among them).
    const bool ranks_running = run.RunningCount() > 0 || run.HasPending();
    // The /proc walk only once the ranks are gone (stragglers).
    const bool alive = ranks_running || run.AnyAlive();
    act(policy.OnTick(posix::Now(), ranks_running, alive));
    report();
    if (policy.Done(ranks_running, alive)) break;
    const double next = policy.NextDeadline(posix::Now());
    int timeout = ranks_running ? -1 : 100;
    if (next >= 0) {
      const int ms = static_cast<int>(next * 1000) + 1;
      timeout = timeout < 0 ? ms : std::min(timeout, ms);
    }
    auto e = run.Next(timeout);
    if (!e) continue;
    switch (e->kind) {
      case posix::Event::Kind::kParentGone:
        act(policy.OnParentGone());
        break;
      case posix::Event::Kind::kSignal:
        act(policy.OnSignal(e->signal, e->from_tty, posix::Now()));
        break;
      case posix::Event::Kind::kExit:
        act(policy.OnExit(e->child, e->status, posix::Now()));
        break;
      case posix::Event::Kind::kWatched: {
        run.Watch(-1);  // the job's first failure comes once
        auto f = plane ? plane->TakeFailure() : std::nullopt;
        const bool ours =
            f && std::any_of(ranks.begin(), ranks.end(), [&](const RankSpec& r) { return r.rank == f->rank; });
        if (f && !(ours && reported)) {
          *remote = *f;
          act(policy.OnRemoteFailure(supervise::ProcessEnd{f->code, f->signal}, posix::Now()));
        }
        break;
      }
    }
    report();
  }
  return policy.outcome();
}

std::string FailureJson(const Failure& f, const std::string& host, unsigned attempt) {
  nlohmann::ordered_json j;
  j["rank"] = f.rank;
  j["local_rank"] = f.local_rank;
  j["host"] = host;
  j["gpus"] = f.gpus;
  j["exit_code"] = f.status.signal ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(f.status.code);
  j["signal"] =
      f.status.signal ? nlohmann::ordered_json(posix::SignalName(f.status.signal)) : nlohmann::ordered_json(nullptr);
  j["wrapper_exit_code"] = f.status.WrapperCode();
  j["time"] = f.time;
  j["cause"] = f.cause;
  if (f.error) {
    j["error"] = {{"message", f.error->message}, {"traceback", f.error->traceback}, {"timestamp", f.error->timestamp}};
  } else {
    j["error"] = nullptr;
  }
  j["attempt"] = attempt;
  return launch::Dump(j) + "\n";
}

std::string Summary(const SuperviseConfig& o, const std::string& run_dir, const Failure& f, const std::string& host,
                    unsigned attempt, std::size_t nranks) {
  std::string s = "rank " + std::to_string(f.rank) + " failed first: it " + Describe(f.status) + " at " + f.time +
                  (o.max_restarts > 0 ? " (attempt " + std::to_string(attempt) + ")" : "") + "\n  rank " +
                  std::to_string(f.rank) + " (local rank " + std::to_string(f.local_rank) + ", host " + host +
                  ", GPU " + (f.gpus.empty() ? "none" : Join(f.gpus)) + ")";
  if (nranks > 1)
    s += "\n  the other ranks were stopped (SIGTERM, then SIGKILL after " + posix::FormatSeconds(o.grace) + " s)";
  if (f.error) s += ErrorLines(*f.error);
  if (!f.cause.empty()) s += "\n  likely cause: " + f.cause;
  if (!run_dir.empty()) {
    const std::string sub = AttemptDir(o, attempt);
    s += "\n  its output: " + run_dir + (sub.empty() ? "" : "/" + sub) + "/" + std::to_string(f.rank) + "/";
  }
  return s;
}

// One attempt: start, loop, collect the output.
struct Attempt {
  unsigned number = 0;
  // Made with attempt 0's ranks, which name the run directory.
  std::optional<ErrorFiles>* errors = nullptr;
  std::string* run_dir = nullptr;  // --log-dir's DIR/<run>, or empty
  Joined* joined = nullptr;
  posix::HeldPort* held = nullptr;  // rank 0's MASTER_PORT, let go just before its ranks start
};

// The ranks of this attempt, with what the rendezvous (or this attempt's
// fresh NCCL id) gives them.
Result<std::vector<RankSpec>> AttemptRanks(const SuperviseIo& io, const Attempt& a) {
  auto ranks = io.ranks(a.number);
  if (!ranks) return ranks.error();
  if (io.rendezvous.nccl_tcp && !a.joined->from_plane && a.number > 0) {
    // One keeper for the whole job: a new id for every attempt.
    auto id = FreshNcclId(io.rendezvous);
    if (!id) return id.error();
    for (RankSpec& r : *ranks) r.env.Set("RANKWRAP_NCCL_UNIQUE_ID", *id);
    return ranks;
  }
  ApplyRendezvous(*a.joined, &*ranks);
  return ranks;
}

Result<supervise::Outcome> RunAttempt(const SuperviseConfig& o, const SuperviseIo& io, const Attempt& at,
                                      std::optional<std::uint64_t> oom_before, Failure* failure,
                                      std::optional<plane::Failure>* remote, std::size_t* nranks) {
  const unsigned attempt = at.number;
  Plane* plane = at.joined->plane.get();
  auto ranks = AttemptRanks(io, at);
  if (!ranks) return ranks.error();
  *nranks = ranks->size();
  if (!*at.errors) {
    auto dir = LogRunDir(o, io, *ranks);
    if (!dir) return dir.error();
    *at.run_dir = *dir;
    auto e = ErrorFiles::Create(*dir, io.tmpdir);
    if (!e) return e.error();
    at.errors->emplace(std::move(*e));
  }
  const ErrorFiles& errors = **at.errors;
  posix::OutputOptions oo;
  oo.tag = o.tag_output;
  oo.log_out.assign(ranks->size(), -1);
  oo.log_err.assign(ranks->size(), -1);
  for (const RankSpec& r : *ranks) {
    oo.prefixes.push_back("[" + std::to_string(r.rank) + " " + io.host + "] ");
    oo.console.push_back((o.log_dir.empty() || o.tee) && Shown(o, r));
  }
  std::vector<int> log_fds;
  struct Closer {
    std::vector<int>& fds;
    ~Closer() {
      for (int fd : fds) close(fd);
    }
  } closer{log_fds};
  if (!o.log_dir.empty()) {
    if (auto s = OpenLogs(o, *at.run_dir, *ranks, attempt, &oo, &log_fds); !s) return s.error();
  }
  const bool attempt_dirs = o.max_restarts > 0;
  errors.Prepare(attempt, attempt_dirs, &*ranks);
  posix::OutputRouter router(std::move(oo));
  const bool piped = NeedsPipes(o);
  posix::Supervisor run(io.link.control_fd, piped ? &router : nullptr);
  posix::StartOptions so;
  so.pgid = io.link.wrapper_pgid;
  so.pipe_output = piped;
  at.held->Close();
  if (auto s = run.Start(ChildSpecs(*ranks), so, io.format_error); !s) return s.error();
  auto error_of = [&](std::uint64_t rank) {
    auto e = errors.Read(attempt, attempt_dirs, rank);
    return e ? supervise::ErrorSummary(*e, 1000) : std::string();
  };
  supervise::Outcome out = Loop(o, run, *ranks, plane, io.host, remote, error_of);
  run.FinishOutput();
  if (out.failed) {
    const RankSpec& r = (*ranks)[static_cast<std::size_t>(*out.failed)];
    *failure = Failure{r.rank,
                       r.local_rank,
                       r.gpus,
                       UtcNow(),
                       out.failure,
                       Cause(out.failure, oom_before),
                       errors.Read(attempt, attempt_dirs, r.rank)};
  }
  return out;
}

}  // namespace

Status CheckSupervision(const Config& c, const Prepared& p) {
  const SuperviseConfig& o = c.supervise;
  const JobInfo& job = p.contract.job;
  const unsigned n = o.nproc.value_or(1);
  if (o.nproc && !Standalone(p) && job.local_world_size != 1) {
    return SupError(kExitUsage,
                    job.launcher + " started " + std::to_string(job.local_world_size) +
                        " tasks on this node and each asks for --nproc " + std::to_string(n) + " (" +
                        std::to_string(job.local_world_size * n) + " processes)",
                    "with --nproc, rankwrap starts the node's ranks itself: one task per node",
                    "launch one task per node (srun --ntasks-per-node=1 rankwrap --nproc " + std::to_string(n) +
                        " ...), or drop --nproc");
  }

  const std::uint64_t world = WorldSize(c, p);
  for (std::uint64_t r : o.ranks_filter) {
    if (r >= world) {
      return Error{kExitUsage, "usage", "--ranks-filter " + std::to_string(r),
                   "the job has ranks 0-" + std::to_string(world - 1) + ", so nothing of rank " + std::to_string(r) +
                       " would ever be shown",
                   "give ranks below " + std::to_string(world)};
    }
  }
  // Refused only when no node of the job can have the local rank. With
  // --nproc every node runs N ranks. The launcher's tasks per node may differ
  // (srun -n5 -N2: 3 and 2), and this node does not know the others' counts:
  // a local rank that this node lacks is just not shown here, and the bound
  // is the job's size.
  const std::uint64_t most = o.nproc ? n : world;
  for (std::uint64_t r : o.local_ranks_filter) {
    if (r >= most) {
      return Error{kExitUsage, "usage", "--local-ranks-filter " + std::to_string(r),
                   (o.nproc ? "each node runs --nproc " + std::to_string(n) + " ranks (local ranks 0-" +
                                  std::to_string(most - 1) + "), so"
                            : "the job has " + std::to_string(world) + " ranks, so no node has a local rank above " +
                                  std::to_string(most - 1) + " and") +
                       " nothing of local rank " + std::to_string(r) + " would ever be shown",
                   "give local ranks below " + std::to_string(most)};
    }
  }
  if (!o.failure_file.empty()) {
    if (auto s = posix::PrepareReplaceableFile(o.failure_file, "--failure-file"); !s) return s;
  }
  if (!o.log_dir.empty()) {
    if (auto d = posix::OpenOwnedDir(o.log_dir, "--log-dir"); !d) return d.error();
  }
  return Ok{};
}

namespace {

std::string RemoteSummary(const SuperviseConfig& o, const plane::Failure& rf, const supervise::ProcessEnd& end) {
  const std::string who =
      rf.rank == plane::kNoRank ? "node " + std::to_string(rf.node) : "rank " + std::to_string(rf.rank);
  std::string s = who + " on " + rf.host + " failed first: it " + Describe(end) +
                  " (the job control plane told every node)\n  this node's ranks were stopped (SIGTERM, then SIGKILL "
                  "after " +
                  posix::FormatSeconds(o.grace) + " s)";
  if (!rf.cause.empty()) {
    std::string cause;
    for (char c : rf.cause) cause += c == '\n' ? std::string("\n    ") : std::string(1, c);
    s += "\n  its error: " + cause;
  }
  return s;
}

// With the plane and --max-restarts the server decides for the whole job,
// once every node's ranks of this attempt have ended (the barrier): the
// next attempt, with rank 0's new blob (a fresh NCCL id), or nullopt.
Result<std::optional<plane::Restart>> JobWideEnd(const SuperviseIo& io, Plane* plane, unsigned attempt, bool failed) {
  std::string blob;
  if (io.rendezvous.announces && io.rendezvous.nccl_tcp) {
    auto b = AnnouncementBlob(io.rendezvous);
    if (!b) return b.error();
    blob = *b;
  }
  return plane->EndAttempt(attempt, failed, blob);
}

// Seconds before attempt `next` starts: --restart-backoff, doubling, at most 60.
double Backoff(const SuperviseConfig& o, unsigned next) {
  double d = o.restart_backoff;
  for (unsigned i = 1; i < next && d < 60; ++i) d *= 2;
  return std::min(d, 60.0);
}

// The back-off before the next attempt, awake to the wrapper's signals and
// its end (as the attempt's loop is): a stop signal (after --signal-map)
// ends the wait and the job at once, with no further attempt. The outcome's
// `external` is that signal, 0 when the wait ran out.
// `failure_fd` (the plane's, job-wide restarts): another node's failure in
// the meantime ends the wait early; the next attempt then stops at once and
// the server's barrier decides (no restart once a node has left).
supervise::Outcome WaitBackoff(const SuperviseConfig& o, const SuperviseIo& io, double seconds, int failure_fd) {
  supervise::Policy policy(supervise::PolicyOptions{o.grace, o.signal_map});
  posix::Supervisor idle(io.link.control_fd, nullptr);  // no ranks: signals only
  idle.Watch(failure_fd);
  const double until = posix::Now() + seconds;
  while (!policy.outcome().external) {
    const double left = until - posix::Now();
    if (left <= 0) break;
    auto e = idle.Next(static_cast<int>(left * 1000) + 1);
    if (!e) continue;
    if (e->kind == posix::Event::Kind::kWatched) break;
    if (e->kind == posix::Event::Kind::kSignal) {
      policy.OnSignal(e->signal, e->from_tty, posix::Now());
      // Any other signal from outside ends the wait too: no rank runs to
      // take it, and a scheduler's warning (--signal=USR1@T) means the job
      // ends soon, so a new attempt would only be cut off.
      if (!e->from_tty) break;
    }
    if (e->kind == posix::Event::Kind::kParentGone) policy.OnParentGone();
  }
  return policy.outcome();
}

// --preflight with the plane: every node's verdict before any rank starts
// here. Then rank 0's keeper keeps MASTER_PORT but stops answering, so a
// rank that connects before rank 0's program listens is refused and
// retries, rather than accepted and then reset.
Status PreflightRound(const SuperviseIo& io, Plane* plane, const Joined& joined, posix::HeldPort* held) {
  if (auto s = RunPreflightRound(*plane, joined, *io.preflight); !s) return s;
  if (held->listening()) {
    if (auto s = held->StopListening(); !s) io.notice("MASTER_PORT after the pre-flight round: " + s.error().why);
  }
  return Ok{};
}

// The back-off before attempt `attempt + 1`; true when a signal from
// outside ended it (`result` says how): a stop (exit 128 + signal), or a
// warning such as Slurm's USR1 before the time limit (the failed attempt's
// code; --requeue then requeues the job). `plane`: job-wide restarts, whose
// other nodes hear of it (its leaving also ends the restarts at the server).
bool StoppedInBackoff(const SuperviseConfig& o, const SuperviseIo& io, Plane* plane, unsigned attempt, int failed_code,
                      SupervisedRun* result) {
  const supervise::Outcome stopped =
      WaitBackoff(o, io, Backoff(o, attempt + 1), plane != nullptr ? plane->failure_fd() : -1);
  if (!stopped.external && stopped.received == 0 && !stopped.parent_gone) return false;
  // The failure file keeps the failure that led to the restart.
  const std::string what = stopped.parent_gone ? std::string("the wrapper ended")
                           : stopped.external  ? "stopped by " + posix::SignalName(stopped.external)
                                               : posix::SignalName(stopped.received) + " arrived";
  io.notice(what + " during the restart back-off: restart " + std::to_string(attempt + 1) + " not started" +
            (stopped.external || stopped.parent_gone ? "" : " (a warning from outside: the job ends soon)"));
  result->received = stopped.received;
  result->exit_code = stopped.external ? 128 + stopped.external : failed_code;
  if (plane != nullptr) {
    plane->ReportFailure(plane::Failure{plane::kNoRank, 0, io.host, stopped.external ? 0 : failed_code,
                                        stopped.external, UnixMs(), what + " during the restart back-off"});
  }
  return true;
}

Result<SupervisedRun> SuperviseAttempts(const SuperviseConfig& o, const SuperviseIo& io) {
  if (auto s = posix::PrepareSignals(); !s) return s.error();
  const std::optional<std::uint64_t> oom_before = posix::OomKillCount();
  std::optional<ErrorFiles> errors;
  std::string run_dir;
  posix::HeldPort held;
  auto joined = JoinJob(io.rendezvous, &held, io.notice);
  if (!joined) return joined.error();
  Plane* plane = joined->plane.get();
  struct Leave {
    Plane* p;
    ~Leave() {
      if (p) p->Shutdown();
    }
  } leave{plane};
  const bool job_wide = plane != nullptr && o.max_restarts > 0;
  SupervisedRun result;
  if (io.preflight && plane) {
    if (auto s = PreflightRound(io, plane, *joined, &held); !s) return s.error();
  }
  for (unsigned attempt = 0;; ++attempt) {
    Failure f;
    std::optional<plane::Failure> remote;
    std::size_t nranks = 0;
    auto out =
        RunAttempt(o, io, Attempt{attempt, &errors, &run_dir, &*joined, &held}, oom_before, &f, &remote, &nranks);
    if (plane) {
      for (const std::string& n : plane->TakeNotices()) io.notice("control plane: " + n);
    }
    if (!out) return out.error();
    result.received = out->received;
    std::optional<plane::Restart> next;
    if (job_wide) {
      auto r = JobWideEnd(io, plane, attempt, out->failed.has_value());
      if (!r) return r.error();
      next = *r;
    }
    const bool by_remote = out->remote && remote;
    supervise::Verdict v = by_remote ? supervise::Verdict{false, out->remote->WrapperCode(), false}
                                     : supervise::Decide(*out, attempt, o.max_restarts);
    if (job_wide) v.restart = next.has_value();
    std::string summary = by_remote ? RemoteSummary(o, *remote, *out->remote) : "";
    if (v.report) {
      summary = Summary(o, run_dir, f, io.host, attempt, nranks);
      if (!o.failure_file.empty()) {
        if (auto s = posix::ReplaceFile(o.failure_file, FailureJson(f, io.host, attempt), "--failure-file"); !s) {
          result.warnings.push_back(s.error().what + ": " + s.error().why);
        }
      }
    }
    if (!v.restart) {
      // A success after a restart: the failure file no longer describes the job.
      if (!v.report && !by_remote && !out->external && !o.failure_file.empty() && attempt > 0) {
        if (auto s = posix::RemoveFile(o.failure_file, "--failure-file"); !s) {
          result.warnings.push_back(s.error().what + ": " + s.error().why);
        }
      }
      result.exit_code = v.exit_code;
      result.summary = summary;
      return result;
    }
    if (next && !next->blob.empty() && joined->master) joined->master->blob = next->blob;
    io.notice((summary.empty() ? std::string("a rank on another node failed") : summary) + "\n  restarting every rank" +
              (job_wide ? " of the job" : "") + " (restart " + std::to_string(attempt + 1) + " of " +
              std::to_string(o.max_restarts) + ") in " + posix::FormatSeconds(Backoff(o, attempt + 1)) + " s");
    if (StoppedInBackoff(o, io, job_wide ? plane : nullptr, attempt, v.exit_code, &result)) return result;
  }
}

// --requeue: once the ranks of a job the scheduler stopped have ended,
// rank 0's keeper puts the job back in the queue (its next run sees
// SLURM_RESTART_COUNT one higher; PBS exports no run count).
void Requeue(const SuperviseIo& io, SupervisedRun* run) {
  if (io.requeue.empty() || !io.rendezvous.announces || run->received == 0) return;
  std::string cmd;
  for (const std::string& a : io.requeue) cmd += (cmd.empty() ? "" : " ") + a;
  auto r = posix::RunCommand(io.requeue, 30);
  if (!r || r->exit_code != 0) {
    run->warnings.push_back("--requeue: '" + cmd + "' failed: " + (r ? r->output : r.error().why) +
                            " (is the job requeueable? sbatch --requeue, or qsub -r y)");
    return;
  }
  io.notice("the job was stopped by " + posix::SignalName(run->received) + " from outside: requeued it (" + cmd + ")");
}

}  // namespace

Result<SupervisedRun> Supervise(const SuperviseConfig& o, const SuperviseIo& io) {
  auto run = SuperviseAttempts(o, io);
  if (run) Requeue(io, &*run);
  return run;
}

}  // namespace rankwrap::app
