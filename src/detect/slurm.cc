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
  return id == "-5" || id == "-6" || id == "-4" || id == "4294967291" || id == "4294967290" || id == "4294967292";
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
                    "malformed host list at offset " + std::to_string(list.error().pos) + ": " + list.error().message +
                        "; expected Slurm's form, e.g. 'nid[001-004,010]'",
                    "this value comes from Slurm: check that the job script does not overwrite " + var);
  }
  return std::move(list).value();
}

Result<parse::Counts> ParseCountsVar(const DetectContext& ctx, const std::string& var) {
  const std::string text(*ctx.env.Get(var));
  auto counts = parse::Counts::Parse(text);
  if (!counts) {
    return EnvError(var + "='" + text + "'",
                    "malformed task counts at offset " + std::to_string(counts.error().pos) + ": " +
                        counts.error().message + "; expected e.g. '4(x2),2'",
                    "this value comes from Slurm: check that the job script does not overwrite " + var);
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
      return EnvError(l.nodes_var + "=" + std::to_string(l.num_nodes) + " but " + l.hosts_var + " names " +
                          std::to_string(l.hosts.size()) + " hosts",
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
                    "gives node " + std::to_string(*zero) +
                        " of the step 0 tasks; expected at least 1 task "
                        "on every node of the step",
                    "do not overwrite Slurm's variables in the job script");
  }
  const std::uint64_t sum = l.tasks.SumFirst(l.num_nodes);
  auto ntasks = RequireUint(ctx, l.ntasks_var, "the step's task count", kHint);
  if (!ntasks) return ntasks.error();
  l.num_tasks = *ntasks;
  if (sum != l.num_tasks) {
    return EnvError(
        l.tasks_var + "='" + std::string(*ctx.env.Get(l.tasks_var)) + "' adds up to " + std::to_string(sum) + " tasks",
        "but " + l.ntasks_var + "=" + std::to_string(l.num_tasks) +
            "; the per-node task counts must add up to the world size",
        "do not overwrite Slurm's variables in the job script");
  }
  return l;
}

// The node-level part of SLURM_DISTRIBUTION ("cyclic" of "cyclic:block",
// "plane" of "plane=4"); empty when unset or Slurm's default "*".
std::string NodeDistribution(const DetectContext& ctx) {
  const std::string dist(ctx.env.Get("SLURM_DISTRIBUTION").value_or(""));
  std::string node = dist.substr(0, dist.find_first_of(":,="));
  if (node == "*" || node == "unknown") node.clear();
  return node;
}

// Whether the first `n` entries of a (validated) count list are all equal.
// Scans the text, not the expanded list: O(length of the text).
bool UniformCounts(std::string_view text, std::uint64_t n) {
  std::optional<std::uint64_t> first;
  std::uint64_t covered = 0;
  for (std::string_view item : parse::Split(text, ',')) {
    if (covered >= n) break;
    const std::size_t open = item.find('(');
    auto value = parse::Decimal(item.substr(0, open));
    std::uint64_t repeat = 1;
    if (open != std::string_view::npos) {
      auto r = parse::Decimal(item.substr(open + 2, item.size() - open - 3));
      if (r) repeat = *r;
    }
    if (!value) return false;
    if (first && *first != *value) return false;
    first = *value;
    covered += repeat;
  }
  return true;
}

// One host per task; '#' starts a comment; a line may hold a hostlist
// expression (Slurm's slurm_read_hostfile): the first line with a host.
std::string FirstHostLine(const std::string& text) {
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(pos, end - pos);
    pos = end + 1;
    line = line.substr(0, line.find('#'));
    const std::size_t b = line.find_first_not_of(" \t\r");
    if (b != std::string::npos) return line.substr(b, line.find_last_not_of(" \t\r") - b + 1);
  }
  return {};
}

