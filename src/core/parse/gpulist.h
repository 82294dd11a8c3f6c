// GPU lists as launchers leave them in CUDA_VISIBLE_DEVICES,
// ROCR_VISIBLE_DEVICES, SLURM_STEP_GPUS, SLURM_JOB_GPUS. Stage: detect/bind.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"

namespace rankwrap::parse {

struct GpuRef {
  std::optional<std::uint32_t> index;  // set for "3"
  std::string uuid;                    // set for "GPU-..." / "MIG-..."
  bool operator==(const GpuRef&) const = default;
};

// "" and "-1" mean no GPU (Flux writes -1 for a job without GPUs). Otherwise
// a comma list of indices, index ranges "2-4", or UUIDs "GPU-<hex/dashes>",
// "MIG-<...>". Duplicates are an error: two ranks' lists never repeat a GPU.
Parsed<std::vector<GpuRef>> GpuList(std::string_view text);

}  // namespace rankwrap::parse
