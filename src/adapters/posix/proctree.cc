#include "adapters/posix/proctree.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <set>
#include <string>

namespace rankwrap::posix {
namespace {

struct ProcStat {
  pid_t ppid = 0;
  char state = '?';
};

// Field 3 (state) and 4 (ppid) of /proc/<pid>/stat; the command name (field
// 2) may hold spaces and parentheses, so parse after the last ')'.
bool ReadStat(const char* pid, ProcStat* out) {
  const std::string path = std::string("/proc/") + pid + "/stat";
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  char buf[512];
  const ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0) return false;
  buf[n] = '\0';
  const char* close_paren = std::strrchr(buf, ')');
  if (close_paren == nullptr || close_paren[1] != ' ' || close_paren[2] == '\0') return false;
  out->state = close_paren[2];
  out->ppid = static_cast<pid_t>(std::strtol(close_paren + 3, nullptr, 10));
  return true;
}

std::map<pid_t, ProcStat> Scan() {
  std::map<pid_t, ProcStat> procs;
  DIR* d = opendir("/proc");
  if (d == nullptr) return procs;
  while (const dirent* e = readdir(d)) {
    if (e->d_name[0] < '1' || e->d_name[0] > '9') continue;
    ProcStat st;
    if (ReadStat(e->d_name, &st)) procs[static_cast<pid_t>(std::atol(e->d_name))] = st;
  }
  closedir(d);
  return procs;
}

std::vector<std::pair<pid_t, char>> Walk(pid_t root) {
  const std::map<pid_t, ProcStat> procs = Scan();
  std::multimap<pid_t, pid_t> children;
  for (const auto& [pid, st] : procs) children.emplace(st.ppid, pid);
  std::vector<std::pair<pid_t, char>> out;
  std::vector<pid_t> queue{root};
  for (std::size_t i = 0; i < queue.size(); ++i) {
    auto [b, e] = children.equal_range(queue[i]);
    for (auto it = b; it != e; ++it) {
      queue.push_back(it->second);
      out.emplace_back(it->second, procs.at(it->second).state);
    }
  }
  return out;
}

}  // namespace

bool BecomeSubreaper() { return prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0; }

std::vector<pid_t> Descendants(pid_t root) {
  std::vector<pid_t> out;
  for (const auto& [pid, state] : Walk(root)) out.push_back(pid);
  return out;
}

int SignalDescendants(pid_t root, int sig) {
  std::set<pid_t> done;
  // A bounded number of rounds: a fork bomb cannot keep rankwrap here.
  for (int round = 0; round < 16; ++round) {
    bool fresh = false;
    for (const auto& [pid, state] : Walk(root)) {
      if (state == 'Z' || !done.insert(pid).second) continue;
      fresh = true;
      kill(pid, sig);
      // A stopped process does not act on TERM until continued.
      if (sig != SIGKILL && sig != SIGCONT && (state == 'T' || state == 't')) kill(pid, SIGCONT);
    }
    if (!fresh) break;
  }
  return static_cast<int>(done.size());
}

bool HasLiveDescendants(pid_t root) {
  for (const auto& [pid, state] : Walk(root)) {
    if (state != 'Z' && state != 'X') return true;
  }
  return false;
}

}  // namespace rankwrap::posix
