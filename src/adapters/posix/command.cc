#include "adapters/posix/command.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace rankwrap::posix {
namespace {

double Mono() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

Error CommandError(const std::vector<std::string>& argv, const std::string& why) {
  return Error{kExitSystem, "supervise", "'" + argv.front() + "'", why,
               "check that the scheduler's commands are on PATH on the compute nodes"};
}

}  // namespace

Result<CommandResult> RunCommand(const std::vector<std::string>& argv, double timeout) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return CommandError(argv, std::string("pipe: ") + std::strerror(errno));
  // Signals are blocked across fork and reset in the child: the keeper's
  // handlers (a stop from outside, SIGCHLD) must not run in it before exec.
  sigset_t all, old;
  sigfillset(&all);
  sigprocmask(SIG_BLOCK, &all, &old);
  const pid_t pid = fork();
  if (pid < 0) {
    sigprocmask(SIG_SETMASK, &old, nullptr);
    close(fds[0]);
    close(fds[1]);
    return CommandError(argv, std::string("fork: ") + std::strerror(errno));
  }
  if (pid == 0) {
    for (int sig = 1; sig < NSIG; ++sig) signal(sig, SIG_DFL);
    sigprocmask(SIG_SETMASK, &old, nullptr);
    // A group of its own: at the time limit everything it started goes too.
    setpgid(0, 0);
    dup2(fds[1], 1);
    dup2(fds[1], 2);
    const int null = open("/dev/null", O_RDONLY);
    if (null >= 0) dup2(null, 0);
    std::vector<char*> args;
    for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execvp(args[0], args.data());
    _exit(127);
  }
  sigprocmask(SIG_SETMASK, &old, nullptr);
  setpgid(pid, pid);  // as the child does: whichever runs first
  close(fds[1]);
  CommandResult r;
  const double until = Mono() + timeout;
  bool timed_out = false;
  char buf[4096];
  while (true) {
    const int left = static_cast<int>((until - Mono()) * 1000);
    if (left <= 0) {
      timed_out = true;
      break;
    }
    pollfd p{fds[0], POLLIN, 0};
    if (poll(&p, 1, left) <= 0) continue;
    const ssize_t n = read(fds[0], buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    if (r.output.size() < (1u << 20)) r.output.append(buf, static_cast<std::size_t>(n));
  }
  close(fds[0]);
  // The command may close its output and go on running: the time limit
  // holds for its exit too.
  int status = 0;
  while (!timed_out) {
    const pid_t w = waitpid(pid, &status, WNOHANG);
    if (w == pid || (w < 0 && errno != EINTR)) break;
    if (Mono() >= until) {
      timed_out = true;
      break;
    }
    timespec pause{0, 20 * 1000 * 1000};
    nanosleep(&pause, nullptr);
  }
  if (timed_out) {
    kill(-pid, SIGKILL);
    kill(pid, SIGKILL);
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
  }
  if (timed_out) return CommandError(argv, "still running after " + std::to_string(static_cast<int>(timeout)) + " s");
  r.exit_code = WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status);
  if (r.exit_code == 127 && r.output.empty()) return CommandError(argv, "not found on PATH");
  return r;
}

}  // namespace rankwrap::posix
