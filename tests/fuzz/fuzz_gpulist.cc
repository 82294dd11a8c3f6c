// Fuzzes the GPU list parser (CUDA_VISIBLE_DEVICES and friends).
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "core/parse/gpulist.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto gpus = rankwrap::parse::GpuList(text);
  if (!gpus) return 0;
  for (const auto& g : *gpus) {
    if (g.index.has_value() == !g.uuid.empty()) std::abort();  // exactly one identity
  }
  return 0;
}
