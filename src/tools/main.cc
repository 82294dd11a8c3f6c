// rankwrap: the thin main. The pipeline, in order:
//   env      = the process environment, read once
//   prepared = app::Prepare(options, env)        detect -> contract -> topology -> node plan
//   exec       posix::BindProcess(this rank's line), then posix::Exec(program, env + contract + binding)
//   or         app::MpiBootstrap (--nccl-bootstrap=mpi): fork, MPI exchange, release, supervise
//   --preflight: app::CheckThisNode before the ranks start; `rankwrap preflight`: only that
// Only this file prints errors and chooses the exit code.
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <new>
#include <sstream>
#include <utility>

#include "adapters/posix/keeper.h"
#include "adapters/posix/output.h"
#include "adapters/posix/proctree.h"
#include "adapters/posix/posix.h"
#include "app/bootstrap.h"
#include "app/pipeline.h"
#include "app/preflight.h"
#include "app/scheduler.h"
#include "app/spec.h"
#include "app/supervise.h"
#include "core/launch/report.h"
#include "core/parse/hostlist.h"
#include "core/preflight/report.h"
#include "core/supervise/logrun.h"
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
  if (argc == 3 && (std::string(argv[2]) == "--help" || std::string(argv[2]) == "-h")) {
    std::cout << tools::HostlistHelpText(cmd);
    return 0;
  }
  if (argc < 3) {
    return Report(Error{kExitUsage, "usage", "'rankwrap " + cmd + "' needs an argument",
                        cmd == "hostnames" ? "expected a Slurm host list such as nid[001-004]" : "expected host names",
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

// The MPI modules the bootstrap would find, as it looks for them (next to
// the binary, then RANKWRAP_MODULE_RELDIR from it): flavor -> path.
std::map<std::string, std::string> MpiModulesFound() {
  std::error_code ec;
  const std::filesystem::path exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  std::map<std::string, std::string> found;
  if (ec) return found;
  for (const auto& dir : {exe.parent_path(), exe.parent_path() / RANKWRAP_MODULE_RELDIR}) {
    for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
      const std::string name = entry.path().filename().string();
      if (!name.starts_with("librankwrap_mpi_") || !name.ends_with(".so")) continue;
      const std::string flavor = name.substr(16, name.size() - 19);
      found.emplace(flavor, std::filesystem::weakly_canonical(entry.path(), ec).string());
    }
  }
  return found;
}

// --version: rankwrap's, the hwloc it was built with, the MPI modules found.
std::string VersionText(const EnvSnapshot& env) {
  std::ostringstream out;
  out << "rankwrap " << RANKWRAP_VERSION << (app::TestHooksBuilt() ? " (with test hooks: not for production)" : "")
      << "\nhwloc " << RANKWRAP_HWLOC_VERSION << " (" << RANKWRAP_HWLOC_LINK << ")\nMPI modules:";
  const auto found = MpiModulesFound();
  const char* sep = " ";
  for (const auto& [flavor, path] : found) out << std::exchange(sep, ", ") << flavor << " (" << path << ")";
  if (found.empty()) out << " none found (--nccl-bootstrap=mpi needs one; docs/install.md)";
  out << "\nMPI module for launchers that do not say which MPI: " << RANKWRAP_MPI_DEFAULT;
  if (auto forced = env.Get("RANKWRAP_MPI_MODULE")) out << " (RANKWRAP_MPI_MODULE=" << *forced << " overrides)";
  out << "\n";
  return out.str();
}

int RunPlan(const tools::Options& o, const EnvSnapshot& env, const std::string& host) {
  app::PlanRequest req{o.ranks_per_node.value_or(1), 0, true, o.ranks_per_node.has_value()};
  auto b = app::PlanBinding(o.config.bind, req, env);
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

// --print-env, --dry-run, --json: what the program (or, with --nproc, each
// child) would get; nothing runs.
int PrintPlanned(const tools::Options& o, const app::Prepared& p, const EnvSnapshot& env) {
  const app::Config& c = o.config;
  if (!c.supervise.nproc) {
    if (o.print_env) {
      std::cout << launch::PrintEnv(p.contract);
    } else {
      std::cout << (o.json ? launch::Json(p.contract, c.program) : launch::DryRun(p.contract, c.program));
    }
    return 0;
  }
  const std::vector<plan::RankContract> children = app::ChildContracts(c, p, env);
  if (o.json) {
    // One JSON document per line, one line per child (JSON Lines).
    for (const auto& k : children) std::cout << launch::Json(k, c.program);
    return 0;
  }
  for (const auto& k : children) {
    std::cout << "# rank " << k.job.rank << " (local rank " << k.job.local_rank << " of " << k.job.local_world_size
              << ")" << (k.master_port ? "" : "; MASTER_PORT: " + k.master_port_from) << "\n"
              << (o.print_env ? launch::PrintEnv(k) : launch::DryRun(k, c.program));
  }
  return 0;
}

// Binds this process to its spec (the program, forked or exec'd, inherits
// it). Returns the error's exit code, or 0.
int BindThisProcess(const app::RankSpec& s, const std::string& rank, const std::string& host) {
  if (!s.bind) return 0;
  auto applied =
      posix::BindProcess(s.cpus, s.numa, s.strict_memory ? posix::MemPolicy::kStrict : posix::MemPolicy::kPrefer);
  if (!applied) return Report(applied.error(), rank, host);
  return 0;
}

// The keeper's main: supervise, print what it found, exit with the job's code.
int KeeperMain(const app::Config& c, const app::SuperviseIo& io, const std::string& rank) {
  auto run = app::Supervise(c.supervise, io);
  if (!run) return Report(run.error(), rank, io.host);
  for (const auto& w : run->warnings) Warn(rank, io.host, w);
  // Under --nccl-bootstrap=mpi the wrapper reports the failure (once) as it
  // ends the whole job.
  if (!run->summary.empty() && c.bootstrap.mode != app::BootstrapMode::kMpi) {
    Print(launch::Line(io.host, "error", run->summary));
  }
  return run->exit_code;
}

app::SuperviseIo KeeperIo(const app::Config& c, const app::Prepared& p, const EnvSnapshot& env, const std::string& rank,
                          const std::string& host) {
  app::SuperviseIo io;
  io.host = host;
  io.log_run = supervise::LogRunName(p.contract.job, env.Get("SLURM_RESTART_COUNT"));
  io.starts_every_rank = app::WorldSize(c, p) == c.supervise.nproc.value_or(1);
  io.link.wrapper_pgid = getpgrp();
  io.format_error = [rank, host](const Error& e) { return ErrorLine(e, rank, host); };
  io.notice = [host](const std::string& notice) { Print(launch::Line(host, "warning", notice)); };
  return io;
}

// This node's pre-flight check and its one-node table: on stdout for
// `rankwrap preflight` (`command`), on stderr before a program (and only
// when a check failed). Returns 0 or kExitPreflight. A job with the control
// plane does one round through it instead (app::RunPreflightRound).
int PreflightHere(const app::Config& c, const app::Prepared& p, const std::string& rank, const std::string& host,
                  bool command) {
  const std::vector<preflight::NodeReport> reports{
      app::CheckThisNode(app::InputsFor(c, p, host), posix::PreflightProbe())};
  const bool ok = preflight::AllOk(reports);
  const std::string table = preflight::Table(reports, p.contract.job.launcher);
  if (command) {
    std::cout << table;
    return ok ? 0 : kExitPreflight;
  }
  if (ok) return 0;
  Print(table);
  return Report(Error{kExitPreflight, "preflight",
                      "node " + std::to_string(reports[0].node) + " (" + host + ") failed the pre-flight check",
                      "the program was not started (the table above names each failed check)",
                      "apply the fix the table gives, or leave the node out"},
                rank, host);
}

// --supervise / --nproc: the keeper runs the job; this process relays
// signals to it and exits with its code.
int RunKept(const app::Config& given, const app::Prepared& p, const EnvSnapshot& env, const std::string& host,
            const std::string& rank) {
  app::Config c = given;
  if (auto s = app::ResolveSchedulerGrace(&c.supervise, env); !s) return Report(s.error(), rank, host);
  app::SuperviseIo io = KeeperIo(c, p, env, rank, host);
  if (c.supervise.requeue) {
    auto cmd = app::RequeueCommand(env);
    if (!cmd) return Report(cmd.error(), rank, host);
    io.requeue = *cmd;
  }
  std::vector<std::string> notices;
  auto rendezvous = app::RendezvousInputsFor(c, p, env, &notices);
  if (!rendezvous) return Report(rendezvous.error(), rank, host);
  for (const auto& n : notices) Warn(rank, host, n);
  io.rendezvous = *rendezvous;
  if (c.preflight.enabled && io.rendezvous.plane) {
    // One round through the plane once the rendezvous named rank 0's host
    // and port: each node's leader checks its node, node 0 prints the job's
    // table, every keeper gets the verdict before its ranks start.
    app::PreflightRound round;
    round.print = [](const std::string& table) { Print(table); };
    if (c.supervise.nproc || p.contract.job.local_rank == 0) {  // the node's leader on the plane
      const app::PreflightInputs in = app::InputsFor(c, p, host);
      round.check = [in](const plane::Master& m, const std::string& port_problem) {
        return app::CheckAfterRendezvous(in, m, port_problem, posix::PreflightProbe());
      };
    }
    io.preflight = round;
  } else if (c.preflight.enabled && p.contract.job.local_rank == 0) {
    if (int code = PreflightHere(c, p, rank, host, false); code != 0) return code;
  }
  io.tmpdir = std::string(env.Get("TMPDIR").value_or(""));
  io.ranks = [&](unsigned attempt) -> Result<std::vector<app::RankSpec>> {
    std::optional<app::Endpoint> standalone;
    if (c.supervise.nproc && app::Standalone(p)) {
      // A world of this host only: a port free now, new for every attempt.
      auto port = posix::FreeLocalPort();
      if (!port) return port.error();
      standalone = app::Endpoint{"127.0.0.1", *port};
    }
    return app::BuildRankSpecs(c, p, env, standalone, attempt);
  };
  std::cout.flush();
  auto keeper = posix::Keeper::Fork(
      false,
      [&](int control_fd, const EnvSnapshot*) {
        io.link.control_fd = control_fd;
        return KeeperMain(c, io, rank);
      },
      true);
  if (!keeper) return Report(keeper.error(), rank, host);
  return keeper->Wait({}).WrapperCode();
}

// --nccl-bootstrap=mpi after the exchange: wait for the keeper; end the
// whole job (MPI_Abort) when the program failed on its own.
[[noreturn]] void EndJob(app::MpiBootstrap& boot, const posix::ExitStatus& status, const std::string& rank,
                         const std::string& host) {
  Print(launch::Line(rank + "@" + host, "error",
                     "program: rank " + rank + " on " + host +
                         (status.signal ? " was killed by " + posix::SignalName(status.signal)
                                        : " exited with code " + std::to_string(status.code)) +
                         ": ending the whole job (MPI_Abort)"));
  boot.Abort(status.WrapperCode());
}

int WaitBootstrapped(app::MpiBootstrap& boot, const std::string& rank, const std::string& host) {
  // A program that loads MPI at run time (mpi4py) cannot work either: say
  // so once, and end the job before it hangs or fails obscurely.
  const pid_t keeper = boot.keeper().pid();
  pid_t program = -1;  // the keeper's child, found once (no /proc walk every turn)
  const posix::ExitStatus status = boot.keeper().Wait([&] {
    if (program < 0) {
      const std::vector<pid_t> below = posix::Descendants(keeper);
      if (below.empty()) return;
      program = below.front();
    }
    const std::string lib = posix::MappedMpiLibrary(program);
    if (lib.empty()) return;
    Report(Error{kExitBootstrap, "bootstrap", "rank " + rank + "'s program loaded " + lib,
                 "it uses MPI itself, and this rank's MPI was already initialised by rankwrap "
                 "(MPI allows one MPI_Init per rank, even across exec)",
                 app::kMpiProgramHint},
           rank, host);
    boot.keeper().Kill();
    boot.Abort(kExitBootstrap);
  });
  if (status.code == 0 && status.signal == 0) return boot.Finalize();
  const int relayed = posix::LastRelayedSignal();
  if (relayed != 0 && status.WrapperCode() == 128 + relayed) {
    // Stopped from outside (the launcher tearing the job down, scancel):
    // not this rank's failure, so no report and no second abort.
    return status.WrapperCode();
  }
  EndJob(boot, status, rank, host);
}

// --nccl-bootstrap=mpi: the keeper is forked first (before MPI) and gets
// the program's final environment when the exchange is done.
int RunBootstrapped(const app::Config& c, app::Prepared& p, const EnvSnapshot& env, const app::RankSpec& spec,
                    const std::string& host, const std::string& rank) {
  app::SuperviseIo io = KeeperIo(c, p, env, rank, host);
  auto keeper = [&](int control_fd, const EnvSnapshot* released) {
    io.link.control_fd = control_fd;
    app::RankSpec mine = spec;
    mine.env = *released;  // the contract with rank 0's port and the NCCL id
    io.ranks = [mine](unsigned) -> Result<std::vector<app::RankSpec>> { return std::vector<app::RankSpec>{mine}; };
    return KeeperMain(c, io, rank);
  };
  auto boot = app::MpiBootstrap::Start(c, p, env, spec, host, keeper, io.format_error);
  if (!boot) {
    Report(boot.error(), rank, host);
    return app::MpiBootstrap::EndAfterError(boot.error());
  }
  return WaitBootstrapped(**boot, rank, host);
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
    std::cout << (opts->plan_command        ? tools::PlanHelpText()
                  : opts->preflight_command ? tools::PreflightHelpText()
                                            : tools::HelpText());
    return 0;
  }
  if (opts->version) {
    std::cout << VersionText(env);
    return 0;
  }
  if (opts->plan_command) return RunPlan(*opts, env, host);

  const app::Config& c = opts->config;
  std::vector<TraceLine> trace;
  auto prepared = app::Prepare(c, env, host, &trace);
  if (opts->explain) Print(launch::Explain(trace, prepared ? &prepared->contract : nullptr));
  if (!prepared) return Report(prepared.error(), "?", host);
  app::Prepared& p = *prepared;
  const std::string rank = std::to_string(p.contract.job.rank);
  for (const auto& w : p.warnings) Warn(rank, host, w);
  if (opts->report && p.binding.line) {
    Print(launch::Line(rank + "@" + host, "binding", bind::Describe(*p.binding.line, p.binding.topo)));
  }
  if (p.binding.line && !c.bind.topology.empty() && !opts->print_env && !opts->dry_run) {
    Warn(rank, host, "CPU and memory binding not applied: planned for " + c.bind.topology + ", not this machine");
  }
  if (opts->print_env || opts->dry_run) return PrintPlanned(*opts, p, env);
  if (opts->preflight_command) return PreflightHere(c, p, rank, host, true);

  const bool bootstrap = c.bootstrap.mode == app::BootstrapMode::kMpi;
  if (c.supervise.enabled || bootstrap) {
    if (auto s = app::CheckSupervision(c, p); !s) return Report(s.error(), rank, host);
  }
  // The children bind themselves (each to its own line); the wrapper stays unbound.
  if (c.supervise.enabled && !bootstrap) return RunKept(c, p, env, host, rank);

  // Without a keeper, each node's local rank 0 checks the node; the others go on.
  if (c.preflight.enabled && p.contract.job.local_rank == 0) {
    if (int code = PreflightHere(c, p, rank, host, false); code != 0) return code;
  }
  const app::RankSpec spec = app::BuildRankSpecs(c, p, env, std::nullopt, 0).front();
  if (int code = BindThisProcess(spec, rank, host); code != 0) return code;
  if (bootstrap) return RunBootstrapped(c, p, env, spec, host, rank);
  std::cout.flush();
  std::cerr.flush();
  return Report(posix::Exec(spec.argv, spec.env), rank, host);
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return Main(argc, argv);
  } catch (const std::bad_alloc&) {
    // Every input is bounded; this is the last line of defence.
    Print(
        "rankwrap: error: out of memory: an allocation failed\nhint: check the job's memory limit (ulimit -v, the "
        "cgroup) and the size of the inputs rankwrap was given\n");
    return kExitSystem;
  }
}
