// Fuzzes the run-length count parser and checks at()/SumFirst() agree.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "core/parse/counts.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto counts = rankwrap::parse::Counts::Parse(text);
  if (!counts) return 0;
  if (counts->size() == 0) std::abort();
  const std::uint64_t n = counts->size() < 5000 ? counts->size() : 5000;
  std::uint64_t sum = 0;
  for (std::uint64_t i = 0; i < n; ++i) {
    sum += counts->at(i);
    if (counts->SumFirst(i + 1) != sum) std::abort();
  }
  return 0;
}
