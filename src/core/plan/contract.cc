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

}  // namespace

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

Result<RankContract> Ranks(const JobInfo& job, const ContractOptions& opts,
                           const EnvSnapshot& inherited,
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
  } else {
    return Error{kExitEnvironment, "plan",
                 "MASTER_ADDR cannot be derived under " + job.launcher + ": " + job.master_addr_from,
                 "rankwrap never guesses rank 0's host (a wrong guess hangs every rank at "
                 "rendezvous)",
                 "pass --master-addr HOST (the host that runs rank 0), or launch inside a "
                 "scheduler allocation"};
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
    return Error{kExitEnvironment, "plan",
                 "MASTER_PORT cannot be derived under " + job.launcher +
                     ": no job or launch id is the same on every rank",
                 "rankwrap never falls back to a default port (two jobs on one node would collide)",
                 "pass --master-port PORT (the same on every rank)"};
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
  };
  for (const auto& [key, value] : c.env) {
    if (key == "RANKWRAP_LAUNCHER") continue;
    auto old = inherited.Get(key);
    if (old && *old != value) {
      c.warnings.push_back("inherited " + key + "=" + std::string(*old) + " replaced by " + value +
                           " (derived from " + job.launcher + ")");
    }
  }
  return c;
}

}  // namespace rankwrap::plan
