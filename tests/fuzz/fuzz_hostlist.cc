// Fuzzes the hostlist parser, and checks that size/at/Find/Expand agree on
// every list small enough to expand.
#include <cctype>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "core/parse/hostlist.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  // Names CheckHostName accepts are 1-253 bytes of [A-Za-z0-9._:-].
  if (rankwrap::parse::CheckHostName(text).ok()) {
    if (text.empty() || text.size() > 253) std::abort();
    for (char c : text) {
      if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_' || c == ':')) std::abort();
    }
  }
  auto list = rankwrap::parse::Hostlist::Parse(text);
  if (!list) {
    if (list.error().pos > size) std::abort();  // the fault offset lies in the input
    return 0;
  }
  if (list->size() == 0 || list->size() > rankwrap::parse::Hostlist::kMaxHosts) std::abort();
  if (list->size() > 2000) {
    (void)list->at(list->size() - 1);
    return 0;
  }
  const auto all = list->Expand();
  if (all.size() != list->size()) std::abort();
  // Compress is the inverse of Expand.
  auto again = rankwrap::parse::Hostlist::Parse(rankwrap::parse::Compress(all));
  if (!again || again->Expand() != all) std::abort();
  for (std::uint64_t i = 0; i < all.size(); ++i) {
    if (list->at(i) != all[i]) std::abort();
    if (all[i].size() > rankwrap::parse::Hostlist::kMaxNameLength) std::abort();
    auto found = list->Find(all[i]);
    // Duplicates are allowed; Find returns the first occurrence.
    if (!found || *found > i || all[*found] != all[i]) std::abort();
  }
  return 0;
}
