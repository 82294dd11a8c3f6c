// The posix adapter: the only code that reads environ, the disk, the host
// name, opens sockets or execs. Everything else gets these facts as values.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include "core/env/snapshot.h"
#include "core/error.h"
#include "detect/detector.h"

namespace rankwrap::posix {

// The process environment (stage: detect). The one place environ is read.
EnvSnapshot EnvironmentFromProcess();

// gethostname(), or "" when it fails.
std::string HostName();

// getppid().
std::uint64_t ParentPid();

// The most DiskFileReader and ReadPrivateFile read from one file: far above
// any node file (a 100,000-node PBS_NODEFILE with 128 slots per node is
// about 40 MiB of short names) and bounded, so that PBS_NODEFILE=/dev/zero
// cannot grow rankwrap by gigabytes.
inline constexpr std::size_t kMaxFileBytes = std::size_t{64} << 20;

// Reads files from disk (PBS_NODEFILE, LSB_DJOB_RANKFILE, /proc files).
// Only regular files, at most `max_bytes`: the file is opened O_NONBLOCK
// (opening a FIFO does not wait for a writer) and refused, with the reason,
// when it is a FIFO, a device (/dev/zero, /dev/urandom), a directory or
// larger than the bound. Nothing is ever read from a non-regular file.
class DiskFileReader : public detect::FileReader {
 public:
  explicit DiskFileReader(std::size_t max_bytes = kMaxFileBytes) : max_bytes_(max_bytes) {}
  Result<std::string, detect::ReadError> Read(const std::string& path) const override;

 private:
  std::size_t max_bytes_;
};

// The PUs this process may run on (sched_getaffinity): the cgroup's CPUs
// intersected with any binding the launcher applied. Only compared with the
// node's allowed PUs (to say the plan replaces a launcher's binding): a plan
// never depends on it.
std::vector<unsigned> AffinityPus();

// The node's allowed PUs for this job: the cgroup cpuset (v2
// cpuset.cpus.effective, v1 cpuset.effective_cpus or cpuset.cpus) of this
// process's cgroup or its nearest ancestor that has one, as hwloc reads it.
// Unlike AffinityPus it ignores a launcher's per-task binding, so every local
// rank gets the same set. Empty when no cpuset file can be read.
std::vector<unsigned> CgroupPus();

// How memory is bound to the NUMA nodes given to BindProcess.
enum class MemPolicy {
  kPrefer,  // MPOL_PREFERRED_MANY (Linux 5.15+), else MPOL_PREFERRED on the first node
  kStrict,  // MPOL_BIND
};

// Binds this process to `pus` (sched_setaffinity, with a set sized for the
// largest PU, so PUs above 1024 count) and its memory to the NUMA nodes
// `numa` (set_mempolicy with `policy`; empty: no memory binding). Called
// before exec (or in a child before exec) while single-threaded, so the
// program and every thread it starts inherit both.
Status BindProcess(const std::vector<unsigned>& pus, const std::vector<unsigned>& numa,
                   MemPolicy policy = MemPolicy::kPrefer);

// A private per-user cache directory: $XDG_RUNTIME_DIR/rankwrap if usable,
// else /tmp/rankwrap-<uid>; created 0700. Refused (error) when it exists but
// is not a directory owned by this user with no group/other access, or is a
// symbolic link.
Result<std::string> PrivateCacheDir(const EnvSnapshot& env);
// Reads `path` only if it is a regular file owned by this user and not
// writable by others, opened without following symbolic links (nor waiting
// on a FIFO), at most kMaxFileBytes.
Result<std::string, detect::ReadError> ReadPrivateFile(const std::string& path);
// Writes `path` atomically (a new O_EXCL|O_NOFOLLOW 0600 file, renamed).
Status WritePrivateFile(const std::string& path, const std::string& content);

// A TCP port that was free on this host a moment ago (bind to port 0,
// read it back, close). Only for a world of one on this host.
Result<std::uint16_t> FreeLocalPort();

// Sleeps `seconds` (signal handlers run; the sleep goes on after them).
void SleepSeconds(double seconds);

// A TCP port bound on every interface (not listening) and held until Close,
// so no other process takes it between its announcement and the program's
// own bind, which comes after Close.
class HeldPort {
 public:
  HeldPort() = default;
  HeldPort(const HeldPort&) = delete;
  HeldPort& operator=(const HeldPort&) = delete;
  ~HeldPort() { Close(); }
  // Binds `port` (0: any free one); returns the port bound, or an Error
  // naming it and why (EADDRINUSE: another process has it).
  Result<std::uint16_t> Open(std::uint16_t port);
  // Starts listening on the bound port (pre-flight: rank 0's node answers
  // the other nodes' connect test while it holds MASTER_PORT). A thread
  // accepts and closes every connection at once, so the accept queue never
  // fills however many nodes test (net.core.somaxconn is 128 on older
  // kernels). An Error names the port.
  Status Listen();
  // Back to bound but not listening (the pre-flight round is over: a rank
  // that connects early must be refused and retry, not be accepted and
  // reset). The port is let go and bound again at once; an Error when
  // another process took it in between.
  Status StopListening();
  bool listening() const { return answer_.joinable(); }
  void Close();

 private:
  int fd_ = -1;
  std::uint16_t port_ = 0;
  std::thread answer_;  // while listening
  std::atomic<bool> stop_{false};
};

// The path execvp would run for `program` with this PATH (no shell), or
// the 127/126 error naming it.
Result<std::string> ResolveProgram(const std::string& program, const std::string& path_var);

// The DT_NEEDED entries of an ELF executable ("libmpi.so.40", ...), empty
// for scripts and anything that is not a readable ELF file. Reads only the
// ELF header, the section headers and the dynamic section with its string
// table (pread, a few KiB), never the whole file; every offset and size is
// checked against the file, so a truncated or corrupt ELF gives an empty or
// partial list, never a read out of bounds.
std::vector<std::string> NeededLibraries(const std::string& path);

// The MPI library mapped into process `pid` ("libmpi.so.40"), or "".
std::string MappedMpiLibrary(int pid);

// True for the file names of MPI libraries (libmpi.so*, libmpich*.so*, ...).
bool IsMpiLibrary(const std::string& name);

// Replaces this process with argv[0], looked up in PATH like execvp (no
// shell), with exactly `env` as its environment. Signal dispositions are
// reset to default and the signal mask emptied first. Returns only on
// failure: 127 when the program is not found, 126 when it cannot be run.
Error Exec(const std::vector<std::string>& argv, const EnvSnapshot& env);

}  // namespace rankwrap::posix
