#include "adapters/posix/child.h"

#include <signal.h>
#include <sys/prctl.h>
#include <fcntl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "adapters/posix/posix.h"

namespace rankwrap::posix {
namespace {

bool WriteAll(int fd, const char* p, std::size_t n) {
  while (n > 0) {
    const ssize_t w = write(fd, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return false;
    p += w;
    n -= static_cast<std::size_t>(w);
  }
  return true;
}

std::string ReadAll(int fd) {
  std::string out;
  char buf[4096];
  while (true) {
    const ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    out.append(buf, static_cast<std::size_t>(n));
  }
  return out;
}

// Fields of an Error, '\0'-separated, for the exec-error pipe.
std::string Pack(const Error& e) {
  std::string s = std::to_string(e.exit_code);
  for (const std::string* f : {&e.stage, &e.what, &e.why, &e.hint}) s += '\0' + *f;
  return s;
}

Error Unpack(const std::string& s) {
  std::vector<std::string> f;
  std::size_t start = 0;
  while (start <= s.size()) {
    std::size_t z = s.find('\0', start);
    if (z == std::string::npos) z = s.size();
    f.push_back(s.substr(start, z - start));
    start = z + 1;
  }
  f.resize(5);
  return Error{std::atoi(f[0].c_str()), f[1], f[2], f[3], f[4]};
}

[[noreturn]] void ChildMain(const std::vector<std::string>& argv, int go_fd, int err_fd, pid_t parent) {
  setpgid(0, 0);
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() != parent) _exit(0);  // the parent died before PDEATHSIG was armed
  const std::string blob = ReadAll(go_fd);
  close(go_fd);
  if (blob.empty()) _exit(0);  // abandoned
  std::vector<std::string> entries;
  std::size_t start = 0;
  while (start < blob.size()) {
    std::size_t z = blob.find('\0', start);
    if (z == std::string::npos) z = blob.size();
    entries.push_back(blob.substr(start, z - start));
    start = z + 1;
  }
  const Error e = Exec(argv, EnvSnapshot::FromEntries(entries));
  const std::string packed = Pack(e);
  WriteAll(err_fd, packed.data(), packed.size());
  _exit(e.exit_code);
}

volatile sig_atomic_t g_pgid = 0;
volatile sig_atomic_t g_last_int = 0;
volatile sig_atomic_t g_forwarded = 0;

void Forward(int sig) {
  if (g_pgid <= 0) return;
  g_forwarded = sig;
  if (sig == SIGINT) {
    // srun's convention: a second Ctrl-C within a second kills at once.
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    const sig_atomic_t now = static_cast<sig_atomic_t>(ts.tv_sec);
    if (g_last_int != 0 && now - g_last_int <= 1) sig = SIGKILL;
    g_last_int = now;
    g_forwarded = sig;
  }
  kill(-static_cast<pid_t>(g_pgid), sig);
}

}  // namespace

std::string SignalName(int sig) {
  switch (sig) {
    case SIGHUP: return "SIGHUP";
    case SIGINT: return "SIGINT";
    case SIGQUIT: return "SIGQUIT";
    case SIGILL: return "SIGILL";
    case SIGTRAP: return "SIGTRAP";
    case SIGABRT: return "SIGABRT";
    case SIGBUS: return "SIGBUS";
    case SIGFPE: return "SIGFPE";
    case SIGKILL: return "SIGKILL";
    case SIGUSR1: return "SIGUSR1";
    case SIGSEGV: return "SIGSEGV";
    case SIGUSR2: return "SIGUSR2";
    case SIGPIPE: return "SIGPIPE";
    case SIGALRM: return "SIGALRM";
    case SIGTERM: return "SIGTERM";
    case SIGXCPU: return "SIGXCPU";
    default: return "signal " + std::to_string(sig);
  }
}

Result<WaitingChild> WaitingChild::Fork(std::vector<std::string> argv) {
  int go[2], err[2];
  if (pipe2(go, O_CLOEXEC) != 0) {
    return Error{kExitBootstrap, "exec", "pipe() failed", std::strerror(errno), "check the process limits"};
  }
  if (pipe2(err, O_CLOEXEC) != 0) {
    close(go[0]);
    close(go[1]);
    return Error{kExitBootstrap, "exec", "pipe() failed", std::strerror(errno), "check the process limits"};
  }
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid < 0) {
    return Error{kExitBootstrap, "exec", "fork() failed", std::strerror(errno), "check the process limits"};
  }
  if (pid == 0) {
    // (Forwarding handlers are installed only after Release, so the child
    // starts with the dispositions rankwrap itself started with.)
    close(go[1]);
    close(err[0]);
    ChildMain(argv, go[0], err[1], parent);
  }
  close(go[0]);
  close(err[1]);
  setpgid(pid, pid);  // also from the parent: no race with the first kill(-pid)
  return WaitingChild(pid, go[1], err[0]);
}

WaitingChild::WaitingChild(WaitingChild&& o) noexcept : pid_(o.pid_), go_fd_(o.go_fd_), err_fd_(o.err_fd_) {
  o.pid_ = -1;
  o.go_fd_ = o.err_fd_ = -1;
}

WaitingChild::~WaitingChild() {
  if (go_fd_ >= 0) close(go_fd_);
  if (err_fd_ >= 0) close(err_fd_);
}

Status WaitingChild::Release(const EnvSnapshot& env) {
  std::string blob;
  for (const auto& [k, v] : env.vars()) {
    blob += k + "=" + v;
    blob += '\0';
  }
  const bool sent = WriteAll(go_fd_, blob.data(), blob.size());
  close(go_fd_);
  go_fd_ = -1;
  if (!sent) {
    return Error{kExitBootstrap, "exec", "the waiting child is gone", std::strerror(errno),
                 "check the job's memory and process limits"};
  }
  const std::string err = ReadAll(err_fd_);  // EOF at a successful exec (CLOEXEC)
  close(err_fd_);
  err_fd_ = -1;
  if (!err.empty()) return Unpack(err);
  return Ok{};
}

void WaitingChild::Abandon() {
  if (go_fd_ >= 0) close(go_fd_);
  go_fd_ = -1;
  int status = 0;
  while (waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
}

int LastForwardedSignal() { return g_forwarded; }

ExitStatus WaitingChild::Wait(const std::function<void()>& probe) {
  timespec nap{0, 100 * 1000 * 1000};
  while (true) {
    int status = 0;
    const pid_t r = waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      if (WIFSIGNALED(status)) return ExitStatus{0, WTERMSIG(status)};
      return ExitStatus{WEXITSTATUS(status), 0};
    }
    if (r < 0 && errno != EINTR) return ExitStatus{1, 0};
    probe();
    nanosleep(&nap, nullptr);
  }
}

void ForwardSignals(pid_t pgid) {
  g_pgid = static_cast<sig_atomic_t>(pgid);
  struct sigaction sa {};
  sa.sa_handler = &Forward;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0;
  for (int sig : {SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2}) sigaction(sig, &sa, nullptr);
}

}  // namespace rankwrap::posix