// -m arbitrary: task 0 runs on the host of SLURM_HOSTFILE's first line.
Status ArbitraryTaskZero(const DetectContext& ctx, const Layout& l, const std::string& dist_text, JobInfo& job) {
  job.rank_order = "SLURM_DISTRIBUTION=" + dist_text +
                   ": tasks follow SLURM_HOSTFILE, not node order; NODE_RANK is the node's index in " + l.hosts_var +
                   " (SLURM_NODEID)";
  job.master_addr_hint =
      "make SLURM_HOSTFILE readable on every node (a shared file system), or pass --master-addr "
      "HOST (line 1 of the host file)";
  auto path = ctx.env.Get("SLURM_HOSTFILE");
  if (!path) {
    job.master_addr_from =
        "SLURM_DISTRIBUTION=" + dist_text + " but SLURM_HOSTFILE is not set: rank 0's host is line 1 of that file";
    return Ok{};
  }
  auto text = ctx.files.Read(std::string(*path));
  if (!text) {
    job.master_addr_from = "SLURM_HOSTFILE='" + ShortenForMessage(*path) + "' cannot be read (" + text.error().reason +
                           "); under -m arbitrary rank 0 runs on its first line's host";
    return Ok{};
  }
  const std::string first = FirstHostLine(*text);
  if (first.empty()) {
    return EnvError("SLURM_HOSTFILE='" + ShortenForMessage(*path) + "' names no host",
                    "under -m arbitrary its first line is rank 0's host",
                    "give srun a host file with one host per task, in rank order");
  }
  auto list = parse::Hostlist::Parse(first);
  if (!list || list->size() == 0) {
    return EnvError("SLURM_HOSTFILE='" + ShortenForMessage(*path) + "' line 1 '" + ShortenForMessage(first) + "'",
                    (list ? std::string("no host") : list.error().message) +
                        "; expected a host name (one host per task, in rank order)",
                    "give srun a host file with one host per task, in rank order");
  }
  const std::string host = list->at(0);
  if (!l.hosts.Find(host) && !l.hosts.Find(std::string(parse::ShortHostName(host)))) {
    return EnvError("SLURM_HOSTFILE='" + ShortenForMessage(*path) + "' line 1 names '" + host + "'",
                    "which is not a node of the step (" + l.hosts_var + "='" +
                        ShortenForMessage(*ctx.env.Get(l.hosts_var)) + "'): the file is not the one srun used",
                    "run with the SLURM_HOSTFILE srun was given, or pass --master-addr HOST");
  }
  job.master_addr = host;
  job.master_addr_from =
      "line 1 of SLURM_HOSTFILE='" + ShortenForMessage(*path) + "' (SLURM_DISTRIBUTION=" + dist_text + ": rank order)";
  return Ok{};
}

// Where task 0 runs (MASTER_ADDR) and whether RANK = NODE_RANK *
// LOCAL_WORLD_SIZE + LOCAL_RANK holds, from the distribution srun used.
//  - block, cyclic, plane: task 0 is on the step's first node (node-index
//    order), srun.1 "-m".
//  - arbitrary: SLURM_HOSTFILE lists one host per task in rank order
//    (srun.1 "-m arbitrary", "SLURM_HOSTFILE"); task 0 runs on line 1's host,
//    which need not be the step's first node.
//  - Slurm 26.05 with a topology plugin and no distribution given lays tasks
//    out in topology order (CHANGELOG/slurm-26.05.md; srun.1 "-m";
//    src/common/slurm_step_layout.c _task_layout_topo): no variable of any
//    task names task 0's host, so it is unknown, never guessed. Such tasks
//    carry SLURM_TOPOLOGY_ADDR.
Status FindTaskZero(const DetectContext& ctx, const Layout& l, JobInfo& job) {
  const std::string node_dist = NodeDistribution(ctx);
  const std::string dist_text(ctx.env.Get("SLURM_DISTRIBUTION").value_or(""));
  const bool uniform = UniformCounts(*ctx.env.Get(l.tasks_var), l.num_nodes);
  const bool one_per_node = uniform && l.tasks.at(0) == 1;
  if (!uniform) {
    job.rank_order =
        l.tasks_var + "='" + ShortenForMessage(*ctx.env.Get(l.tasks_var)) + "': nodes run different numbers of tasks";
  }
  job.node0_host = l.hosts.at(0);
  if (node_dist == "arbitrary") return ArbitraryTaskZero(ctx, l, dist_text, job);
  const bool known = node_dist == "block" || node_dist == "cyclic" || node_dist.starts_with("plane");
  // slurmstepd sets SLURM_TOPOLOGY_ADDR on every task, also with
  // topology/none: then it is the node name alone and the pattern "node"
  // (seen on the Slurm 22.05 test cluster). Only switch levels above the node
  // ("s0.s2.node2", pattern "switch.switch.node") mean a topology plugin that
  // can order the tasks.
  auto topo = ctx.env.Get("SLURM_TOPOLOGY_ADDR");
  const std::string_view pattern = ctx.env.Get("SLURM_TOPOLOGY_ADDR_PATTERN").value_or("");
  const bool topology_levels = topo && (pattern.empty() ? topo->find('.') != std::string_view::npos
                                                        : pattern.find('.') != std::string_view::npos);
  if (!known && topology_levels) {
    job.master_addr_from = "SLURM_TOPOLOGY_ADDR='" + ShortenForMessage(*topo) + "' is set and " +
                           (dist_text.empty() ? std::string("SLURM_DISTRIBUTION is not")
                                              : "SLURM_DISTRIBUTION='" + dist_text + "' is not") +
                           " block, cyclic or plane: with a topology plugin Slurm 26.05 lays tasks out in topology "
                           "order (srun.1 -m) and no variable names task 0's host";
    job.master_addr_hint =
        "launch with 'srun -m block ...' (task 0 on the step's first node), or pass --master-addr HOST";
    job.rank_order =
        "tasks may follow topology order (SLURM_TOPOLOGY_ADDR set, no block/cyclic/plane "
        "distribution); NODE_RANK is the node's index in " +
        l.hosts_var + " (SLURM_NODEID)";
    return Ok{};
  }
  if ((node_dist == "cyclic" || node_dist.starts_with("plane")) && !one_per_node) {
    job.rank_order = "SLURM_DISTRIBUTION=" + dist_text +
                     ": consecutive ranks are spread over the nodes; NODE_RANK is the node's index in " + l.hosts_var +
                     " (SLURM_NODEID)";
  }
  // Task 0 is placed on the step's first node (block, cyclic and plane
  // distributions alike); the list is in node-index order.
  job.master_addr = l.hosts.at(0);
  job.master_addr_from = "first host of " + l.hosts_var;
  return Ok{};
}

