// The detector interface and the helpers every detector shares (stage:
// detect). A detector reads only the DetectContext it is given: an
// environment snapshot, a file reader and this host's name. Its tests are
// therefore environment dumps (tests/data/env/).
#pragma once

#include <cstdint>
#include <optional>
#include <utility>
#include <string>
#include <string_view>
#include <vector>

#include "core/env/snapshot.h"
#include "core/error.h"
#include "core/job.h"
#include "core/parse/nodefile.h"

namespace rankwrap::detect {

// Why a file could not be read (the strerror text).
struct ReadError {
  std::string reason;
};

// Reads small files named by launcher variables (PBS_NODEFILE, ...).
// The posix adapter reads the disk; tests use an in-memory map.
class FileReader {
 public:
  virtual ~FileReader() = default;
  // The file's whole text, or the reason it cannot be read (strerror text).
  virtual Result<std::string, ReadError> Read(const std::string& path) const = 0;
};

struct DetectContext {
  DetectContext(const EnvSnapshot& e, const FileReader& f, std::string host, std::uint64_t ppid = 0,
                std::optional<unsigned> n = std::nullopt)
      : env(e), files(f), hostname(std::move(host)), parent_pid(ppid), nproc(n) {}

  const EnvSnapshot& env;
  const FileReader& files;
  std::string hostname;          // gethostname() of this process
  std::uint64_t parent_pid = 0;  // getppid(): the launcher's local agent
  // --nproc N: rankwrap starts this node's N ranks itself, so a place that
  // is no task of a launch (the Slurm batch step) can be a node of one, and
  // node-level launchers check N against the processes per node they name.
  std::optional<unsigned> nproc;
};

// Launchers nest: an MPI launcher inside a scheduler allocation, torchrun
// inside srun. The innermost kind wins; detectors of the same kind that
// disagree about the world size are an error.
// kContract: an outer rankwrap's contract (a nested rankwrap), taken first.
enum class Layer { kContract, kElastic, kMpi, kScheduler, kInherited, kNone };

struct Probe {
  bool applies = false;
  std::string reason;  // why it applies, or why not (for --explain)
};

struct Detector {
  std::string_view name;
  Layer layer;
  std::string_view describes;  // one line for --help and docs
  Probe (*probe)(const DetectContext&);
  Result<JobInfo> (*parse)(const DetectContext&);
};

// ---- helpers shared by the detectors (fields.cc) ----

// The value of `var`, or an Error naming it ("VAR is not set").
Result<std::string> RequireVar(const DetectContext& ctx, std::string_view var, std::string_view hint);
// `var` as a non-negative decimal integer; names the variable and its value.
Result<std::uint64_t> RequireUint(const DetectContext& ctx, std::string_view var, std::string_view meaning,
                                  std::string_view hint);
// The first of `vars` that is set, parsed as above; nullopt when none is.
Result<std::optional<std::uint64_t>> OptionalUint(const DetectContext& ctx, std::string_view var,
                                                  std::string_view meaning, std::string_view hint);
// The name of the first variable in `vars` that is set, or empty.
std::string FirstSet(const DetectContext& ctx, std::initializer_list<std::string_view> vars);

// Reads and parses the host file named by `var` (PBS_NODEFILE,
// LSB_DJOB_RANKFILE). Missing, unreadable or empty files are errors naming
// the variable and the path.
Result<parse::Nodefile> ReadHostFile(const DetectContext& ctx, std::string_view var, std::string_view hint);

// `value` for an error message: as is up to 80 characters, else its first
// 40, "..." and its length, "(10000 characters)": not printed whole.
std::string ShortenForMessage(std::string_view value);

// An environment error (exit 3) in the house format.
Error EnvError(std::string what, std::string why, std::string hint);

// Fills node_rank/num_nodes/master_addr for MPI launchers that state only
// rank, size, local rank and local size: from a scheduler allocation
// around the launch when there is one (Slurm job node list, PBS_NODEFILE),
// else inferred from the local size and marked as inferred.
Status CompleteMpiJob(const DetectContext& ctx, JobInfo& job);

// A node-level launch (Kubernetes, cloud batch services, SkyPilot, Grid
// Engine): one task per node, rank = node index, world = node count; with
// --nproc N the ranks are node*N+i of nodes*N (app::Supervise).
JobInfo NodeLevelJob(std::string launcher, std::uint64_t node, std::uint64_t nodes, std::string node_from,
                     std::string nodes_from);

// Checks --nproc against a launcher's processes-per-node variable (`var`,
// e.g. PET_NPROC_PER_NODE): a number above 1 needs --nproc with that number.
Status CheckProcsPerNode(const DetectContext& ctx, std::string_view var, std::string_view launcher);

// Takes MASTER_ADDR / MASTER_PORT from the first of `addr_vars` /
// `port_vars` that is set (checked: a host name, a port 1-65535); when none
// is, leaves them unknown with `hint` naming the variable to set.
Status TakeMaster(const DetectContext& ctx, JobInfo& job, std::initializer_list<std::string_view> addr_vars,
                  std::initializer_list<std::string_view> port_vars, std::string_view launcher);

// The port part of TakeMaster alone.
Status TakePort(const DetectContext& ctx, JobInfo& job, std::initializer_list<std::string_view> port_vars,
                std::string_view launcher);

// Sets job_key/job_numeric/step_numeric from the scheduler job around the
// launch plus a launch-specific id (`launch_key`, may be empty).
void SetJobKey(const DetectContext& ctx, JobInfo& job, std::string_view launch_key);

}  // namespace rankwrap::detect
