// azure-batch and gcp-batch: the nodes of a multi-node task of Azure Batch
// and Google Cloud Batch. Both are node-level (one task per VM; --nproc N
// starts the VM's ranks), and neither names everything rankwrap needs, so
// what is missing is asked for by name, never guessed.
//
// Azure Batch, "Azure Batch runtime environment variables" (multi-instance
// tasks): AZ_BATCH_HOST_LIST ("nodeIP,nodeIP"), AZ_BATCH_MASTER_NODE (the
// primary task's node, "IP:port"; the port is Batch's own, not for the
// program), AZ_BATCH_IS_CURRENT_NODE_MASTER ("true"/"false"). No variable
// gives a non-master node its index: those need NODE_RANK from the
// coordination command. Rank 0 is the master node.
//
// Google Cloud Batch, "predefined environment variables" of a job's
// runnables: BATCH_TASK_INDEX, BATCH_TASK_COUNT, BATCH_HOSTS_FILE (the VMs of
// the task group, with requireHostsFile). rankwrap does not take task 0's
// VM from the hosts file's line order: MASTER_ADDR (or --master-addr) names it.
#include <string>

#include "core/parse/hostlist.h"
#include "core/parse/number.h"
#include "detect/launchers.h"

namespace rankwrap::detect {
namespace {

constexpr std::string_view kAzureHint = "Azure Batch sets it for the subtasks of a multi-instance task";

Probe ProbeAzure(const DetectContext& ctx) {
  if (!ctx.env.Has("AZ_BATCH_HOST_LIST")) return {false, "AZ_BATCH_HOST_LIST is not set"};
  return {true, "AZ_BATCH_HOST_LIST is set (an Azure Batch multi-instance task)"};
}

Result<JobInfo> ParseAzure(const DetectContext& ctx) {
  const std::string list(*ctx.env.Get("AZ_BATCH_HOST_LIST"));
  std::uint64_t nodes = 0;
  for (std::string_view h : parse::Split(list, ',')) {
    if (!h.empty()) ++nodes;
  }
  if (nodes == 0) {
    return EnvError("AZ_BATCH_HOST_LIST='" + ShortenForMessage(list) + "'", "names no node", std::string(kAzureHint));
  }
  auto master = RequireVar(ctx, "AZ_BATCH_MASTER_NODE", kAzureHint);
  if (!master) return master.error();
  const std::string master_ip = master->substr(0, master->rfind(':'));
  if (auto ok = parse::CheckHostName(master_ip); !ok || master_ip.empty()) {
    return EnvError("AZ_BATCH_MASTER_NODE='" + ShortenForMessage(*master) + "'", "expected the master node's 'IP:port'",
                    std::string(kAzureHint));
  }
  const bool is_master = ctx.env.Get("AZ_BATCH_IS_CURRENT_NODE_MASTER") == std::optional<std::string_view>("true");
  std::uint64_t node = 0;
  std::string node_from = "AZ_BATCH_IS_CURRENT_NODE_MASTER=true (the master node is rank 0)";
  auto given = OptionalUint(ctx, "NODE_RANK", "this node's index", "set NODE_RANK to 1..N-1 on the other nodes");
  if (!given) return given.error();
  if (is_master) {
    if (*given && **given != 0) {
      return EnvError(
          "NODE_RANK=" + std::to_string(**given) + " on the master node (AZ_BATCH_IS_CURRENT_NODE_MASTER=true)",
          "the master node is node 0, where AZ_BATCH_MASTER_NODE points", "unset NODE_RANK on the master node");
    }
  } else if (*given) {
    node = **given;
    node_from = "NODE_RANK (from the coordination command)";
  } else {
    return EnvError("this node's index is unknown: AZ_BATCH_IS_CURRENT_NODE_MASTER=" +
                        std::string(ctx.env.Get("AZ_BATCH_IS_CURRENT_NODE_MASTER").value_or("(not set)")),
                    "Azure Batch names the master node but gives the other nodes of a multi-instance task no index",
                    "export NODE_RANK (1.." + std::to_string(nodes - 1) +
                        ", one per non-master node) in the coordination command, or launch with an MPI "
                        "launcher over AZ_BATCH_HOST_LIST");
  }
  JobInfo job = NodeLevelJob("azure-batch", node, nodes, node_from, "nodes in AZ_BATCH_HOST_LIST");
  job.master_addr = master_ip;
  job.master_addr_from = "AZ_BATCH_MASTER_NODE (the primary task's node; its port is Batch's own)";
  if (auto s = TakePort(ctx, job, {"MASTER_PORT"}, "the task's environment settings"); !s) return s.error();
  return job;
}

constexpr std::string_view kGcpHint = "Google Cloud Batch sets it for every task of a task group";

Probe ProbeGcp(const DetectContext& ctx) {
  if (!ctx.env.Has("BATCH_TASK_INDEX")) return {false, "BATCH_TASK_INDEX is not set"};
  if (!ctx.env.Has("BATCH_TASK_COUNT")) return {false, "BATCH_TASK_INDEX is set but BATCH_TASK_COUNT is not"};
  return {true, "BATCH_TASK_INDEX and BATCH_TASK_COUNT are set (a Google Cloud Batch task)"};
}

Result<JobInfo> ParseGcp(const DetectContext& ctx) {
  auto index = RequireUint(ctx, "BATCH_TASK_INDEX", "the task's index", kGcpHint);
  if (!index) return index.error();
  auto count = RequireUint(ctx, "BATCH_TASK_COUNT", "the task group's task count", kGcpHint);
  if (!count) return count.error();
  JobInfo job = NodeLevelJob("gcp-batch", *index, *count, "BATCH_TASK_INDEX", "BATCH_TASK_COUNT");
  if (auto s = TakeMaster(ctx, job, {"MASTER_ADDR"}, {"MASTER_PORT"}, "the job's environment"); !s) return s.error();
  if (!job.master_addr) {
    job.master_addr_from = "Google Cloud Batch names no host for task 0" +
                           std::string(ctx.env.Has("BATCH_HOSTS_FILE") ? " (BATCH_HOSTS_FILE lists the VMs, not "
                                                                         "which runs task 0)"
                                                                       : "");
    job.master_addr_hint = "set MASTER_ADDR to the VM of task 0 in the job's environment, or pass --master-addr HOST";
  }
  return job;
}

}  // namespace

Detector AzureBatchDetector() {
  return {"azure-batch", Layer::kScheduler,
          "a node of an Azure Batch multi-instance task (AZ_BATCH_HOST_LIST): one task per node, rank 0 on "
          "the master node",
          &ProbeAzure, &ParseAzure};
}

Detector GcpBatchDetector() {
  return {"gcp-batch", Layer::kScheduler,
          "a task of Google Cloud Batch (BATCH_TASK_INDEX, BATCH_TASK_COUNT; MASTER_ADDR/MASTER_PORT from the "
          "job): one task per node",
          &ProbeGcp, &ParseGcp};
}

}  // namespace rankwrap::detect
