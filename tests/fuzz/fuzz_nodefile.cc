// Fuzzes the host-file parser (PBS_NODEFILE, LSB_DJOB_RANKFILE).
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "core/parse/nodefile.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto file = rankwrap::parse::Nodefile::Parse(text);
  if (!file) return 0;
  if (file->lines.empty() || file->hosts.empty() || file->hosts.size() > file->lines.size()) std::abort();
  for (std::size_t i = 0; i < file->hosts.size(); ++i) {
    auto at = file->IndexOf(file->hosts[i]);
    if (!at || *at != i) std::abort();
  }
  return 0;
}
