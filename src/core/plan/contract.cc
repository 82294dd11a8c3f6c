#include "core/plan/contract.h"

namespace rankwrap::plan {
namespace {

constexpr std::uint32_t kPortBase = 20000;
constexpr std::uint32_t kPortSpan = 32768 - kPortBase;  // 12768 ports

std::uint64_t Fnv1a(const std::string& s) {
  std::uint64_t h = 1469598103934665603ULL;
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  return h;
}

// Ids that name one launch and that no child environment rewrites
// (children.cc): schedulers' job and step ids, launchers' application ids.
constexpr const char* kLaunchIds[] = {
    "SLURM_JOB_ID",     "SLURM_STEP_ID",       "PBS_JOBID",     "FLUX_JOB_ID",          "LSB_JOBID",
    "PALS_APID",        "TORCHELASTIC_RUN_ID", "JOB_ID",        "AWS_BATCH_JOB_ID",     "AZ_BATCH_JOB_ID",
    "AZ_BATCH_TASK_ID", "SKYPILOT_TASK_ID",    "BATCH_JOB_UID", "JOB_COMPLETION_INDEX",
};

}  // namespace

std::string ContractMarker(const EnvSnapshot& env, const std::string& host) {
  std::string out = "host=" + host;
  for (const char* id : kLaunchIds) {
    if (auto v = env.Get(id)) out += ";" + std::string(id) + "=" + std::string(*v);
  }
  return out;
}

std::uint16_t PortFromJob(const JobInfo& job) {
  std::uint64_t slot = 0;
  if (job.job_numeric && job.step_numeric) {
    // Linear in both ids: job j and j+1 differ by 37 slots and step s and
    // s+1 by 7919 slots; neither is a multiple of 12768 = 2^5*3*7*19, so
    // consecutive jobs and different steps never share a port (until the
    // ids wrap around the span).
    slot = (*job.job_numeric % kPortSpan) * 37 + (*job.step_numeric % kPortSpan) * 7919;
  } else {
    slot = Fnv1a(job.job_key);
  }
  return static_cast<std::uint16_t>(kPortBase + slot % kPortSpan);
}

Result<RankContract> Ranks(const JobInfo& job, const ContractOptions& opts, const EnvSnapshot& inherited,
                           const std::function<Result<std::uint16_t>()>& free_port) {
  RankContract c;
  c.job = job;
  if (opts.master_addr) {
    c.master_addr = *opts.master_addr;
    c.master_addr_from = "--master-addr";
  } else if (job.master_addr) {
    c.master_addr = *job.master_addr;
    c.master_addr_from = job.master_addr_from;
  } else if (opts.bootstrap_fills_master) {
    c.master_addr_from = "rank 0's host, from the MPI bootstrap";
  } else if (opts.plane_fills_master) {
    c.master_addr_from = "rank 0's host, announced on the job control plane (" + job.master_addr_from + ")";
  } else {
    return Error{
        kExitEnvironment, "plan", "MASTER_ADDR cannot be derived under " + job.launcher + ": " + job.master_addr_from,
        "rankwrap never guesses rank 0's host (a wrong guess hangs every rank at "
        "rendezvous)",
        job.master_addr_hint.empty() ? "pass --master-addr HOST (the host that runs rank 0), or launch inside a "
                                       "scheduler allocation"
                                     : job.master_addr_hint};
  }
  if (opts.master_port) {
    c.master_port = *opts.master_port;
    c.master_port_from = "--master-port";
  } else if (opts.bootstrap_fills_master) {
    c.master_port_from = "a free port bound by rank 0, from the MPI bootstrap";
  } else if (job.master_port) {
    c.master_port = *job.master_port;
    c.master_port_from = job.master_port_from;
  } else if (!job.job_key.empty()) {
    c.master_port = PortFromJob(job);
    c.master_port_from = "computed from " + job.job_key + " (20000-32767)";
  } else if (job.local_port_ok) {
    auto p = free_port();
    if (!p) return p.error();
    c.master_port = *p;
    c.master_port_from = "a free local port";
  } else {
    return Error{
        kExitEnvironment, "plan",
        "MASTER_PORT cannot be derived under " + job.launcher + ": no job or launch id is the same on every rank",
        "rankwrap never falls back to a default port (two jobs on one node would collide)",
        job.master_port_hint.empty() ? "pass --master-port PORT (the same on every rank)" : job.master_port_hint};
  }
  const std::string node = std::to_string(job.node_rank);
  c.env = {
      {"RANK", std::to_string(job.rank)},
      {"WORLD_SIZE", std::to_string(job.world_size)},
      {"LOCAL_RANK", std::to_string(job.local_rank)},
      {"LOCAL_WORLD_SIZE", std::to_string(job.local_world_size)},
      {"NODE_RANK", node},
      {"GROUP_RANK", node},
      {"NUM_NODES", std::to_string(job.num_nodes)},
      {"MASTER_ADDR", c.master_addr},
      {"MASTER_PORT", std::to_string(c.master_port)},
      {"RANKWRAP_LAUNCHER", job.launcher},
      {kContractMarker, ContractMarker(inherited, job.host)},
  };
  for (const auto& [key, value] : c.env) {
    if (key == "RANKWRAP_LAUNCHER" || key == kContractMarker) continue;
    // A node-level launcher's RANK/WORLD_SIZE (Kubeflow PyTorchJob: the pod
    // index, the process count) describe the node's children of --nproc,
    // which get their own values; the node's one-task values replace nothing.
    const bool per_child = key == "RANK" || key == "WORLD_SIZE" || key == "LOCAL_RANK" || key == "LOCAL_WORLD_SIZE";
    if (job.node_level && per_child) continue;
    auto old = inherited.Get(key);
    if (old && *old != value) {
      c.warnings.push_back("inherited " + key + "=" + std::string(*old) + " replaced by " + value + " (derived from " +
                           job.launcher + ")");
    }
  }
  // Once per node: programs that compute their rank as NODE_RANK *
  // LOCAL_WORLD_SIZE + LOCAL_RANK (or take node 0's local rank 0 as rank 0)
  // get another rank than RANK under this task order.
  if (!job.rank_order.empty() && job.local_rank == 0) {
    c.warnings.push_back("RANK is not NODE_RANK*LOCAL_WORLD_SIZE+LOCAL_RANK for every rank of this launch (" +
                         job.rank_order + "): programs must read RANK, not compute it");
  }
  return c;
}

}  // namespace rankwrap::plan
