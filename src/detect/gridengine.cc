// gridengine: a parallel-environment job of Grid Engine (SGE, Univa/Altair Grid
// Engine). sge_pe(5) and qsub(1) "ENVIRONMENTAL VARIABLES": PE_HOSTFILE
// names a file with one line per host, "host slots queue processor-range";
// NHOSTS, NSLOTS, JOB_ID, SGE_TASK_ID ("undefined" outside array jobs), PE.
// The job script runs on the master host, the file's first line. One
// rankwrap per host (the job script plus 'qrsh -inherit HOST rankwrap ...'
// on the others) is node-level: node rank = this host's line in the file.
// Under mpirun with Grid Engine support the MPI detectors win (innermost).
#include <string>

#include "core/parse/hostlist.h"
#include "core/parse/nodefile.h"
#include "core/parse/number.h"
#include "detect/launchers.h"

namespace rankwrap::detect {
namespace {

constexpr std::string_view kHint = "run inside a Grid Engine parallel environment job (qsub -pe PE N)";

Probe ProbeSge(const DetectContext& ctx) {
  if (auto f = ctx.env.Get("PE_HOSTFILE")) {
    return {true, "PE_HOSTFILE=" + ShortenForMessage(*f) + " is set (a Grid Engine parallel job)"};
  }
  return {false, "PE_HOSTFILE is not set"};
}

Result<JobInfo> ParseSge(const DetectContext& ctx) {
  const std::string path(*ctx.env.Get("PE_HOSTFILE"));
  auto text = ctx.files.Read(path);
  if (!text) {
    return EnvError("PE_HOSTFILE='" + ShortenForMessage(path) + "' cannot be read",
                    text.error().reason + "; expected Grid Engine's host file (host slots queue range)",
                    std::string(kHint));
  }
  std::vector<std::string> hosts;
  std::size_t line_no = 0;
  for (std::string_view line : parse::Split(*text, '\n')) {
    ++line_no;
    const std::size_t b = line.find_first_not_of(" \t\r");
    if (b == std::string_view::npos) continue;
    const std::size_t e = line.find_first_of(" \t\r", b);
    std::string host(line.substr(b, e == std::string_view::npos ? std::string_view::npos : e - b));
    if (auto ok = parse::CheckHostName(host); !ok) {
      return EnvError("PE_HOSTFILE='" + ShortenForMessage(path) + "' line " + std::to_string(line_no),
                      ok.error().message + "; expected 'host slots queue range'", std::string(kHint));
    }
    hosts.push_back(host);
  }
  if (hosts.empty()) {
    return EnvError("PE_HOSTFILE='" + ShortenForMessage(path) + "' names no host",
                    "expected one line per host of the job", std::string(kHint));
  }
  std::optional<std::uint64_t> node;
  for (std::size_t i = 0; i < hosts.size() && !node; ++i) {
    if (hosts[i] == ctx.hostname || parse::ShortHostName(hosts[i]) == parse::ShortHostName(ctx.hostname)) node = i;
  }
  if (!node) {
    return EnvError("this host '" + ctx.hostname + "' is not in PE_HOSTFILE='" + ShortenForMessage(path) + "'",
                    "a rank runs on one of the job's hosts", "start rankwrap on the job's hosts (qrsh -inherit HOST)");
  }
  if (auto n = OptionalUint(ctx, "NHOSTS", "the host count", kHint); !n) {
    return n.error();
  } else if (*n && **n != hosts.size()) {
    return EnvError(
        "NHOSTS=" + std::to_string(**n) + " but PE_HOSTFILE lists " + std::to_string(hosts.size()) + " hosts",
        "the two must agree", "do not overwrite Grid Engine's variables");
  }
  JobInfo job =
      NodeLevelJob("gridengine", *node, hosts.size(), "line of this host in PE_HOSTFILE", "hosts in PE_HOSTFILE");
  job.master_addr = hosts.front();
  job.master_addr_from = "first host of PE_HOSTFILE (the master host, where the job script runs)";
  if (ctx.env.Has("MASTER_PORT")) {
    if (auto s = TakePort(ctx, job, {"MASTER_PORT"}, "the job script"); !s) return s.error();
  } else if (auto id = ctx.env.Get("JOB_ID")) {
    const std::string task(ctx.env.Get("SGE_TASK_ID").value_or(""));
    job.job_key = "JOB_ID=" + std::string(*id) + (task.empty() || task == "undefined" ? "" : "/" + task);
    if (auto n = parse::Decimal(*id)) {
      job.job_numeric = *n;
      auto t = parse::Decimal(task);
      job.step_numeric = t ? *t : 0;
    }
  } else {
    job.master_port_hint = "set MASTER_PORT in the job script, or pass --master-port PORT";
  }
  return job;
}

}  // namespace

Detector GridEngineDetector() {
  return {"gridengine", Layer::kScheduler,
          "a Grid Engine parallel job (PE_HOSTFILE): one task per host, rank 0 on the master host", &ProbeSge,
          &ParseSge};
}

}  // namespace rankwrap::detect
