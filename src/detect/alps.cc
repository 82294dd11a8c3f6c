// alps: a process started by Cray ALPS aprun. ALPS exports ALPS_APP_PE (the
// processing element, i.e. the global rank) and ALPS_APP_ID, and neither the
// world size nor a local rank (launchers-2026.md; Cray's aprun(1) man page):
// refused with the fix, never taken as a world of one.
#include <string>

#include "detect/launchers.h"

namespace rankwrap::detect {
namespace {

Probe ProbeAlps(const DetectContext& ctx) {
  if (auto pe = ctx.env.Get("ALPS_APP_PE")) return {true, "ALPS_APP_PE=" + std::string(*pe) + " is set (aprun)"};
  return {false, "ALPS_APP_PE is not set"};
}

Result<JobInfo> ParseAlps(const DetectContext& ctx) {
  return EnvError("ALPS_APP_PE=" + std::string(ctx.env.Get("ALPS_APP_PE").value_or("")) +
                      " is set but aprun exports no world size and no local rank",
                  "Cray ALPS names only this process's PE (ALPS_APP_PE) and the application (ALPS_APP_ID)",
                  "export RANK, WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE, MASTER_ADDR and MASTER_PORT from the "
                  "job script and run 'rankwrap --launcher inherited', or use an MPI launcher rankwrap knows");
}

}  // namespace

Detector AlpsDetector() {
  return {"alps", Layer::kMpi, "Cray ALPS aprun (ALPS_APP_PE): refused, no world size or local rank", &ProbeAlps,
          &ParseAlps};
}

}  // namespace rankwrap::detect
