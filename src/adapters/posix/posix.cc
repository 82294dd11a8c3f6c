#include "adapters/posix/posix.h"

#include "adapters/posix/output.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <poll.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sched.h>
#include <sys/syscall.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <optional>

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

namespace {

std::string FileKind(mode_t mode) {
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISFIFO(mode)) return "a FIFO (named pipe)";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISSOCK(mode)) return "a socket";
  return "not a regular file";
}

std::string Mib(std::size_t bytes) {
  return bytes % (std::size_t{1} << 20) == 0 ? std::to_string(bytes >> 20) + " MiB" : std::to_string(bytes) + " bytes";
}

// Reads the regular file open on `fd` (closed here), at most `max` bytes.
// st_size is checked first, and the read itself stops one byte past the
// bound: /proc files say 0 and a file may grow while it is read.
Result<std::string, detect::ReadError> ReadOpenFile(int fd, const struct stat& st, std::size_t max) {
  auto too_big = [&] {
    return detect::ReadError{"larger than " + Mib(max) +
                             " (the limit for files rankwrap reads); expected a host or cache file"};
  };
  if (st.st_size > 0 && static_cast<std::uint64_t>(st.st_size) > max) {
    close(fd);
    return too_big();
  }
  std::string text;
  char buf[65536];
  while (true) {
    const std::size_t left = max - text.size();  // text.size() <= max here
    const std::size_t want = left >= sizeof buf ? sizeof buf : left + 1;
    const ssize_t n = read(fd, buf, want);
    if (n < 0) {
      if (errno == EINTR) continue;
      detect::ReadError why{std::strerror(errno)};
      close(fd);
      return why;
    }
    if (n == 0) break;
    text.append(buf, static_cast<std::size_t>(n));
    if (text.size() > max) {
      close(fd);
      return too_big();
    }
  }
  close(fd);
  return text;
}

}  // namespace

Result<std::string, detect::ReadError> DiskFileReader::Read(const std::string& path) const {
  // O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer.
  const int fd = open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return detect::ReadError{std::strerror(errno)};
  struct stat st {};
  if (fstat(fd, &st) != 0) {
    detect::ReadError why{std::strerror(errno)};
    close(fd);
    return why;
  }
  if (!S_ISREG(st.st_mode)) {
    close(fd);
    return detect::ReadError{FileKind(st.st_mode) + ", not a regular file"};
  }
  return ReadOpenFile(fd, st, max_bytes_);
}

namespace {

// A dynamically sized CPU set (CPU_ALLOC): cpu_set_t holds 1024 CPUs only.
struct CpuSet {
  explicit CpuSet(std::size_t cpus) : count(cpus < 1024 ? 1024 : cpus), set(CPU_ALLOC(count)) {
    if (set != nullptr) CPU_ZERO_S(CPU_ALLOC_SIZE(count), set);
  }
  ~CpuSet() {
    if (set != nullptr) CPU_FREE(set);
  }
  CpuSet(const CpuSet&) = delete;
  CpuSet& operator=(const CpuSet&) = delete;
  std::size_t bytes() const { return CPU_ALLOC_SIZE(count); }
  std::size_t count;
  cpu_set_t* set;
};

// "0-3,8,10-11\n" -> {0,1,2,3,8,10,11}; empty for anything else.
std::vector<unsigned> ParseCpuList(const std::string& text) {
  std::vector<unsigned> out;
  std::size_t i = 0;
  auto number = [&](unsigned* v) {
    if (i >= text.size() || text[i] < '0' || text[i] > '9') return false;
    unsigned long n = 0;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9' && n < (1UL << 22)) {
      n = n * 10 + static_cast<unsigned>(text[i++] - '0');
    }
    *v = static_cast<unsigned>(n);
    return n < (1UL << 22);
  };
  while (i < text.size() && text[i] != '\n') {
    unsigned lo = 0, hi = 0;
    if (!number(&lo)) return {};
    hi = lo;
    if (i < text.size() && text[i] == '-') {
      ++i;
      if (!number(&hi) || hi < lo) return {};
    }
    for (unsigned c = lo; c <= hi; ++c) out.push_back(c);
    if (i < text.size() && text[i] == ',') ++i;
  }
  return out;
}

}  // namespace

