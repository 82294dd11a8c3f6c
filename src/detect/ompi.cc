// ompi: Open MPI mpirun 4.x (ORTE) and 5.x (PRRTE). OMPI_COMM_WORLD_* are
// the innermost truth: under mpirun inside sbatch every rank also inherits
// the orted step's SLURM_PROCID=0 (slurm-lab.md, captured dumps).
#include <string>

#include "detect/launchers.h"
#include "detect/mpi_common.h"

namespace rankwrap::detect {
namespace {

Probe ProbeOmpi(const DetectContext& ctx) {
  if (auto r = ctx.env.Get("OMPI_COMM_WORLD_RANK")) {
    return {true, "OMPI_COMM_WORLD_RANK=" + std::string(*r) + " is set"};
  }
  return {false, "OMPI_COMM_WORLD_RANK is not set"};
}

Result<JobInfo> ParseOmpi(const DetectContext& ctx) {
  // One id per mpirun, the same on every rank: ORTE's job id (v4), else the
  // head of the HNP URI, else the PMIx namespace (v5).
  std::string key;
  if (auto id = ctx.env.Get("OMPI_MCA_ess_base_jobid")) {
    key = std::string(*id);
  } else if (auto uri = ctx.env.Get("OMPI_MCA_orte_hnp_uri")) {
    key = std::string(uri->substr(0, uri->find('.')));
  } else if (auto ns = ctx.env.Get("PMIX_NAMESPACE")) {
    key = std::string(*ns);
  }
  return ParseMpiVars(ctx,
                      {"ompi", "OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE", "OMPI_COMM_WORLD_LOCAL_RANK",
                       "OMPI_COMM_WORLD_LOCAL_SIZE", "launch with Open MPI's mpirun, which sets OMPI_COMM_WORLD_*"},
                      key);
}

}  // namespace

Detector OmpiDetector() {
  return {"ompi", Layer::kMpi, "Open MPI mpirun/mpiexec 4.x and 5.x (OMPI_COMM_WORLD_*)", &ProbeOmpi, &ParseOmpi};
}

}  // namespace rankwrap::detect
