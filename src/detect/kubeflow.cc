// kubeflow: a node (pod) of a Kubeflow Trainer v2 TrainJob with the torch
// runtime, and pytorchjob: a pod of a Kubeflow PyTorchJob (training-operator
// v1). Both are node-level: one container per node, whose processes
// `rankwrap --nproc N` starts.
//
// Trainer v2 (kubeflow/trainer pkg/runtime/framework/plugins/torch/torch.go,
// names in pkg/constants/constants.go) writes the torchrun arguments as
// PET_* variables: PET_NNODES, PET_NPROC_PER_NODE, PET_NODE_RANK (the
// JobSet pod's completion index), PET_MASTER_ADDR (<job>-node-0-0.<job>),
// PET_MASTER_PORT. It sets no RANK/WORLD_SIZE.
//
// PyTorchJob v1 (kubeflow/training-operator pkg/controller.v1/pytorch/
// envvar.go) sets MASTER_ADDR, MASTER_PORT, RANK and WORLD_SIZE, plus
// PET_NPROC_PER_NODE / PET_NNODES when nprocPerNode is given. The trap: with
// more than one process per pod RANK is the pod index while WORLD_SIZE
// counts processes (replicas x nprocPerNode), so RANK/WORLD_SIZE are not one
// rank's contract and the 'inherited' reading would be wrong.
#include <string>

#include "core/parse/number.h"
#include "detect/launchers.h"

namespace rankwrap::detect {
namespace {

constexpr std::string_view kV2Hint = "Kubeflow Trainer sets it in every node's pod; check the TrainJob's runtime";

Probe ProbeKubeflow(const DetectContext& ctx) {
  if (!ctx.env.Has("PET_NODE_RANK")) return {false, "PET_NODE_RANK is not set"};
  if (ctx.env.Has("RANK")) return {false, "PET_NODE_RANK is set with RANK (a PyTorchJob v1 pod, or a torchrun worker)"};
  return {true, "PET_NODE_RANK=" + std::string(*ctx.env.Get("PET_NODE_RANK")) +
                    " is set without RANK (a Kubeflow Trainer v2 node)"};
}

Result<JobInfo> ParseKubeflow(const DetectContext& ctx) {
  auto node = RequireUint(ctx, "PET_NODE_RANK", "the node index", kV2Hint);
  if (!node) return node.error();
  auto nodes_text = RequireVar(ctx, "PET_NNODES", kV2Hint);
  if (!nodes_text) return nodes_text.error();
  auto nodes = parse::Decimal(*nodes_text);
  if (!nodes) {
    return EnvError("PET_NNODES='" + ShortenForMessage(*nodes_text) + "'",
                    nodes.error().message +
                        "; expected the node count as a number (an elastic range "
                        "'MIN:MAX' is torchrun's to resolve)",
                    "give the TrainJob a fixed numNodes, or run torchrun in the pod instead of rankwrap");
  }
  if (auto s = CheckProcsPerNode(ctx, "PET_NPROC_PER_NODE", "Kubeflow Trainer"); !s) return s.error();
  JobInfo job = NodeLevelJob("kubeflow", *node, *nodes, "PET_NODE_RANK", "PET_NNODES");
  if (auto s = TakeMaster(ctx, job, {"PET_MASTER_ADDR", "MASTER_ADDR"}, {"PET_MASTER_PORT", "MASTER_PORT"},
                          "Kubeflow Trainer");
      !s) {
    return s.error();
  }
  return job;
}

constexpr std::string_view kV1Hint = "the PyTorchJob controller sets it in every pod";

Probe ProbePytorchJob(const DetectContext& ctx) {
  if (!ctx.env.Has("KUBERNETES_SERVICE_HOST")) return {false, "KUBERNETES_SERVICE_HOST is not set (not a pod)"};
  for (std::string_view v : {"RANK", "WORLD_SIZE", "MASTER_ADDR"}) {
    if (!ctx.env.Has(v)) return {false, std::string(v) + " is not set"};
  }
  if (ctx.env.Has("LOCAL_RANK")) return {false, "LOCAL_RANK is set (a per-process contract, not a pod's)"};
  return {true, "a pod with RANK, WORLD_SIZE and MASTER_ADDR but no LOCAL_RANK (a Kubeflow PyTorchJob pod)"};
}

Result<JobInfo> ParsePytorchJob(const DetectContext& ctx) {
  auto pod = RequireUint(ctx, "RANK", "the pod index", kV1Hint);
  if (!pod) return pod.error();
  auto world = RequireUint(ctx, "WORLD_SIZE", "the process count", kV1Hint);
  if (!world) return world.error();
  if (auto s = CheckProcsPerNode(ctx, "PET_NPROC_PER_NODE", "the PyTorchJob (nprocPerNode)"); !s) return s.error();
  std::uint64_t per_pod = 1;
  std::string per_pod_from = "one process per pod (PET_NPROC_PER_NODE not set)";
  if (auto p = ctx.env.Get("PET_NPROC_PER_NODE")) {
    if (auto n = parse::Decimal(*p); n && *n > 0) {
      per_pod = *n;
      per_pod_from = "PET_NPROC_PER_NODE=" + std::string(*p);
    } else if (ctx.nproc) {
      per_pod = *ctx.nproc;
      per_pod_from = "--nproc " + std::to_string(*ctx.nproc) + " (PET_NPROC_PER_NODE=" + std::string(*p) + ")";
    }
  }
  if (*world % per_pod != 0) {
    return EnvError("WORLD_SIZE=" + std::to_string(*world) + " is not a multiple of " + per_pod_from,
                    "a PyTorchJob's WORLD_SIZE counts replicas x nprocPerNode processes",
                    "check the PyTorchJob's nprocPerNode and replicas");
  }
  std::uint64_t pods = *world / per_pod;
  std::string pods_from = "WORLD_SIZE / processes per pod";
  if (auto n = OptionalUint(ctx, "PET_NNODES", "the pod count", kV1Hint); !n) {
    return n.error();
  } else if (*n) {
    if (**n != pods) {
      return EnvError("PET_NNODES=" + std::to_string(**n) + " but WORLD_SIZE=" + std::to_string(*world) + " / " +
                          per_pod_from + " is " + std::to_string(pods),
                      "the pod count and the process count must agree", "check the PyTorchJob's replicas");
    }
    pods_from = "PET_NNODES";
  }
  JobInfo job = NodeLevelJob("pytorchjob", *pod, pods, "RANK (the pod index)", pods_from);
  if (per_pod > 1) {
    job.notes.push_back("RANK=" + std::to_string(*pod) + " is the pod index and WORLD_SIZE=" + std::to_string(*world) +
                        " counts processes (" + per_pod_from + "): each child of --nproc gets its own RANK");
  }
  if (auto s = TakeMaster(ctx, job, {"MASTER_ADDR"}, {"MASTER_PORT"}, "PyTorchJob"); !s) return s.error();
  return job;
}

}  // namespace

Detector KubeflowDetector() {
  return {"kubeflow", Layer::kScheduler,
          "a node of a Kubeflow Trainer v2 TrainJob (PET_NODE_RANK, PET_NNODES, PET_MASTER_ADDR): one task per node",
          &ProbeKubeflow, &ParseKubeflow};
}

Detector PytorchJobDetector() {
  return {"pytorchjob", Layer::kScheduler,
          "a pod of a Kubeflow PyTorchJob v1 (RANK = pod index, WORLD_SIZE = processes): one task per pod",
          &ProbePytorchJob, &ParsePytorchJob};
}

}  // namespace rankwrap::detect
