// What the pre-flight check reads from the system (stage: preflight), behind
// one narrow class so the checks (app/preflight.h) run against a fake tree
// in tests: sysfs paths are read under a root directory, and every probe is
// virtual (a test overrides the memlock limit or the connect).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "adapters/posix/command.h"
#include "core/error.h"

namespace rankwrap::posix {

// A TCP connect test's outcome. `interface` is the local interface the
// connection used ("ib0", "lo"), or, when it failed, the one the kernel's
// route to the address picks; empty when neither is known.
struct ConnectResult {
  bool ok = false;
  std::string peer;           // the numeric address tried last, "10.0.0.1"
  std::string local_address;  // this end's address
  std::string interface;
  std::string error;  // why it failed: "connection refused", "no answer within 3 s", ...
};

class PreflightProbe {
 public:
  // `root`: prefix for the sysfs paths ("" is the real system).
  explicit PreflightProbe(std::string root = "") : root_(std::move(root)) {}
  virtual ~PreflightProbe() = default;
  const std::string& root() const { return root_; }

  // Under root: whether `path` exists; the names in directory `path`
  // (sorted; empty when it cannot be read); a small file's content (at
  // most 4 KiB, trailing newline removed); a symbolic link's last component.
  virtual bool Exists(const std::string& path) const;
  virtual std::vector<std::string> List(const std::string& path) const;
  virtual std::optional<std::string> Read(const std::string& path) const;
  virtual std::optional<std::string> LinkName(const std::string& path) const;

  // Bytes available to unprivileged users in the file system of `path`
  // (statvfs, not under root), or an Error naming the path.
  virtual Result<std::uint64_t> FreeBytes(const std::string& path) const;
  // This process's soft RLIMIT_MEMLOCK in bytes; nullopt when unlimited.
  virtual std::optional<std::uint64_t> MemlockLimit() const;
  // TCP connect to host:port (name or address; every address tried until
  // one answers; refused everywhere: tried again every 0.1 s), giving up
  // after `timeout` seconds in all.
  virtual ConnectResult Connect(const std::string& host, std::uint16_t port, double timeout) const;
  // `/bin/sh -c command`, killed after `timeout` seconds.
  virtual Result<CommandResult> Shell(const std::string& command, double timeout) const;

 private:
  std::string root_;
};

}  // namespace rankwrap::posix
