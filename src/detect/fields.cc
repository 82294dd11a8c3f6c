// Helpers shared by the detectors: reading and checking variables, and the
// allocation lookups that MPI launchers need because they do not say which
// node a rank is on.
#include <string>

#include "core/parse/hostlist.h"
#include "core/parse/nodefile.h"
#include "core/parse/number.h"
#include "detect/detector.h"

namespace rankwrap::detect {

Error EnvError(std::string what, std::string why, std::string hint) {
  return Error{kExitEnvironment, "detect", std::move(what), std::move(why), std::move(hint)};
}

std::string ShortenForMessage(std::string_view value) {
  constexpr std::size_t kShown = 80;
  if (value.size() <= kShown) return std::string(value);
  return std::string(value.substr(0, 40)) + "...(" + std::to_string(value.size()) + " characters)";
}

Result<std::string> RequireVar(const DetectContext& ctx, std::string_view var, std::string_view hint) {
  auto v = ctx.env.Get(var);
  if (!v) return EnvError(std::string(var) + " is not set", "the launcher sets it for every task", std::string(hint));
  return std::string(*v);
}

Result<std::optional<std::uint64_t>> OptionalUint(const DetectContext& ctx, std::string_view var,
                                                  std::string_view meaning, std::string_view hint) {
  auto v = ctx.env.Get(var);
  if (!v) return std::optional<std::uint64_t>{};
  auto n = parse::Decimal(*v);
  if (!n) {
    return EnvError(std::string(var) + "='" + std::string(*v) + "'",
                    n.error().message + "; expected " + std::string(meaning) + " as a non-negative decimal integer",
                    std::string(hint));
  }
  return std::optional<std::uint64_t>{*n};
}

Result<std::uint64_t> RequireUint(const DetectContext& ctx, std::string_view var, std::string_view meaning,
                                  std::string_view hint) {
  auto n = OptionalUint(ctx, var, meaning, hint);
  if (!n) return n.error();
  if (!*n) {
    return EnvError(std::string(var) + " is not set",
                    "expected " + std::string(meaning) + " as a non-negative decimal integer", std::string(hint));
  }
  return **n;
}

Result<parse::Nodefile> ReadHostFile(const DetectContext& ctx, std::string_view var, std::string_view hint) {
  auto path = ctx.env.Get(var);
  if (!path) return EnvError(std::string(var) + " is not set", "the launcher sets it", std::string(hint));
  auto text = ctx.files.Read(std::string(*path));
  if (!text) {
    return EnvError(std::string(var) + "='" + std::string(*path) + "' cannot be read",
                    text.error().reason + "; expected a file with one host name per line", std::string(hint));
  }
  auto file = parse::Nodefile::Parse(*text);
  if (!file) {
    return EnvError(std::string(var) + "='" + std::string(*path) + "'",
                    file.error().message + "; expected one host name per line", std::string(hint));
  }
  return std::move(file).value();
}

std::string FirstSet(const DetectContext& ctx, std::initializer_list<std::string_view> vars) {
  for (std::string_view v : vars) {
    if (ctx.env.Has(v)) return std::string(v);
  }
  return {};
}

namespace {

constexpr std::string_view kPbsHint =
    "run inside the PBS job that owns the node file (PBS writes one host per MPI slot), or "
    "unset PBS_NODEFILE";

struct Allocation {
  std::string source;  // "SLURM_JOB_NODELIST=node[1-2]"
  std::uint64_t num_nodes = 0;
  std::string first_host;
  std::optional<std::uint64_t> this_node;
};

// The scheduler allocation around an MPI launch, if any.
Result<std::optional<Allocation>> FindAllocation(const DetectContext& ctx) {
  // mpirun inside sbatch: PRRTE/ORTE leave SLURM_JOB_NODELIST (v4) and the
  // daemon step's variables; the job list is the allocation.
  const std::string slurm_var = FirstSet(ctx, {"SLURM_JOB_NODELIST", "SLURM_NODELIST"});
  if (!slurm_var.empty()) {
    const std::string text(*ctx.env.Get(slurm_var));
    auto list = parse::Hostlist::Parse(text);
    if (!list) {
      return EnvError(slurm_var + "='" + text + "'",
                      "malformed host list at offset " + std::to_string(list.error().pos) + ": " + list.error().message,
                      "this value comes from Slurm; check that no job script overwrote " + slurm_var);
    }
    Allocation a;
    a.source = slurm_var + "=" + text;
    a.num_nodes = list->size();
    a.first_host = list->at(0);
    a.this_node = list->Find(ctx.hostname);
    if (!a.this_node) a.this_node = list->Find(parse::ShortHostName(ctx.hostname));
    return std::optional<Allocation>(a);
  }
  if (auto path = ctx.env.Get("PBS_NODEFILE")) {
    auto file = ReadHostFile(ctx, "PBS_NODEFILE", kPbsHint);
    if (!file) return file.error();
    Allocation a;
    a.source = "PBS_NODEFILE=" + std::string(*path);
    a.num_nodes = file->hosts.size();
    a.first_host = file->hosts.front();
    if (auto i = file->IndexOf(ctx.hostname)) a.this_node = *i;
    return std::optional<Allocation>(a);
  }
  return std::optional<Allocation>{};
}

}  // namespace

Status CompleteMpiJob(const DetectContext& ctx, JobInfo& job) {
  if (job.local_world_size == job.world_size) {
    job.node_rank = 0;
    job.num_nodes = 1;
    job.from.node_rank = job.from.num_nodes = "single node: local size equals world size";
    job.master_addr = ctx.hostname;
    job.master_addr_from = "single-node launch: this host";
    return Ok{};
  }
  auto alloc = FindAllocation(ctx);
  if (!alloc) return alloc.error();
  if (*alloc && (*alloc)->this_node) {
    const Allocation& a = **alloc;
    job.node_rank = *a.this_node;
    job.num_nodes = a.num_nodes;
    job.from.node_rank = "position of host '" + ctx.hostname + "' in " + a.source;
    job.from.num_nodes = "hosts in " + a.source;
    job.master_addr = a.first_host;
    job.master_addr_from = "first host of the allocation (" + a.source + "); mpirun places rank 0 there";
    job.notes.push_back("node rank and node count taken from the allocation " + a.source);
    return Ok{};
  }
  if (*alloc) {
    job.notes.push_back("this host '" + ctx.hostname + "' is not in " + (*alloc)->source +
                        "; node rank inferred instead");
  }
  // No allocation that names this host: assume block placement with the
  // same local size on every node, and say so.
  if (job.local_world_size == 0) {
    return EnvError(job.from.local_world_size + "=0", "expected at least one rank on this node",
                    "check the launcher's -np/--ppn options");
  }
  job.node_rank = (job.rank - job.local_rank) / job.local_world_size;
  job.num_nodes = (job.world_size + job.local_world_size - 1) / job.local_world_size;
  job.from.node_rank = "inferred: (rank - local rank) / local size, assuming block placement";
  job.from.num_nodes = "inferred: world size / local size, rounded up";
  job.notes.push_back(
      "node rank and node count are INFERRED (no scheduler allocation names "
      "this host); they assume every node runs " +
      std::to_string(job.local_world_size) + " ranks in block order");
  job.master_addr_from = "the launch spans several hosts and no allocation tells where rank 0 runs";
  return Ok{};
}

JobInfo NodeLevelJob(std::string launcher, std::uint64_t node, std::uint64_t nodes, std::string node_from,
                     std::string nodes_from) {
  JobInfo job;
  job.launcher = std::move(launcher);
  job.node_level = true;
  job.rank = job.node_rank = node;
  job.world_size = job.num_nodes = nodes;
  job.local_rank = 0;
  job.local_world_size = 1;
  job.from = {node_from + " (one task per node)",
              nodes_from + " (one task per node)",
              "one task per node",
              "one task per node",
              node_from,
              nodes_from};
  return job;
}

Status CheckProcsPerNode(const DetectContext& ctx, std::string_view var, std::string_view launcher) {
  auto text = ctx.env.Get(var);
  if (!text) return Ok{};
  auto n = parse::Decimal(*text, 1u << 20);
  // torchrun also takes "auto", "gpu", "cpu": the count is then the node's
  // devices, which rankwrap's --nproc names explicitly.
  if (!n) {
    if (ctx.nproc) return Ok{};
    return EnvError(std::string(var) + "='" + ShortenForMessage(*text) + "'",
                    std::string(launcher) +
                        " asks for processes per node that only torchrun counts; "
                        "rankwrap starts them with --nproc N",
                    "run 'rankwrap --nproc N PROGRAM' with N the processes per node");
  }
  if (ctx.nproc && *ctx.nproc != *n) {
    return EnvError(std::string(var) + "=" + std::to_string(*n) + " but --nproc " + std::to_string(*ctx.nproc),
                    std::string(launcher) + " counts " + std::to_string(*n) +
                        " processes per node in the world size every node computes",
                    "run 'rankwrap --nproc " + std::to_string(*n) + " PROGRAM'");
  }
  if (!ctx.nproc && *n > 1) {
    return EnvError(std::string(var) + "=" + std::to_string(*n) + " and no --nproc",
                    std::string(launcher) + " starts one process per node and expects it to start " +
                        std::to_string(*n) + "; alone it would be one rank of a world that counts " +
                        std::to_string(*n) + " per node",
                    "run 'rankwrap --nproc " + std::to_string(*n) + " PROGRAM'");
  }
  return Ok{};
}

Status TakePort(const DetectContext& ctx, JobInfo& job, std::initializer_list<std::string_view> port_vars,
                std::string_view launcher) {
  const std::string port_var = FirstSet(ctx, port_vars);
  if (port_var.empty()) {
    job.master_port_hint = "set " + std::string(*port_vars.begin()) +
                           " in the job's definition (the same on every node), or pass --master-port PORT";
    return Ok{};
  }
  const std::string text(*ctx.env.Get(port_var));
  auto port = parse::Decimal(text, 65535);
  if (!port || *port == 0) {
    return EnvError(port_var + "='" + ShortenForMessage(text) + "'", "expected a TCP port 1-65535",
                    "set " + port_var + " to a free port, the same on every node, or pass --master-port PORT");
  }
  job.master_port = static_cast<std::uint16_t>(*port);
  job.master_port_from = port_var + " (" + std::string(launcher) + ")";
  return Ok{};
}

Status TakeMaster(const DetectContext& ctx, JobInfo& job, std::initializer_list<std::string_view> addr_vars,
                  std::initializer_list<std::string_view> port_vars, std::string_view launcher) {
  const std::string addr_var = FirstSet(ctx, addr_vars);
  if (!addr_var.empty()) {
    const std::string addr(*ctx.env.Get(addr_var));
    if (auto host = parse::CheckHostName(addr); !host || addr.empty()) {
      return EnvError(addr_var + "='" + ShortenForMessage(addr) + "'",
                      (host ? std::string("empty") : host.error().message) + "; expected rank 0's host",
                      "set " + addr_var + " to the host of node 0, or pass --master-addr HOST");
    }
    job.master_addr = addr;
    job.master_addr_from = addr_var + " (" + std::string(launcher) + ")";
  } else {
    job.master_addr_from = std::string(launcher) + " sets no " + std::string(*addr_vars.begin());
    job.master_addr_hint = "set " + std::string(*addr_vars.begin()) +
                           " to the host of node 0 in the job's definition, or pass --master-addr HOST";
  }
  return TakePort(ctx, job, port_vars, launcher);
}

void SetJobKey(const DetectContext& ctx, JobInfo& job, std::string_view launch_key) {
  const std::string job_var = FirstSet(ctx, {"SLURM_JOB_ID", "SLURM_JOBID", "PBS_JOBID", "FLUX_JOB_ID", "LSB_JOBID"});
  std::string job_id = job_var.empty() ? std::string() : std::string(*ctx.env.Get(job_var));
  if (!job_id.empty()) {
    // PBS "1234.server" and "1234[5].server": the sequence number is the id.
    const std::string seq = job_id.substr(0, job_id.find_first_of(".["));
    if (auto n = parse::Decimal(seq, UINT64_MAX)) job.job_numeric = *n;
  }
  if (!launch_key.empty()) {
    if (auto n = parse::Decimal(launch_key, UINT64_MAX)) job.step_numeric = *n;
  }
  if (job_id.empty() && launch_key.empty()) return;
  job.job_key = (job_var.empty() ? std::string("launch") : job_var + "=" + job_id) +
                (launch_key.empty() ? std::string() : "/" + std::string(launch_key));
  if (!job.step_numeric && job.job_numeric && launch_key.empty()) job.step_numeric = 0;
}

}  // namespace rankwrap::detect
