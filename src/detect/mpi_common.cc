#include "detect/mpi_common.h"

#include <string>

namespace rankwrap::detect {

Result<JobInfo> ParseMpiVars(const DetectContext& ctx, const MpiVars& v, std::string_view launch_key) {
  JobInfo job;
  job.launcher = std::string(v.launcher);
  auto rank = RequireUint(ctx, v.rank, "the global rank", v.hint);
  if (!rank) return rank.error();
  auto size = RequireUint(ctx, v.size, "the world size", v.hint);
  if (!size) return size.error();
  auto local = RequireUint(ctx, v.local_rank, "the node-local rank", v.hint);
  if (!local) return local.error();
  auto local_size = RequireUint(ctx, v.local_size, "the number of ranks on this node", v.hint);
  if (!local_size) return local_size.error();
  job.rank = *rank;
  job.world_size = *size;
  job.local_rank = *local;
  job.local_world_size = *local_size;
  job.from.rank = std::string(v.rank);
  job.from.world_size = std::string(v.size);
  job.from.local_rank = std::string(v.local_rank);
  job.from.local_world_size = std::string(v.local_size);
  if (job.local_world_size > job.world_size) {
    return EnvError(std::string(v.local_size) + "=" + std::to_string(job.local_world_size),
                    "exceeds the world size " + std::string(v.size) + "=" + std::to_string(job.world_size),
                    std::string(v.hint));
  }
  if (auto s = CompleteMpiJob(ctx, job); !s) return s.error();
  SetJobKey(ctx, job, launch_key);
  if (ctx.env.Has("SLURM_JOB_ID") || ctx.env.Has("SLURM_JOBID")) {
    job.notes.push_back(std::string(v.launcher) +
                        " is the innermost launcher: its variables win over SLURM_PROCID/"
                        "SLURM_LOCALID/SLURM_NODEID, which describe the launcher's daemon step");
  }
  return job;
}

}  // namespace rankwrap::detect
