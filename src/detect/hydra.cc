// hydra: MPICH and Intel MPI mpiexec.hydra (PMI_RANK, PMI_SIZE,
// MPI_LOCALRANKID, MPI_LOCALNRANKS). Slurm's pmi2 plugin and Flux also set
// PMI_RANK, but not MPI_LOCALRANKID, which is what marks a Hydra proxy.
#include <string>

#include "detect/launchers.h"
#include "detect/mpi_common.h"

namespace rankwrap::detect {
namespace {

constexpr std::string_view kHint =
    "launch with mpiexec.hydra in its default PMI_FD mode (not -pmi-port), which sets "
    "PMI_RANK, PMI_SIZE, MPI_LOCALRANKID and MPI_LOCALNRANKS";

Probe ProbeHydra(const DetectContext& ctx) {
  if (!ctx.env.Has("MPI_LOCALRANKID")) return {false, "MPI_LOCALRANKID is not set"};
  if (!ctx.env.Has("PMI_RANK") && !ctx.env.Has("PMI_ID")) {
    return {false, "MPI_LOCALRANKID is set but neither PMI_RANK nor PMI_ID"};
  }
  return {true, "MPI_LOCALRANKID and PMI_RANK are set (a Hydra proxy's child)"};
}

Result<JobInfo> ParseHydra(const DetectContext& ctx) {
  if (!ctx.env.Has("PMI_SIZE")) {
    return EnvError("PMI_SIZE is not set (PMI_ID=" + std::string(ctx.env.Get("PMI_ID").value_or("?")) + ")",
                    "Hydra's -pmi-port mode exports no world size to the program", std::string(kHint));
  }
  // Hydra exports no launch id. Inside Slurm it starts every proxy, on
  // mpiexec's own node too, as one srun step: that step's id is shared by
  // all ranks. On one node all ranks are children of one proxy.
  std::string key;
  auto step = ctx.env.Get("SLURM_STEP_ID");
  if (step && !step->starts_with("-") && ctx.env.Has("SLURM_STEP_NODELIST")) {
    key = std::string(*step);
  } else if (ctx.env.Get("PMI_SIZE") == ctx.env.Get("MPI_LOCALNRANKS")) {
    key = "ppid" + std::to_string(ctx.parent_pid);
  }
  return ParseMpiVars(ctx,
                      {"hydra", ctx.env.Has("PMI_RANK") ? "PMI_RANK" : "PMI_ID", "PMI_SIZE", "MPI_LOCALRANKID",
                       "MPI_LOCALNRANKS", kHint},
                      key);
}

}  // namespace

Detector HydraDetector() {
  return {"hydra", Layer::kMpi, "MPICH / Intel MPI mpiexec.hydra (PMI_RANK, MPI_LOCALRANKID)", &ProbeHydra,
          &ParseHydra};
}

}  // namespace rankwrap::detect
