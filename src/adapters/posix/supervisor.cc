#include "adapters/posix/supervisor.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "adapters/posix/keeper.h"
#include "adapters/posix/posix.h"
#include "adapters/posix/proctree.h"

namespace rankwrap::posix {
namespace {

int g_chld_pipe[2] = {-1, -1};

void OnChld(int) {
  const int saved = errno;
  const char b = 'c';
  (void)!write(g_chld_pipe[1], &b, 1);
  errno = saved;
}

// A stop or user signal sent to the keeper itself, not through the
// wrapper: Slurm's proctrack/cgroup signals every process of the step
// (scancel, time limits, --signal), and the keeper must not die of it.
void OnDirect(int sig) {
  const int saved = errno;
  const char b = static_cast<char>(sig);
  (void)!write(g_chld_pipe[1], &b, 1);
  errno = saved;
}

constexpr int kDirect[] = {SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2};

Error SupError(std::string what) {
  return Error{kExitSystem, "supervise", std::move(what), std::strerror(errno),
               "check the process limits (ulimit -u, -n)"};
}

constexpr std::size_t kReadChunk = 64 * 1024;
constexpr int kReadsPerTurn = 4;  // per stream and turn: 256 KiB at most

}  // namespace

double Now() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

Status PrepareSignals() {
  if (g_chld_pipe[0] < 0 && pipe2(g_chld_pipe, O_CLOEXEC | O_NONBLOCK) != 0) return SupError("pipe() failed");
  struct sigaction sa {};
  sa.sa_handler = &OnChld;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART | SA_NOCLDSTOP;
  sigaction(SIGCHLD, &sa, nullptr);
  sa.sa_handler = &OnDirect;
  for (int sig : kDirect) sigaction(sig, &sa, nullptr);
  signal(SIGPIPE, SIG_IGN);
  return Ok{};
}

Supervisor::Supervisor(int control_fd, OutputRouter* router) : control_fd_(control_fd), router_(router) {}

Supervisor::~Supervisor() {
  for (Child& c : children_) {
    if (c.out >= 0) close(c.out);
    if (c.err >= 0) close(c.err);
  }
}

Status Supervisor::Start(std::vector<ChildSpec> specs, const StartOptions& so,
                         const std::function<std::string(const Error&)>& format_error) {
  const pid_t parent = getpid();
  const pid_t pgid = so.pgid > 0 ? so.pgid : getpgrp();
  for (std::size_t k = 0; k < specs.size(); ++k) {
    ChildSpec& spec = specs[k];
    int out[2] = {-1, -1}, err[2] = {-1, -1};
    if (so.pipe_output && (pipe2(out, O_CLOEXEC) != 0 || pipe2(err, O_CLOEXEC) != 0)) {
      Error e = SupError("pipe() failed");
      for (int fd : {out[0], out[1], err[0], err[1]}) {
        if (fd >= 0) close(fd);
      }
      SignalAll(SIGKILL);
      return e;
    }
    // Signals are blocked across fork: the child must not run this
    // process's handlers before exec resets them.
    sigset_t all, old;
    sigfillset(&all);
    sigprocmask(SIG_BLOCK, &all, &old);
    const pid_t pid = fork();
    if (pid < 0) {
      sigprocmask(SIG_SETMASK, &old, nullptr);
      Error e = SupError("fork() failed");
      for (int fd : {out[0], out[1], err[0], err[1]}) {
        if (fd >= 0) close(fd);
      }
      SignalAll(SIGKILL);
      return e;
    }
    if (pid == 0) {
      signal(SIGCHLD, SIG_DFL);
      signal(SIGPIPE, SIG_DFL);
      // The keeper's own stop handlers too: a SIGTERM that reaches this
      // child before exec (the job stopping as it starts) must end it, not
      // run OnDirect, which would tell the keeper, through the pipe they
      // share until exec, that the stop came from outside.
      for (int sig : kDirect) signal(sig, SIG_DFL);
      sigprocmask(SIG_SETMASK, &old, nullptr);
      // The ranks join the wrapper's process group: the terminal's
      // foreground (Ctrl-C, Ctrl-Z, reading stdin) and a launcher's
      // kill(-pgid) reach them as they reach the wrapper.
      setpgid(0, pgid);
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (getppid() != parent) _exit(0);
      if (so.pipe_output) {
        dup2(out[1], 1);
        dup2(err[1], 2);
      }
      if (static_cast<int>(k) != so.stdin_child) {
        const int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (null >= 0) dup2(null, 0);
      }
      if (spec.before_exec) {
        if (Status s = spec.before_exec(); !s) {
          WriteAll(2, format_error(s.error()));
          _exit(s.error().exit_code);
        }
      }
      const Error e = Exec(spec.argv, spec.env);
      WriteAll(2, format_error(e));
      _exit(e.exit_code);
    }
    sigprocmask(SIG_SETMASK, &old, nullptr);
    setpgid(pid, pgid);  // also from here: no race with a signal to the group
    Child c;
    c.pid = pid;
    if (so.pipe_output) {
      close(out[1]);
      close(err[1]);
      fcntl(out[0], F_SETFL, O_NONBLOCK);
      fcntl(err[0], F_SETFL, O_NONBLOCK);
      c.out = out[0];
      c.err = err[0];
    }
    children_.push_back(c);
  }
  return Ok{};
}

bool Supervisor::ReadOutput(int i, bool is_stderr) {
  Child& c = children_[static_cast<std::size_t>(i)];
  int& fd = is_stderr ? c.err : c.out;
  char chunk[kReadChunk];
  for (int round = 0; round < kReadsPerTurn && fd >= 0 && router_->Wants(i, is_stderr); ++round) {
    const ssize_t n = read(fd, chunk, sizeof chunk);
    if (n > 0) {
      router_->Add(i, is_stderr, std::string_view(chunk, static_cast<std::size_t>(n)), Now());
      if (static_cast<std::size_t>(n) < sizeof chunk) break;
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) break;
    // EOF (or an error): every writer is gone.
    router_->End(i, is_stderr);
    close(fd);
    fd = -1;
    return false;
  }
  return true;
}

void Supervisor::Reap() {
  // As a subreaper this process also inherits the ranks' orphans: reap
  // everything, report the ranks.
  while (true) {
    int status = 0;
    const pid_t r = waitpid(-1, &status, WNOHANG);
    if (r <= 0) break;
    for (std::size_t i = 0; i < children_.size(); ++i) {
      Child& c = children_[i];
      if (c.pid != r || c.exited) continue;
      c.exited = true;
      Event e;
      e.kind = Event::Kind::kExit;
      e.child = static_cast<int>(i);
      e.status = WIFSIGNALED(status) ? ExitStatus{0, WTERMSIG(status)} : ExitStatus{WEXITSTATUS(status), 0};
      pending_.push_back(e);
    }
  }
}

void Supervisor::ReadControl() {
  if (control_fd_ < 0 || parent_gone_) return;
  while (true) {
    ControlRecord rec[16];
    const ssize_t n = read(control_fd_, rec, sizeof rec);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return;  // EAGAIN
    if (n == 0) {
      parent_gone_ = true;
      Event e;
      e.kind = Event::Kind::kParentGone;
      pending_.push_back(e);
      return;
    }
    for (ssize_t k = 0; k + static_cast<ssize_t>(sizeof(ControlRecord)) <= n; k += sizeof(ControlRecord)) {
      const ControlRecord& r = rec[static_cast<std::size_t>(k) / sizeof(ControlRecord)];
      if (r.type == 'S') PushSignal(r.signal, r.from_tty != 0, false);
    }
  }
}

// One signal from outside reaches the keeper twice when the launcher
// signals every process: directly, and relayed by the wrapper. A copy from
// the other path within half a second is the same event; two from one path
// are two (a double Ctrl-C).
void Supervisor::PushSignal(int sig, bool from_tty, bool direct) {
  const double now = Now();
  if (sig == last_signal_ && direct != last_direct_ && !last_paired_ && now - last_signal_at_ < 0.5) {
    last_paired_ = true;
    return;
  }
  last_signal_ = sig;
  last_signal_at_ = now;
  last_direct_ = direct;
  last_paired_ = false;
  Event e;
  e.kind = Event::Kind::kSignal;
  e.signal = sig;
  e.from_tty = from_tty;
  pending_.push_back(e);
}

std::optional<Event> Supervisor::Next(int timeout_ms) {
  const double deadline = timeout_ms < 0 ? -1 : Now() + timeout_ms / 1000.0;
  if (first_turn_) {
    // Anything that happened before the loop started (a child that failed at once).
    first_turn_ = false;
    Reap();
  }
  while (next_pending_ >= pending_.size()) {
    pending_.clear();
    next_pending_ = 0;
    std::vector<pollfd> fds;
    std::vector<std::pair<int, bool>> who;
    fds.push_back({g_chld_pipe[0], POLLIN, 0});
    const bool control = control_fd_ >= 0 && !parent_gone_;
    if (control) fds.push_back({control_fd_, POLLIN, 0});
    const std::size_t watched = fds.size();
    if (watch_fd_ >= 0) fds.push_back({watch_fd_, POLLIN, 0});
    const std::size_t first_output = fds.size();
    for (std::size_t i = 0; i < children_.size(); ++i) {
      for (bool err : {false, true}) {
        const int fd = err ? children_[i].err : children_[i].out;
        if (fd >= 0 && router_->Wants(static_cast<int>(i), err)) {
          fds.push_back({fd, POLLIN, 0});
          who.push_back({static_cast<int>(i), err});
        }
      }
    }
    const std::size_t inputs = fds.size();
    if (router_ != nullptr) router_->AddPollFds(&fds);
    const double now = Now();
    double wait = deadline < 0 ? 1.0 : std::max(0.0, deadline - now);
    if (router_ != nullptr) {
      const double tick = router_->NextTick(now);
      if (tick >= 0) wait = std::min(wait, tick);
    }
    // A periodic wake-up as a safety net (a lost SIGCHLD byte cannot stall us).
    wait = std::min(wait, 1.0);
    const int n = poll(fds.data(), fds.size(), static_cast<int>(wait * 1000) + (wait > 0 ? 1 : 0));
    if (n < 0 && errno != EINTR) return std::nullopt;
    // Exits and signals first: a busy or stalled output never delays them.
    if (n == 0 || fds[0].revents != 0) {
      char drain[64];
      ssize_t got = 0;
      while ((got = read(g_chld_pipe[0], drain, sizeof drain)) > 0) {
        for (ssize_t i = 0; i < got; ++i) {
          if (drain[i] != 'c') PushSignal(static_cast<unsigned char>(drain[i]), false, true);
        }
      }
      Reap();
    }
    if (control && fds[1].revents != 0) ReadControl();
    if (watch_fd_ >= 0 && fds[watched].revents != 0) {
      Event e;
      e.kind = Event::Kind::kWatched;
      pending_.push_back(e);
    }
    if (n > 0) {
      for (std::size_t k = first_output; k < inputs; ++k) {
        if (fds[k].revents != 0) ReadOutput(who[k - first_output].first, who[k - first_output].second);
      }
      if (router_ != nullptr) router_->OnPoll(fds);
    }
    if (router_ != nullptr) router_->Tick(Now());
    if (pending_.empty() && deadline >= 0 && Now() >= deadline) return std::nullopt;
  }
  return pending_[next_pending_++];
}

void Supervisor::SignalAll(int sig) { SignalDescendants(getpid(), sig); }

int Supervisor::RunningCount() const {
  int n = 0;
  for (const Child& c : children_) n += c.exited ? 0 : 1;
  return n;
}

bool Supervisor::AnyAlive() const { return RunningCount() > 0 || HasLiveDescendants(getpid()); }

void Supervisor::FinishOutput() {
  if (router_ == nullptr) return;
  // Every writer is gone: read to EOF (the pipes hold at most 64 KiB each).
  bool open = true;
  while (open) {
    open = false;
    for (std::size_t i = 0; i < children_.size(); ++i) {
      for (bool err : {false, true}) {
        const int fd = err ? children_[i].err : children_[i].out;
        if (fd < 0) continue;
        if (!router_->Wants(static_cast<int>(i), err)) router_->DrainConsoles();
        if (ReadOutput(static_cast<int>(i), err)) open = true;
      }
    }
    if (open) {
      // A descriptor passed to a process outside the job would keep a pipe
      // open forever: stop once nothing arrives for a while.
      std::vector<pollfd> fds;
      for (const Child& c : children_) {
        if (c.out >= 0) fds.push_back({c.out, POLLIN, 0});
        if (c.err >= 0) fds.push_back({c.err, POLLIN, 0});
      }
      if (poll(fds.data(), fds.size(), 200) == 0) break;
    }
  }
  router_->DrainConsoles();
}

std::optional<std::pair<std::uint64_t, std::uint64_t>> ShmSpace() {
  struct statvfs st {};
  if (statvfs("/dev/shm", &st) != 0) return std::nullopt;
  return std::make_pair(static_cast<std::uint64_t>(st.f_blocks) * st.f_frsize,
                        static_cast<std::uint64_t>(st.f_bavail) * st.f_frsize);
}

std::optional<std::uint64_t> OomKillCount() {
  DiskFileReader files;
  auto cg = files.Read("/proc/self/cgroup");
  if (!cg) return std::nullopt;
  // cgroup v2: one line "0::/path".
  const std::size_t pos = cg->find("0::");
  if (pos == std::string::npos) return std::nullopt;
  std::string path = cg->substr(pos + 3);
  path = path.substr(0, path.find('\n'));
  auto events = files.Read("/sys/fs/cgroup" + path + "/memory.events");
  if (!events) return std::nullopt;
  const std::size_t k = events->find("oom_kill ");
  if (k == std::string::npos) return std::nullopt;
  return std::strtoull(events->c_str() + k + 9, nullptr, 10);
}

}  // namespace rankwrap::posix
