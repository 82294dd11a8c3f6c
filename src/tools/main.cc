// rankwrap: the thin main. The pipeline, in order:
//   env      = the process environment, read once
//   job      = detect::Run(registry, env)    -> JobInfo (+ --explain trace)
//   contract = plan::Ranks(job, options)     -> the variables to export
//   exec     = posix::Exec(program, env + contract)
// Only this file prints errors and chooses the exit code.
#include <cstdio>
#include <iostream>

#include "adapters/posix/posix.h"
#include "core/launch/report.h"
#include "core/plan/contract.h"
#include "detect/registry.h"
#include "tools/options.h"
#include "version.h"

namespace {

int Report(const rankwrap::Error& e, const std::string& rank, const std::string& host) {
  std::cerr << "rankwrap[" << rank << "@" << host << "]: error: " << e.stage << ": " << e.what
            << ": " << e.why << "\nhint: " << e.hint << "\n";
  return e.exit_code;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace rankwrap;
  const EnvSnapshot env = posix::EnvironmentFromProcess();
  const std::string host = posix::HostName();
  auto opts = tools::ParseCommandLine(argc, argv, env);
  if (!opts) return Report(opts.error(), "?", host);
  if (opts->help) {
    std::cout << tools::HelpText();
    return 0;
  }
  if (opts->version) {
    std::cout << "rankwrap " << RANKWRAP_VERSION << "\n";
    return 0;
  }

  const posix::DiskFileReader files;
  const detect::DetectContext ctx{env, files, host, posix::ParentPid()};
  std::vector<TraceLine> trace;
  auto job = detect::Run(detect::Registry(), ctx, opts->launcher, &trace);
  if (!job) {
    if (opts->explain) std::cerr << launch::Explain(trace, nullptr);
    return Report(job.error(), "?", host);
  }
  const std::string rank = std::to_string(job->rank);

  auto contract = plan::Ranks(*job, {opts->master_addr, opts->master_port}, env,
                              [] { return posix::FreeLocalPort(); });
  if (opts->explain) std::cerr << launch::Explain(trace, contract ? &*contract : nullptr);
  if (!contract) return Report(contract.error(), rank, host);
  for (const auto& w : contract->warnings) {
    std::cerr << "rankwrap[" << rank << "@" << host << "]: warning: " << w << "\n";
  }

  if (opts->print_env) {
    std::cout << launch::PrintEnv(*contract);
    return 0;
  }
  if (opts->dry_run) {
    std::cout << (opts->json ? launch::Json(*contract, opts->program)
                             : launch::DryRun(*contract, opts->program));
    return 0;
  }
  EnvSnapshot child = env;
  for (const auto& [k, v] : contract->env) child.Set(k, v);
  std::cout.flush();
  std::cerr.flush();
  return Report(posix::Exec(opts->program, child), rank, host);
}
