// slurm: a task of an srun step, including heterogeneous steps.
//
// Step-level variables (SLURM_STEP_*) are preferred to job-level ones: with
// `srun --preserve-env`, or a step smaller than the job, only the step ones
// describe the tasks that run (env-facts.md 1.2; pain-points.md 2). The batch
// step and salloc/ssh shells carry job variables and even SLURM_PROCID=0
// without being a task of any step: they are refused, not taken as rank 0.
#include <optional>
#include <string>

#include "core/parse/counts.h"
#include "core/parse/hostlist.h"
#include "core/parse/number.h"
#include "detect/detector.h"
#include "detect/launchers.h"

namespace rankwrap::detect {
namespace {

constexpr std::string_view kHint = "launch the program with srun, e.g. 'srun rankwrap PROGRAM'";

// Slurm prints special step ids with %d: SLURM_BATCH_SCRIPT (0xfffffffb) is
// -5, SLURM_INTERACTIVE_STEP (0xfffffffa) is -6, SLURM_EXTERN_CONT is -4.
bool IsSpecialStep(std::string_view id) {
  return id == "-5" || id == "-6" || id == "-4" || id == "4294967291" || id == "4294967290" ||
         id == "4294967292";
}

// SLURM_STEP_RESV_PORTS: Slurm's port list ("12000-12003", or with commas
// "12000-12001,12005"); the first port is MASTER_PORT. Every entry must be
// a range lo <= hi of unprivileged ports: a reversed range or a port below
// 1024 is not something Slurm reserves (MpiParams=ports=12000-12999).
Parsed<std::uint16_t> FirstReservedPort(std::string_view text) {
  std::optional<std::uint16_t> first;
  std::size_t offset = 0;
  for (std::string_view item : parse::Split(text, ',')) {
    const std::size_t dash = item.find('-');
    auto lo = parse::Decimal(item.substr(0, dash), 65535);
    if (!lo) return ParseError{offset + lo.error().pos, "'" + std::string(item) + "': " + lo.error().message};
    std::uint64_t hi = *lo;
    if (dash != std::string_view::npos) {
      auto h = parse::Decimal(item.substr(dash + 1), 65535);
      if (!h) return ParseError{offset + dash + 1, "'" + std::string(item) + "': " + h.error().message};
      hi = *h;
    }
    if (hi < *lo) return ParseError{offset, "reversed range '" + std::string(item) + "'"};
    if (*lo < 1024) return ParseError{offset, "port " + std::to_string(*lo) + " is below 1024"};
    if (!first) first = static_cast<std::uint16_t>(*lo);
    offset += item.size() + 1;
  }
  return *first;
}

Probe ProbeSlurm(const DetectContext& ctx) {
  const std::string var = FirstSet(ctx, {"SLURM_JOB_ID", "SLURM_JOBID"});
  if (var.empty()) return {false, "SLURM_JOB_ID is not set"};
  return {true, var + "=" + std::string(*ctx.env.Get(var)) + " is set"};
}

struct Layout {
  parse::Hostlist hosts;
  parse::Counts tasks;
  std::uint64_t num_nodes = 0;
  std::uint64_t num_tasks = 0;
  std::string hosts_var, tasks_var, nodes_var, ntasks_var;
};

Result<parse::Hostlist> ParseHostsVar(const DetectContext& ctx, const std::string& var) {
  const std::string text(*ctx.env.Get(var));
  auto list = parse::Hostlist::Parse(text);
  if (!list) {
    return EnvError(var + "='" + ShortenForMessage(text) + "'",
                    "malformed host list at offset " + std::to_string(list.error().pos) + ": " +
                        list.error().message + "; expected Slurm's form, e.g. 'nid[001-004,010]'",
                    "this value comes from Slurm: check that the job script does not overwrite " +
                        var);
  }
  return std::move(list).value();
}

Result<parse::Counts> ParseCountsVar(const DetectContext& ctx, const std::string& var) {
  const std::string text(*ctx.env.Get(var));
  auto counts = parse::Counts::Parse(text);
  if (!counts) {
    return EnvError(var + "='" + text + "'",
                    "malformed task counts at offset " + std::to_string(counts.error().pos) +
                        ": " + counts.error().message + "; expected e.g. '4(x2),2'",
                    "this value comes from Slurm: check that the job script does not overwrite " +
                        var);
  }
  return std::move(counts).value();
}

// Reads the step's layout: step-level variables, job-level names only where
// a step one is missing (older Slurm), which --explain notes.
Result<Layout> ReadLayout(const DetectContext& ctx) {
  Layout l;
  l.hosts_var = FirstSet(ctx, {"SLURM_STEP_NODELIST"});
  l.tasks_var = FirstSet(ctx, {"SLURM_STEP_TASKS_PER_NODE", "SLURM_TASKS_PER_NODE"});
  l.nodes_var = FirstSet(ctx, {"SLURM_STEP_NUM_NODES", "SLURM_NNODES", "SLURM_JOB_NUM_NODES"});
  l.ntasks_var = FirstSet(ctx, {"SLURM_STEP_NUM_TASKS", "SLURM_NTASKS", "SLURM_NPROCS"});
  for (const std::string* v : {&l.hosts_var, &l.tasks_var, &l.ntasks_var}) {
    if (v->empty()) {
      return EnvError("SLURM_STEP_" +
                          std::string(v == &l.hosts_var   ? "NODELIST"
                                      : v == &l.tasks_var ? "TASKS_PER_NODE"
                                                          : "NUM_TASKS") +
                          " is not set",
                      "every task of an srun step has it", std::string(kHint));
    }
  }
  auto hosts = ParseHostsVar(ctx, l.hosts_var);
  if (!hosts) return hosts.error();
  auto tasks = ParseCountsVar(ctx, l.tasks_var);
  if (!tasks) return tasks.error();
  l.hosts = std::move(hosts).value();
  l.tasks = std::move(tasks).value();
  if (!l.nodes_var.empty()) {
    auto nnodes = RequireUint(ctx, l.nodes_var, "the step's node count", kHint);
    if (!nnodes) return nnodes.error();
    l.num_nodes = *nnodes;
    if (l.num_nodes != l.hosts.size()) {
      return EnvError(l.nodes_var + "=" + std::to_string(l.num_nodes) + " but " + l.hosts_var +
                          " names " + std::to_string(l.hosts.size()) + " hosts",
                      "the node count and the node list must agree",
                      "do not overwrite Slurm's variables in the job script");
    }
  } else {
    l.num_nodes = l.hosts.size();
    l.nodes_var = "hosts in " + l.hosts_var;
  }
  // The count list may be longer than the node list (PRRTE's Slurm parser
  // notes 'srun -A -N 30 -w odin001' giving 4(x30)): only the first
  // num_nodes entries count.
  if (l.tasks.size() < l.num_nodes) {
    return EnvError(l.tasks_var + "='" + std::string(*ctx.env.Get(l.tasks_var)) + "'",
                    "gives counts for " + std::to_string(l.tasks.size()) + " nodes but the step has " +
                        std::to_string(l.num_nodes) + " (" + l.nodes_var + ")",
                    "do not overwrite Slurm's variables in the job script");
  }
  // A node of the step with no task: Slurm never writes one, and MASTER_ADDR
  // (the first node) could then name a node that runs no rank.
  if (auto zero = l.tasks.FirstZero(l.num_nodes)) {
    return EnvError(l.tasks_var + "='" + std::string(*ctx.env.Get(l.tasks_var)) + "'",
                    "gives node " + std::to_string(*zero) + " of the step 0 tasks; expected at least 1 task "
                    "on every node of the step",
                    "do not overwrite Slurm's variables in the job script");
  }
  const std::uint64_t sum = l.tasks.SumFirst(l.num_nodes);
  auto ntasks = RequireUint(ctx, l.ntasks_var, "the step's task count", kHint);
  if (!ntasks) return ntasks.error();
  l.num_tasks = *ntasks;
  if (sum != l.num_tasks) {
    return EnvError(l.tasks_var + "='" + std::string(*ctx.env.Get(l.tasks_var)) +
                        "' adds up to " + std::to_string(sum) + " tasks",
                    "but " + l.ntasks_var + "=" + std::to_string(l.num_tasks) +
                        "; the per-node task counts must add up to the world size",
                    "do not overwrite Slurm's variables in the job script");
  }
  return l;
}

Result<JobInfo> ParseSlurm(const DetectContext& ctx) {
  JobInfo job;
  job.launcher = "slurm";
  const std::string job_var = FirstSet(ctx, {"SLURM_JOB_ID", "SLURM_JOBID"});
  const std::string job_id(*ctx.env.Get(job_var));
  const std::string step_var = FirstSet(ctx, {"SLURM_STEP_ID", "SLURM_STEPID"});
  const std::string step_id = step_var.empty() ? "" : std::string(*ctx.env.Get(step_var));
  // Job and step ids are Slurm's uint32 numbers; MASTER_PORT is computed
  // from them, so a malformed one would silently give another port.
  if (auto id = parse::Decimal(job_id, UINT32_MAX); !id) {
    return EnvError(job_var + "='" + job_id + "'",
                    id.error().message + "; expected the Slurm job id as a non-negative decimal integer",
                    "this value comes from Slurm: check that the job script does not overwrite " + job_var);
  }
  if (!step_var.empty() && !IsSpecialStep(step_id)) {
    if (auto id = parse::Decimal(step_id, UINT32_MAX); !id) {
      return EnvError(step_var + "='" + step_id + "'",
                      id.error().message +
                          "; expected the step id as a non-negative decimal integer (or Slurm's -4, -5, -6)",
                      "this value comes from Slurm: check that the job script does not overwrite " + step_var);
    }
  }
  if (step_var.empty() || IsSpecialStep(step_id) || !ctx.env.Has("SLURM_STEP_NODELIST")) {
    // sbatch exports ENVIRONMENT=BATCH to the batch script; Slurm 22.05 sets
    // no SLURM_STEP_ID there (older and newer releases write -5).
    const bool batch = ctx.env.Get("ENVIRONMENT") == std::optional<std::string_view>("BATCH");
    std::string where = step_var.empty() ? (batch ? "SLURM_STEP_ID is not set and ENVIRONMENT=BATCH (the batch script)"
                                                  : "SLURM_STEP_ID is not set (an salloc or ssh shell)")
                        : step_id == "-5" || step_id == "4294967291"
                            ? step_var + "=" + step_id + " (the batch script)"
                        : IsSpecialStep(step_id) ? step_var + "=" + step_id + " (not a task step)"
                                                 : "SLURM_STEP_NODELIST is not set";
    return EnvError(job_var + "=" + job_id + " is set but this process is not a task of an srun step: " +
                        where,
                    "a rank needs a step task; the batch step and salloc/ssh shells have job "
                    "variables (even SLURM_PROCID=0) but are not ranks",
                    std::string(kHint));
  }

  auto rank = RequireUint(ctx, "SLURM_PROCID", "the task's global rank", kHint);
  if (!rank) return rank.error();
  auto local = RequireUint(ctx, "SLURM_LOCALID", "the task's node-local rank", kHint);
  if (!local) return local.error();
  auto node = RequireUint(ctx, "SLURM_NODEID", "the task's node index in the step", kHint);
  if (!node) return node.error();
  job.rank = *rank;
  job.local_rank = *local;
  job.node_rank = *node;
  job.from.rank = "SLURM_PROCID";
  job.from.local_rank = "SLURM_LOCALID";
  job.from.node_rank = "SLURM_NODEID";

  // Heterogeneous steps (srun --het-group=0,1): Slurm 22.05 writes the whole
  // step into the generic SLURM_STEP_* variables (node list, per-node counts
  // in component order, total task count; captured in
  // tests/data/env/slurm_het_rank2.env), and SLURM_PROCID/SLURM_NODEID count
  // across components, so the plain step layout describes it.
  if (auto het = ctx.env.Get("SLURM_HET_SIZE")) {
    auto n = parse::Decimal(*het, UINT32_MAX);
    if (!n || *n == 0) {
      return EnvError("SLURM_HET_SIZE='" + std::string(*het) + "'",
                      (n ? std::string("zero components") : n.error().message) +
                          "; expected the number of components of the heterogeneous job, at least 1",
                      "this value comes from Slurm: check that the job script does not overwrite SLURM_HET_SIZE");
    }
    job.notes.push_back("heterogeneous job (SLURM_HET_SIZE=" + std::string(*het) +
                        "): the step's SLURM_STEP_* variables span its components");
  }
  auto layout = ReadLayout(ctx);
  if (!layout) return layout.error();
  const Layout& l = *layout;
  job.num_nodes = l.num_nodes;
  job.from.num_nodes = l.nodes_var;
  job.world_size = l.num_tasks;
  job.from.world_size = l.ntasks_var;
  if (job.from.world_size != "SLURM_STEP_NUM_TASKS") {
    job.notes.push_back("world size from the job-level " + job.from.world_size +
                        " (no SLURM_STEP_NUM_TASKS)");
  }
  if (job.node_rank >= job.num_nodes) {
    return EnvError("SLURM_NODEID=" + std::to_string(job.node_rank),
                    "must be below the step's node count " + std::to_string(job.num_nodes) + " (" +
                        job.from.num_nodes + ")",
                    "do not overwrite Slurm's variables in the job script");
  }
  job.local_world_size = l.tasks.at(job.node_rank);
  job.from.local_world_size = l.tasks_var + " at SLURM_NODEID";
  // Task 0 is placed on the step's first node (block, cyclic and plane
  // distributions alike); the list is in node-index order.
  job.master_addr = l.hosts.at(0);
  job.master_addr_from = "first host of " + l.hosts_var;
  if (auto dist = ctx.env.Get("SLURM_DISTRIBUTION"); dist && dist->starts_with("arbitrary")) {
    job.notes.push_back("SLURM_DISTRIBUTION=arbitrary: rank 0 may not be on the first node; "
                        "pass --master-addr if it is not");
  }
  if (auto ports = ctx.env.Get("SLURM_STEP_RESV_PORTS")) {
    auto first = FirstReservedPort(*ports);
    if (!first) {
      return EnvError("SLURM_STEP_RESV_PORTS='" + std::string(*ports) + "'",
                      first.error().message + "; expected port ranges such as '12000-12003' (1024-65535)",
                      "this value comes from Slurm's MpiParams=ports; do not overwrite it");
    }
    job.master_port = *first;
    job.master_port_from = "first port of SLURM_STEP_RESV_PORTS";
  }
  SetJobKey(ctx, job, step_id);
  return job;
}

}  // namespace

Detector SlurmDetector() {
  return {"slurm", Layer::kScheduler, "a task of a Slurm srun step (also heterogeneous steps)",
          &ProbeSlurm, &ParseSlurm};
}

}  // namespace rankwrap::detect
