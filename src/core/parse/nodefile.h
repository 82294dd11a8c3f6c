// Host files with one host per line: PBS_NODEFILE (one line per MPI slot) and
// LSF's LSB_DJOB_RANKFILE (one line per rank). Stage: detect.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"

namespace rankwrap::parse {

struct Nodefile {
  std::vector<std::string> lines;  // one entry per non-blank line, trimmed
  std::vector<std::string> hosts;  // de-duplicated, in order of first appearance

  // Node index of `host` (position in `hosts`). A short name also matches a
  // fully qualified entry and the other way round ("n1" vs "n1.cluster").
  std::optional<std::size_t> IndexOf(std::string_view host) const;

  // Parses the file's text. Errors: no host at all, or a line holding more
  // than one word (ParseError::pos is the 1-based line number).
  static Parsed<Nodefile> Parse(std::string_view text);
};

// "n1.cluster.org" -> "n1".
std::string_view ShortHostName(std::string_view host);

}  // namespace rankwrap::parse
