#include "app/scheduler.h"

#include "adapters/posix/command.h"
#include "core/supervise/scheduler.h"

namespace rankwrap::app {
namespace {

Error SchedError(std::string what, std::string why, std::string hint) {
  return Error{kExitUsage, "usage", std::move(what), std::move(why), std::move(hint)};
}

Result<double> AskScheduler(const std::vector<std::string>& argv, std::optional<double> (*parse)(std::string_view),
                            const std::string& what) {
  auto out = posix::RunCommand(argv, 10);
  if (!out) return out.error();
  std::optional<double> v = out->exit_code == 0 ? parse(out->output) : std::nullopt;
  if (!v) {
    std::string shown = out->output.substr(0, 200);
    return Error{kExitEnvironment, "supervise",
                 "'" + argv[0] + " " + argv[1] + "' (exit " + std::to_string(out->exit_code) + ")",
                 "no " + what + " in its output: " + shown, "pass --grace SECONDS"};
  }
  return *v;
}

}  // namespace

Status ResolveSchedulerGrace(SuperviseConfig* s, const EnvSnapshot& env) {
  if (!s->grace_from_scheduler) return Ok{};
  Result<double> g = 0.0;
  if (env.Get("SLURM_JOB_ID")) {
    g = AskScheduler({"scontrol", "show", "config"}, &supervise::SlurmKillWait, "KillWait");
  } else if (env.Get("PBS_JOBID")) {
    auto queue = env.Get("PBS_QUEUE");
    if (!queue) {
      return SchedError("--grace scheduler under PBS without PBS_QUEUE", "kill_delay is an attribute of the queue",
                        "pass --grace SECONDS");
    }
    g = AskScheduler({"qstat", "-Qf", std::string(*queue)}, &supervise::PbsKillDelay, "kill_delay");
  } else {
    return SchedError("--grace scheduler outside a Slurm or PBS job", "neither SLURM_JOB_ID nor PBS_JOBID is set",
                      "pass --grace SECONDS");
  }
  if (!g) return g.error();
  s->grace = supervise::GraceWithin(*g);
  return Ok{};
}

Result<std::vector<std::string>> RequeueCommand(const EnvSnapshot& env) {
  if (auto id = env.Get("SLURM_JOB_ID")) return std::vector<std::string>{"scontrol", "requeue", std::string(*id)};
  if (auto id = env.Get("PBS_JOBID")) return std::vector<std::string>{"qrerun", std::string(*id)};
  return SchedError("--requeue outside a Slurm or PBS job", "neither SLURM_JOB_ID nor PBS_JOBID is set",
                    "run inside a batch job, or drop --requeue");
}

}  // namespace rankwrap::app
