#include "core/parse/counts.h"

#include <string>

#include "core/parse/number.h"

namespace rankwrap::parse {
namespace {
constexpr std::uint64_t kMaxValue = UINT32_MAX;
constexpr std::uint64_t kMaxEntries = std::uint64_t{1} << 32;
}  // namespace

Parsed<Counts> Counts::Parse(std::string_view text) {
  Counts counts;
  if (text.empty()) return ParseError{0, "empty count list"};
  std::size_t start = 0;
  while (true) {
    std::size_t comma = text.find(',', start);
    if (comma == std::string_view::npos) comma = text.size();
    const std::string_view item = text.substr(start, comma - start);
    if (item.empty()) return ParseError{start, "empty item"};
    Run run{0, 1};
    const std::size_t paren = item.find('(');
    const std::string_view value_text = item.substr(0, paren);
    if (value_text.empty()) return ParseError{start, "count missing before '('"};
    auto value = Decimal(value_text, kMaxValue);
    if (!value) {
      return ParseError{start + value.error().pos, "'" + std::string(item) + "': " + value.error().message};
    }
    run.value = *value;
    if (paren != std::string_view::npos) {
      const std::string_view rest = item.substr(paren);
      if (rest.size() < 4 || rest.substr(0, 2) != "(x" || rest.back() != ')') {
        return ParseError{start + paren, "'" + std::string(item) + "': a repeat must be written (xN)"};
      }
      auto repeat = Decimal(rest.substr(2, rest.size() - 3), kMaxValue);
      if (!repeat) {
        return ParseError{start + paren + 2, "'" + std::string(item) + "': repeat " + repeat.error().message};
      }
      if (*repeat == 0) return ParseError{start + paren + 2, "repeat count (x0)"};
      run.repeat = *repeat;
    }
    if (counts.size_ + run.repeat > kMaxEntries) return ParseError{start, "too many entries"};
    counts.size_ += run.repeat;
    counts.runs_.push_back(run);
    if (comma == text.size()) break;
    start = comma + 1;
  }
  return counts;
}

std::uint64_t Counts::at(std::uint64_t i) const {
  for (const Run& r : runs_) {
    if (i < r.repeat) return r.value;
    i -= r.repeat;
  }
  return 0;
}

std::optional<std::uint64_t> Counts::FirstZero(std::uint64_t n) const {
  std::uint64_t index = 0;
  for (const Run& r : runs_) {
    if (index >= n) break;
    if (r.value == 0) return index;
    index += r.repeat;
  }
  return std::nullopt;
}

std::uint64_t Counts::SumFirst(std::uint64_t n) const {
  std::uint64_t sum = 0;
  for (const Run& r : runs_) {
    const std::uint64_t take = n < r.repeat ? n : r.repeat;
    sum += take * r.value;
    n -= take;
    if (n == 0) break;
  }
  return sum;
}

}  // namespace rankwrap::parse
