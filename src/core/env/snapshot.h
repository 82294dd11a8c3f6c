// The process environment as a value (stage: detect). Built once, by the
// posix adapter from environ or by tests from a recorded dump; nothing else in
// rankwrap reads the environment.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace rankwrap {

class EnvSnapshot {
 public:
  EnvSnapshot() = default;
  // From "KEY=VALUE" strings; a later duplicate key wins, entries without
  // '=' are ignored (as getenv would never see them).
  static EnvSnapshot FromEntries(const std::vector<std::string>& entries);
  // From a text dump with one KEY=VALUE per line; '#' lines are comments.
  static EnvSnapshot FromText(std::string_view text);

  std::optional<std::string_view> Get(std::string_view key) const;
  bool Has(std::string_view key) const { return vars_.find(key) != vars_.end(); }
  void Set(std::string key, std::string value) { vars_[std::move(key)] = std::move(value); }
  void Unset(std::string_view key);
  const std::map<std::string, std::string, std::less<>>& vars() const { return vars_; }

 private:
  std::map<std::string, std::string, std::less<>> vars_;
};

}  // namespace rankwrap
