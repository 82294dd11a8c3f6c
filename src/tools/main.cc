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
#include <new>
#include <iostream>

#include "adapters/posix/keeper.h"
#include "adapters/posix/output.h"
#include "adapters/posix/proctree.h"
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
void Print(const std::string& text) { posix::WriteAll(2, text); }

std::string ErrorLine(const Error& e, const std::string& rank, const std::string& host) {
  return launch::ErrorText(e, rank + "@" + host);
}

void Warn(const std::string& rank, const std::string& host, const std::string& text) {
  Print(launch::Line(rank + "@" + host, "warning", text));
}

int Report(const Error& e, const std::string& rank, const std::string& host) {
  if (!e.quiet) Print(ErrorLine(e, rank, host));
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

// Binds this process (the program, forked or exec'd, inherits it). Returns
// the error's exit code, or 0.
int BindThisProcess(const tools::Options& o, const app::Prepared& p, const std::string& rank,
                    const std::string& host) {
  if (!p.binding.line) return 0;
  if (!o.topology.empty()) {
    Warn(rank, host, "CPU and memory binding not applied: planned for " + o.topology + ", not this machine");
    return 0;
  }
  // Memory binding matters only with several NUMA nodes; with one it is a
  // no-op, and skipping it keeps kernels without NUMA policy support
  // (set_mempolicy: ENOSYS in some sandboxes) working.
  const auto& l = *p.binding.line;
  const bool mem = p.binding.plan.options.mem == bind::BindOptions::Mem::kLocal && p.binding.topo.numa.size() > 1;
  auto applied = posix::BindProcess(l.cpus, mem ? l.numa : std::vector<unsigned>{});
  if (!applied) return Report(applied.error(), rank, host);
  return 0;
}

// The keeper's main: supervise, print what it found, exit with the job's code.
int KeeperMain(const tools::Options& o, app::Prepared& p, const EnvSnapshot& env, const std::string& host,
               const std::string& rank, const app::KeeperLink& link) {
  auto run = app::Supervise(
      o, p, env, host, link, [rank, host](const Error& e) { return ErrorLine(e, rank, host); },
      [host](const std::string& notice) { Print(launch::Line(host, "warning", notice)); });
  if (!run) return Report(run.error(), rank, host);
  for (const auto& w : run->warnings) Warn(rank, host, w);
  // Under --nccl-bootstrap=mpi the wrapper reports the failure (once) as it
  // ends the whole job.
  if (!run->summary.empty() && o.nccl_bootstrap != "mpi") Print(launch::Line(host, "error", run->summary));
  return run->exit_code;
}

// --supervise / --nproc: the keeper runs the job; this process relays
// signals to it and exits with its code.
int RunKept(const tools::Options& o, app::Prepared& p, const EnvSnapshot& env, const std::string& host,
            const std::string& rank) {
  const pid_t pgid = getpgrp();
  std::cout.flush();
  auto keeper = posix::Keeper::Fork(false, [&](int control_fd, const EnvSnapshot*) {
    return KeeperMain(o, p, env, host, rank, app::KeeperLink{control_fd, pgid});
  });
  if (!keeper) return Report(keeper.error(), rank, host);
  keeper->RelaySignals();
  return keeper->Wait({}).WrapperCode();
}

// --nccl-bootstrap=mpi after the exchange: wait for the keeper; end the
// whole job (MPI_Abort) when the program failed on its own.
int WaitBootstrapped(app::MpiBootstrap& boot, const std::string& rank, const std::string& host) {
  // A program that loads MPI at run time (mpi4py) cannot work either: say
  // so once, and end the job before it hangs or fails obscurely.
  const pid_t keeper = boot.keeper().pid();
  const posix::ExitStatus status = boot.keeper().Wait([&] {
    for (pid_t pid : posix::Descendants(keeper)) {
      const std::string lib = posix::MappedMpiLibrary(pid);
      if (lib.empty()) continue;
      Report(Error{kExitBootstrap, "bootstrap", "rank " + rank + "'s program loaded " + lib,
                   "it uses MPI itself, and this rank's MPI was already initialised by rankwrap "
                   "(MPI allows one MPI_Init per rank, even across exec)",
                   app::kMpiProgramHint},
             rank, host);
      boot.keeper().Kill();
      boot.Abort(kExitBootstrap);
    }
  });
  if (status.code == 0 && status.signal == 0) return boot.Finalize();
  const int relayed = posix::LastRelayedSignal();
  if (relayed != 0 && status.WrapperCode() == 128 + relayed) {
    // Stopped from outside (the launcher tearing the job down, scancel):
    // not this rank's failure, so no report and no second abort.
    return status.WrapperCode();
  }
  Print(launch::Line(rank + "@" + host, "error",
                     "program: rank " + rank + " on " + host +
                         (status.signal ? " was killed by " + posix::SignalName(status.signal)
                                        : " exited with code " + std::to_string(status.code)) +
                         ": ending the whole job (MPI_Abort)"));
  boot.Abort(status.WrapperCode());
}

int Main(int argc, char** argv) {
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
    std::cout << "rankwrap " << RANKWRAP_VERSION << (app::TestHooksBuilt() ? " (with test hooks: not for production)" : "")
              << "\n";
    return 0;
  }
  if (opts->plan_command) return RunPlan(*opts, env, host);

  std::vector<TraceLine> trace;
  auto prepared = app::Prepare(*opts, env, host, &trace);
  if (opts->explain) Print(launch::Explain(trace, prepared ? &prepared->contract : nullptr));
  if (!prepared) return Report(prepared.error(), "?", host);
  app::Prepared& p = *prepared;
  const std::string rank = std::to_string(p.job.rank);
  for (const auto& w : p.warnings) Warn(rank, host, w);
  if (opts->report && p.binding.line) {
    Print(launch::Line(rank + "@" + host, "binding", bind::Describe(*p.binding.line, p.binding.topo)));
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

  const auto format_error = [rank, host](const Error& e) { return ErrorLine(e, rank, host); };
  const bool bootstrap = opts->nccl_bootstrap == "mpi";
  if (app::WantsSupervision(*opts) || bootstrap) {
    if (auto s = app::CheckSupervision(*opts, p); !s) return Report(s.error(), rank, host);
  }
  if (app::WantsSupervision(*opts) && !bootstrap) {
    if (int code = BindThisProcess(*opts, p, rank, host); code != 0) return code;
    return RunKept(*opts, p, env, host, rank);
  }
  if (int code = BindThisProcess(*opts, p, rank, host); code != 0) return code;

  if (bootstrap) {
    const app::KeeperLink link{-1, getpgrp()};
    auto keeper = [&, link](int control_fd, const EnvSnapshot* released) {
      app::KeeperLink l = link;
      l.control_fd = control_fd;
      // The released environment already holds the contract (with rank 0's
      // port and the NCCL id this process never saw).
      p.contract.env.clear();
      return KeeperMain(*opts, p, *released, host, rank, l);
    };
    auto boot = app::MpiBootstrap::Start(*opts, p, env, host, keeper, format_error);
    if (!boot) {
      Report(boot.error(), rank, host);
      return app::MpiBootstrap::EndAfterError(boot.error());
    }
    return WaitBootstrapped(**boot, rank, host);
  }

  EnvSnapshot child = env;
  for (const auto& [k, v] : p.contract.env) child.Set(k, v);
  std::cout.flush();
  std::cerr.flush();
  return Report(posix::Exec(opts->program, child), rank, host);
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return Main(argc, argv);
  } catch (const std::bad_alloc&) {
    // Every input is bounded; this is the last line of defence.
    Print("rankwrap: error: out of memory: an allocation failed\nhint: check the job's memory limit (ulimit -v, the "
          "cgroup) and the size of the inputs rankwrap was given\n");
    return kExitSystem;
  }
}
