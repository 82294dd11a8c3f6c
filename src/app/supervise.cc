#include "app/supervise.h"

#include <signal.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <memory>

#include "adapters/posix/posix.h"
#include "adapters/posix/supervisor.h"
#include "core/launch/report.h"

namespace rankwrap::app {
namespace {

double Now() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

std::string UtcNow() {
  char buf[32];
  const time_t t = time(nullptr);
  tm tm{};
  gmtime_r(&t, &tm);
  strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

void WriteLine(int fd, const std::string& s) {
  std::size_t done = 0;
  while (done < s.size()) {
    const ssize_t n = write(fd, s.data() + done, s.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    done += static_cast<std::size_t>(n);
  }
}

Error SupError(int code, std::string what, std::string why, std::string hint) {
  return Error{code, "supervise", std::move(what), std::move(why), std::move(hint)};
}

Status MakeDirs(const std::string& path) {
  std::string cur;
  std::size_t start = 0;
  while (start <= path.size()) {
    std::size_t slash = path.find('/', start);
    if (slash == std::string::npos) slash = path.size();
    cur = path.substr(0, slash);
    if (!cur.empty() && mkdir(cur.c_str(), 0755) != 0 && errno != EEXIST) {
      return SupError(kExitUsage, "--log-dir: cannot create '" + cur + "'", std::strerror(errno),
                      "give a directory you can write to");
    }
    start = slash + 1;
  }
  return Ok{};
}

// One local rank as rankwrap starts it.
struct Rank {
  std::uint64_t rank = 0, local_rank = 0;
  std::string gpus;  // bus ids, for the failure summary
  std::map<std::string, std::string> env;
  std::optional<bind::RankLine> line;
  std::unique_ptr<std::ofstream> out, err;
};

struct Failure {
  std::uint64_t rank = 0, local_rank = 0;
  std::string gpus, time;
  posix::ExitStatus status;
  std::string cause;
  unsigned attempt = 0;
};

std::string Describe(const posix::ExitStatus& s) {
  return s.signal ? "was killed by " + posix::SignalName(s.signal) : "exited with code " + std::to_string(s.code);
}

// The common causes users otherwise dig out of dmesg and df.
std::string Cause(const posix::ExitStatus& s, std::optional<std::uint64_t> oom_before) {
  if (s.signal == SIGKILL) {
    auto oom_after = posix::OomKillCount();
    if (oom_before && oom_after && *oom_after > *oom_before) {
      return "out of memory: the cgroup's memory.events oom_kill count rose from " + std::to_string(*oom_before) +
             " to " + std::to_string(*oom_after);
    }
  }
  if (s.signal == SIGBUS) {
    if (auto shm = posix::ShmSpace()) {
      const auto [total, avail] = *shm;
      const std::uint64_t mib = 1024 * 1024;
      if (total < 1024 * mib || avail * 10 < total) {
        return "shared memory: /dev/shm has " + std::to_string(total / mib) + " MiB, " + std::to_string(avail / mib) +
               " MiB free (a container's default 64 MiB is too small for NCCL and data loaders)";
      }
    }
  }
  return {};
}

}  // namespace

Result<SupervisedRun> Supervise(const tools::Options& o, Prepared& p, const EnvSnapshot& env,
                                const std::string& host,
                                const std::function<std::string(const Error&)>& format_error) {
  const JobInfo& job = p.job;
  const bool standalone = job.launcher == "standalone";
  const unsigned n = o.nproc.value_or(1);
  if (o.nproc && !standalone && job.local_world_size != 1) {
    return SupError(kExitUsage,
                    job.launcher + " started " + std::to_string(job.local_world_size) +
                        " tasks on this node and each asks for --nproc " + std::to_string(n) + " (" +
                        std::to_string(job.local_world_size * n) + " processes)",
                    "with --nproc, rankwrap starts the node's ranks itself: one task per node",
                    "launch one task per node (srun --ntasks-per-node=1 rankwrap --nproc " + std::to_string(n) +
                        " ...), or drop --nproc");
  }
  if (o.max_restarts > 0 && !standalone) {
    return SupError(kExitUsage, "--max-restarts under " + job.launcher,
                    "restarting one node's ranks would leave the other nodes' ranks waiting",
                    "use --max-restarts with a standalone --nproc launch");
  }
  // The node plan: Prepare planned it for the ranks started here.
  const Binding& binding = p.binding;

  if (auto s = posix::CatchSignals(); !s) return s.error();
  const std::optional<std::uint64_t> oom_before = posix::OomKillCount();
  std::optional<Failure> first;
  int received = 0;
  double last_int = 0;
  unsigned attempt = 0;
  while (true) {
    // The ranks of this attempt.
    std::vector<Rank> ranks(n);
    std::uint16_t port = p.contract.master_port;
    std::string addr = p.contract.master_addr;
    if (o.nproc && standalone) {
      auto free = posix::FreeLocalPort();
      if (!free) return free.error();
      port = *free;
      addr = "127.0.0.1";
    }
    std::vector<posix::ChildSpec> specs;
    for (unsigned i = 0; i < n; ++i) {
      Rank& r = ranks[i];
      r.env = p.contract.env;
      if (o.nproc) {
        r.rank = (standalone ? 0 : job.rank) * n + i;
        r.local_rank = i;
        const std::uint64_t world = (standalone ? 1 : job.world_size) * n;
        r.env["RANK"] = std::to_string(r.rank);
        r.env["WORLD_SIZE"] = std::to_string(world);
        r.env["LOCAL_RANK"] = std::to_string(i);
        r.env["LOCAL_WORLD_SIZE"] = std::to_string(n);
        r.env["MASTER_ADDR"] = addr;
        r.env["MASTER_PORT"] = std::to_string(port);
        if (binding.plan.ranks.size() > i) {
          r.line = binding.plan.ranks[i];
          for (auto& [k, v] : bind::RankEnv(binding.plan, *r.line, binding.topo, env)) r.env[k] = v;
        }
      } else {
        r.rank = job.rank;
        r.local_rank = job.local_rank;
        r.line = binding.line;
      }
      if (r.line) {
        for (unsigned g : r.line->gpus) r.gpus += (r.gpus.empty() ? "" : ",") + binding.topo.gpus[g].bus_id;
      }
      if (o.max_restarts > 0) r.env["RANKWRAP_RESTART_COUNT"] = std::to_string(attempt);
      posix::ChildSpec spec;
      spec.argv = o.program;
      spec.env = env;
      for (const auto& [k, v] : r.env) spec.env.Set(k, v);
      if (r.line && o.topology.empty()) {
        const std::vector<unsigned> cpus = r.line->cpus;
        const std::vector<unsigned> numa =
            binding.plan.options.mem == bind::BindOptions::Mem::kLocal && binding.topo.numa.size() > 1
                ? r.line->numa
                : std::vector<unsigned>{};
        spec.before_exec = [cpus, numa] { return posix::BindProcess(cpus, numa); };
      }
      if (!o.log_dir.empty()) {
        const std::string dir = o.log_dir + (o.max_restarts > 0 ? "/attempt-" + std::to_string(attempt) : "") + "/" +
                                std::to_string(r.rank);
        if (auto s = MakeDirs(dir); !s) return s.error();
        r.out = std::make_unique<std::ofstream>(dir + "/stdout.log");
        r.err = std::make_unique<std::ofstream>(dir + "/stderr.log");
        if (!*r.out || !*r.err) {
          return SupError(kExitUsage, "--log-dir: cannot write in '" + dir + "'", std::strerror(errno),
                          "give a directory you can write to");
        }
      }
      specs.push_back(std::move(spec));
    }
    posix::Supervisor run;
    if (auto s = run.Start(std::move(specs), format_error); !s) return s.error();

    // The event loop of this attempt.
    std::optional<Failure> failure;
    double kill_at = 0;
    bool external = false;
    while (run.RunningCount() > 0 || run.HasPending()) {
      const int timeout = kill_at > 0 ? std::max(1, static_cast<int>((kill_at - Now()) * 1000)) : -1;
      auto e = run.Next(timeout);
      if (kill_at > 0 && Now() >= kill_at) {
        for (unsigned i = 0; i < n; ++i) run.Signal(static_cast<int>(i), SIGKILL);
        kill_at = 0;
      }
      if (!e) continue;
      if (e->kind == posix::Event::Kind::kLine) {
        Rank& r = ranks[static_cast<std::size_t>(e->child)];
        std::ofstream* log = e->is_stderr ? r.err.get() : r.out.get();
        if (log) *log << e->line << "\n" << std::flush;
        const bool console = o.log_dir.empty() || o.tee;
        const bool shown = o.ranks_filter.empty() ||
                           std::find(o.ranks_filter.begin(), o.ranks_filter.end(), r.rank) != o.ranks_filter.end();
        if (console && shown) {
          const std::string prefix = o.tag_output ? "[" + std::to_string(r.rank) + " " + host + "] " : "";
          WriteLine(e->is_stderr ? 2 : 1, prefix + e->line + "\n");
        }
      } else if (e->kind == posix::Event::Kind::kSignal) {
        int sig = e->signal;
        for (const auto& [from, to] : o.signal_map) {
          if (sig == from) {
            sig = to;
            break;
          }
        }
        if (e->signal == SIGINT) {
          // srun's convention: a second Ctrl-C within a second kills at once.
          if (Now() - last_int <= 1.0) sig = SIGKILL;
          last_int = Now();
        }
        if (sig == SIGTERM || sig == SIGINT || sig == SIGHUP || sig == SIGQUIT || sig == SIGKILL) {
          external = true;
          received = sig;
        }
        for (unsigned i = 0; i < n; ++i) run.Signal(static_cast<int>(i), sig);
      } else {  // kExit
        const Rank& r = ranks[static_cast<std::size_t>(e->child)];
        const posix::ExitStatus s = e->status;
        const bool failed = s.code != 0 || s.signal != 0;
        if (failed && !failure && !external) {
          failure = Failure{r.rank, r.local_rank, r.gpus, UtcNow(), s, Cause(s, oom_before), attempt};
          for (unsigned i = 0; i < n; ++i) run.Signal(static_cast<int>(i), SIGTERM);
          kill_at = Now() + o.grace;
        } else if (failed && !failure && external) {
          failure = Failure{r.rank, r.local_rank, r.gpus, UtcNow(), s, "", attempt};
        }
      }
    }
    if (external) {
      // Stopped from outside (scancel, Ctrl-C, the launcher): 128 + the
      // signal, as a shell reports it, and no failure summary.
      return SupervisedRun{128 + received, ""};
    }
    if (!failure) return SupervisedRun{0, ""};
    first = failure;
    const Failure& f = *first;
    std::string who = "rank " + std::to_string(f.rank) + " (local rank " + std::to_string(f.local_rank) + ", host " +
                      host + ", GPU " + (f.gpus.empty() ? "none" : f.gpus) + ")";
    std::string summary = "rank " + std::to_string(f.rank) + " failed first: it " + Describe(f.status) + " at " + f.time +
                          (o.max_restarts > 0 ? " (attempt " + std::to_string(attempt) + ")" : "") + "\n  " + who +
                          "\n  the other ranks were stopped (SIGTERM, then SIGKILL after " +
                          std::to_string(static_cast<int>(o.grace)) + " s)";
    if (!f.cause.empty()) summary += "\n  likely cause: " + f.cause;
    if (!o.log_dir.empty()) {
      summary += "\n  its output: " + o.log_dir + (o.max_restarts > 0 ? "/attempt-" + std::to_string(attempt) : "") +
                 "/" + std::to_string(f.rank) + "/";
    }
    if (!o.failure_file.empty()) {
      std::ofstream ff(o.failure_file);
      ff << "{\"rank\":" << f.rank << ",\"local_rank\":" << f.local_rank << ",\"host\":" << launch::JsonString(host)
         << ",\"gpus\":" << launch::JsonString(f.gpus) << ",\"exit_code\":"
         << (f.status.signal ? std::string("null") : std::to_string(f.status.code))
         << ",\"signal\":" << (f.status.signal ? launch::JsonString(posix::SignalName(f.status.signal)) : "null")
         << ",\"wrapper_exit_code\":" << f.status.WrapperCode() << ",\"time\":" << launch::JsonString(f.time)
         << ",\"cause\":" << launch::JsonString(f.cause) << ",\"attempt\":" << attempt << "}\n";
    }
    if (attempt < o.max_restarts) {
      WriteLine(2, "rankwrap[" + host + "]: warning: " + summary + "\n  restarting every rank (restart " +
                       std::to_string(attempt + 1) + " of " + std::to_string(o.max_restarts) + ")\n");
      ++attempt;
      continue;
    }
    return SupervisedRun{f.status.WrapperCode(), summary};
  }
}

}  // namespace rankwrap::app
