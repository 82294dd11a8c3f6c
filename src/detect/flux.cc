// flux: tasks of `flux run` / `flux submit`. Flux exports the task rank,
// the job size, the node-local id and the node count, but neither the local
// size nor the node index nor a host list (flux-core task.c).
#include <string>

#include "detect/launchers.h"

namespace rankwrap::detect {
namespace {

constexpr std::string_view kHint = "launch with 'flux run -N NODES -n TASKS rankwrap PROGRAM'";

Probe ProbeFlux(const DetectContext& ctx) {
  if (auto r = ctx.env.Get("FLUX_TASK_RANK")) return {true, "FLUX_TASK_RANK=" + std::string(*r) + " is set"};
  return {false, "FLUX_TASK_RANK is not set"};
}

Result<JobInfo> ParseFlux(const DetectContext& ctx) {
  JobInfo job;
  job.launcher = "flux";
  auto rank = RequireUint(ctx, "FLUX_TASK_RANK", "the global rank", kHint);
  if (!rank) return rank.error();
  auto size = RequireUint(ctx, "FLUX_JOB_SIZE", "the number of tasks", kHint);
  if (!size) return size.error();
  auto local = RequireUint(ctx, "FLUX_TASK_LOCAL_ID", "the node-local rank", kHint);
  if (!local) return local.error();
  auto nodes = RequireUint(ctx, "FLUX_JOB_NNODES", "the number of nodes", kHint);
  if (!nodes) return nodes.error();
  job.rank = *rank;
  job.world_size = *size;
  job.local_rank = *local;
  job.num_nodes = *nodes;
  job.from = {"FLUX_TASK_RANK", "FLUX_JOB_SIZE", "FLUX_TASK_LOCAL_ID", "", "", "FLUX_JOB_NNODES"};
  if (job.num_nodes == 0) {
    return EnvError("FLUX_JOB_NNODES=0", "expected at least one node", std::string(kHint));
  }
  if (job.num_nodes == 1) {
    job.local_world_size = job.world_size;
    job.node_rank = 0;
    job.from.local_world_size = "single node: FLUX_JOB_SIZE";
    job.from.node_rank = "single node";
    job.master_addr = ctx.hostname;
    job.master_addr_from = "single-node job: this host";
  } else {
    // Flux's default block task map with an even spread; flagged as inferred.
    if (job.world_size % job.num_nodes != 0) {
      return EnvError(
          "FLUX_JOB_SIZE=" + std::to_string(job.world_size) + " over FLUX_JOB_NNODES=" + std::to_string(job.num_nodes),
          "Flux does not export the per-node task count; rankwrap infers it only for "
          "an even spread",
          "request an even layout, e.g. 'flux run -N 2 --tasks-per-node=4 ...'");
    }
    job.local_world_size = job.world_size / job.num_nodes;
    job.node_rank = job.rank / job.local_world_size;
    job.from.local_world_size = "inferred: FLUX_JOB_SIZE / FLUX_JOB_NNODES";
    job.from.node_rank = "inferred: block task map";
    job.notes.push_back(
        "local size and node rank are INFERRED from Flux's default block task "
        "map; --taskmap=cyclic would differ");
    job.master_addr_from = "Flux exports no host list; rank 0's host is unknown";
  }
  SetJobKey(ctx, job, "");
  return job;
}

}  // namespace

Detector FluxDetector() {
  return {"flux", Layer::kScheduler, "Flux tasks (FLUX_TASK_RANK, FLUX_JOB_SIZE)", &ProbeFlux, &ParseFlux};
}

}  // namespace rankwrap::detect
