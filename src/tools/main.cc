// rankwrap: the thin main. The pipeline, in order:
//   env      = the process environment, read once
//   prepared = app::Prepare(options, env)        detect -> contract -> topology -> node plan
//   exec       posix::BindProcess(this rank's line), then posix::Exec(program, env + contract + binding)
//   or         app::MpiBootstrap (--nccl-bootstrap=mpi): fork, MPI exchange, release, supervise
// Only this file prints errors and chooses the exit code.
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <iostream>

#include "adapters/posix/child.h"
#include "adapters/posix/posix.h"
#include "app/bootstrap.h"
#include "app/pipeline.h"
#include "app/supervise.h"
#include "core/launch/report.h"
#include "core/parse/hostlist.h"
#include "tools/options.h"
#include "version.h"

namespace {

using namespace rankwrap;

// One write(2) per message, so lines of ranks sharing a terminal or a
// launcher's pipe never interleave mid-line.
void Print(const std::string& text) {
  std::size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = write(2, text.data() + done, text.size() - done);
    if (n <= 0) break;
    done += static_cast<std::size_t>(n);
  }
}

int Report(const Error& e, const std::string& rank, const std::string& host) {
  if (!e.quiet) {
    Print("rankwrap[" + rank + "@" + host + "]: error: " + e.stage + ": " + e.what + ": " + e.why +
          "\nhint: " + e.hint + "\n");
  }
  return e.exit_code;
}

// `rankwrap hostnames LIST`: one host per line, like `scontrol show
// hostnames` (which containers often lack). `rankwrap hostlist HOST...`:
// the compressed expression, like `scontrol show hostlist`.
int RunHostlist(int argc, char** argv, const std::string& host) {
  const std::string cmd = argv[1];
  if (argc < 3) {
    return Report(Error{kExitUsage, "usage", "'rankwrap " + cmd + "' needs an argument",
                        cmd == "hostnames" ? "expected a Slurm host list such as nid[001-004]"
                                           : "expected host names",
                        cmd == "hostnames" ? "rankwrap hostnames 'nid[001-004]'" : "rankwrap hostlist n1 n2 n3"},
                  "?", host);
  }
  std::string out;
  if (cmd == "hostnames") {
    for (int i = 2; i < argc; ++i) {
      auto list = parse::Hostlist::Parse(argv[i]);
      if (!list) {
        return Report(Error{kExitUsage, "usage", "host list '" + std::string(argv[i]) + "'",
                            "malformed at offset " + std::to_string(list.error().pos) + ": " + list.error().message,
                            "write it as Slurm does, e.g. nid[001-004,010]"},
                      "?", host);
      }
      list->AppendAll(out, '\n');
    }
  } else {
    std::vector<std::string> hosts;
    for (int i = 2; i < argc; ++i) {
      // Arguments may themselves be lists ("a,b" or "n[1-3]"), as scontrol accepts.
      auto list = parse::Hostlist::Parse(argv[i]);
      if (!list) {
        return Report(Error{kExitUsage, "usage", "host '" + std::string(argv[i]) + "'", list.error().message,
                            "give host names or host lists"},
                      "?", host);
      }
      for (auto& h : list->Expand()) hosts.push_back(std::move(h));
    }
    out = parse::Compress(hosts) + "\n";
  }
  std::fwrite(out.data(), 1, out.size(), stdout);
  return 0;
}

