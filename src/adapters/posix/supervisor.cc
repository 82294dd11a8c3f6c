#include "adapters/posix/supervisor.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "adapters/posix/posix.h"

namespace rankwrap::posix {
namespace {

int g_signal_pipe[2] = {-1, -1};

void OnSignal(int sig) {
  const int saved = errno;
  const unsigned char b = static_cast<unsigned char>(sig);
  (void)!write(g_signal_pipe[1], &b, 1);
  errno = saved;
}

constexpr std::size_t kMaxLine = 64 * 1024;  // longer lines are cut into pieces

}  // namespace

Supervisor::Supervisor() = default;

Supervisor::~Supervisor() {
  for (Child& c : children_) {
    if (c.out >= 0) close(c.out);
    if (c.err >= 0) close(c.err);
  }
}

Status CatchSignals() {
  if (g_signal_pipe[0] < 0 && pipe2(g_signal_pipe, O_CLOEXEC | O_NONBLOCK) != 0) {
    return Error{kExitUsage, "supervise", "pipe() failed", std::strerror(errno), "check the process limits"};
  }
  struct sigaction sa {};
  sa.sa_handler = &OnSignal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  for (int sig : {SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGCHLD}) sigaction(sig, &sa, nullptr);
  return Ok{};
}

Status Supervisor::Start(std::vector<ChildSpec> specs, const std::function<std::string(const Error&)>& format_error) {
  const pid_t parent = getpid();
  for (ChildSpec& spec : specs) {
    int out[2], err[2];
    if (pipe2(out, O_CLOEXEC) != 0 || pipe2(err, O_CLOEXEC) != 0) {
      return Error{kExitUsage, "supervise", "pipe() failed", std::strerror(errno), "check the process limits"};
    }
    // Signals are blocked across fork: the child must not run this
    // process's handlers (they would write into the shared signal pipe and
    // look like a signal to rankwrap) before it resets them.
    sigset_t all, old;
    sigfillset(&all);
    sigprocmask(SIG_BLOCK, &all, &old);
    const pid_t pid = fork();
    if (pid < 0) {
      sigprocmask(SIG_SETMASK, &old, nullptr);
      return Error{kExitUsage, "supervise", "fork() failed", std::strerror(errno), "check the process limits"};
    }
    if (pid == 0) {
      for (int sig : {SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGCHLD}) signal(sig, SIG_DFL);
      close(g_signal_pipe[0]);
      close(g_signal_pipe[1]);
      sigprocmask(SIG_SETMASK, &old, nullptr);
      setpgid(0, 0);
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (getppid() != parent) _exit(0);
      dup2(out[1], 1);
      dup2(err[1], 2);
      if (spec.before_exec) {
        if (Status s = spec.before_exec(); !s) {
          const std::string msg = format_error(s.error());
          (void)!write(2, msg.data(), msg.size());
          _exit(s.error().exit_code);
        }
      }
      const Error e = Exec(spec.argv, spec.env);
      const std::string msg = format_error(e);
      (void)!write(2, msg.data(), msg.size());
      _exit(e.exit_code);
    }
    sigprocmask(SIG_SETMASK, &old, nullptr);
    setpgid(pid, pid);
    close(out[1]);
    close(err[1]);
    fcntl(out[0], F_SETFL, O_NONBLOCK);
    fcntl(err[0], F_SETFL, O_NONBLOCK);
    Child c;
    c.pid = pid;
    c.out = out[0];
    c.err = err[0];
    children_.push_back(std::move(c));
  }
  return Ok{};
}

bool Supervisor::Drain(int i, bool is_stderr, bool final) {
  Child& c = children_[static_cast<std::size_t>(i)];
  int& fd = is_stderr ? c.err : c.out;
  std::string& buf = is_stderr ? c.err_buf : c.out_buf;
  bool eof = false;
  if (fd >= 0) {
    char chunk[16384];
    while (true) {
      const ssize_t n = read(fd, chunk, sizeof chunk);
      if (n > 0) {
        buf.append(chunk, static_cast<std::size_t>(n));
        continue;
      }
      if (n == 0) eof = true;
      if (n < 0 && errno == EINTR) continue;
      break;
    }
  }
  std::size_t start = 0;
  while (true) {
    const std::size_t nl = buf.find('\n', start);
    if (nl == std::string::npos) break;
    pending_.push_back({Event::Kind::kLine, i, is_stderr, buf.substr(start, nl - start), {}, 0});
    start = nl + 1;
  }
  buf.erase(0, start);
  if (buf.size() > kMaxLine || ((eof || final) && !buf.empty())) {
    pending_.push_back({Event::Kind::kLine, i, is_stderr, buf, {}, 0});
    buf.clear();
  }
  if (eof && fd >= 0) {
    close(fd);
    fd = -1;
  }
  return eof;
}

void Supervisor::Reap() {
  for (std::size_t i = 0; i < children_.size(); ++i) {
    Child& c = children_[i];
    if (c.exited) continue;
    int status = 0;
    const pid_t r = waitpid(c.pid, &status, WNOHANG);
    if (r != c.pid) continue;
    c.exited = true;
    c.status = WIFSIGNALED(status) ? ExitStatus{0, WTERMSIG(status)} : ExitStatus{WEXITSTATUS(status), 0};
    // The last output before the exit event: what the program wrote last
    // often explains why it ended.
    Drain(static_cast<int>(i), false, true);
    Drain(static_cast<int>(i), true, true);
    pending_.push_back({Event::Kind::kExit, static_cast<int>(i), false, {}, *c.status, 0});
  }
}

std::optional<Event> Supervisor::Next(int timeout_ms) {
  while (pending_.empty()) {
    std::vector<pollfd> fds;
    std::vector<std::pair<int, bool>> who;
    fds.push_back({g_signal_pipe[0], POLLIN, 0});
    who.push_back({-1, false});
    for (std::size_t i = 0; i < children_.size(); ++i) {
      if (children_[i].out >= 0) {
        fds.push_back({children_[i].out, POLLIN, 0});
        who.push_back({static_cast<int>(i), false});
      }
      if (children_[i].err >= 0) {
        fds.push_back({children_[i].err, POLLIN, 0});
        who.push_back({static_cast<int>(i), true});
      }
    }
    // Exits are also found by a periodic reap: a child's grandchildren may
    // keep its pipes open after it died.
    const int wait = timeout_ms < 0 ? 200 : std::min(timeout_ms, 200);
    const int n = poll(fds.data(), fds.size(), wait);
    if (n < 0 && errno != EINTR) return std::nullopt;
    for (std::size_t k = 0; n > 0 && k < fds.size(); ++k) {
      if (fds[k].revents == 0) continue;
      if (who[k].first < 0) {
        unsigned char sigs[64];
        const ssize_t got = read(g_signal_pipe[0], sigs, sizeof sigs);
        for (ssize_t s = 0; s < got; ++s) {
          if (sigs[s] != SIGCHLD) pending_.push_back({Event::Kind::kSignal, -1, false, {}, {}, sigs[s]});
        }
      } else {
        Drain(who[k].first, who[k].second, false);
      }
    }
    Reap();
    if (pending_.empty() && timeout_ms >= 0) {
      timeout_ms -= wait;
      if (timeout_ms <= 0) return std::nullopt;
    }
  }
  Event e = pending_.front();
  pending_.erase(pending_.begin());
  return e;
}

void Supervisor::Signal(int i, int sig) {
  const Child& c = children_[static_cast<std::size_t>(i)];
  if (!c.exited) kill(-c.pid, sig);
}

bool Supervisor::Running(int i) const { return !children_[static_cast<std::size_t>(i)].exited; }

int Supervisor::RunningCount() const {
  int n = 0;
  for (const Child& c : children_) n += c.exited ? 0 : 1;
  return n;
}

pid_t Supervisor::Pid(int i) const { return children_[static_cast<std::size_t>(i)].pid; }

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
