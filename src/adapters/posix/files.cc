#include "adapters/posix/files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "adapters/posix/output.h"

namespace rankwrap::posix {
namespace {

Error FileError(const std::string& option, const std::string& shown, std::string why, std::string hint) {
  return Error{kExitUsage, "usage", option + " '" + shown + "'", std::move(why), std::move(hint)};
}

Status CheckOwned(int fd, const std::string& shown, const std::string& option) {
  struct stat st {};
  if (fstat(fd, &st) != 0) return FileError(option, shown, std::strerror(errno), "give a directory you own");
  if (st.st_uid != geteuid()) {
    return FileError(option, shown,
                     "it belongs to user " + std::to_string(st.st_uid) + ", not to you (" + std::to_string(geteuid()) +
                         "): another user could read or replace the files",
                     "give a directory you own");
  }
  return Ok{};
}

std::pair<std::string, std::string> SplitPath(const std::string& path) {
  const std::size_t slash = path.rfind('/');
  if (slash == std::string::npos) return {".", path};
  return {slash == 0 ? "/" : path.substr(0, slash), path.substr(slash + 1)};
}

}  // namespace

Dir& Dir::operator=(Dir&& o) noexcept {
  if (this != &o) {
    if (fd_ >= 0) close(fd_);
    fd_ = o.fd_;
    o.fd_ = -1;
  }
  return *this;
}

Dir::~Dir() {
  if (fd_ >= 0) close(fd_);
}

Result<Dir> OpenOwnedDir(const std::string& path, const std::string& option) {
  if (path.empty()) return FileError(option, path, "an empty path", "give a directory");
  // Parents as `mkdir -p` would make them (they may be links: /scratch -> /lustre/...).
  for (std::size_t slash = path.find('/', 1); slash != std::string::npos; slash = path.find('/', slash + 1)) {
    const std::string part = path.substr(0, slash);
    if (mkdir(part.c_str(), 0755) != 0 && errno != EEXIST) {
      return FileError(option, path, "cannot create '" + part + "': " + std::strerror(errno),
                       "give a directory you can write to");
    }
  }
  if (mkdir(path.c_str(), 0755) != 0 && errno != EEXIST) {
    return FileError(option, path, std::string("cannot create it: ") + std::strerror(errno),
                     "give a directory you can write to");
  }
  const int fd = open(path.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) {
    return FileError(option, path,
                     errno == ELOOP || errno == ENOTDIR ? "it is a symbolic link or not a directory"
                                                        : std::string("cannot open it: ") + std::strerror(errno),
                     "give a real directory you own");
  }
  Dir dir(fd);
  if (auto s = CheckOwned(fd, path, option); !s) return s.error();
  return dir;
}

Result<Dir> OpenOwnedSubdir(const Dir& parent, const std::string& name, const std::string& shown,
                            const std::string& option) {
  if (mkdirat(parent.fd(), name.c_str(), 0755) != 0 && errno != EEXIST) {
    return FileError(option, shown, std::string("cannot create it: ") + std::strerror(errno),
                     "give a directory you can write to");
  }
  const int fd = openat(parent.fd(), name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) {
    return FileError(option, shown,
                     "it is a symbolic link or not a directory (" + std::string(std::strerror(errno)) + ")",
                     "remove it, or give another directory");
  }
  Dir dir(fd);
  if (auto s = CheckOwned(fd, shown, option); !s) return s.error();
  return dir;
}

Result<bool> CreateSubdir(const Dir& parent, const std::string& name, const std::string& shown,
                          const std::string& option) {
  if (mkdirat(parent.fd(), name.c_str(), 0755) == 0) return true;
  if (errno == EEXIST) return false;
  return FileError(option, shown, std::string("cannot create it: ") + std::strerror(errno),
                   "give a directory you can write to");
}

Status ReplaceLink(const Dir& dir, const std::string& name, const std::string& target, const std::string& shown,
                   const std::string& option) {
  // Only a link (or nothing) is replaced: renameat would silently replace a
  // regular file too, and that file is the user's.
  struct stat st {};
  if (fstatat(dir.fd(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && !S_ISLNK(st.st_mode)) {
    return FileError(option, shown,
                     std::string(S_ISDIR(st.st_mode)   ? "it is a directory"
                                 : S_ISREG(st.st_mode) ? "it is a regular file"
                                                       : "it exists") +
                         ", not a symbolic link, and is left as it is",
                     "move it away, and rankwrap points the link " + name + " at the newest run");
  }
  const std::string tmp = "." + name + ".tmp." + std::to_string(getpid());
  unlinkat(dir.fd(), tmp.c_str(), 0);
  if (symlinkat(target.c_str(), dir.fd(), tmp.c_str()) != 0) {
    return FileError(option, shown, std::string("cannot create the link: ") + std::strerror(errno),
                     "give a directory you can write to");
  }
  if (renameat(dir.fd(), tmp.c_str(), dir.fd(), name.c_str()) != 0) {
    const std::string why = std::strerror(errno);
    unlinkat(dir.fd(), tmp.c_str(), 0);
    return FileError(option, shown, "cannot replace it: " + why, "remove it (it should be a symbolic link)");
  }
  return Ok{};
}

Result<int> CreateFileIn(const Dir& dir, const std::string& name, const std::string& shown, const std::string& option) {
  // Unlinking removes a planted link itself, never what it points to.
  if (unlinkat(dir.fd(), name.c_str(), 0) != 0 && errno != ENOENT) {
    return FileError(option, shown, std::string("cannot replace it: ") + std::strerror(errno),
                     "remove it, or give another directory");
  }
  const int fd = openat(dir.fd(), name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
  if (fd < 0) {
    return FileError(option, shown, std::string("cannot create it: ") + std::strerror(errno),
                     "give a directory only you write to");
  }
  return fd;
}

Status PrepareReplaceableFile(const std::string& path, const std::string& option) {
  if (path.empty()) return FileError(option, path, "an empty path", "give a file path");
  const auto [dir, base] = SplitPath(path);
  if (base.empty()) return FileError(option, path, "it names a directory", "give a file path such as failure.json");
  struct stat st {};
  if (stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    return FileError(option, path, "its directory '" + dir + "' does not exist", "create the directory first");
  }
  if (access(dir.c_str(), W_OK) != 0) {
    return FileError(option, path, "its directory '" + dir + "' is not writable: " + std::strerror(errno),
                     "give a path in a directory you can write to");
  }
  if (lstat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
    return FileError(option, path, "it is a directory", "give a file path such as " + path + "/failure.json");
  }
  return RemoveFile(path, option);
}

Status ReplaceFile(const std::string& path, const std::string& content, const std::string& option) {
  const std::string tmp = path + ".tmp." + std::to_string(getpid());
  unlink(tmp.c_str());
  const int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
  if (fd < 0) {
    return FileError(option, path, std::string("cannot create '") + tmp + "': " + std::strerror(errno),
                     "give a path in a directory you can write to");
  }
  const bool written = WriteAll(fd, content);
  const bool closed = close(fd) == 0;
  if (!written || !closed || rename(tmp.c_str(), path.c_str()) != 0) {
    const std::string why = std::strerror(errno);
    unlink(tmp.c_str());
    return FileError(option, path, "cannot write it: " + why, "give a path in a directory you can write to");
  }
  return Ok{};
}

Status RemoveFile(const std::string& path, const std::string& option) {
  if (unlink(path.c_str()) != 0 && errno != ENOENT) {
    return FileError(option, path, std::string("cannot remove the earlier file: ") + std::strerror(errno),
                     "remove it, or give another path");
  }
  return Ok{};
}

}  // namespace rankwrap::posix
