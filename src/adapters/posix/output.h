// Ranks' output on its way to the console and the log files (stage:
// supervise). Bounded in memory and per turn, never blocking the loop that
// handles exits and signals:
//   - without tags the bytes are the program's, unchanged;
//   - with tags a prefix goes at the start of each line only; a partial line
//     is shown after kPartialDelay (prompts, '\r' progress bars);
//   - the console is written without blocking (a paused terminal or a slow
//     collector holds its queue, not rankwrap); a full queue stops reading
//     from the ranks that write to it, so they block, not rankwrap.
#pragma once

#include <poll.h>

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace rankwrap::posix {

// One console stream (fd 1 or 2): a bounded queue drained when writable.
class Console {
 public:
  static constexpr std::size_t kMaxQueued = 1 << 20;
  explicit Console(int fd);
  ~Console();
  Console(const Console&) = delete;
  Console& operator=(const Console&) = delete;

  void Append(std::string_view bytes);
  std::size_t queued() const { return buf_.size() - head_; }
  bool HasRoom() const { return queued() < kMaxQueued; }
  // The fd to poll for POLLOUT, or -1 when nothing is queued.
  int PollFd() const { return queued() > 0 && !dead_ ? fd_ : -1; }
  // Writes what the fd takes now (without blocking where the fd allows).
  void WriteSome();
  // WriteSome if that cannot block (a private non-blocking descriptor, a
  // socket, a regular file); otherwise wait for poll's POLLOUT.
  void WriteIfNonBlocking() {
    if (nonblocking_) WriteSome();
  }
  // Writes everything, blocking (the very end, when nothing else waits).
  void Drain();

 private:
  int fd_ = -1;
  bool own_ = false;          // fd_ is a private non-blocking reopen of the original
  bool socket_ = false;       // send(MSG_DONTWAIT) instead of write
  bool dead_ = false;         // the reader is gone (EPIPE): output is dropped
  bool nonblocking_ = false;  // writing never blocks the loop
  std::string buf_;
  std::size_t head_ = 0;
};

struct OutputOptions {
  bool tag = false;
  std::vector<std::string> prefixes;  // per child: "[RANK HOST] "
  std::vector<bool> console;          // per child: shown on the console
  std::vector<int> log_out, log_err;  // per child: log file fds, -1 for none
};

class OutputRouter {
 public:
  static constexpr double kPartialDelay = 0.1;  // seconds
  static constexpr std::size_t kMaxPartial = 64 * 1024;
  explicit OutputRouter(OutputOptions o);

  // Whether child `i`'s stream may be read now (its console has room).
  bool Wants(int i, bool is_stderr) const;
  void Add(int i, bool is_stderr, std::string_view bytes, double now);
  // The stream ended: its held partial line goes out as it is.
  void End(int i, bool is_stderr);
  // Shows partial lines held longer than kPartialDelay.
  void Tick(double now);
  // Seconds until the next Tick has something to do, or -1.
  double NextTick(double now) const;
  void AddPollFds(std::vector<pollfd>* fds) const;
  void OnPoll(const std::vector<pollfd>& fds);
  void DrainConsoles();

 private:
  struct Stream {
    std::string partial;    // tagged mode: bytes after the last newline
    double since = 0;       // when `partial` started
    bool mid_line = false;  // the console's last bytes from this stream ended mid-line
  };
  Stream& At(int i, bool is_stderr) { return streams_[static_cast<std::size_t>(i) * 2 + (is_stderr ? 1 : 0)]; }
  void Emit(int i, bool is_stderr, std::string_view piece);
  OutputOptions o_;
  Console out_{1}, err_{2};
  std::vector<Stream> streams_;
  int open_owner_[2] = {-1, -1};  // the stream (index) whose line is open on stdout/stderr
};

// "2", "0.5", "30": seconds as the user wrote them.
std::string FormatSeconds(double s);

// write(2) until done (EINTR retried); false on error.
bool WriteAll(int fd, std::string_view bytes);

}  // namespace rankwrap::posix
