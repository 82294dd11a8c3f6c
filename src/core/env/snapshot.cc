#include "core/env/snapshot.h"

namespace rankwrap {

EnvSnapshot EnvSnapshot::FromEntries(const std::vector<std::string>& entries) {
  EnvSnapshot env;
  for (const std::string& e : entries) {
    const std::size_t eq = e.find('=');
    if (eq == std::string::npos || eq == 0) continue;
    env.vars_[e.substr(0, eq)] = e.substr(eq + 1);
  }
  return env;
}

EnvSnapshot EnvSnapshot::FromText(std::string_view text) {
  std::vector<std::string> entries;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(start, end - start);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (!line.empty() && line.front() != '#') entries.emplace_back(line);
    start = end + 1;
  }
  return FromEntries(entries);
}

std::optional<std::string_view> EnvSnapshot::Get(std::string_view key) const {
  const auto it = vars_.find(key);
  if (it == vars_.end()) return std::nullopt;
  return std::string_view(it->second);
}

void EnvSnapshot::Unset(std::string_view key) {
  const auto it = vars_.find(key);
  if (it != vars_.end()) vars_.erase(it);
}

}  // namespace rankwrap
