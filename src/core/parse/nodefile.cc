#include "core/parse/nodefile.h"

#include <unordered_set>

namespace rankwrap::parse {
namespace {
bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f'; }
}  // namespace

std::string_view ShortHostName(std::string_view host) { return host.substr(0, host.find('.')); }

std::optional<std::size_t> Nodefile::IndexOf(std::string_view host) const {
  for (std::size_t i = 0; i < hosts.size(); ++i) {
    if (hosts[i] == host) return i;
  }
  for (std::size_t i = 0; i < hosts.size(); ++i) {
    if (ShortHostName(hosts[i]) == ShortHostName(host)) return i;
  }
  return std::nullopt;
}

Parsed<Nodefile> Nodefile::Parse(std::string_view text) {
  Nodefile file;
  std::unordered_set<std::string> seen;
  std::size_t line_no = 0;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    ++line_no;
    std::string_view line = text.substr(start, end - start);
    while (!line.empty() && IsSpace(line.front())) line.remove_prefix(1);
    while (!line.empty() && IsSpace(line.back())) line.remove_suffix(1);
    start = end + 1;
    if (line.empty()) continue;
    for (char c : line) {
      if (IsSpace(c)) {
        return ParseError{line_no, "line " + std::to_string(line_no) + " '" + std::string(line) +
                                       "' holds more than one word; expected one host name"};
      }
      if (c == '\0') {
        return ParseError{line_no, "line " + std::to_string(line_no) + " holds a NUL byte"};
      }
    }
    file.lines.emplace_back(line);
    if (seen.emplace(line).second) file.hosts.emplace_back(line);
  }
  if (file.lines.empty()) return ParseError{0, "no host in the file (it is empty)"};
  return file;
}

}  // namespace rankwrap::parse