// `rankwrap --nproc N PROGRAM` in the batch script: this node of the
// allocation (where the batch step runs, SLURMD_NODENAME) is a standalone
// node whose N ranks rankwrap starts; its GPUs are what the batch step has
// (CUDA_VISIBLE_DEVICES / SLURM_GPUS_ON_NODE, env-facts.md 1.4), and all
// ranks are local, so a free local port serves them.
Result<JobInfo> BatchStepNode(const DetectContext& ctx, const std::string& job_var, const std::string& job_id) {
  JobInfo job;
  job.launcher = "slurm";
  job.node_level = true;
  job.world_size = job.local_world_size = job.num_nodes = 1;
  const std::string from = "the batch step with --nproc: one node";
  job.from = {from, from, from, from, from, from};
  job.master_addr = "127.0.0.1";
  job.master_addr_from = "the batch step with --nproc: every rank runs on this node";
  job.local_port_ok = true;
  std::string node(ctx.env.Get("SLURMD_NODENAME").value_or(ctx.hostname));
  job.notes.push_back(
      job_var + "=" + job_id + ": the batch step on " + node +
      " with --nproc runs its ranks on this node only (the other nodes of the "
      "allocation need srun); GPUs as the batch step has them (" +
      (ctx.env.Has("CUDA_VISIBLE_DEVICES") ? "CUDA_VISIBLE_DEVICES=" + std::string(*ctx.env.Get("CUDA_VISIBLE_DEVICES"))
                                           : std::string("CUDA_VISIBLE_DEVICES not set")) +
      (ctx.env.Has("SLURM_GPUS_ON_NODE") ? ", SLURM_GPUS_ON_NODE=" + std::string(*ctx.env.Get("SLURM_GPUS_ON_NODE"))
                                         : std::string()) +
      ")");
  return job;
}

// The job and step ids: Slurm's uint32 numbers. MASTER_PORT is computed
// from them, so a malformed one would silently give another port.
Status CheckIds(const std::string& job_var, const std::string& job_id, const std::string& step_var,
                const std::string& step_id) {
  if (auto id = parse::Decimal(job_id, UINT32_MAX); !id) {
    return EnvError(job_var + "='" + job_id + "'",
                    id.error().message + "; expected the Slurm job id as a non-negative decimal integer",
                    "this value comes from Slurm: check that the job script does not overwrite " + job_var);
  }
  if (!step_var.empty() && !IsSpecialStep(step_id)) {
    if (auto id = parse::Decimal(step_id, UINT32_MAX); !id) {
      return EnvError(
          step_var + "='" + step_id + "'",
          id.error().message + "; expected the step id as a non-negative decimal integer (or Slurm's -4, -5, -6)",
          "this value comes from Slurm: check that the job script does not overwrite " + step_var);
    }
  }
  return Ok{};
}

