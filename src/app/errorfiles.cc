#include "app/errorfiles.h"

#include <dirent.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "adapters/posix/posix.h"

namespace rankwrap::app {

Result<ErrorFiles> ErrorFiles::Create(const std::string& log_run_dir, const std::string& tmpdir) {
  ErrorFiles f;
  if (!log_run_dir.empty()) {
    f.log_dir_ = log_run_dir;
    return f;
  }
  std::string tmpl = (tmpdir.empty() ? std::string("/tmp") : tmpdir) + "/rankwrap-errors-XXXXXX";
  if (mkdtemp(tmpl.data()) == nullptr) {
    return Error{kExitSystem, "supervise", "TMPDIR='" + tmpdir + "'",
                 std::string("no private directory for the ranks' error files: ") + std::strerror(errno),
                 "point TMPDIR at a writable directory"};
  }
  f.own_ = tmpl;
  return f;
}

ErrorFiles::~ErrorFiles() {
  if (own_.empty()) return;
  if (DIR* d = opendir(own_.c_str())) {
    while (const dirent* e = readdir(d)) {
      const std::string name = e->d_name;
      if (name != "." && name != "..") unlink((own_ + "/" + name).c_str());
    }
    closedir(d);
  }
  rmdir(own_.c_str());
}

std::string ErrorFiles::PathFor(unsigned attempt, bool attempt_dirs, std::uint64_t rank) const {
  if (!log_dir_.empty()) {
    return log_dir_ + (attempt_dirs ? "/attempt-" + std::to_string(attempt) : "") + "/" + std::to_string(rank) +
           "/error.json";
  }
  return own_ + "/attempt-" + std::to_string(attempt) + ".rank-" + std::to_string(rank) + ".json";
}

void ErrorFiles::Prepare(unsigned attempt, bool attempt_dirs, std::vector<RankSpec>* ranks) const {
  for (RankSpec& r : *ranks) {
    const std::string path = PathFor(attempt, attempt_dirs, r.rank);
    unlink(path.c_str());
    r.env.Set("TORCHELASTIC_ERROR_FILE", path);
  }
}

std::optional<supervise::RankError> ErrorFiles::Read(unsigned attempt, bool attempt_dirs, std::uint64_t rank) const {
  const posix::DiskFileReader files(1 << 20);
  auto text = files.Read(PathFor(attempt, attempt_dirs, rank));
  if (!text) return std::nullopt;
  return supervise::ParseErrorFile(*text);
}

}  // namespace rankwrap::app
