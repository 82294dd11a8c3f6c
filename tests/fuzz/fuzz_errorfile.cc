// Fuzzes the TORCHELASTIC_ERROR_FILE reader (what a rank wrote: any bytes)
// and the summary sent to the other nodes, which must fit its limit.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "core/supervise/errorfile.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto e = rankwrap::supervise::ParseErrorFile(text);
  if (!e) return 0;
  for (std::size_t limit : {0u, 20u, 64u, 1000u}) {
    if (rankwrap::supervise::ErrorSummary(*e, limit).size() > limit) std::abort();
  }
  return 0;
}
