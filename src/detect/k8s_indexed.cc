// k8s-indexed: a pod of a Kubernetes Indexed Job (also each Job of a JobSet).
// Kubernetes sets JOB_COMPLETION_INDEX (kubernetes.io docs, "Jobs: Completion
// mode Indexed"; the batch.kubernetes.io/job-completion-index annotation) and
// nothing else about the job: the node count, rank 0's host and a port are
// the job author's to pass (NUM_NODES, MASTER_ADDR, MASTER_PORT in the pod
// spec; rank 0's host is pod 0's hostname under the Job's headless service,
// <job>-0.<subdomain>). Missing ones are refused, naming the variable.
#include <string>

#include "detect/launchers.h"

namespace rankwrap::detect {
namespace {

Probe ProbeIndexed(const DetectContext& ctx) {
  if (auto i = ctx.env.Get("JOB_COMPLETION_INDEX")) {
    return {true, "JOB_COMPLETION_INDEX=" + std::string(*i) + " is set (a pod of an Indexed Job)"};
  }
  return {false, "JOB_COMPLETION_INDEX is not set"};
}

Result<JobInfo> ParseIndexed(const DetectContext& ctx) {
  auto index = RequireUint(ctx, "JOB_COMPLETION_INDEX", "the pod's completion index",
                           "Kubernetes sets it in the pods of an Indexed Job");
  if (!index) return index.error();
  auto nodes = RequireUint(ctx, "NUM_NODES", "the Job's pod count (.spec.completions)",
                           "an Indexed Job exports no pod count: set NUM_NODES in the pod spec to .spec.completions");
  if (!nodes) return nodes.error();
  JobInfo job = NodeLevelJob("k8s-indexed", *index, *nodes, "JOB_COMPLETION_INDEX", "NUM_NODES");
  if (auto s = TakeMaster(ctx, job, {"MASTER_ADDR"}, {"MASTER_PORT"}, "the Indexed Job's pod spec"); !s) {
    return s.error();
  }
  if (!job.master_addr) {
    job.master_addr_hint =
        "set MASTER_ADDR in the pod spec to pod 0's host (<job>-0.<headless service>), or pass --master-addr HOST";
  }
  return job;
}

}  // namespace

Detector IndexedJobDetector() {
  return {"k8s-indexed", Layer::kScheduler,
          "a pod of a Kubernetes Indexed Job or JobSet (JOB_COMPLETION_INDEX; NUM_NODES, MASTER_ADDR, "
          "MASTER_PORT from the pod spec): one task per pod",
          &ProbeIndexed, &ParseIndexed};
}

}  // namespace rankwrap::detect
