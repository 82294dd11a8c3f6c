// NCCL, dlopen'ed (stage: bootstrap): no link-time dependency, so the same
// rankwrap binary runs on CPU-only nodes. Only ncclGetUniqueId is used; it
// starts NCCL's bootstrap root (a listening socket and a thread) in this
// process, which must therefore outlive the ranks' ncclCommInitRank.
#pragma once

#include <string>
#include <vector>

#include "core/boot/exchange.h"
#include "core/error.h"

namespace rankwrap::nccl {

// Tries `candidates` in order (paths or bare names for the library path).
Result<boot::UniqueId> GetUniqueId(const std::vector<std::string>& candidates);

// The candidates for a CUDA_HOME (may be empty): CUDA_HOME/lib64,
// CUDA_HOME/lib, /usr/local/cuda/lib64, then libnccl.so.2 from the library path.
std::vector<std::string> Candidates(const std::string& cuda_home);

}  // namespace rankwrap::nccl
