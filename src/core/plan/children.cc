#include "core/plan/children.h"

#include <algorithm>
#include <string_view>

#include "core/plan/contract.h"

namespace rankwrap::plan {
namespace {

bool StartsWith(std::string_view s, std::string_view prefix) { return s.substr(0, prefix.size()) == prefix; }

// Connection and identity of the task toward its launcher: a child that kept
// them would talk to the launcher as the task (a second client on one PMI_FD,
// a PMIx rank the server already has). Removed; an MPI library in the child
// then starts as a singleton. Sources: MPICH src/pm/hydra/proxy/pmip_cb.c
// (PMI_FD, PMI_PORT, PMI_ID); Slurm src/plugins/mpi/pmi2/mpi_pmi2.c,
// src/plugins/mpi/cray_shasta/mpi_cray_shasta.c (PMI_CONTROL_PORT,
// PMI_SHARED_SECRET, PALS_APINFO); openpmix src/server/pmix_server.c
// (PMIX_*); Open MPI v4.1.x orte/mca/schizo/ompi/schizo_ompi.c and
// orte/mca/ess (OMPI_MCA_orte_hnp_uri, OMPI_MCA_ess_base_*); PRRTE
// (PRTE_LAUNCHED); horovod/runner/gloo_run.py (the Gloo rendezvous knows the
// task's rank only); torch/distributed/elastic/agent (one error file per
// worker: N children would overwrite it).
struct Removed {
  std::string_view name;  // exact name, or a prefix ending in '*'
  std::string_view why;
};
constexpr Removed kRemoved[] = {
    {"PMI_FD", "the PMI connection of the task (Hydra, Slurm pmi2, Flux)"},
    {"PMI_PORT", "the PMI connection of the task (Hydra -pmi-port)"},
    {"PMI_ID", "the task's PMI id (Hydra -pmi-port)"},
    {"PMI_SPAWNED", "the PMI connection of the task"},
    {"PMI_CONTROL_PORT", "Cray PMI's connection (cray_shasta, PALS)"},
    {"PMI_SHARED_SECRET", "Cray PMI's connection (cray_shasta, PALS)"},
    {"PALS_APINFO", "PALS's layout file of the launch (describes the tasks, not the children)"},
    {"PALS_FD", "PALS's connection of the task"},
    {"PMIX_*", "the PMIx server's connection and the task's identity in its namespace"},
    {"PRTE_LAUNCHED", "marks a PRRTE-launched PMIx client"},
    {"OMPI_MCA_orte_hnp_uri", "the Open MPI 4 daemon's address (JAX's OmpiCluster keys on it)"},
    {"OMPI_MCA_orte_local_daemon_uri", "the Open MPI 4 daemon's address"},
    {"OMPI_MCA_orte_ess_num_procs", "Open MPI 4's job size for the task's job"},
    {"OMPI_MCA_orte_ess_node_rank", "Open MPI 4's node rank of the task"},
    {"OMPI_MCA_ess_base_*", "Open MPI 4's job id and rank of the task"},
    {"MPISPAWN_*", "MVAPICH2 mpispawn's connection of the task"},
    {"HOROVOD_GLOO_RENDEZVOUS_ADDR", "horovodrun's rendezvous, which knows the task's rank only"},
    {"HOROVOD_GLOO_RENDEZVOUS_PORT", "horovodrun's rendezvous, which knows the task's rank only"},
    {"TORCHELASTIC_ERROR_FILE", "the elastic agent's error file of one worker: N children would overwrite it"},
};

bool Matches(std::string_view var, std::string_view pattern) {
  if (!pattern.empty() && pattern.back() == '*') return StartsWith(var, pattern.substr(0, pattern.size() - 1));
  return var == pattern;
}

// RANKWRAP_<OPTION> for every option with an environment form
// (src/tools/options.cc Describe(); --launcher, --help, --version and the
// actions have none). A unit test compares the list with --help.
const std::vector<std::string> kOptionVariables = {
    "RANKWRAP_BIND",
    "RANKWRAP_BOOTSTRAP_TIMEOUT",
    "RANKWRAP_CPU_BIND",
    "RANKWRAP_FAILURE_FILE",
    "RANKWRAP_GPU_BIND",
    "RANKWRAP_GPU_VISIBILITY",
    "RANKWRAP_GRACE",
    "RANKWRAP_LOCAL_RANKS_FILTER",
    "RANKWRAP_LOG_DIR",
    "RANKWRAP_MASTER_ADDR",
    "RANKWRAP_MASTER_PORT",
    "RANKWRAP_MAX_RESTARTS",
    "RANKWRAP_MEM_BIND",
    "RANKWRAP_NCCL_BOOTSTRAP",
    "RANKWRAP_NCCL_COMM_ID",
    "RANKWRAP_NPROC",
    "RANKWRAP_PLANE",
    "RANKWRAP_PREFLIGHT",
    "RANKWRAP_PREFLIGHT_CMD",
    "RANKWRAP_RANKS_FILTER",
    "RANKWRAP_RANKS_PER_NODE",
    "RANKWRAP_REPORT",
    "RANKWRAP_REQUEUE",
    "RANKWRAP_RESTART_BACKOFF",
    "RANKWRAP_SIGNAL_MAP",
    "RANKWRAP_SUPERVISE",
    "RANKWRAP_SVG",
    "RANKWRAP_TAG_OUTPUT",
    "RANKWRAP_TEE",
    "RANKWRAP_TOPOLOGY",
};

// What each launcher variable means for a child: rewritten where the task
// has it, each naming the child's place. The sources of these variables and
// of their readers:
// Slurm (srun.1 OUTPUT ENVIRONMENT VARIABLES). Read by Lightning
// (src/lightning/fabric/plugins/environments/slurm.py: SLURM_NTASKS,
// SLURM_PROCID, SLURM_LOCALID, SLURM_NODEID, SLURM_NTASKS_PER_NODE),
// submitit (submitit/slurm/slurm.py SlurmJobEnvironment: SLURM_PROCID,
// SLURM_LOCALID, SLURM_NTASKS, SLURM_NODEID, SLURM_JOB_NUM_NODES), JAX
// (jax/_src/clusters/slurm_cluster.py: SLURM_JOB_ID, SLURM_NTASKS,
// SLURM_PROCID, SLURM_LOCALID, SLURM_STEP_NODELIST) and rankwrap's slurm
// detector (SLURM_STEP_NUM_TASKS, SLURM_STEP_TASKS_PER_NODE).
// Open MPI (docs/tuning-apps/environment-var.rst): read by JAX
// (jax/_src/clusters/ompi_cluster.py: OMPI_COMM_WORLD_SIZE, _RANK,
// _LOCAL_RANK), DeepSpeed (deepspeed/comm/comm.py
// patch_aml_env_for_torch_nccl_backend, mpi_discovery), Accelerate
// (accelerate/utils/environment.py get_int_from_env lists).
// MVAPICH2, Hydra/Intel MPI, Cray PMI, Flux, jsrun, PALS, ALPS.
// torchrun's worker variables (torch/distributed/run.py and
// torch/distributed/elastic/agent/server/local_elastic_agent.py), DeepSpeed's
// launcher (deepspeed/launcher/launch.py: LOCAL_SIZE, CROSS_RANK,
// CROSS_SIZE), Horovod (horovod/runner/gloo_run.py sets, horovod/common/
// gloo/gloo_context.cc reads HOROVOD_RANK, _SIZE, _LOCAL_RANK, _LOCAL_SIZE,
// _CROSS_RANK, _CROSS_SIZE).
enum class Place { kRank, kWorld, kLocal, kLocalSize, kNode, kNodes, kOne, kZero };
struct Rewritten {
  const char* name;
  Place place;
};
constexpr Rewritten kRewritten[] = {
    {"SLURM_PROCID", Place::kRank},
    {"SLURM_LOCALID", Place::kLocal},
    {"SLURM_NTASKS", Place::kWorld},
    {"SLURM_NPROCS", Place::kWorld},
    {"SLURM_STEP_NUM_TASKS", Place::kWorld},
    {"SLURM_NTASKS_PER_NODE", Place::kLocalSize},
    {"OMPI_COMM_WORLD_RANK", Place::kRank},
    {"OMPI_COMM_WORLD_SIZE", Place::kWorld},
    {"OMPI_COMM_WORLD_LOCAL_RANK", Place::kLocal},
    {"OMPI_COMM_WORLD_LOCAL_SIZE", Place::kLocalSize},
    {"OMPI_COMM_WORLD_NODE_RANK", Place::kLocal},
    {"OMPI_UNIVERSE_SIZE", Place::kWorld},
    {"OMPI_NUM_APP_CTX", Place::kOne},
    {"OMPI_APP_CTX_NUM_PROCS", Place::kWorld},
    {"OMPI_FIRST_RANKS", Place::kZero},
    {"MV2_COMM_WORLD_RANK", Place::kRank},
    {"MV2_COMM_WORLD_SIZE", Place::kWorld},
    {"MV2_COMM_WORLD_LOCAL_RANK", Place::kLocal},
    {"MV2_COMM_WORLD_LOCAL_SIZE", Place::kLocalSize},
    {"PMI_RANK", Place::kRank},
    {"PMI_SIZE", Place::kWorld},
    {"PMI_LOCAL_RANK", Place::kLocal},
    {"PMI_LOCAL_SIZE", Place::kLocalSize},
    {"PMI_UNIVERSE_SIZE", Place::kWorld},
    {"MPI_LOCALRANKID", Place::kLocal},
    {"MPI_LOCALNRANKS", Place::kLocalSize},
    {"FLUX_TASK_RANK", Place::kRank},
    {"FLUX_TASK_LOCAL_ID", Place::kLocal},
    {"FLUX_JOB_SIZE", Place::kWorld},
    {"JSM_NAMESPACE_RANK", Place::kRank},
    {"JSM_NAMESPACE_SIZE", Place::kWorld},
    {"JSM_NAMESPACE_LOCAL_RANK", Place::kLocal},
    {"JSM_NAMESPACE_LOCAL_SIZE", Place::kLocalSize},
    {"PALS_RANKID", Place::kRank},
    {"PALS_LOCAL_RANKID", Place::kLocal},
    {"PALS_LOCAL_SIZE", Place::kLocalSize},
    {"ALPS_APP_PE", Place::kRank},
    {"ROLE_RANK", Place::kRank},
    {"ROLE_WORLD_SIZE", Place::kWorld},
    {"GROUP_WORLD_SIZE", Place::kNodes},
    {"LOCAL_SIZE", Place::kLocalSize},
    {"CROSS_RANK", Place::kNode},
    {"CROSS_SIZE", Place::kNodes},
    {"HOROVOD_RANK", Place::kRank},
    {"HOROVOD_SIZE", Place::kWorld},
    {"HOROVOD_LOCAL_RANK", Place::kLocal},
    {"HOROVOD_LOCAL_SIZE", Place::kLocalSize},
    {"HOROVOD_CROSS_RANK", Place::kNode},
    {"HOROVOD_CROSS_SIZE", Place::kNodes},
};

std::string Value(Place p, const ChildPlace& child, const JobInfo& job) {
  switch (p) {
    case Place::kRank:
      return std::to_string(child.rank);
    case Place::kWorld:
      return std::to_string(child.world_size);
    case Place::kLocal:
      return std::to_string(child.local_rank);
    case Place::kLocalSize:
      return std::to_string(child.local_world_size);
    case Place::kNode:
      return std::to_string(job.node_rank);
    case Place::kNodes:
      return std::to_string(job.num_nodes);
    case Place::kOne:
      return "1";
    case Place::kZero:
      return "0";
  }
  return {};
}

// Slurm's per-node counts and global task ids for the children's world.
void SlurmLayout(const EnvSnapshot& task_env, const JobInfo& job, const ChildPlace& child, ChildEnv* out) {
  const std::string world = std::to_string(child.world_size);
  const bool even = child.world_size == child.local_world_size * job.num_nodes;
  for (std::string_view var : {"SLURM_STEP_TASKS_PER_NODE", "SLURM_TASKS_PER_NODE"}) {
    if (!task_env.Has(var)) continue;
    if (even) {
      out->set[std::string(var)] = std::to_string(child.local_world_size) + "(x" + std::to_string(job.num_nodes) + ")";
    } else {
      out->unset.emplace_back(var);
      out->notes.push_back(std::string(var) + " removed: the children's world (" + world +
                           ") is not the same count on every node");
    }
  }
  if (task_env.Has("SLURM_GTIDS")) {
    std::string ids;
    const std::uint64_t first = child.rank - child.local_rank;
    for (std::uint64_t i = 0; i < child.local_world_size; ++i) ids += (i ? "," : "") + std::to_string(first + i);
    out->set["SLURM_GTIDS"] = ids;
  }
}

// Connection and identity variables that cannot describe a child, and
// rankwrap's own option variables.
void Removals(const EnvSnapshot& task_env, ChildEnv* out) {
  std::map<std::string_view, std::vector<std::string>> removed_by_why;
  for (const auto& [var, value] : task_env.vars()) {
    for (const Removed& r : kRemoved) {
      if (!Matches(var, r.name)) continue;
      out->unset.push_back(var);
      removed_by_why[r.why].push_back(var);
      break;
    }
  }
  for (const auto& [why, vars] : removed_by_why) {
    std::string names;
    for (const auto& v : vars) names += (names.empty() ? "" : ", ") + v;
    out->notes.push_back("removed " + names + ": " + std::string(why));
  }
  const std::vector<std::string> options = OptionVariablesIn(task_env);
  if (!options.empty()) {
    std::string names;
    for (const auto& v : options) names += (names.empty() ? "" : ", ") + v;
    out->notes.push_back("removed " + names + ": rankwrap's own options, read once by this rankwrap");
    out->unset.insert(out->unset.end(), options.begin(), options.end());
  }
}

}  // namespace

const std::vector<std::string>& OptionVariables() { return kOptionVariables; }

std::vector<std::string> OptionVariablesIn(const EnvSnapshot& env) {
  std::vector<std::string> out;
  for (const std::string& v : kOptionVariables) {
    if (env.Has(v)) out.push_back(v);
  }
  return out;
}

ChildEnv ChildEnvironment(const EnvSnapshot& task_env, const JobInfo& job, const ChildPlace& child) {
  ChildEnv out;
  out.set["RANK"] = std::to_string(child.rank);
  out.set["WORLD_SIZE"] = std::to_string(child.world_size);
  out.set["LOCAL_RANK"] = std::to_string(child.local_rank);
  out.set["LOCAL_WORLD_SIZE"] = std::to_string(child.local_world_size);
  out.set[kContractMarker] = ContractMarker(task_env, job.host);
  for (const Rewritten& r : kRewritten) {
    if (task_env.Has(r.name)) out.set[r.name] = Value(r.place, child, job);
  }
  SlurmLayout(task_env, job, child, &out);
  Removals(task_env, &out);
  std::sort(out.unset.begin(), out.unset.end());
  out.unset.erase(std::unique(out.unset.begin(), out.unset.end()), out.unset.end());
  return out;
}

}  // namespace rankwrap::plan
