#include "adapters/posix/output.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <string>

namespace rankwrap::posix {

std::string FormatSeconds(double s) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", s);
  return buf;
}

bool WriteAll(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t n = write(fd, bytes.data(), bytes.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

Console::Console(int fd) : fd_(fd) {
  struct stat st {};
  if (fstat(fd, &st) != 0) {
    dead_ = true;
    return;
  }
  if (S_ISSOCK(st.st_mode)) {
    socket_ = true;
    nonblocking_ = true;
  } else if (S_ISREG(st.st_mode)) {
    nonblocking_ = true;  // a file never waits for a reader
  } else if (S_ISFIFO(st.st_mode) || S_ISCHR(st.st_mode)) {
    // O_NONBLOCK on the inherited descriptor would change it for every
    // process sharing it (the shell, the launcher): open a private one.
    const std::string path = "/proc/self/fd/" + std::to_string(fd);
    const int own = open(path.c_str(), O_WRONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    if (own >= 0) {
      fd_ = own;
      own_ = true;
      nonblocking_ = true;
    }
  }
}

Console::~Console() {
  if (own_) close(fd_);
}

void Console::Append(std::string_view bytes) {
  if (dead_) return;
  if (head_ > 0 && head_ >= buf_.size() / 2) {
    buf_.erase(0, head_);
    head_ = 0;
  }
  buf_.append(bytes.data(), bytes.size());
}

void Console::WriteSome() {
  // A bounded amount per turn, so one console cannot hold the loop.
  for (int round = 0; round < 16 && queued() > 0 && !dead_; ++round) {
    const std::size_t len = std::min<std::size_t>(queued(), 64 * 1024);
    const char* p = buf_.data() + head_;
    const ssize_t n = socket_ ? send(fd_, p, len, MSG_DONTWAIT | MSG_NOSIGNAL) : write(fd_, p, len);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    if (n <= 0) {
      dead_ = true;  // EPIPE and friends: nobody reads any more
      buf_.clear();
      head_ = 0;
      return;
    }
    head_ += static_cast<std::size_t>(n);
  }
  if (head_ == buf_.size()) {
    buf_.clear();
    head_ = 0;
  }
}

void Console::Drain() {
  while (queued() > 0 && !dead_) {
    WriteSome();
    if (queued() > 0 && !dead_) {
      pollfd p{fd_, POLLOUT, 0};
      poll(&p, 1, 100);
    }
  }
}

OutputRouter::OutputRouter(OutputOptions o) : o_(std::move(o)), streams_(o_.console.size() * 2) {}

bool OutputRouter::Wants(int i, bool is_stderr) const {
  if (!o_.console[static_cast<std::size_t>(i)]) return true;
  return (is_stderr ? err_ : out_).HasRoom();
}

void OutputRouter::Emit(int i, bool is_stderr, std::string_view piece) {
  if (piece.empty()) return;
  Console& c = is_stderr ? err_ : out_;
  int& owner = open_owner_[is_stderr ? 1 : 0];
  const int me = i * 2 + (is_stderr ? 1 : 0);
  Stream& s = At(i, is_stderr);
  if (!o_.tag) {
    c.Append(piece);
    c.WriteIfNonBlocking();
    return;
  }
  if (owner >= 0 && owner != me) {
    // Another rank's line is open on this console: end it there, so this
    // line starts with its own prefix (the other continues with a prefix).
    c.Append("\n");
    streams_[static_cast<std::size_t>(owner)].mid_line = false;
    owner = -1;
  }
  if (!s.mid_line) c.Append(o_.prefixes[static_cast<std::size_t>(i)]);
  c.Append(piece);
  s.mid_line = piece.back() != '\n';
  owner = s.mid_line ? me : -1;
  if (c.queued() >= 64 * 1024) c.WriteIfNonBlocking();
}

void OutputRouter::Add(int i, bool is_stderr, std::string_view bytes, double now) {
  const std::size_t k = static_cast<std::size_t>(i);
  const int log = is_stderr ? o_.log_err[k] : o_.log_out[k];
  if (log >= 0) WriteAll(log, bytes);
  if (!o_.console[k]) return;
  if (!o_.tag) {
    Emit(i, is_stderr, bytes);
    return;
  }
  Stream& s = At(i, is_stderr);
  // Complete lines go out now; the rest waits for its newline or the delay.
  const std::size_t last_nl = bytes.rfind('\n');
  if (last_nl != std::string_view::npos) {
    std::string_view lines = bytes.substr(0, last_nl + 1);
    if (!s.partial.empty()) {
      const std::size_t nl = lines.find('\n');
      s.partial.append(lines.data(), nl + 1);
      Emit(i, is_stderr, s.partial);
      s.partial.clear();
      lines.remove_prefix(nl + 1);
    }
    while (!lines.empty()) {
      const std::size_t nl = lines.find('\n');
      Emit(i, is_stderr, lines.substr(0, nl + 1));
      lines.remove_prefix(nl + 1);
    }
    bytes.remove_prefix(last_nl + 1);
  }
  if (!bytes.empty()) {
    if (s.partial.empty()) s.since = now;
    s.partial.append(bytes.data(), bytes.size());
    if (s.partial.size() >= kMaxPartial) {
      Emit(i, is_stderr, s.partial);
      s.partial.clear();
    }
  }
}

void OutputRouter::End(int i, bool is_stderr) {
  Stream& s = At(i, is_stderr);
  if (!s.partial.empty()) {
    Emit(i, is_stderr, s.partial);
    s.partial.clear();
  }
}

void OutputRouter::Tick(double now) {
  for (std::size_t k = 0; k < streams_.size(); ++k) {
    Stream& s = streams_[k];
    if (!s.partial.empty() && now - s.since >= kPartialDelay) {
      Emit(static_cast<int>(k / 2), (k % 2) == 1, s.partial);
      s.partial.clear();
    }
  }
}

double OutputRouter::NextTick(double now) const {
  double next = -1;
  for (const Stream& s : streams_) {
    if (s.partial.empty()) continue;
    const double d = std::max(0.0, s.since + kPartialDelay - now);
    if (next < 0 || d < next) next = d;
  }
  return next;
}

void OutputRouter::AddPollFds(std::vector<pollfd>* fds) const {
  for (const Console* c : {&out_, &err_}) {
    if (c->PollFd() >= 0) fds->push_back({c->PollFd(), POLLOUT, 0});
  }
}

void OutputRouter::OnPoll(const std::vector<pollfd>& fds) {
  for (Console* c : {&out_, &err_}) {
    const int fd = c->PollFd();
    if (fd < 0) continue;
    for (const pollfd& p : fds) {
      if (p.fd == fd && (p.events & POLLOUT) && p.revents != 0) {
        c->WriteSome();
        break;
      }
    }
  }
}

void OutputRouter::DrainConsoles() {
  out_.Drain();
  err_.Drain();
}

}  // namespace rankwrap::posix
