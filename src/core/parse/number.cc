#include "core/parse/number.h"

#include <charconv>
#include <cmath>
#include <string>

namespace rankwrap::parse {
namespace {

int DigitValue(char c, int base) {
  int v = -1;
  if (c >= '0' && c <= '9')
    v = c - '0';
  else if (c >= 'a' && c <= 'f')
    v = c - 'a' + 10;
  else if (c >= 'A' && c <= 'F')
    v = c - 'A' + 10;
  return v < base ? v : -1;
}

Parsed<std::uint64_t> Number(std::string_view text, std::uint64_t max, int base) {
  if (text.empty()) return ParseError{0, "empty, expected a number"};
  std::uint64_t value = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const int d = DigitValue(text[i], base);
    if (d < 0) {
      return ParseError{
          i, std::string("'") + text[i] + "' is not a " + (base == 10 ? "decimal" : "hexadecimal") + " digit"};
    }
    if (value > (max - static_cast<std::uint64_t>(d)) / static_cast<std::uint64_t>(base)) {
      return ParseError{i, "larger than " + std::to_string(max)};
    }
    value = value * static_cast<std::uint64_t>(base) + static_cast<std::uint64_t>(d);
  }
  return value;
}

}  // namespace

Parsed<std::uint64_t> Decimal(std::string_view text, std::uint64_t max) { return Number(text, max, 10); }

Parsed<double> Seconds(std::string_view text, double max) {
  if (text.empty()) return ParseError{0, "empty, expected a number"};
  // The grammar first: from_chars alone would take "inf", "nan", "-1" and,
  // with the general format, "1e1".
  std::size_t i = 0;
  while (i < text.size() && text[i] >= '0' && text[i] <= '9') ++i;
  if (i == 0) {
    return ParseError{0, std::string("'") + text[0] + "' is not a decimal digit"};
  }
  if (i < text.size() && text[i] == '.') {
    const std::size_t frac = ++i;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') ++i;
    if (i == frac) return ParseError{i, "digits expected after '.'"};
  }
  if (i < text.size()) {
    return ParseError{i, std::string("'") + text[i] + "' is not a decimal digit"};
  }
  double value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value, std::chars_format::fixed);
  if (ec != std::errc() || end != text.data() + text.size() || !std::isfinite(value)) {
    return ParseError{0, "not a finite number"};
  }
  if (value > max) return ParseError{0, "larger than " + std::to_string(static_cast<long long>(max))};
  return value;
}

Parsed<std::uint64_t> Hex(std::string_view text, std::uint64_t max) { return Number(text, max, 16); }

std::vector<std::string_view> Split(std::string_view text, char sep) {
  std::vector<std::string_view> out;
  std::size_t start = 0;
  while (true) {
    const std::size_t at = text.find(sep, start);
    if (at == std::string_view::npos) {
      out.push_back(text.substr(start));
      return out;
    }
    out.push_back(text.substr(start, at - start));
    start = at + 1;
  }
}

}  // namespace rankwrap::parse