std::vector<unsigned> AffinityPus() {
  std::vector<unsigned> out;
  for (std::size_t cpus = 1024; cpus <= (1u << 20); cpus *= 4) {
    CpuSet s(cpus);
    if (s.set == nullptr) return out;
    if (sched_getaffinity(0, s.bytes(), s.set) != 0) {
      if (errno == EINVAL) continue;  // the kernel's mask is larger than this set
      return out;
    }
    for (unsigned i = 0; i < s.count; ++i) {
      if (CPU_ISSET_S(i, s.bytes(), s.set)) out.push_back(i);
    }
    return out;
  }
  return out;
}

std::vector<unsigned> CgroupPus() {
  const DiskFileReader files;
  auto self = files.Read("/proc/self/cgroup");
  if (!self) return {};
  std::string v2, v1;
  std::size_t start = 0;
  const std::string& text = *self;
  while (start < text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    const std::string line = text.substr(start, end - start);
    start = end + 1;
    const std::size_t c1 = line.find(':'), c2 = c1 == std::string::npos ? c1 : line.find(':', c1 + 1);
    if (c2 == std::string::npos) continue;
    const std::string controllers = "," + line.substr(c1 + 1, c2 - c1 - 1) + ",";
    if (line.compare(0, c1, "0") == 0 && controllers == ",,") v2 = line.substr(c2 + 1);
    if (controllers.find(",cpuset,") != std::string::npos) v1 = line.substr(c2 + 1);
  }
  // The nearest cgroup, from this process's up to the root, with a cpuset.
  auto walk = [&](const std::string& root, std::string path, std::initializer_list<const char*> names) {
    while (true) {
      for (const char* name : names) {
        auto cpus = files.Read(root + path + (path.size() > 1 ? "/" : "") + name);
        if (cpus) {
          auto list = ParseCpuList(*cpus);
          if (!list.empty()) return list;
        }
      }
      if (path.empty() || path == "/") return std::vector<unsigned>{};
      const std::size_t slash = path.rfind('/');
      path = slash == 0 || slash == std::string::npos ? "/" : path.substr(0, slash);
    }
  };
  if (!v1.empty()) {
    auto cpus = walk("/sys/fs/cgroup/cpuset", v1, {"cpuset.effective_cpus", "cpuset.cpus"});
    if (!cpus.empty()) return cpus;
  }
  if (!v2.empty()) {
    for (const char* root : {"/sys/fs/cgroup", "/sys/fs/cgroup/unified"}) {
      auto cpus = walk(root, v2, {"cpuset.cpus.effective"});
      if (!cpus.empty()) return cpus;
    }
  }
  return {};
}

