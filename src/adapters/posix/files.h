// Files rankwrap creates for the user (--log-dir, --failure-file), safe in
// shared directories: nothing is opened through a symbolic link, a directory
// another user owns is refused, files are created fresh (O_EXCL) under a
// directory descriptor, and the failure file is replaced by rename.
#pragma once

#include <string>

#include "core/error.h"

namespace rankwrap::posix {

// A directory descriptor that closes itself.
class Dir {
 public:
  Dir() = default;
  explicit Dir(int fd) : fd_(fd) {}
  Dir(Dir&& o) noexcept : fd_(o.fd_) { o.fd_ = -1; }
  Dir& operator=(Dir&& o) noexcept;
  ~Dir();
  int fd() const { return fd_; }

 private:
  int fd_ = -1;
};

// Creates `path` (and missing parents, 0755) and opens it. Refused when
// `path` itself is a symbolic link, not a directory, or owned by another user.
// `option` names the option in errors ("--log-dir").
Result<Dir> OpenOwnedDir(const std::string& path, const std::string& option);
// The same for `name` inside `parent` (one component).
Result<Dir> OpenOwnedSubdir(const Dir& parent, const std::string& name, const std::string& shown,
                            const std::string& option);
// Creates `name` inside `parent` (one component, 0755) only if nothing has
// that name: true when this call created it, false when it existed.
Result<bool> CreateSubdir(const Dir& parent, const std::string& name, const std::string& shown,
                          const std::string& option);
// Points the symbolic link `name` in `dir` at `target` (relative to `dir`),
// atomically: a new link renamed over the old one. Refused, leaving it as it
// is, when `name` exists and is not a symbolic link (a file, a directory).
Status ReplaceLink(const Dir& dir, const std::string& name, const std::string& target, const std::string& shown,
                   const std::string& option);
// Creates `name` in `dir` as a new file (an existing one is unlinked first,
// never followed or truncated); returns the fd.
Result<int> CreateFileIn(const Dir& dir, const std::string& name, const std::string& shown, const std::string& option);

// --failure-file: checks that `path` can be written (its directory exists
// and is writable; `path` is not a directory) and removes an earlier file.
Status PrepareReplaceableFile(const std::string& path, const std::string& option);
// Writes `content` to a new file beside `path` and renames it over `path`.
Status ReplaceFile(const std::string& path, const std::string& content, const std::string& option);
// Removes `path` if it exists.
Status RemoveFile(const std::string& path, const std::string& option);

}  // namespace rankwrap::posix
