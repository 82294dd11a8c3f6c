#include "core/supervise/errorfile.h"

#include <nlohmann/json.hpp>

namespace rankwrap::supervise {

std::optional<RankError> ParseErrorFile(std::string_view text) {
  const nlohmann::json j = nlohmann::json::parse(text.begin(), text.end(), nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("message")) return std::nullopt;
  const nlohmann::json& m = j["message"];
  RankError e;
  if (m.is_string()) {
    e.message = m.get<std::string>();
    return e;
  }
  if (!m.is_object() || !m.contains("message") || !m["message"].is_string()) return std::nullopt;
  e.message = m["message"].get<std::string>();
  if (m.contains("extraInfo") && m["extraInfo"].is_object()) {
    const nlohmann::json& x = m["extraInfo"];
    if (x.contains("py_callstack") && x["py_callstack"].is_string()) e.traceback = x["py_callstack"].get<std::string>();
    if (x.contains("timestamp") && x["timestamp"].is_string()) e.timestamp = x["timestamp"].get<std::string>();
  }
  return e;
}

std::string ErrorSummary(const RankError& e, std::size_t limit) {
  std::string out = e.message.substr(0, limit);
  if (e.traceback.empty() || out.size() + 16 > limit) return out;
  const std::size_t room = limit - out.size() - 1;
  std::string tail = e.traceback;
  while (!tail.empty() && tail.back() == '\n') tail.pop_back();
  if (tail.size() > room) {
    tail = tail.substr(tail.size() - room + 4);
    const std::size_t nl = tail.find('\n');
    tail = "...\n" + (nl == std::string::npos ? tail : tail.substr(nl + 1));
  }
  return out + "\n" + tail;
}

}  // namespace rankwrap::supervise