Status BindProcess(const std::vector<unsigned>& pus, const std::vector<unsigned>& numa, MemPolicy policy) {
  auto list = [](const std::vector<unsigned>& v) {
    std::string s;
    for (unsigned x : v) s += (s.empty() ? "" : ",") + std::to_string(x);
    return s;
  };
  if (!pus.empty()) {
    CpuSet s(static_cast<std::size_t>(*std::max_element(pus.begin(), pus.end())) + 1);
    if (s.set == nullptr) {
      return Error{kExitBinding, "bind", "binding to PUs " + list(pus) + " failed", "CPU_ALLOC: out of memory",
                   "use --cpu-bind none"};
    }
    for (unsigned p : pus) CPU_SET_S(p, s.bytes(), s.set);
    if (sched_setaffinity(0, s.bytes(), s.set) != 0) {
      return Error{kExitBinding, "bind", "binding to PUs " + list(pus) + " failed", std::strerror(errno),
                   "check that these cores are in this job's cgroup, or use --cpu-bind none"};
    }
  }
  if (!numa.empty()) {
    constexpr unsigned kMaxNode = 1024;
    unsigned long mask[kMaxNode / (8 * sizeof(unsigned long))] = {};
    for (unsigned n : numa) {
      if (n < kMaxNode) mask[n / (8 * sizeof(unsigned long))] |= 1UL << (n % (8 * sizeof(unsigned long)));
    }
    // From <linux/mempolicy.h>. MPOL_PREFERRED_MANY (Linux 5.15) prefers
    // every given node; older kernels answer EINVAL and get MPOL_PREFERRED,
    // which takes one node: the first.
    constexpr int kMpolPreferred = 1, kMpolBind = 2, kMpolPreferredMany = 5;
    auto set = [&](int mode, const unsigned long* m) {
      return syscall(SYS_set_mempolicy, mode, m, static_cast<unsigned long>(kMaxNode + 1)) == 0;
    };
    bool ok = false;
    if (policy == MemPolicy::kStrict) {
      ok = set(kMpolBind, mask);
    } else {
      ok = set(kMpolPreferredMany, mask);
      if (!ok && errno == EINVAL) {
        unsigned long first[kMaxNode / (8 * sizeof(unsigned long))] = {};
        const unsigned n = numa.front() < kMaxNode ? numa.front() : 0;
        first[n / (8 * sizeof(unsigned long))] |= 1UL << (n % (8 * sizeof(unsigned long)));
        ok = set(kMpolPreferred, first);
      }
    }
    if (!ok) {
      return Error{kExitBinding, "bind",
                   std::string(policy == MemPolicy::kStrict ? "binding" : "preferring") + " memory on NUMA " +
                       list(numa) + " failed",
                   std::strerror(errno), "use --mem-bind none"};
    }
  }
  return Ok{};
}

Result<std::string> PrivateCacheDir(const EnvSnapshot& env) {
  const uid_t uid = getuid();
  std::string dir;
  if (auto xdg = env.Get("XDG_RUNTIME_DIR"); xdg && !xdg->empty()) {
    struct stat st {};
    if (stat(std::string(*xdg).c_str(), &st) == 0 && st.st_uid == uid) dir = std::string(*xdg) + "/rankwrap";
  }
  if (dir.empty()) dir = "/tmp/rankwrap-" + std::to_string(uid);
  if (mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return Error{kExitBinding, "bind", "cache directory '" + dir + "' cannot be created", std::strerror(errno),
                 "set RANKWRAP_TOPOLOGY_CACHE=0"};
  }
  struct stat st {};
  if (lstat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode) || st.st_uid != uid || (st.st_mode & 077) != 0) {
    return Error{kExitBinding, "bind", "cache directory '" + dir + "' is not private",
                 "it must be a directory (not a link) owned by you with mode 0700",
                 "remove it, or set RANKWRAP_TOPOLOGY_CACHE=0"};
  }
  return dir;
}

Result<std::string, detect::ReadError> ReadPrivateFile(const std::string& path) {
  const int fd = open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return detect::ReadError{std::strerror(errno)};
  struct stat st {};
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_uid != getuid() || (st.st_mode & 022) != 0) {
    close(fd);
    return detect::ReadError{"not a private regular file of this user"};
  }
  // The descriptor that was checked is the one read: no second open of a
  // path that may have been replaced in between.
  return ReadOpenFile(fd, st, kMaxFileBytes);
}

Status WritePrivateFile(const std::string& path, const std::string& content) {
  const std::string tmp = path + ".tmp." + std::to_string(getpid());
  const int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) {
    return Error{kExitBinding, "bind", "cannot write '" + tmp + "'", std::strerror(errno),
                 "set RANKWRAP_TOPOLOGY_CACHE=0"};
  }
  const bool written = WriteAll(fd, content);
  close(fd);
  if (!written || rename(tmp.c_str(), path.c_str()) != 0) {
    unlink(tmp.c_str());
    return Error{kExitBinding, "bind", "cannot write '" + path + "'", std::strerror(errno),
                 "set RANKWRAP_TOPOLOGY_CACHE=0"};
  }
  return Ok{};
}

