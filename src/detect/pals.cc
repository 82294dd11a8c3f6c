// pals: HPE Cray PALS mpiexec under PBS (Polaris, Aurora), and Slurm's
// cray_shasta plugin, which sets the same PALS_*/PMI_* names inside an srun
// step. PALS states rank, local rank and node index; the node count and
// rank 0's host come from PBS_NODEFILE (PBS) or the step's node list (Slurm).
#include <string>

#include "core/parse/hostlist.h"
#include "detect/launchers.h"

namespace rankwrap::detect {
namespace {

constexpr std::string_view kHint =
    "launch with Cray PALS mpiexec (e.g. 'mpiexec -n 8 --ppn 4 rankwrap PROGRAM') inside the "
    "PBS job";

Probe ProbePals(const DetectContext& ctx) {
  auto r = ctx.env.Get("PALS_RANKID");
  if (!r) return {false, "PALS_RANKID is not set"};
  // srun --mpi=cray_shasta writes PALS_* from the step it runs
  // (src/plugins/mpi/cray_shasta/mpi_cray_shasta.c: PALS_APID is
  // "<jobid>.<stepid>"): the step is Slurm's, and the Slurm detector reads it
  // whole (distribution, SLURM_HOSTFILE, reserved ports).
  const std::string step = std::string(ctx.env.Get("SLURM_JOB_ID").value_or("")) + "." +
                           std::string(ctx.env.Get("SLURM_STEP_ID").value_or(""));
  const bool by_srun =
      ctx.env.Get("SLURM_MPI_TYPE") == std::optional<std::string_view>("cray_shasta") ||
      (ctx.env.Has("SLURM_STEP_ID") && ctx.env.Get("PALS_APID") == std::optional<std::string_view>(step));
  if (by_srun) {
    return {false,
            "PALS_RANKID=" + std::string(*r) + " is set by srun --mpi=cray_shasta (" +
                (ctx.env.Has("SLURM_MPI_TYPE") ? std::string("SLURM_MPI_TYPE=cray_shasta") : "PALS_APID=" + step) +
                "): the Slurm step is read instead"};
  }
  return {true, "PALS_RANKID=" + std::string(*r) + " is set"};
}

Result<JobInfo> ParsePals(const DetectContext& ctx) {
  JobInfo job;
  job.launcher = "pals";
  auto rank = RequireUint(ctx, "PALS_RANKID", "the global rank", kHint);
  if (!rank) return rank.error();
  auto local = RequireUint(ctx, "PALS_LOCAL_RANKID", "the node-local rank", kHint);
  if (!local) return local.error();
  auto node = RequireUint(ctx, "PALS_NODEID", "the node index", kHint);
  if (!node) return node.error();
  auto size = RequireUint(ctx, "PMI_SIZE", "the world size", kHint);
  if (!size) return size.error();
  // cray_shasta sets PMI_LOCAL_SIZE but not PALS_LOCAL_SIZE (env-facts 1.6).
  const std::string local_size_var = FirstSet(ctx, {"PALS_LOCAL_SIZE", "PMI_LOCAL_SIZE"});
  auto local_size = RequireUint(ctx, local_size_var.empty() ? "PALS_LOCAL_SIZE" : local_size_var,
                                "the number of ranks on this node", kHint);
  if (!local_size) return local_size.error();
  job.rank = *rank;
  job.local_rank = *local;
  job.node_rank = *node;
  job.world_size = *size;
  job.local_world_size = *local_size;
  job.from = {"PALS_RANKID", "PMI_SIZE", "PALS_LOCAL_RANKID", local_size_var, "PALS_NODEID", ""};

  if (ctx.env.Has("PBS_NODEFILE")) {
    auto file = ReadHostFile(ctx, "PBS_NODEFILE", kHint);
    if (!file) return file.error();
    job.num_nodes = file->hosts.size();
    job.from.num_nodes = "distinct hosts in PBS_NODEFILE";
    job.master_addr = file->hosts.front();
    job.master_addr_from = "first host of PBS_NODEFILE";
  } else if (ctx.env.Has("SLURM_STEP_NODELIST")) {
    const std::string text(*ctx.env.Get("SLURM_STEP_NODELIST"));
    auto list = parse::Hostlist::Parse(text);
    if (!list) {
      return EnvError("SLURM_STEP_NODELIST='" + text + "'",
                      "malformed host list at offset " + std::to_string(list.error().pos) + ": " + list.error().message,
                      "this value comes from Slurm; do not overwrite it");
    }
    job.num_nodes = list->size();
    job.from.num_nodes = "hosts in SLURM_STEP_NODELIST";
    job.master_addr = list->at(0);
    job.master_addr_from = "first host of SLURM_STEP_NODELIST (srun --mpi=cray_shasta)";
  } else if (job.local_world_size == job.world_size) {
    job.num_nodes = 1;
    job.from.num_nodes = "single node: local size equals world size";
    job.master_addr = ctx.hostname;
    job.master_addr_from = "single-node launch: this host";
  } else {
    return EnvError("PBS_NODEFILE is not set",
                    "PALS does not export the node list; rankwrap needs it for the node count and "
                    "rank 0's host",
                    "run inside the PBS job (qsub), which sets PBS_NODEFILE");
  }
  // A launch may use fewer hosts than the job holds: never more nodes than ranks.
  if (job.num_nodes > job.world_size) {
    job.notes.push_back("the job holds " + std::to_string(job.num_nodes) + " hosts but runs " +
                        std::to_string(job.world_size) + " ranks: node count capped");
    job.num_nodes = job.world_size;
  }
  std::string apid(ctx.env.Get("PALS_APID").value_or(""));
  SetJobKey(ctx, job, apid);
  return job;
}

}  // namespace

Detector PalsDetector() {
  return {"pals", Layer::kMpi, "HPE Cray PALS mpiexec (PALS_RANKID, PALS_NODEID, PBS_NODEFILE)", &ProbePals,
          &ParsePals};
}

}  // namespace rankwrap::detect
