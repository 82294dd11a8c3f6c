#include "adapters/posix/preflight_probe.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <netdb.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

namespace rankwrap::posix {
namespace {

constexpr double kRetryPause = 0.1;  // seconds between connect rounds that were refused

double Now() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

std::string Numeric(const sockaddr* a, socklen_t len) {
  char host[NI_MAXHOST] = {};
  if (getnameinfo(a, len, host, sizeof host, nullptr, 0, NI_NUMERICHOST) != 0) return "";
  return host;
}

// The interface that owns local address `a` (getifaddrs), or "".
std::string InterfaceOf(const sockaddr_storage& a) {
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) return "";
  std::string name;
  for (ifaddrs* i = list; i != nullptr && name.empty(); i = i->ifa_next) {
    if (i->ifa_addr == nullptr || i->ifa_addr->sa_family != a.ss_family) continue;
    if (a.ss_family == AF_INET) {
      const auto* x = reinterpret_cast<const sockaddr_in*>(i->ifa_addr);
      const auto* y = reinterpret_cast<const sockaddr_in*>(&a);
      if (x->sin_addr.s_addr == y->sin_addr.s_addr) name = i->ifa_name;
    } else if (a.ss_family == AF_INET6) {
      const auto* x = reinterpret_cast<const sockaddr_in6*>(i->ifa_addr);
      const auto* y = reinterpret_cast<const sockaddr_in6*>(&a);
      if (std::memcmp(&x->sin6_addr, &y->sin6_addr, sizeof x->sin6_addr) == 0) name = i->ifa_name;
    }
  }
  freeifaddrs(list);
  return name;
}

// This end of `fd`: its address and interface.
void LocalEnd(int fd, ConnectResult* r) {
  sockaddr_storage local{};
  socklen_t len = sizeof local;
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&local), &len) != 0) return;
  r->local_address = Numeric(reinterpret_cast<sockaddr*>(&local), len);
  r->interface = InterfaceOf(local);
}

// The interface the kernel's route to `a` picks: a UDP socket's connect
// sends nothing, but chooses the source address.
void RouteTo(const addrinfo* a, ConnectResult* r) {
  const int fd = socket(a->ai_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return;
  if (connect(fd, a->ai_addr, a->ai_addrlen) == 0) LocalEnd(fd, r);
  close(fd);
}

// One address: a non-blocking connect, waited for until `deadline`.
bool TryOne(const addrinfo* a, double deadline, ConnectResult* r) {
  r->peer = Numeric(a->ai_addr, a->ai_addrlen);
  const int fd = socket(a->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) {
    r->error = std::string("socket(): ") + std::strerror(errno);
    return false;
  }
  int err = connect(fd, a->ai_addr, a->ai_addrlen) == 0 ? 0 : errno;
  if (err == EINPROGRESS) {
    pollfd p{fd, POLLOUT, 0};
    const int ms = static_cast<int>(std::max(0.0, deadline - Now()) * 1000);
    const int n = poll(&p, 1, ms);
    socklen_t len = sizeof err;
    if (n == 1) {
      getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
    } else {
      err = ETIMEDOUT;
    }
  }
  if (err == 0) {
    LocalEnd(fd, r);
  } else {
    r->error =
        err == ETIMEDOUT ? "no answer in time (a firewall dropping packets, or the host is down)" : std::strerror(err);
    RouteTo(a, r);
  }
  close(fd);
  return err == 0;
}

}  // namespace

bool PreflightProbe::Exists(const std::string& path) const {
  std::error_code ec;
  return std::filesystem::exists(root_ + path, ec);
}

std::vector<std::string> PreflightProbe::List(const std::string& path) const {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(root_ + path, ec)) {
    names.push_back(e.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

std::optional<std::string> PreflightProbe::Read(const std::string& path) const {
  std::ifstream in(root_ + path, std::ios::binary);
  if (!in) return std::nullopt;
  std::string text(4096, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<std::size_t>(in.gcount()));
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  return text;
}

std::optional<std::string> PreflightProbe::LinkName(const std::string& path) const {
  std::error_code ec;
  const auto target = std::filesystem::read_symlink(root_ + path, ec);
  if (ec) return std::nullopt;
  return target.filename().string();
}

Result<std::uint64_t> PreflightProbe::FreeBytes(const std::string& path) const {
  struct statvfs st {};
  if (statvfs(path.c_str(), &st) != 0) {
    return Error{kExitPreflight, "preflight", "statvfs('" + path + "')", std::strerror(errno),
                 "mount a tmpfs there (containers: docker run --shm-size=8g, or --ipc=host)"};
  }
  return static_cast<std::uint64_t>(st.f_bavail) * static_cast<std::uint64_t>(st.f_frsize);
}

std::optional<std::uint64_t> PreflightProbe::MemlockLimit() const {
  rlimit lim{};
  if (getrlimit(RLIMIT_MEMLOCK, &lim) != 0 || lim.rlim_cur == RLIM_INFINITY) return std::nullopt;
  return static_cast<std::uint64_t>(lim.rlim_cur);
}

ConnectResult PreflightProbe::Connect(const std::string& host, std::uint16_t port, double timeout) const {
  ConnectResult r;
  const double deadline = Now() + timeout;
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  const std::string service = std::to_string(port);
  if (const int rc = getaddrinfo(host.c_str(), service.c_str(), &hints, &found); rc != 0) {
    r.error = std::string("cannot resolve the name: ") + gai_strerror(rc);
    return r;
  }
  // Every address in order; all refused: again after a pause, until the
  // deadline (rank 0's node may start listening a moment after this node
  // starts: the launcher starts nodes with a skew).
  for (;;) {
    bool refused = true;
    for (const addrinfo* a = found; a != nullptr && !r.ok; a = a->ai_next) {
      if (Now() >= deadline && a != found) break;
      r.ok = TryOne(a, deadline, &r);
      refused = refused && r.error == std::strerror(ECONNREFUSED);
    }
    if (r.ok || !refused || Now() + kRetryPause >= deadline) break;
    const timespec pause{0, static_cast<long>(kRetryPause * 1e9)};
    nanosleep(&pause, nullptr);
  }
  freeaddrinfo(found);
  if (r.ok) r.error.clear();
  return r;
}

Result<CommandResult> PreflightProbe::Shell(const std::string& command, double timeout) const {
  return RunCommand({"/bin/sh", "-c", command}, timeout);
}

}  // namespace rankwrap::posix