Result<std::uint16_t> FreeLocalPort() {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  auto fail = [&](const char* what) {
    const std::string why = std::strerror(errno);
    if (fd >= 0) close(fd);
    return Error{kExitEnvironment, "plan", std::string("no free local port: ") + what, why, "pass --master-port PORT"};
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

Result<std::uint16_t> HeldPort::Open(std::uint16_t port) {
  Close();
  fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  auto fail = [&](const char* what) {
    const std::string why = std::strerror(errno);
    Close();
    return Error{kExitBootstrap, "plan", std::string(what) + " for MASTER_PORT " + std::to_string(port), why,
                 "pass --master-port PORT (a port free on rank 0's host)"};
  };
  if (fd_ < 0) return fail("socket()");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_ANY);
  addr.sin_port = htons(port);
  if (bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) return fail("bind()");
  socklen_t len = sizeof addr;
  if (getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) return fail("getsockname()");
  port_ = static_cast<std::uint16_t>(ntohs(addr.sin_port));
  return port_;
}

void SleepSeconds(double seconds) {
  if (!(seconds > 0)) return;
  timespec req{static_cast<time_t>(seconds),
               static_cast<long>((seconds - static_cast<double>(static_cast<time_t>(seconds))) * 1e9)};
  timespec rem{};
  while (nanosleep(&req, &rem) != 0 && errno == EINTR) req = rem;
}

Status HeldPort::Listen() {
  if (fd_ < 0) {
    return Error{kExitSystem, "preflight", "listen on MASTER_PORT", "the port is not held (HeldPort::Open first)",
                 "this is a bug in rankwrap: please report it"};
  }
  if (listening()) return Ok{};
  if (listen(fd_, SOMAXCONN) != 0) {
    return Error{kExitSystem, "preflight", "listen() on the held MASTER_PORT " + std::to_string(port_),
                 std::strerror(errno), "pass --master-port PORT (a port free on rank 0's host)"};
  }
  stop_ = false;
  const int fd = fd_;
  answer_ = std::thread([this, fd] {
    // Each connection is closed once its peer has (the node's check closes
    // right after connecting): the peer is the active closer, so no
    // TIME_WAIT is left on MASTER_PORT here to stop the program's bind.
    // Whatever is still open at the end is reset, which leaves none either.
    constexpr std::size_t kMaxOpen = 4096;
    std::vector<pollfd> fds{{fd, POLLIN, 0}};
    auto reset = [](int c) {
      linger l{1, 0};
      setsockopt(c, SOL_SOCKET, SO_LINGER, &l, sizeof l);
      close(c);
    };
    while (!stop_) {
      if (poll(fds.data(), fds.size(), 50) <= 0) continue;
      for (std::size_t i = fds.size(); i-- > 1;) {
        if (fds[i].revents == 0) continue;
        char buf[256];
        const ssize_t n = read(fds[i].fd, buf, sizeof buf);
        if (n > 0 || (n < 0 && errno == EAGAIN)) continue;
        close(fds[i].fd);
        fds.erase(fds.begin() + static_cast<std::ptrdiff_t>(i));
      }
      if (fds[0].revents != 0) {
        const int c = accept4(fd, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (c >= 0 && fds.size() > kMaxOpen) {
          reset(c);
        } else if (c >= 0) {
          fds.push_back({c, POLLIN, 0});
        }
      }
    }
    for (std::size_t i = 1; i < fds.size(); ++i) reset(fds[i].fd);
  });
  return Ok{};
}

Status HeldPort::StopListening() {
  if (!listening()) return Ok{};
  const std::uint16_t port = port_;
  Close();
  // A connection closed a moment ago may still hold the port (LAST_ACK until
  // the peer's ACK): try again for a little while.
  for (int i = 0;; ++i) {
    auto again = Open(port);
    if (again) return Ok{};
    if (i == 50) return again.error();
    SleepSeconds(0.01);
  }
}

void HeldPort::Close() {
  if (answer_.joinable()) {
    stop_ = true;
    answer_.join();
  }
  if (fd_ >= 0) close(fd_);
  fd_ = -1;
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
  // block signals) must not leak into the program. Caught signals return to
  // their default at exec by themselves; ignored ones stay ignored, so only
  // those need resetting. /proc/self/status names them in one read (SigIgn)
  // instead of one sigaction per signal, a cost every rank pays.
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  sigemptyset(&dfl.sa_mask);
  std::uint64_t ignored = ~std::uint64_t{0};
  DiskFileReader files;
  if (auto status = files.Read("/proc/self/status")) {
    const std::size_t at = status->find("SigIgn:");
    if (at != std::string::npos) ignored = std::strtoull(status->c_str() + at + 7, nullptr, 16);
  }
  for (int s = 1; s < NSIG && s <= 64; ++s) {
    if (s == SIGKILL || s == SIGSTOP || !(ignored & (std::uint64_t{1} << (s - 1)))) continue;
    sigaction(s, &dfl, nullptr);
  }
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
}

}  // namespace

Result<std::string> ResolveProgram(const std::string& prog, const std::string& search) {
  int err = ENOENT;
  if (prog.find('/') != std::string::npos) {
    if (IsExecutableFile(prog, &err)) return prog;
  } else {
    bool denied = false;
    std::size_t start = 0;
    while (start <= search.size()) {
      std::size_t colon = search.find(':', start);
      if (colon == std::string::npos) colon = search.size();
      std::string dir = search.substr(start, colon - start);
      if (dir.empty()) dir = ".";
      const std::string candidate = dir + "/" + prog;
      int e = 0;
      if (IsExecutableFile(candidate, &e)) return candidate;
      if (e == EACCES) denied = true;
      start = colon + 1;
    }
    err = denied ? EACCES : ENOENT;
  }
  if (err == EACCES) {
    return Error{kExitNotExecutable, "exec", "'" + prog + "' cannot be executed",
                 "it exists but is not an executable regular file (permission denied)",
                 "chmod +x the file, or run it through its interpreter (e.g. 'python3 " + prog + "')"};
  }
  return Error{kExitNotFound, "exec", "'" + prog + "' not found",
               prog.find('/') != std::string::npos ? std::string("no such file")
                                                   : "no executable of that name in PATH=" + search,
               "give the full path, or fix PATH"};
}

Error Exec(const std::vector<std::string>& argv, const EnvSnapshot& env) {
  if (argv.empty()) {
    return Error{kExitUsage, "usage", "no program given", "rankwrap runs PROGRAM [ARGS...]",
                 "rankwrap [OPTIONS] -- PROGRAM [ARGS...]"};
  }
  auto resolved = ResolveProgram(argv[0], std::string(env.Get("PATH").value_or("/usr/local/bin:/usr/bin:/bin")));
  if (!resolved) return resolved.error();
  const std::string path = *resolved;
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
  return Error{e == ENOENT ? kExitNotFound : kExitNotExecutable, "exec", "'" + path + "' cannot be executed",
               std::strerror(e), "check the file and its interpreter ('#!' line)"};
}

bool IsMpiLibrary(const std::string& name) {
  const std::string base = name.substr(name.rfind('/') + 1);
  for (const char* prefix : {"libmpi.so", "libmpi_", "libmpich", "libmpicxx", "libmpifort", "libmpi_mpifh"}) {
    if (base.rfind(prefix, 0) == 0) return true;
  }
  return false;
}

namespace {

// Little-endian fields of an ELF structure held in `bytes`; 0 past its end.
std::uint64_t Le(const std::string& bytes, std::size_t off, int width) {
  std::uint64_t v = 0;
  if (off > bytes.size() || bytes.size() - off < static_cast<std::size_t>(width)) return 0;
  for (int i = width; i-- > 0;) v = (v << 8) | static_cast<unsigned char>(bytes[off + static_cast<std::size_t>(i)]);
  return v;
}

// `size` bytes at `off` of the open file, or nullopt when the range is not
// inside the file (`file_size`), larger than `max`, or cannot be read whole.
std::optional<std::string> ReadRange(int fd, std::uint64_t file_size, std::uint64_t off, std::uint64_t size,
                                     std::uint64_t max) {
  if (size > max || off > file_size || size > file_size - off) return std::nullopt;
  std::string out(static_cast<std::size_t>(size), '\0');
  std::size_t got = 0;
  while (got < out.size()) {
    const ssize_t n = pread(fd, out.data() + got, out.size() - got, static_cast<off_t>(off + got));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return std::nullopt;
    got += static_cast<std::size_t>(n);
  }
  return out;
}

}  // namespace

std::vector<std::string> NeededLibraries(const std::string& path) {
  // ELF64 little-endian only (every Linux target rankwrap runs on). Reads
  // the section headers, finds SHT_DYNAMIC and its string table: a few KiB
  // with pread, where reading the whole executable cost every rank up to
  // its size (GiBs for some CUDA programs).
  constexpr std::uint64_t kMaxSectionTable = std::uint64_t{4} << 20;  // 65535 headers of 64 bytes
  constexpr std::uint64_t kMaxDynamic = std::uint64_t{1} << 20;
  constexpr std::uint64_t kMaxStrtab = std::uint64_t{16} << 20;
  std::vector<std::string> out;
  const int fd = open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return out;
  struct stat st {};
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size < 64) {
    close(fd);
    return out;
  }
  const auto file_size = static_cast<std::uint64_t>(st.st_size);
  auto range = [&](std::uint64_t off, std::uint64_t size, std::uint64_t max) {
    return ReadRange(fd, file_size, off, size, max);
  };
  const auto header = range(0, 64, 64);
  if (!header ||
      header->compare(0, 4,
                      "\x7f"
                      "ELF") != 0 ||
      (*header)[4] != 2 || (*header)[5] != 1) {
    close(fd);
    return out;
  }
  const std::uint64_t shoff = Le(*header, 0x28, 8), shentsize = Le(*header, 0x3a, 2), shnum = Le(*header, 0x3c, 2);
  const auto table = shentsize >= 64 && shoff != 0 ? range(shoff, shnum * shentsize, kMaxSectionTable) : std::nullopt;
  if (!table) {
    close(fd);
    return out;
  }
  for (std::uint64_t i = 0; i < shnum; ++i) {
    const std::size_t sh = static_cast<std::size_t>(i * shentsize);
    if (Le(*table, sh + 4, 4) != 6) continue;  // SHT_DYNAMIC
    const std::uint64_t off = Le(*table, sh + 0x18, 8), size = Le(*table, sh + 0x20, 8),
                        link = Le(*table, sh + 0x28, 4);
    if (link >= shnum) break;
    const std::size_t strsh = static_cast<std::size_t>(link * shentsize);
    const auto dyn = range(off, size, kMaxDynamic);
    const auto strtab = range(Le(*table, strsh + 0x18, 8), Le(*table, strsh + 0x20, 8), kMaxStrtab);
    if (!dyn || !strtab) break;
    for (std::size_t d = 0; d + 16 <= dyn->size(); d += 16) {
      const std::uint64_t tag = Le(*dyn, d, 8), val = Le(*dyn, d + 8, 8);
      if (tag == 0) break;
      if (tag != 1 || val >= strtab->size()) continue;  // DT_NEEDED, inside the table
      // The name ends at a NUL inside the string table, or it is not one.
      const std::size_t at = static_cast<std::size_t>(val);
      const std::size_t nul = strtab->find('\0', at);
      if (nul == std::string::npos) continue;
      out.push_back(strtab->substr(at, nul - at));
    }
  }
  close(fd);
  return out;
}

std::string MappedMpiLibrary(int pid) {
  DiskFileReader files;
  auto maps = files.Read("/proc/" + std::to_string(pid) + "/maps");
  if (!maps) return {};
  std::size_t start = 0;
  while (start < maps->size()) {
    std::size_t end = maps->find('\n', start);
    if (end == std::string::npos) end = maps->size();
    const std::string line = maps->substr(start, end - start);
    const std::size_t slash = line.rfind('/');
    if (slash != std::string::npos && IsMpiLibrary(line.substr(slash))) return line.substr(slash + 1);
    start = end + 1;
  }
  return {};
}

}  // namespace rankwrap::posix
