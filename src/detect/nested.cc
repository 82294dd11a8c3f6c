// rankwrap: a program started by an outer rankwrap (`rankwrap --nproc 2 --
// rankwrap -- PROGRAM`, or a job script that wraps twice). The outer one
// exported its contract and the marker RANKWRAP_CONTRACT (plan/contract.h);
// the inner one takes RANK, WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE,
// NODE_RANK, NUM_NODES, MASTER_ADDR and MASTER_PORT as given (checked, never
// re-derived: the task's SLURM_PROCID etc. describe the outer task, not the
// outer rankwrap's children). Tried before every other detector.
#include <string>

#include "core/parse/hostlist.h"
#include "core/parse/number.h"
#include "core/plan/contract.h"
#include "detect/launchers.h"

namespace rankwrap::detect {
namespace {

constexpr std::string_view kHint =
    "do not change RANK, WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE, NODE_RANK, NUM_NODES, MASTER_ADDR "
    "or MASTER_PORT between two rankwraps, or unset RANKWRAP_CONTRACT to detect the launcher again";

Probe ProbeNested(const DetectContext& ctx) {
  auto marker = ctx.env.Get(plan::kContractMarker);
  if (!marker) return {false, std::string(plan::kContractMarker) + " is not set"};
  const std::string here = plan::ContractMarker(ctx.env, ctx.hostname);
  if (*marker != here) {
    return {false, std::string(plan::kContractMarker) + "='" + ShortenForMessage(*marker) +
                       "' does not match this host and launch ('" + ShortenForMessage(here) +
                       "'): left over from another job or host, ignored"};
  }
  const std::string outer(ctx.env.Get("RANKWRAP_LAUNCHER").value_or("unknown"));
  return {true, std::string(plan::kContractMarker) + "='" + ShortenForMessage(*marker) +
                    "' matches: started by an outer rankwrap (launcher " + outer + ")"};
}

Result<JobInfo> ParseNested(const DetectContext& ctx) {
  JobInfo job;
  job.launcher = "rankwrap";
  struct Field {
    const char* var;
    const char* meaning;
    std::uint64_t* out;
  } fields[] = {
      {"RANK", "the global rank", &job.rank},
      {"WORLD_SIZE", "the world size", &job.world_size},
      {"LOCAL_RANK", "the node-local rank", &job.local_rank},
      {"LOCAL_WORLD_SIZE", "the number of ranks on this node", &job.local_world_size},
      {"NODE_RANK", "the node rank", &job.node_rank},
      {"NUM_NODES", "the node count", &job.num_nodes},
  };
  for (const Field& f : fields) {
    auto v = RequireUint(ctx, f.var, f.meaning, kHint);
    if (!v) return v.error();
    *f.out = *v;
  }
  job.from = {"RANK", "WORLD_SIZE", "LOCAL_RANK", "LOCAL_WORLD_SIZE", "NODE_RANK", "NUM_NODES"};
  // GROUP_RANK is exported beside NODE_RANK; a program or script that
  // changed one of them left a contract that no longer agrees with itself.
  if (auto group = ctx.env.Get("GROUP_RANK"); group && *group != *ctx.env.Get("NODE_RANK")) {
    return EnvError(
        "GROUP_RANK=" + ShortenForMessage(*group) + " but NODE_RANK=" + std::string(*ctx.env.Get("NODE_RANK")),
        "the outer rankwrap exports both with the same value", std::string(kHint));
  }
  auto addr = RequireVar(ctx, "MASTER_ADDR", kHint);
  if (!addr) return addr.error();
  if (auto host = parse::CheckHostName(*addr); !host) {
    return EnvError("MASTER_ADDR='" + ShortenForMessage(*addr) + "'", host.error().message, std::string(kHint));
  }
  job.master_addr = *addr;
  job.master_addr_from = "MASTER_ADDR from the outer rankwrap";
  auto port_text = RequireVar(ctx, "MASTER_PORT", kHint);
  if (!port_text) return port_text.error();
  auto port = parse::Decimal(*port_text, 65535);
  if (!port || *port == 0) {
    return EnvError("MASTER_PORT='" + ShortenForMessage(*port_text) + "'", "expected a TCP port 1-65535",
                    std::string(kHint));
  }
  job.master_port = static_cast<std::uint16_t>(*port);
  job.master_port_from = "MASTER_PORT from the outer rankwrap";
  job.notes.push_back("the outer rankwrap's contract is taken as given (outer launcher: " +
                      std::string(ctx.env.Get("RANKWRAP_LAUNCHER").value_or("unknown")) +
                      "); the launcher's own variables describe the outer task and are not read");
  return job;
}

}  // namespace

Detector NestedDetector() {
  return {"rankwrap", Layer::kContract, "started by an outer rankwrap (RANKWRAP_CONTRACT): its contract taken as given",
          &ProbeNested, &ParseNested};
}

}  // namespace rankwrap::detect
