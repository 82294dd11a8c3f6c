// Which GPUs this node's ranks may use (stage: bind): the visible-devices
// list the launcher left, mapped to the topology's GPUs.
#pragma once

#include <string>
#include <vector>

#include "core/env/snapshot.h"
#include "core/error.h"
#include "core/topo/topology.h"

namespace rankwrap::bind {

struct VisibleGpus {
  std::string var;                  // CUDA_VISIBLE_DEVICES / ROCR_VISIBLE_DEVICES / ZE_AFFINITY_MASK
  std::vector<unsigned> gpus;       // topology GPU indices, in the launcher's order
  std::vector<std::string> tokens;  // what to write for each, valid in this process's device namespace
  std::string from;                 // for --explain / warnings
  bool passthrough = false;         // MIG or other ids rankwrap cannot place: left as they are
  std::vector<std::string> warnings;
};

// CUDA_VISIBLE_DEVICES (NVIDIA), ROCR_VISIBLE_DEVICES (AMD) or
// ZE_AFFINITY_MASK (Intel), as the launcher left it: indices, UUIDs, "" or
// "-1" (none). Under device cgroups the indices are local while
// SLURM_STEP_GPUS / SLURM_JOB_GPUS hold the global ones: those map them.
// Unset: every GPU of the topology. A GPU the node does not have is an error,
// except when the topology shows no GPU at all (hwloc without PCI access, as
// in some containers): then the list is left as the launcher set it, with a
// warning. MIG UUIDs are left as they are too (their GPU is not known here).
Result<VisibleGpus> MapVisible(const topo::Topology& topo, const EnvSnapshot& env);

// True when the launcher gave each task its own GPUs (Slurm --gpus-per-task,
// --gpu-bind=single:1, ...): this rank's list is a share of the node's GPUs
// (SLURM_GPUS_ON_NODE = its size x the local ranks). The rank is then planned
// alone with its GPUs instead of sharing them with the other local ranks.
bool PerTaskGpus(const VisibleGpus& visible, unsigned local_ranks, const EnvSnapshot& env);

}  // namespace rankwrap::bind
