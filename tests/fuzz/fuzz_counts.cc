// Fuzzes the run-length count parser and checks at()/SumFirst()/FirstZero()
// agree; also the strict number parsers (Decimal, Seconds) on the same bytes.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include <cmath>
#include <string>

#include "core/parse/counts.h"
#include "core/parse/number.h"

namespace {

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// Decimal and Seconds accept only digits (Seconds: one '.' between digits),
// give values within their bound, and point at a byte of the input.
void CheckNumbers(std::string_view text) {
  using namespace rankwrap::parse;
  if (auto d = Decimal(text, 4096)) {
    if (*d > 4096 || text.empty()) std::abort();
    for (char c : text) {
      if (!IsDigit(c)) std::abort();
    }
  } else if (d.error().pos > text.size()) {
    std::abort();
  }
  if (auto s = Seconds(text, 86400)) {
    if (!std::isfinite(*s) || *s < 0 || *s > 86400 || text.empty() || !IsDigit(text.front()) || !IsDigit(text.back())) {
      std::abort();
    }
    int dots = 0;
    for (char c : text) {
      if (c == '.')
        ++dots;
      else if (!IsDigit(c))
        std::abort();
    }
    if (dots > 1) std::abort();
  } else if (s.error().pos > text.size()) {
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  CheckNumbers(text);
  auto counts = rankwrap::parse::Counts::Parse(text);
  if (!counts) return 0;
  if (counts->size() == 0) std::abort();
  const std::uint64_t n = counts->size() < 5000 ? counts->size() : 5000;
  std::uint64_t sum = 0;
  for (std::uint64_t i = 0; i < n; ++i) {
    sum += counts->at(i);
    if (counts->SumFirst(i + 1) != sum) std::abort();
    auto zero = counts->FirstZero(i + 1);
    if (counts->at(i) == 0 && (!zero || *zero > i)) std::abort();
    if (zero && counts->at(*zero) != 0) std::abort();
  }
  return 0;
}