// Not a task of an srun step: the batch script (a node of its own with
// --nproc), an salloc or ssh shell, or a special step.
Result<JobInfo> NotATask(const DetectContext& ctx, const std::string& job_var, const std::string& job_id,
                         const std::string& step_var, const std::string& step_id) {
  // sbatch exports ENVIRONMENT=BATCH to the batch script; Slurm 22.05 sets
  // no SLURM_STEP_ID there (older and newer releases write -5).
  const bool batch = ctx.env.Get("ENVIRONMENT") == std::optional<std::string_view>("BATCH");
  const bool batch_step = (step_var.empty() && batch) || step_id == "-5" || step_id == "4294967291";
  if (batch_step && ctx.nproc) return BatchStepNode(ctx, job_var, job_id);
  std::string where = step_var.empty() ? (batch ? "SLURM_STEP_ID is not set and ENVIRONMENT=BATCH (the batch script)"
                                                : "SLURM_STEP_ID is not set (an salloc or ssh shell)")
                      : step_id == "-5" || step_id == "4294967291" ? step_var + "=" + step_id + " (the batch script)"
                      : IsSpecialStep(step_id)                     ? step_var + "=" + step_id + " (not a task step)"
                                                                   : "SLURM_STEP_NODELIST is not set";
  return EnvError(job_var + "=" + job_id + " is set but this process is not a task of an srun step: " + where,
                  "a rank needs a step task; the batch step and salloc/ssh shells have job "
                  "variables (even SLURM_PROCID=0) but are not ranks",
                  std::string(kHint) + (batch_step ? " (or, in the batch script, 'rankwrap --nproc N PROGRAM': "
                                                     "N ranks on this node)"
                                                   : ""));
}

// The task's own place: SLURM_PROCID, SLURM_LOCALID, SLURM_NODEID.
Status TaskPlace(const DetectContext& ctx, JobInfo& job) {
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
  return Ok{};
}

Result<JobInfo> ParseSlurm(const DetectContext& ctx) {
  JobInfo job;
  job.launcher = "slurm";
  const std::string job_var = FirstSet(ctx, {"SLURM_JOB_ID", "SLURM_JOBID"});
  const std::string job_id(*ctx.env.Get(job_var));
  const std::string step_var = FirstSet(ctx, {"SLURM_STEP_ID", "SLURM_STEPID"});
  const std::string step_id = step_var.empty() ? "" : std::string(*ctx.env.Get(step_var));
  if (auto s = CheckIds(job_var, job_id, step_var, step_id); !s) return s.error();
  if (step_var.empty() || IsSpecialStep(step_id) || !ctx.env.Has("SLURM_STEP_NODELIST")) {
    return NotATask(ctx, job_var, job_id, step_var, step_id);
  }
  if (auto s = TaskPlace(ctx, job); !s) return s.error();
  auto layout = ReadLayout(ctx);
  if (!layout) return layout.error();
  const Layout& l = *layout;
  job.num_nodes = l.num_nodes;
  job.from.num_nodes = l.nodes_var;
  job.world_size = l.num_tasks;
  job.from.world_size = l.ntasks_var;
  if (job.from.world_size != "SLURM_STEP_NUM_TASKS") {
    job.notes.push_back("world size from the job-level " + job.from.world_size + " (no SLURM_STEP_NUM_TASKS)");
  }
  if (job.node_rank >= job.num_nodes) {
    return EnvError(
        "SLURM_NODEID=" + std::to_string(job.node_rank),
        "must be below the step's node count " + std::to_string(job.num_nodes) + " (" + job.from.num_nodes + ")",
        "do not overwrite Slurm's variables in the job script");
  }
  job.local_world_size = l.tasks.at(job.node_rank);
  job.from.local_world_size = l.tasks_var + " at SLURM_NODEID";
  if (auto s = FindTaskZero(ctx, l, job); !s) return s.error();
  job.node_host = l.hosts.at(job.node_rank);
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
  return {"slurm", Layer::kScheduler, "a task of a Slurm srun step (also heterogeneous steps)", &ProbeSlurm,
          &ParseSlurm};
}

}  // namespace rankwrap::detect