int RunPlan(const tools::Options& o, const EnvSnapshot& env, const std::string& host) {
  auto b = app::PlanBinding(o, o.ranks_per_node.value_or(1), 0, env);
  if (!b) return Report(b.error(), "?", host);
  std::cout << (o.json ? bind::Json(b->plan, b->topo) : bind::Table(b->plan, b->topo));
  if (!o.svg.empty()) {
    std::ofstream out(o.svg);
    out << bind::Svg(b->plan, b->topo);
    if (!out) {
      return Report(Error{kExitUsage, "usage", "--svg '" + o.svg + "'", "the file cannot be written",
                          "give a path in a writable directory"},
                    "?", host);
    }
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const EnvSnapshot env = posix::EnvironmentFromProcess();
  const std::string host = posix::HostName();
  if (argc > 1 && (std::string(argv[1]) == "hostnames" || std::string(argv[1]) == "hostlist")) {
    return RunHostlist(argc, argv, host);
  }
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
  if (opts->plan_command) return RunPlan(*opts, env, host);

  std::vector<TraceLine> trace;
  auto prepared = app::Prepare(*opts, env, host, &trace);
  if (opts->explain) Print(launch::Explain(trace, prepared ? &prepared->contract : nullptr));
  if (!prepared) return Report(prepared.error(), "?", host);
  app::Prepared& p = *prepared;
  const std::string rank = std::to_string(p.job.rank);
  for (const auto& w : p.warnings) Print("rankwrap[" + rank + "@" + host + "]: warning: " + w + "\n");
  if (opts->report && p.binding.line) {
    Print("rankwrap[" + rank + "@" + host + "]: binding: " + bind::Describe(*p.binding.line, p.binding.topo) + "\n");
  }
  if (opts->print_env) {
    std::cout << launch::PrintEnv(p.contract);
    return 0;
  }
  if (opts->dry_run) {
    std::cout << (opts->json ? launch::Json(p.contract, opts->program)
                             : launch::DryRun(p.contract, opts->program));
    return 0;
  }

  if (opts->supervise && opts->nccl_bootstrap != "mpi") {
    auto run = app::Supervise(*opts, p, env, host, [&](const Error& e) {
      return "rankwrap[" + rank + "@" + host + "]: error: " + e.stage + ": " + e.what + ": " + e.why + "\nhint: " + e.hint + "\n";
    });
    if (!run) return Report(run.error(), rank, host);
    if (!run->summary.empty()) Print("rankwrap[" + host + "]: error: " + run->summary + "\n");
    return run->exit_code;
  }

  // Bind this process; the program (exec'd or forked) inherits it.
  if (p.binding.line) {
    if (!opts->topology.empty()) {
      Print("rankwrap[" + rank + "@" + host + "]: warning: CPU and memory binding not applied: planned for " +
            opts->topology + ", not this machine\n");
    } else {
      // Memory binding matters only with several NUMA nodes; with one it is
      // a no-op, and skipping it keeps kernels without NUMA policy support
      // (set_mempolicy: ENOSYS in some sandboxes) working.
      const auto& l = *p.binding.line;
      const bool mem = p.binding.plan.options.mem == bind::BindOptions::Mem::kLocal && p.binding.topo.numa.size() > 1;
      auto applied = posix::BindProcess(l.cpus, mem ? l.numa : std::vector<unsigned>{});
      if (!applied) return Report(applied.error(), rank, host);
    }
  }

  if (opts->nccl_bootstrap == "mpi") {
    auto boot = app::MpiBootstrap::Start(*opts, p, env, host);
    if (!boot) {
      Report(boot.error(), rank, host);
      return app::MpiBootstrap::EndAfterError(boot.error());
    }
    // A program that loads MPI at run time (mpi4py) cannot work either: say
    // so once, and end the job before it hangs or fails obscurely.
    const pid_t pid = (*boot)->child().pid();
    const posix::ExitStatus status = (*boot)->child().Wait([&] {
      const std::string lib = posix::MappedMpiLibrary(pid);
      if (lib.empty()) return;
      Report(Error{kExitBootstrap, "bootstrap", "rank " + rank + "'s program loaded " + lib,
                   "it uses MPI itself, and this rank's MPI was already initialised by rankwrap "
                   "(MPI allows one MPI_Init per rank, even across exec)",
                   app::kMpiProgramHint},
             rank, host);
      kill(-pid, SIGKILL);
      (*boot)->Abort(kExitBootstrap);
    });
    if (status.code == 0 && status.signal == 0) return (*boot)->Finalize();
    if (status.signal != 0 && status.signal == posix::LastForwardedSignal()) {
      // Stopped from outside (the launcher tearing the job down, scancel):
      // not this rank's failure, so no report and no second abort.
      return status.WrapperCode();
    }
    Print("rankwrap[" + rank + "@" + host + "]: error: program: rank " + rank + " on " + host +
          (status.signal ? " was killed by " + posix::SignalName(status.signal)
                         : " exited with code " + std::to_string(status.code)) +
          ": ending the whole job (MPI_Abort)\n");
    (*boot)->Abort(status.WrapperCode());
  }

  EnvSnapshot child = env;
  for (const auto& [k, v] : p.contract.env) child.Set(k, v);
  std::cout.flush();
  std::cerr.flush();
  return Report(posix::Exec(opts->program, child), rank, host);
}
