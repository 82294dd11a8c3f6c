#include "core/supervise/scheduler.h"

#include <string>

#include "core/parse/number.h"

namespace rankwrap::supervise {
namespace {

// The value of "key = value" on a line of its own (spaces around '=').
std::optional<std::string_view> Value(std::string_view text, std::string_view key) {
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    const std::size_t b = line.find_first_not_of(" \t");
    if (b == std::string_view::npos) continue;
    line.remove_prefix(b);
    if (line.substr(0, key.size()) != key) continue;
    line.remove_prefix(key.size());
    const std::size_t eq = line.find_first_not_of(" \t");
    if (eq == std::string_view::npos || line[eq] != '=') continue;
    line.remove_prefix(eq + 1);
    const std::size_t v = line.find_first_not_of(" \t");
    if (v == std::string_view::npos) return std::string_view{};
    line.remove_prefix(v);
    const std::size_t ve = line.find_last_not_of(" \t\r");
    return line.substr(0, ve + 1);
  }
  return std::nullopt;
}

std::optional<double> LeadingSeconds(std::string_view v) {
  const std::size_t digits = v.find_first_not_of("0123456789");
  auto n = parse::Decimal(v.substr(0, digits), 86400 * 7);
  if (!n) return std::nullopt;
  return static_cast<double>(*n);
}

}  // namespace

std::optional<double> SlurmKillWait(std::string_view show_config) {
  auto v = Value(show_config, "KillWait");
  if (!v) return std::nullopt;
  return LeadingSeconds(*v);  // "30 sec"
}

std::optional<double> PbsKillDelay(std::string_view qstat_queue) {
  if (qstat_queue.find("Queue:") == std::string_view::npos) return std::nullopt;
  auto v = Value(qstat_queue, "kill_delay");
  if (!v) return 10.0;
  return LeadingSeconds(*v);
}

double GraceWithin(double scheduler_seconds) { return scheduler_seconds > 1 ? scheduler_seconds - 1 : 0; }

}  // namespace rankwrap::supervise
