// pbs: PBS Pro / OpenPBS tasks started through TM (pbsdsh). The job script
// itself (the mother superior's shell) is not a rank: ranks come from the MPI
// launcher run inside it (the pals, ompi or hydra detectors).
//
// PBS_TASKNUM has two forms (OpenPBS start_exec.c): decimal "%u" in the job
// script, 8-digit upper-case hex "%8.8X" in TM-spawned tasks.
#include <string>

#include "core/parse/number.h"
#include "detect/launchers.h"

namespace rankwrap::detect {
namespace {

constexpr std::string_view kHint =
    "start ranks with an MPI launcher inside the job (Cray PALS 'mpiexec --ppn N rankwrap "
    "PROGRAM', or Open MPI/MPICH mpiexec), or one per host with 'pbsdsh -u rankwrap PROGRAM'";

Probe ProbePbs(const DetectContext& ctx) {
  if (auto id = ctx.env.Get("PBS_JOBID")) return {true, "PBS_JOBID=" + std::string(*id) + " is set"};
  return {false, "PBS_JOBID is not set"};
}

bool IsTmTaskNum(std::string_view v) {
  if (v.size() != 8) return false;
  for (char c : v) {
    if (!((c >= '0' && c <= '9') || (c >= 'A' && c <= 'F'))) return false;
  }
  return true;
}

Result<JobInfo> ParsePbs(const DetectContext& ctx) {
  const std::string job_id(*ctx.env.Get("PBS_JOBID"));
  const std::string task(ctx.env.Get("PBS_TASKNUM").value_or(""));
  if (!IsTmTaskNum(task)) {
    return EnvError(
        "PBS_JOBID=" + job_id + " is set but this process is not a task: PBS_TASKNUM='" + task + "' (the job script)",
        "PBS sets no per-rank variables; the job script is one process, not a rank", std::string(kHint));
  }
  JobInfo job;
  job.launcher = "pbs";
  auto node = RequireUint(ctx, "PBS_NODENUM", "this host's index in the job", kHint);
  if (!node) return node.error();
  auto file = ReadHostFile(ctx, "PBS_NODEFILE", kHint);
  if (!file) return file.error();
  // pbsdsh -u starts one task per host: the host index is the rank.
  job.node_rank = job.rank = *node;
  job.num_nodes = job.world_size = file->hosts.size();
  job.local_rank = 0;
  job.local_world_size = 1;
  job.from = {"PBS_NODENUM (one task per host)",
              "distinct hosts in PBS_NODEFILE",
              "one task per host",
              "one task per host",
              "PBS_NODENUM",
              "distinct hosts in PBS_NODEFILE"};
  job.notes.push_back("pbsdsh task (PBS_TASKNUM=" + task +
                      " is TM's hex form): one rank per "
                      "host assumed, as with 'pbsdsh -u'");
  job.master_addr = file->hosts.front();
  job.master_addr_from = "first host of PBS_NODEFILE";
  SetJobKey(ctx, job, "pbsdsh");
  return job;
}

}  // namespace

Detector PbsDetector() {
  return {"pbs", Layer::kScheduler, "PBS Pro/OpenPBS pbsdsh tasks (PBS_TASKNUM, PBS_NODEFILE)", &ProbePbs, &ParsePbs};
}

}  // namespace rankwrap::detect
