// torchrun: a worker of torchrun's elastic agent, and `inherited`: any outer
// launcher that already exported the torch contract (RANK, WORLD_SIZE,
// LOCAL_RANK, MASTER_ADDR, MASTER_PORT; a Kubernetes PyTorchJob, an outer
// rankwrap). The values pass through unchanged.
#include <string>

#include "core/parse/hostlist.h"
#include "core/parse/number.h"
#include "detect/launchers.h"

namespace rankwrap::detect {
namespace {

constexpr std::string_view kHint =
    "the outer launcher must export RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR and MASTER_PORT";

Probe ProbeTorchrun(const DetectContext& ctx) {
  if (auto id = ctx.env.Get("TORCHELASTIC_RUN_ID")) {
    return {true, "TORCHELASTIC_RUN_ID=" + std::string(*id) + " is set (a torchrun worker)"};
  }
  return {false, "TORCHELASTIC_RUN_ID is not set"};
}

Probe ProbeInherited(const DetectContext& ctx) {
  for (std::string_view v : {"RANK", "WORLD_SIZE", "LOCAL_RANK"}) {
    if (!ctx.env.Has(v)) return {false, std::string(v) + " is not set"};
  }
  return {true, "RANK, WORLD_SIZE and LOCAL_RANK are set by an outer launcher"};
}

Result<JobInfo> ParseContract(const DetectContext& ctx, std::string_view name) {
  JobInfo job;
  job.launcher = std::string(name);
  auto rank = RequireUint(ctx, "RANK", "the global rank", kHint);
  if (!rank) return rank.error();
  auto size = RequireUint(ctx, "WORLD_SIZE", "the world size", kHint);
  if (!size) return size.error();
  auto local = RequireUint(ctx, "LOCAL_RANK", "the node-local rank", kHint);
  if (!local) return local.error();
  job.rank = *rank;
  job.world_size = *size;
  job.local_rank = *local;
  job.from = {"RANK", "WORLD_SIZE", "LOCAL_RANK", "LOCAL_WORLD_SIZE", "", ""};
  auto local_size = OptionalUint(ctx, "LOCAL_WORLD_SIZE", "the number of ranks on this node", kHint);
  if (!local_size) return local_size.error();
  if (*local_size) {
    job.local_world_size = **local_size;
  } else {
    job.local_world_size = job.world_size;
    job.from.local_world_size = "WORLD_SIZE (LOCAL_WORLD_SIZE not set: one node assumed)";
  }
  // torchrun: GROUP_RANK / GROUP_WORLD_SIZE; others: NODE_RANK / NUM_NODES.
  const std::string node_var = FirstSet(ctx, {"GROUP_RANK", "NODE_RANK"});
  const std::string nodes_var = FirstSet(ctx, {"GROUP_WORLD_SIZE", "NUM_NODES"});
  if (!node_var.empty()) {
    auto n = RequireUint(ctx, node_var, "the node rank", kHint);
    if (!n) return n.error();
    job.node_rank = *n;
    job.from.node_rank = node_var;
  } else if (job.local_world_size > 0) {
    job.node_rank = (job.rank - std::min(job.rank, job.local_rank)) / job.local_world_size;
    job.from.node_rank = "inferred: (RANK - LOCAL_RANK) / LOCAL_WORLD_SIZE";
  }
  if (!nodes_var.empty()) {
    auto n = RequireUint(ctx, nodes_var, "the node count", kHint);
    if (!n) return n.error();
    job.num_nodes = *n;
    job.from.num_nodes = nodes_var;
  } else if (job.local_world_size > 0) {
    job.num_nodes = (job.world_size + job.local_world_size - 1) / job.local_world_size;
    job.from.num_nodes = "inferred: WORLD_SIZE / LOCAL_WORLD_SIZE";
  }
  // torchrun gives every node the same --nproc-per-node: WORLD_SIZE is
  // GROUP_WORLD_SIZE x LOCAL_WORLD_SIZE. Where all three are given and
  // disagree, one of them is stale or hand-written; none can be trusted.
  if (!nodes_var.empty() && *local_size && job.num_nodes * job.local_world_size != job.world_size) {
    return EnvError("WORLD_SIZE=" + std::to_string(job.world_size) + " but " + nodes_var + "=" +
                        std::to_string(job.num_nodes) + " x LOCAL_WORLD_SIZE=" + std::to_string(job.local_world_size) +
                        " is " + std::to_string(job.num_nodes * job.local_world_size),
                    "the world size must be the node count times the ranks per node",
                    std::string(kHint) + ", consistent with each other (unset stale copies)");
  }
  auto addr = RequireVar(ctx, "MASTER_ADDR", kHint);
  if (!addr) return addr.error();
  if (addr->empty()) return EnvError("MASTER_ADDR is empty", "expected rank 0's host", std::string(kHint));
  if (auto host = parse::CheckHostName(*addr); !host) {
    return EnvError("MASTER_ADDR='" + ShortenForMessage(*addr) + "'", host.error().message, std::string(kHint));
  }
  job.master_addr = *addr;
  job.master_addr_from = "MASTER_ADDR from the outer launcher";
  auto port_text = RequireVar(ctx, "MASTER_PORT", kHint);
  if (!port_text) return port_text.error();
  auto port = parse::Decimal(*port_text, 65535);
  if (!port || *port == 0) {
    return EnvError("MASTER_PORT='" + *port_text + "'", "expected a TCP port 1-65535", std::string(kHint));
  }
  job.master_port = static_cast<std::uint16_t>(*port);
  job.master_port_from = "MASTER_PORT from the outer launcher";
  return job;
}

Result<JobInfo> ParseTorchrun(const DetectContext& ctx) { return ParseContract(ctx, "torchrun"); }
Result<JobInfo> ParseInherited(const DetectContext& ctx) { return ParseContract(ctx, "inherited"); }

}  // namespace

Detector TorchrunDetector() {
  return {"torchrun", Layer::kElastic, "a torchrun worker (TORCHELASTIC_RUN_ID): passed through", &ProbeTorchrun,
          &ParseTorchrun};
}

Detector InheritedDetector() {
  return {"inherited", Layer::kInherited,
          "RANK/WORLD_SIZE/LOCAL_RANK/MASTER_ADDR/MASTER_PORT set by an outer launcher: passed "
          "through",
          &ProbeInherited, &ParseInherited};
}

}  // namespace rankwrap::detect
