// prrte: a process started by PRRTE's prterun/prun (or another PMIx launcher
// that names itself nowhere else). PMIx's server sets PMIX_RANK and
// PMIX_NAMESPACE (openpmix src/server/pmix_server.c), PRRTE adds
// PRTE_LAUNCHED=1; the world size and the local rank are only in the PMIx
// API, and OMPI_COMM_WORLD_* only appear with the ompi personality
// (openpmix src/mca/pmdl/ompi/pmdl_ompi.c), where the ompi detector wins.
// srun --mpi=pmix namespaces are "slurm.pmix.<job>.<step>"
// (src/plugins/mpi/pmix/pmixp_info.c): Slurm's step describes those.
// Refused with the fix: rankwrap never assumes a world of one here.
#include <string>

#include "detect/launchers.h"

namespace rankwrap::detect {
namespace {

Probe ProbePrrte(const DetectContext& ctx) {
  auto rank = ctx.env.Get("PMIX_RANK");
  if (!rank) return {false, "PMIX_RANK is not set"};
  const std::string ns(ctx.env.Get("PMIX_NAMESPACE").value_or(""));
  if (ns.rfind("slurm.pmix.", 0) == 0) {
    return {false, "PMIX_NAMESPACE=" + ns + " is srun --mpi=pmix's: the Slurm step is read instead"};
  }
  return {true, "PMIX_RANK=" + std::string(*rank) + " is set" + (ns.empty() ? "" : " (PMIX_NAMESPACE=" + ns + ")")};
}

Result<JobInfo> ParsePrrte(const DetectContext& ctx) {
  const std::string ns(ctx.env.Get("PMIX_NAMESPACE").value_or("not set"));
  return EnvError("PMIX_RANK=" + std::string(ctx.env.Get("PMIX_RANK").value_or("")) + " (PMIX_NAMESPACE=" +
                      ShortenForMessage(ns) + ") is a PMIx launch without a world size in the environment",
                  "PRRTE (prterun, prun) gives the world size and the local rank through the PMIx API only; "
                  "OMPI_COMM_WORLD_* are exported with the ompi personality",
                  "launch with 'prterun --personality ompi ...' or Open MPI's mpirun (OMPI_COMM_WORLD_*), or "
                  "pick another launcher with --launcher");
}

}  // namespace

Detector PrrteDetector() {
  return {"prrte", Layer::kMpi,
          "PRRTE prterun/prun without the ompi personality (PMIX_RANK only): refused, the world size is not "
          "in the environment",
          &ProbePrrte, &ParsePrrte};
}

}  // namespace rankwrap::detect
