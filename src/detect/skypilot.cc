// skypilot: a node of a SkyPilot task (docs.skypilot.co, "Environment
// variables" and "Distributed multi-node jobs"): SKYPILOT_NODE_RANK,
// SKYPILOT_NUM_NODES, SKYPILOT_NODE_IPS (one IP per line, the head node,
// rank 0, first: SkyPilot's own examples take MASTER_ADDR from its first
// line), SKYPILOT_TASK_ID (the same on every node of the task).
#include <string>

#include "core/parse/hostlist.h"
#include "core/parse/number.h"
#include "detect/launchers.h"

namespace rankwrap::detect {
namespace {

constexpr std::string_view kHint = "SkyPilot sets it on every node of a task (num_nodes in the task YAML)";

Probe ProbeSkypilot(const DetectContext& ctx) {
  if (auto r = ctx.env.Get("SKYPILOT_NODE_RANK")) return {true, "SKYPILOT_NODE_RANK=" + std::string(*r) + " is set"};
  return {false, "SKYPILOT_NODE_RANK is not set"};
}

Result<JobInfo> ParseSkypilot(const DetectContext& ctx) {
  auto node = RequireUint(ctx, "SKYPILOT_NODE_RANK", "this node's rank", kHint);
  if (!node) return node.error();
  auto nodes = RequireUint(ctx, "SKYPILOT_NUM_NODES", "the node count", kHint);
  if (!nodes) return nodes.error();
  JobInfo job = NodeLevelJob("skypilot", *node, *nodes, "SKYPILOT_NODE_RANK", "SKYPILOT_NUM_NODES");
  auto ips = RequireVar(ctx, "SKYPILOT_NODE_IPS", kHint);
  if (!ips) return ips.error();
  std::vector<std::string> lines;
  for (std::string_view line : parse::Split(*ips, '\n')) {
    const std::size_t b = line.find_first_not_of(" \t\r");
    if (b == std::string_view::npos) continue;
    lines.emplace_back(line.substr(b, line.find_last_not_of(" \t\r") - b + 1));
  }
  if (lines.size() != *nodes) {
    return EnvError("SKYPILOT_NODE_IPS lists " + std::to_string(lines.size()) +
                        " addresses but SKYPILOT_NUM_NODES=" + std::to_string(*nodes),
                    "expected one address per node, the head node first", std::string(kHint));
  }
  if (auto host = parse::CheckHostName(lines.front()); !host) {
    return EnvError("SKYPILOT_NODE_IPS line 1 '" + ShortenForMessage(lines.front()) + "'", host.error().message,
                    std::string(kHint));
  }
  job.master_addr = lines.front();
  job.master_addr_from = "line 1 of SKYPILOT_NODE_IPS (the head node, rank 0)";
  if (ctx.env.Has("MASTER_PORT")) {
    if (auto s = TakePort(ctx, job, {"MASTER_PORT"}, "the task's envs"); !s) return s.error();
  } else if (auto id = ctx.env.Get("SKYPILOT_TASK_ID")) {
    job.job_key = "SKYPILOT_TASK_ID=" + std::string(*id);
  } else {
    job.master_port_hint = "set MASTER_PORT in the task's envs, or pass --master-port PORT";
  }
  return job;
}

}  // namespace

Detector SkypilotDetector() {
  return {"skypilot", Layer::kScheduler,
          "a node of a SkyPilot task (SKYPILOT_NODE_RANK, SKYPILOT_NODE_IPS): one task per node", &ProbeSkypilot,
          &ParseSkypilot};
}

}  // namespace rankwrap::detect
