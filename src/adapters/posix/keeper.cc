#include "adapters/posix/keeper.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

#include "adapters/posix/output.h"
#include "adapters/posix/proctree.h"

namespace rankwrap::posix {
namespace {

volatile sig_atomic_t g_fd = -1;
volatile sig_atomic_t g_relayed = 0;

void Relay(int sig, siginfo_t* info, void*) {
  const int saved = errno;
  ControlRecord r;
  r.signal = static_cast<unsigned char>(sig);
  r.from_tty = info != nullptr && info->si_code == SI_KERNEL ? 1 : 0;
  if (sig == SIGTERM || sig == SIGINT || sig == SIGHUP || sig == SIGQUIT) g_relayed = sig;
  if (g_fd >= 0) (void)!write(g_fd, &r, sizeof r);
  errno = saved;
}

Error KeeperError(std::string what) {
  return Error{kExitSystem, "supervise", std::move(what), std::strerror(errno),
               "check the process limits (ulimit -u, -n)"};
}

// The go message: an 8-byte length, then KEY=VALUE\0 entries.
std::optional<EnvSnapshot> ReadGo(int fd) {
  std::uint64_t len = 0;
  std::string blob;
  char* p = reinterpret_cast<char*>(&len);
  std::size_t got = 0;
  auto read_exact = [&](char* dst, std::size_t n) {
    got = 0;
    while (got < n) {
      pollfd pf{fd, POLLIN, 0};
      if (poll(&pf, 1, -1) < 0 && errno != EINTR) return false;
      const ssize_t r = read(fd, dst + got, n - got);
      if (r < 0 && (errno == EINTR || errno == EAGAIN)) continue;
      if (r <= 0) return false;
      got += static_cast<std::size_t>(r);
    }
    return true;
  };
  if (!read_exact(p, sizeof len) || len > (1u << 30)) return std::nullopt;
  blob.resize(len);
  if (!read_exact(blob.data(), len)) return std::nullopt;
  std::vector<std::string> entries;
  std::size_t start = 0;
  while (start < blob.size()) {
    std::size_t z = blob.find('\0', start);
    if (z == std::string::npos) z = blob.size();
    entries.push_back(blob.substr(start, z - start));
    start = z + 1;
  }
  return EnvSnapshot::FromEntries(entries);
}

}  // namespace

int LastRelayedSignal() { return g_relayed; }

namespace {
constexpr int kRelayed[] = {SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2};

void InstallRelay(int fd) {
  g_fd = fd;
  struct sigaction sa {};
  sa.sa_sigaction = &Relay;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_SIGINFO | SA_RESTART;
  for (int sig : kRelayed) sigaction(sig, &sa, nullptr);
}
}  // namespace

Result<Keeper> Keeper::Fork(bool wait_for_env,
                            const std::function<int(int control_fd, const EnvSnapshot* released)>& body,
                            bool relay_now) {
  int ctl[2];
  if (pipe2(ctl, O_CLOEXEC) != 0) return KeeperError("pipe() failed");
  const pid_t parent = getpid();
  // The relayed signals stay blocked across fork: one that arrives before
  // the wrapper relays must wait, not kill the wrapper (which would look
  // like the wrapper's death and end the job with SIGKILL).
  sigset_t relayed, old;
  sigemptyset(&relayed);
  for (int sig : kRelayed) sigaddset(&relayed, sig);
  sigprocmask(SIG_BLOCK, &relayed, &old);
  const pid_t pid = fork();
  if (pid < 0) {
    sigprocmask(SIG_SETMASK, &old, nullptr);
    close(ctl[0]);
    close(ctl[1]);
    return KeeperError("fork() failed");
  }
  if (pid == 0) {
    close(ctl[1]);
    sigprocmask(SIG_SETMASK, &old, nullptr);
    // Out of the wrapper's process group, so a kill(-pgid) aimed at the
    // wrapper does not end the keeper before it has ended the job.
    setpgid(0, 0);
    BecomeSubreaper();
    if (getppid() != parent) _exit(0);
    std::optional<EnvSnapshot> env;
    if (wait_for_env) {
      env = ReadGo(ctl[0]);
      if (!env) _exit(0);  // abandoned: the wrapper stopped before the program was due
    }
    fcntl(ctl[0], F_SETFL, O_NONBLOCK);
    _exit(body(ctl[0], env ? &*env : nullptr));
  }
  close(ctl[0]);
  setpgid(pid, pid);
  // The wrapper survives writing to a keeper that is gone (EPIPE, not SIGPIPE).
  signal(SIGPIPE, SIG_IGN);
  BecomeSubreaper();
  if (relay_now) InstallRelay(ctl[1]);
  sigprocmask(SIG_SETMASK, &old, nullptr);
  return Keeper(pid, ctl[1]);
}

Keeper::Keeper(Keeper&& o) noexcept : pid_(o.pid_), fd_(o.fd_) {
  o.pid_ = -1;
  o.fd_ = -1;
}

Keeper::~Keeper() {
  if (fd_ >= 0) close(fd_);
}

Status Keeper::Release(const EnvSnapshot& env) {
  std::string blob;
  for (const auto& [k, v] : env.vars()) {
    blob += k + "=" + v;
    blob += '\0';
  }
  const std::uint64_t len = blob.size();
  const bool sent =
      WriteAll(fd_, std::string_view(reinterpret_cast<const char*>(&len), sizeof len)) && WriteAll(fd_, blob);
  if (!sent) {
    return Error{kExitBootstrap, "exec", "the keeper process is gone", std::strerror(errno),
                 "check the job's memory and process limits"};
  }
  return Ok{};
}

void Keeper::RelaySignals() { InstallRelay(fd_); }

ExitStatus Keeper::Wait(const std::function<void()>& probe) {
  // Without a probe: block (the relay handlers run meanwhile). With one:
  // look often at first, then every 100 ms.
  long nap_ns = 1000 * 1000;
  while (true) {
    int status = 0;
    const pid_t r = waitpid(pid_, &status, probe ? WNOHANG : 0);
    if (r == pid_) {
      const ExitStatus s = WIFSIGNALED(status) ? ExitStatus{0, WTERMSIG(status)} : ExitStatus{WEXITSTATUS(status), 0};
      // The keeper was killed: its orphans came to this process (a
      // subreaper too). End them.
      if (s.signal != 0) SignalDescendants(getpid(), SIGKILL);
      while (waitpid(-1, &status, WNOHANG) > 0) {
      }
      return s;
    }
    if (r < 0 && errno != EINTR) return ExitStatus{kExitSystem, 0};
    if (r < 0 || !probe) continue;
    probe();
    timespec nap{0, nap_ns};
    nanosleep(&nap, nullptr);
    nap_ns = std::min(nap_ns * 2, 100L * 1000 * 1000);
  }
}

void Keeper::Abandon() {
  if (fd_ >= 0) close(fd_);
  fd_ = -1;
  int status = 0;
  while (waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
}

void Keeper::Kill() {
  SignalDescendants(pid_, SIGKILL);
  kill(pid_, SIGKILL);
}

}  // namespace rankwrap::posix
