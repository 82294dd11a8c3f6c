// lsf: IBM LSF with jsrun (Summit, Sierra, Lassen): JSM_NAMESPACE_* for the
// numbers, LSB_DJOB_RANKFILE (one host per rank) for the hosts. On CORAL
// systems the file starts with the launch node, which runs no rank: the file
// then has one line more than the job has ranks (Lightning's lsf.py drops it).
#include <string>

#include "detect/launchers.h"
#include "detect/mpi_common.h"

namespace rankwrap::detect {
namespace {

constexpr std::string_view kHint = "launch with jsrun inside the LSF job";

Probe ProbeLsf(const DetectContext& ctx) {
  if (auto r = ctx.env.Get("JSM_NAMESPACE_RANK")) {
    return {true, "JSM_NAMESPACE_RANK=" + std::string(*r) + " is set"};
  }
  return {false, "JSM_NAMESPACE_RANK is not set"};
}

Result<JobInfo> ParseLsf(const DetectContext& ctx) {
  if (!ctx.env.Has("LSB_DJOB_RANKFILE")) {
    return ParseMpiVars(ctx,
                        {"lsf", "JSM_NAMESPACE_RANK", "JSM_NAMESPACE_SIZE", "JSM_NAMESPACE_LOCAL_RANK",
                         "JSM_NAMESPACE_LOCAL_SIZE", kHint},
                        "");
  }
  JobInfo job;
  job.launcher = "lsf";
  auto rank = RequireUint(ctx, "JSM_NAMESPACE_RANK", "the global rank", kHint);
  if (!rank) return rank.error();
  auto size = RequireUint(ctx, "JSM_NAMESPACE_SIZE", "the world size", kHint);
  if (!size) return size.error();
  auto local = RequireUint(ctx, "JSM_NAMESPACE_LOCAL_RANK", "the node-local rank", kHint);
  if (!local) return local.error();
  auto file = ReadHostFile(ctx, "LSB_DJOB_RANKFILE", kHint);
  if (!file) return file.error();
  job.rank = *rank;
  job.world_size = *size;
  job.local_rank = *local;
  std::vector<std::string> lines = file->lines;
  if (lines.size() == job.world_size + 1) {
    job.notes.push_back("LSB_DJOB_RANKFILE has one line more than ranks: its first line '" + lines.front() +
                        "' is the launch node and is skipped");
    lines.erase(lines.begin());
  }
  if (lines.size() != job.world_size) {
    return EnvError("LSB_DJOB_RANKFILE has " + std::to_string(file->lines.size()) + " lines",
                    "expected one per rank (JSM_NAMESPACE_SIZE=" + std::to_string(job.world_size) +
                        "), optionally preceded by the launch node",
                    std::string(kHint));
  }
  auto hosts = parse::Nodefile::Parse([&] {
    std::string t;
    for (const auto& l : lines) t += l + "\n";
    return t;
  }());
  if (!hosts) return EnvError("LSB_DJOB_RANKFILE", hosts.error().message, std::string(kHint));
  job.num_nodes = hosts->hosts.size();
  job.master_addr = lines.front();
  job.master_addr_from = "host of rank 0 in LSB_DJOB_RANKFILE";
  std::uint64_t local_size = 0;
  const std::string& mine = lines[job.rank < lines.size() ? job.rank : 0];
  for (const auto& l : lines) local_size += l == mine ? 1 : 0;
  job.local_world_size = local_size;
  job.node_rank = *hosts->IndexOf(mine);
  job.from = {"JSM_NAMESPACE_RANK",
              "JSM_NAMESPACE_SIZE",
              "JSM_NAMESPACE_LOCAL_RANK",
              "lines of this host in LSB_DJOB_RANKFILE",
              "position of this host in LSB_DJOB_RANKFILE",
              "distinct hosts in LSB_DJOB_RANKFILE"};
  SetJobKey(ctx, job, "");
  return job;
}

}  // namespace

Detector LsfDetector() {
  return {"lsf", Layer::kScheduler, "IBM LSF jsrun (JSM_NAMESPACE_*, LSB_DJOB_RANKFILE)", &ProbeLsf, &ParseLsf};
}

}  // namespace rankwrap::detect
