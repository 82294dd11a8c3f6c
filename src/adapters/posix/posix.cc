#include "adapters/posix/posix.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstring>

extern char** environ;

namespace rankwrap::posix {

EnvSnapshot EnvironmentFromProcess() {
  std::vector<std::string> entries;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) entries.emplace_back(*e);
  return EnvSnapshot::FromEntries(entries);
}

std::string HostName() {
  char buf[HOST_NAME_MAX + 1] = {};
  if (gethostname(buf, sizeof buf - 1) != 0) return {};
  return buf;
}

std::uint64_t ParentPid() { return static_cast<std::uint64_t>(getppid()); }

Result<std::string, detect::ReadError> DiskFileReader::Read(const std::string& path) const {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return detect::ReadError{std::strerror(errno)};
  std::string text;
  char buf[65536];
  while (true) {
    const ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      detect::ReadError why{std::strerror(errno)};
      close(fd);
      return why;
    }
    if (n == 0) break;
    text.append(buf, static_cast<std::size_t>(n));
  }
  close(fd);
  return text;
}

Result<std::uint16_t> FreeLocalPort() {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  auto fail = [&](const char* what) {
    const std::string why = std::strerror(errno);
    if (fd >= 0) close(fd);
    return Error{kExitEnvironment, "plan", std::string("no free local port: ") + what, why,
                 "pass --master-port PORT"};
  };
  if (fd < 0) return fail("socket()");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) return fail("bind()");
  socklen_t len = sizeof addr;
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) return fail("getsockname()");
  close(fd);
  return static_cast<std::uint16_t>(ntohs(addr.sin_port));
}

namespace {

bool IsExecutableFile(const std::string& path, int* err) {
  struct stat st {};
  if (stat(path.c_str(), &st) != 0) {
    *err = errno;
    return false;
  }
  if (!S_ISREG(st.st_mode) || access(path.c_str(), X_OK) != 0) {
    *err = EACCES;
    return false;
  }
  return true;
}

void ResetSignals() {
  // Whatever the launcher left (srun and some shells ignore SIGINT/SIGQUIT or
  // block signals) must not leak into the program.
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  sigemptyset(&dfl.sa_mask);
  for (int s = 1; s < NSIG; ++s) {
    if (s == SIGKILL || s == SIGSTOP) continue;
    sigaction(s, &dfl, nullptr);  // fails harmlessly for invalid numbers
  }
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
}

}  // namespace

Error Exec(const std::vector<std::string>& argv, const EnvSnapshot& env) {
  if (argv.empty()) {
    return Error{kExitUsage, "usage", "no program given", "rankwrap runs PROGRAM [ARGS...]",
                 "rankwrap [OPTIONS] -- PROGRAM [ARGS...]"};
  }
  const std::string& prog = argv[0];
  std::string path;
  int err = ENOENT;
  if (prog.find('/') != std::string::npos) {
    if (IsExecutableFile(prog, &err)) path = prog;
  } else {
    const std::string search(env.Get("PATH").value_or("/usr/local/bin:/usr/bin:/bin"));
    bool denied = false;
    std::size_t start = 0;
    while (start <= search.size()) {
      std::size_t colon = search.find(':', start);
      if (colon == std::string::npos) colon = search.size();
      std::string dir = search.substr(start, colon - start);
      if (dir.empty()) dir = ".";
      const std::string candidate = dir + "/" + prog;
      int e = 0;
      if (IsExecutableFile(candidate, &e)) {
        path = candidate;
        break;
      }
      if (e == EACCES) denied = true;
      start = colon + 1;
    }
    err = denied ? EACCES : ENOENT;
  }
  if (path.empty()) {
    if (err == EACCES) {
      return Error{kExitNotExecutable, "exec", "'" + prog + "' cannot be executed",
                   "it exists but is not an executable regular file (permission denied)",
                   "chmod +x the file, or run it through its interpreter (e.g. 'python3 " + prog +
                       "')"};
    }
    return Error{kExitNotFound, "exec", "'" + prog + "' not found",
                 prog.find('/') != std::string::npos
                     ? std::string("no such file")
                     : "no executable of that name in PATH=" +
                           std::string(env.Get("PATH").value_or("(unset)")),
                 "give the full path, or fix PATH"};
  }
  std::vector<std::string> env_strings;
  for (const auto& [k, v] : env.vars()) env_strings.push_back(k + "=" + v);
  std::vector<char*> envp;
  for (auto& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::vector<std::string> args = argv;
  std::vector<char*> cargv;
  for (auto& a : args) cargv.push_back(a.data());
  cargv.push_back(nullptr);
  ResetSignals();
  execve(path.c_str(), cargv.data(), envp.data());
  const int e = errno;
  if (e == ENOEXEC) {
    return Error{kExitNotExecutable, "exec", "'" + path + "' cannot be executed",
                 "not a binary the kernel can run and no '#!' line",
                 "add a '#!' line or run it through its interpreter"};
  }
  return Error{e == ENOENT ? kExitNotFound : kExitNotExecutable, "exec",
               "'" + path + "' cannot be executed", std::strerror(e),
               "check the file and its interpreter ('#!' line)"};
}

}  // namespace rankwrap::posix
