// mvapich: MVAPICH2 mpirun_rsh/mpispawn (MV2_COMM_WORLD_*). Under MVAPICH's
// Hydra mpiexec the hydra detector applies instead.
#include <string>

#include "detect/launchers.h"
#include "detect/mpi_common.h"

namespace rankwrap::detect {
namespace {

Probe ProbeMvapich(const DetectContext& ctx) {
  if (auto r = ctx.env.Get("MV2_COMM_WORLD_RANK")) {
    return {true, "MV2_COMM_WORLD_RANK=" + std::string(*r) + " is set"};
  }
  return {false, "MV2_COMM_WORLD_RANK is not set"};
}

Result<JobInfo> ParseMvapich(const DetectContext& ctx) {
  // mpirun_rsh exports no launch id; all ranks of one node share mpispawn.
  const bool single = ctx.env.Get("MV2_COMM_WORLD_SIZE") == ctx.env.Get("MV2_COMM_WORLD_LOCAL_SIZE");
  return ParseMpiVars(ctx,
                      {"mvapich", "MV2_COMM_WORLD_RANK", "MV2_COMM_WORLD_SIZE", "MV2_COMM_WORLD_LOCAL_RANK",
                       "MV2_COMM_WORLD_LOCAL_SIZE", "launch with MVAPICH2's mpirun_rsh, which sets MV2_COMM_WORLD_*"},
                      single ? "ppid" + std::to_string(ctx.parent_pid) : "");
}

}  // namespace

Detector MvapichDetector() {
  return {"mvapich", Layer::kMpi, "MVAPICH2 mpirun_rsh (MV2_COMM_WORLD_*)", &ProbeMvapich, &ParseMvapich};
}

}  // namespace rankwrap::detect
