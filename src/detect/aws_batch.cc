// aws-batch: a node of an AWS Batch multi-node parallel job. AWS Batch User
// Guide, "Multi-node parallel jobs" and "Environment variables"
// (job_env_vars.html): AWS_BATCH_JOB_NODE_INDEX (this node),
// AWS_BATCH_JOB_NUM_NODES, AWS_BATCH_JOB_MAIN_NODE_INDEX, and
// AWS_BATCH_JOB_MAIN_NODE_PRIVATE_IPV4_ADDRESS, which is set on the child
// nodes only (absent on the main node itself). AWS_BATCH_JOB_ID is
// "<job id>#<node index>" on a node.
//
// Rank 0 is the main node, the only node whose address the others know:
// node rank = (node index - main index) mod node count, which is the node
// index whenever the main node is node 0 (the default).
#include <string>

#include "core/parse/hostlist.h"
#include "detect/launchers.h"

namespace rankwrap::detect {
namespace {

constexpr std::string_view kHint = "AWS Batch sets it on every node of a multi-node parallel job";

Probe ProbeAws(const DetectContext& ctx) {
  if (auto i = ctx.env.Get("AWS_BATCH_JOB_NODE_INDEX")) {
    return {true, "AWS_BATCH_JOB_NODE_INDEX=" + std::string(*i) + " is set (a multi-node parallel job)"};
  }
  return {false, "AWS_BATCH_JOB_NODE_INDEX is not set"};
}

Result<JobInfo> ParseAws(const DetectContext& ctx) {
  auto index = RequireUint(ctx, "AWS_BATCH_JOB_NODE_INDEX", "this node's index", kHint);
  if (!index) return index.error();
  auto nodes = RequireUint(ctx, "AWS_BATCH_JOB_NUM_NODES", "the node count", kHint);
  if (!nodes) return nodes.error();
  auto main = RequireUint(ctx, "AWS_BATCH_JOB_MAIN_NODE_INDEX", "the main node's index", kHint);
  if (!main) return main.error();
  if (*nodes == 0 || *main >= *nodes || *index >= *nodes) {
    return EnvError("AWS_BATCH_JOB_NODE_INDEX=" + std::to_string(*index) + ", AWS_BATCH_JOB_MAIN_NODE_INDEX=" +
                        std::to_string(*main) + ", AWS_BATCH_JOB_NUM_NODES=" + std::to_string(*nodes),
                    "the indices must be below the node count", std::string(kHint));
  }
  const std::uint64_t node = (*index + *nodes - *main) % *nodes;
  JobInfo job = NodeLevelJob("aws-batch", node, *nodes,
                             *main == 0 ? "AWS_BATCH_JOB_NODE_INDEX"
                                        : "AWS_BATCH_JOB_NODE_INDEX - AWS_BATCH_JOB_MAIN_NODE_INDEX (main node first)",
                             "AWS_BATCH_JOB_NUM_NODES");
  if (*index == *main) {
    job.master_addr = ctx.hostname;
    job.master_addr_from = "this node is the main node (AWS_BATCH_JOB_NODE_INDEX = AWS_BATCH_JOB_MAIN_NODE_INDEX)";
  } else if (auto ip = ctx.env.Get("AWS_BATCH_JOB_MAIN_NODE_PRIVATE_IPV4_ADDRESS")) {
    if (auto host = parse::CheckHostName(*ip); !host || ip->empty()) {
      return EnvError("AWS_BATCH_JOB_MAIN_NODE_PRIVATE_IPV4_ADDRESS='" + ShortenForMessage(*ip) + "'",
                      "expected the main node's IPv4 address", std::string(kHint));
    }
    job.master_addr = std::string(*ip);
    job.master_addr_from = "AWS_BATCH_JOB_MAIN_NODE_PRIVATE_IPV4_ADDRESS (the main node)";
  } else {
    job.master_addr_from = "AWS_BATCH_JOB_MAIN_NODE_PRIVATE_IPV4_ADDRESS is not set on this child node";
    job.master_addr_hint =
        "AWS Batch sets AWS_BATCH_JOB_MAIN_NODE_PRIVATE_IPV4_ADDRESS on child nodes of a "
        "multi-node parallel job; or pass --master-addr HOST";
  }
  if (ctx.env.Has("MASTER_PORT")) {
    if (auto s = TakePort(ctx, job, {"MASTER_PORT"}, "the job definition"); !s) return s.error();
  } else if (auto id = ctx.env.Get("AWS_BATCH_JOB_ID")) {
    // The parent id is the same on every node; the "#<index>" suffix is not.
    job.job_key = "AWS_BATCH_JOB_ID=" + std::string(id->substr(0, id->find('#')));
  } else {
    job.master_port_hint = "set MASTER_PORT in the job definition, or pass --master-port PORT";
  }
  return job;
}

}  // namespace

Detector AwsBatchDetector() {
  return {"aws-batch", Layer::kScheduler,
          "a node of an AWS Batch multi-node parallel job (AWS_BATCH_JOB_NODE_INDEX): one task per node", &ProbeAws,
          &ParseAws};
}

}  // namespace rankwrap::detect
