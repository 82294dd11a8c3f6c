// Loads the MPI adapter module for one MPI flavour (stage: bootstrap).
#pragma once

#include <string>
#include <vector>

#include "adapters/mpi/mpi_api.h"
#include "core/error.h"

namespace rankwrap::mpi {

// dlopens librankwrap_mpi_<flavor>.so ("openmpi" or "mpich") from
// `override_path` if given, else next to the rankwrap binary (a build tree),
// else from `install_reldir` relative to it (the install's lib/rankwrap).
// Errors (exit 5) list the paths tried.
Result<const RankwrapMpiApi*> Load(const std::string& flavor, const std::string& override_path,
                                   const std::string& install_reldir);

}  // namespace rankwrap::mpi
