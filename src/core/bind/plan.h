// The node plan (stage: bind): where every local rank of a node runs. Pure
// and deterministic: every local rank computes the same plan from the same
// topology and applies its own line.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/bind/visible.h"
#include "core/env/snapshot.h"
#include "core/error.h"
#include "core/parse/cpulist.h"
#include "core/topo/topology.h"

namespace rankwrap::bind {

struct BindOptions {
  enum class Gpu { kClosest, kMap, kNone } gpu = Gpu::kClosest;
  std::vector<unsigned> map;  // --gpu-bind=map:LIST, positions in the visible list
  // single: only the rank's GPUs; reorder: all, the rank's first;
  // local-rank: all, the same list on every rank, position LOCAL_RANK being
  // the rank's GPU (torchrun's model: torch.cuda.set_device(LOCAL_RANK)).
  enum class Visibility { kSingle, kReorder, kLocalRank } visibility = Visibility::kSingle;
  enum class Cpu { kAuto, kGpu, kNuma, kCores, kNone, kList } cpu = Cpu::kAuto;
  // kList: --cpu-bind map_cpu:LIST or mask_cpu:LIST (Slurm's spellings).
  // Local rank i takes exactly the CPUs of item i (parse::CpuListAt: repeats
  // expanded, the list reused from its start). `cpu_list_value` is the
  // value as given, for messages.
  std::vector<parse::CpuListItem> cpu_list;
  std::string cpu_list_value;
  enum class Mem { kLocal, kNone } mem = Mem::kLocal;
  // How kLocal binds: prefer the rank's nodes (MPOL_PREFERRED_MANY, the
  // default: "local") or only them (MPOL_BIND: "strict").
  enum class MemPolicy { kPrefer, kStrict } mem_policy = MemPolicy::kPrefer;
};

// Parses the option values ("closest", "map:0,1", "none"; "single",
// "reorder", "local-rank"; "gpu", "numa", "cores", "none", "map_cpu:LIST",
// "mask_cpu:LIST"; "local" (=
// "prefer"), "strict", "none"). `bind` is
// --bind ("auto" or "none": everything off). Errors are usage errors.
Result<BindOptions> ParseBindOptions(const std::string& gpu_bind, const std::string& visibility,
                                     const std::string& cpu_bind, const std::string& mem_bind, const std::string& bind);

struct RankLine {
  unsigned local_rank = 0;
  std::vector<unsigned> gpus;  // topology GPU indices
  std::vector<unsigned> cpus;  // OS PU indices (whole cores; map_cpu/mask_cpu: the PUs listed)
  unsigned cores = 0;          // number of cores in `cpus`
  std::vector<unsigned> numa;  // OS NUMA indices for memory binding
  std::vector<std::string> nics;
  std::vector<std::string> warnings;
};

struct NodePlan {
  BindOptions options;
  VisibleGpus visible;
  std::vector<RankLine> ranks;
  std::vector<std::string> warnings;
};

// The machine as a node plan sees it: restricted to the node's allowed PUs
// (the job's cgroup cpuset; empty: the whole machine as loaded). Never the
// process's own CPU mask: launchers bind each task differently (Open MPI to
// a core or socket, Slurm task/affinity, PALS --cpu-bind) before rankwrap
// runs, and every local rank must compute the same plan.
topo::Topology NodeTopology(const topo::Topology& machine, const std::vector<unsigned>& allowed);

// What rankwrap says (once, on local rank 0) when the launcher bound this
// process to fewer PUs than the node allows: the plan replaces that binding
// (--cpu-bind none keeps it). nullopt when the mask covers the node or CPUs
// are not bound.
std::optional<std::string> LauncherMaskNote(const topo::Topology& node, const std::vector<unsigned>& mask,
                                            const BindOptions& opts);

// Plans `local_ranks` ranks on `topo`. Errors (exit 4): no rank, a map
// entry outside the visible GPUs, --cpu-bind gpu for a rank without GPU, no
// allowed core, a map_cpu/mask_cpu CPU that is not one of topo's PUs.
Result<NodePlan> PlanNode(const topo::Topology& topo, unsigned local_ranks, const VisibleGpus& visible,
                          const BindOptions& opts);

// How far apart two I/O devices are in the tree: the level of their lowest
// common ancestor (same PCIe switch < host bridge < NUMA node < package <
// machine), then the number of edges. Smaller is nearer.
std::pair<int, std::size_t> DeviceDistance(const std::vector<topo::Ancestor>& a, const std::vector<topo::Ancestor>& b);

// The GPUs (topology indices) a rank's visible-devices variable lists, in
// order, for the plan's --gpu-visibility.
std::vector<unsigned> VisibleOrder(const NodePlan& plan, const RankLine& line);

// The variables one rank gets from the plan: the visible-devices variable
// (+ CUDA_DEVICE_ORDER=PCI_BUS_ID), OMP_NUM_THREADS/OMP_PLACES/
// OMP_PROC_BIND and NCCL_IB_HCA/UCX_NET_DEVICES, each of the last five only
// when `inherited` does not set it already.
std::map<std::string, std::string> RankEnv(const NodePlan& plan, const RankLine& line, const topo::Topology& topo,
                                           const EnvSnapshot& inherited);

// The plan as a table, as JSON ({"ranks": [...], "warnings": [...]}) and as
// an SVG picture of the node.
std::string Table(const NodePlan& plan, const topo::Topology& topo);
std::string Json(const NodePlan& plan, const topo::Topology& topo);
std::string Svg(const NodePlan& plan, const topo::Topology& topo);
// One rank's line: "local rank 1: GPU 0000:4e:00.0 [0], cpus 42-55,154-167, numa 3, nic mlx5_0".
std::string Describe(const RankLine& line, const topo::Topology& topo);

}  // namespace rankwrap::bind
