// Fuzzes the pre-flight report decoder (a node's message through the control
// plane: any bytes may arrive). Whatever Decode accepts must re-encode to the
// same bytes, within the limit; the table of accepted reports must not crash.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "core/preflight/report.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto r = rankwrap::preflight::Decode(text);
  if (!r) return 0;
  const std::string again = rankwrap::preflight::Encode(*r);
  if (again != text || again.size() > rankwrap::preflight::kMaxEncoded) std::abort();
  rankwrap::preflight::NodeReport other = *r;
  other.node += 1;
  other.version += "x";
  const std::string table = rankwrap::preflight::Table({*r, other}, "slurm");
  if (table.empty() || rankwrap::preflight::AllOk({*r, other})) std::abort();
  return 0;
}
