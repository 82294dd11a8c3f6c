// Shared by the MPI launchers that export rank/size/local rank/local size
// under their own prefix (Open MPI, MVAPICH, Hydra).
#pragma once

#include <string_view>

#include "detect/detector.h"

namespace rankwrap::detect {

struct MpiVars {
  std::string_view launcher;
  std::string_view rank, size, local_rank, local_size;
  std::string_view hint;
};

// Reads the four numbers, then completes node rank, node count and rank 0's
// host with CompleteMpiJob. `launch_key` identifies this launch (may be "").
Result<JobInfo> ParseMpiVars(const DetectContext& ctx, const MpiVars& vars, std::string_view launch_key);

}  // namespace rankwrap::detect
