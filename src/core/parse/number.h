// Strict decimal and hexadecimal parsing for launcher variables (stage: detect).
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "core/error.h"

namespace rankwrap::parse {

// Parses a non-negative decimal integer: digits only, no sign, no spaces,
// at most `max`. Returns the value or where and why it is not one.
Parsed<std::uint64_t> Decimal(std::string_view text, std::uint64_t max = UINT32_MAX);

// Parses a finite non-negative decimal number of seconds, "30" or "0.5":
// digits, optionally '.' and more digits; no sign, spaces, exponent, hex,
// "inf" or "nan" (std::from_chars on the checked text). At most `max`.
Parsed<double> Seconds(std::string_view text, double max);

// Parses hexadecimal digits (either case), at most `max`.
Parsed<std::uint64_t> Hex(std::string_view text, std::uint64_t max = UINT32_MAX);

// `text` cut at every `sep`, empty pieces kept ("a,,b" -> a, "", b; "" -> "").
std::vector<std::string_view> Split(std::string_view text, char sep);

}  // namespace rankwrap::parse
