// The rank contract (stage: plan): the variables rankwrap exports to the
// program, computed as data from a JobInfo. Pure: no environment reads, no
// sockets; a free local port, when one is allowed, comes from the caller.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/env/snapshot.h"
#include "core/error.h"
#include "core/job.h"

namespace rankwrap::plan {

struct ContractOptions {
  std::optional<std::string> master_addr;    // --master-addr
  std::optional<std::uint16_t> master_port;  // --master-port
  // The MPI bootstrap answers MASTER_ADDR/MASTER_PORT exactly: an address
  // or port the environment cannot tell is left empty instead of an error.
  bool bootstrap_fills_master = false;
  // The job control plane answers MASTER_ADDR (rank 0's keeper announces
  // its host and a port it bound): a rank-0 host the environment cannot tell
  // is left empty instead of an error.
  bool plane_fills_master = false;
};

struct RankContract {
  JobInfo job;
  std::string master_addr;
  std::string master_addr_from;
  std::uint16_t master_port = 0;
  std::string master_port_from;
  // Exactly the variables rankwrap sets, sorted by key.
  std::map<std::string, std::string> env;
  // Inherited values that the contract replaces with different ones.
  std::vector<std::string> warnings;
};

// The port every rank of a launch computes from the launch's ids: in
// 20000-32767 (below Linux's default ephemeral range 32768-60999), different
// for consecutive job ids and for the steps of one job.
std::uint16_t PortFromJob(const JobInfo& job);

// The variable that marks a program as started by rankwrap: a nested
// rankwrap (detector "rankwrap", tried first) takes RANK, WORLD_SIZE,
// LOCAL_RANK, LOCAL_WORLD_SIZE, NODE_RANK, NUM_NODES, MASTER_ADDR and
// MASTER_PORT as given when it is set and matches ContractMarker there.
inline constexpr const char* kContractMarker = "RANKWRAP_CONTRACT";

// The marker's value: this host and the ids of the launch found in `env`
// ("host=node2;SLURM_JOB_ID=17;SLURM_STEP_ID=0"). Only variables that
// rankwrap never rewrites for its children take part, so the marker matches
// in every child and in a program the outer rankwrap exec'd, and a marker
// left over from another job or copied to another host does not.
std::string ContractMarker(const EnvSnapshot& env, const std::string& host);

// Builds the contract. `inherited` is the environment the program would
// otherwise get (to warn when a RANK etc. there differs). `free_port` is
// called only for launches that allow a local free port (a world of one).
Result<RankContract> Ranks(const JobInfo& job, const ContractOptions& opts, const EnvSnapshot& inherited,
                           const std::function<Result<std::uint16_t>()>& free_port);

}  // namespace rankwrap::plan
