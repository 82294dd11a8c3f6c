#include "core/supervise/logrun.h"

#include <ctime>

#include "core/parse/number.h"

namespace rankwrap::supervise {
namespace {

constexpr std::size_t kMaxName = 96;

std::string Sanitize(std::string_view s) {
  std::string out;
  for (char c : s) {
    const bool ok =
        (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
    out += ok ? c : '_';
  }
  if (out.size() > kMaxName) out.resize(kMaxName);
  if (!out.empty() && out.front() == '.') out.insert(out.begin(), '_');
  return out;
}

}  // namespace

std::string LogRunName(const JobInfo& job, std::optional<std::string_view> restart_count) {
  // job_key: "SLURM_JOB_ID=123/4", "PBS_JOBID=7.server", "JOB_ID=9/2",
  // "launch/<the MPI launch's id>" (detect/fields.cc SetJobKey).
  std::string_view key = job.job_key;
  if (key.empty()) return "";
  if (key.substr(0, 7) == "launch/") {
    key.remove_prefix(7);
  } else if (const std::size_t eq = key.find('='); eq != std::string_view::npos) {
    key.remove_prefix(eq + 1);
  }
  std::string base;
  for (char c : key) base += c == '/' ? '.' : c;
  // The key is cut, never the suffix: a long key (an MPI launcher's
  // namespace) must still tell a requeued run from the first one.
  std::string name = Sanitize(base);
  if (restart_count) {
    if (auto n = parse::Decimal(*restart_count, UINT32_MAX); n && *n > 0) {
      name += ".requeue-" + std::to_string(*n);
    }
  }
  return name;
}

std::string LocalLogRunName(long long unix_seconds, long pid) {
  const std::time_t t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y%m%d-%H%M%S", &tm);
  return "local-" + std::string(buf) + "-" + std::to_string(pid);
}

std::string LogRunCandidate(const std::string& name, unsigned n) {
  return n == 0 ? name : name + ".rerun-" + std::to_string(n);
}

}  // namespace rankwrap::supervise
