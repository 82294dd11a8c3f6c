// JobInfo: what a detector read from the launcher's environment (stage:
// detect). Plain data; plan::Ranks turns it into the rank contract.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace rankwrap {

struct JobInfo {
  std::string launcher;  // the detector's name: "slurm", "ompi", ...
  std::string host;      // this host's name (set by detect::Run)

  std::uint64_t rank = 0;
  std::uint64_t world_size = 0;
  std::uint64_t local_rank = 0;
  std::uint64_t local_world_size = 0;
  std::uint64_t node_rank = 0;
  std::uint64_t num_nodes = 0;

  // Where each number came from ("SLURM_PROCID", "inferred: ..."), for
  // --explain and for error messages that must name the variable.
  struct Sources {
    std::string rank, world_size, local_rank, local_world_size, node_rank, num_nodes;
  } from;

  // The host that runs global rank 0, when the environment tells.
  std::optional<std::string> master_addr;
  std::string master_addr_from;  // how it was found, or why it could not be
  // When master_addr is unknown: the launcher-specific fix ("srun -m block",
  // "export MASTER_ADDR"); the contract's error shows it beside --master-addr.
  std::string master_addr_hint;

  // The first host in node-index order (NODE_RANK 0), when the launcher
  // names its node list. It need not run rank 0 (Slurm's arbitrary and
  // topology layouts); the job control plane serves there. Unset: the plane
  // uses master_addr (rank 0 on node 0, as every other launcher lays out).
  std::optional<std::string> node0_host;
  // This node's name in the launcher's node list (what the other nodes
  // resolve), when the launcher names one; rank 0's node announces it.
  std::optional<std::string> node_host;

  // A port the launcher reserved or an outer launcher already chose.
  std::optional<std::uint16_t> master_port;
  std::string master_port_from;
  std::string master_port_hint;  // as master_addr_hint, when no port is known

  // Identifies this launch identically on every rank (job id, step id), so
  // every rank computes the same MASTER_PORT without talking to the others.
  // `job_numeric`/`step_numeric` are set when both ids are plain numbers.
  std::string job_key;
  std::optional<std::uint64_t> job_numeric;
  std::optional<std::uint64_t> step_numeric;
  // Single-process or local launches only: a free local port may be taken.
  bool local_port_ok = false;

  // Non-empty when RANK = NODE_RANK * LOCAL_WORLD_SIZE + LOCAL_RANK is
  // false for some ranks of the launch (cyclic, plane or arbitrary task
  // order, topology order, uneven counts): why. --explain prints it and the
  // contract warns once per node (local rank 0).
  std::string rank_order;

  // A node-level launcher (Kubernetes, cloud batch services, SkyPilot, the
  // Slurm batch step with --nproc): one task per node, rank = node index;
  // --nproc N makes node_rank*N+i of num_nodes*N.
  bool node_level = false;

  // Lines for --explain: inferences, leaked outer variables, assumptions.
  std::vector<std::string> notes;
};

// One line of the --explain trace: a detector tried, its verdict, and why.
struct TraceLine {
  std::string detector;
  std::string verdict;  // "chosen", "forced", "does not apply", ...
  std::string reason;
};

}  // namespace rankwrap
