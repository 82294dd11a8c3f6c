// standalone: no launcher at all: a world of one on this host.
#include "detect/launchers.h"

namespace rankwrap::detect {
namespace {

Probe ProbeStandalone(const DetectContext&) { return {true, "no launcher variables found: a world of one"}; }

Result<JobInfo> ParseStandalone(const DetectContext&) {
  JobInfo job;
  job.launcher = "standalone";
  job.world_size = job.local_world_size = job.num_nodes = 1;
  job.from = {"standalone", "standalone", "standalone", "standalone", "standalone", "standalone"};
  job.master_addr = "127.0.0.1";
  job.master_addr_from = "a world of one: loopback";
  job.local_port_ok = true;
  return job;
}

}  // namespace

Detector StandaloneDetector() {
  return {"standalone", Layer::kNone, "no launcher: a world of one", &ProbeStandalone, &ParseStandalone};
}

}  // namespace rankwrap::detect
