// What each rank is started with (stage: exec): one builder, consumed by the
// plain exec path, the keeper (--supervise, --nproc) and the MPI bootstrap.
// The walk of one rank's data: environment -> detect -> contract -> node plan
// -> RankSpec {argv, env, cpus, memory policy, GPUs} -> exec.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "app/config.h"
#include "app/pipeline.h"
#include "core/env/snapshot.h"

namespace rankwrap::app {

struct RankSpec {
  std::uint64_t rank = 0, local_rank = 0;
  std::vector<std::string> argv;
  EnvSnapshot env;                // exactly the program's environment
  bool bind = false;              // apply cpus/numa to the process before exec
  std::vector<unsigned> cpus;     // PUs
  std::vector<unsigned> numa;     // memory nodes; empty: memory left alone
  bool strict_memory = false;     // MPOL_BIND instead of preferring `numa`
  std::vector<std::string> gpus;  // PCI bus ids, for reports
};

// Where the ranks of a standalone --nproc job meet (a port free on this host
// at the time of the attempt).
struct Endpoint {
  std::string addr;
  std::uint16_t port = 0;
};

// The ranks this rankwrap starts: its own rank (plain exec, --supervise,
// the bootstrap), or --nproc's local ranks. `standalone` replaces
// MASTER_ADDR/MASTER_PORT for a standalone --nproc job; `attempt` is
// exported as RANKWRAP_RESTART_COUNT when restarts are on.
std::vector<RankSpec> BuildRankSpecs(const Config& c, const Prepared& p, const EnvSnapshot& env,
                                     const std::optional<Endpoint>& standalone, unsigned attempt);

// What each --nproc child will get, as contracts (for --print-env,
// --dry-run and --json): the variables set for it and its place in the job.
// A standalone job's port is chosen when the ranks start: shown as 0 with a
// note in master_port_from, and not in env.
std::vector<plan::RankContract> ChildContracts(const Config& c, const Prepared& p, const EnvSnapshot& env);

// The world the ranks of this rankwrap belong to (--nproc multiplies it).
std::uint64_t WorldSize(const Config& c, const Prepared& p);
bool Standalone(const Prepared& p);

}  // namespace rankwrap::app
