#include "tools/options.h"

#include <boost/program_options.hpp>
#include <map>
#include <sstream>

#include "app/config.h"
#include "core/parse/hostlist.h"
#include "core/parse/number.h"
#include "detect/registry.h"

namespace po = boost::program_options;

namespace rankwrap::tools {
namespace {

// Options that make rankwrap do something other than run PROGRAM. They are
// never taken from the environment: one `export RANKWRAP_PRINT_ENV=1` left
// in a shell would make every later job exit 0 without running anything.
// RANKWRAP_<X> for these is refused, naming the variable. (--help and
// --version are not read from the environment at all: RANKWRAP_VERSION is
// the kind of variable a module file exports.)
constexpr const char* kActionOptions[] = {"explain", "dry-run", "print-env", "json"};

po::options_description Describe() {
  po::options_description d(
      "Options (each also as RANKWRAP_<OPTION>, e.g. RANKWRAP_MASTER_PORT, except --launcher,\n"
      "--help, --version and the actions --explain, --dry-run, --print-env, --json: a\n"
      "RANKWRAP_EXPLAIN, RANKWRAP_DRY_RUN, RANKWRAP_PRINT_ENV or RANKWRAP_JSON is refused)");
  // clang-format off
  d.add_options()
      ("help,h", po::bool_switch(), "print this help and exit")
      ("version", po::bool_switch(), "print the version and exit")
      ("explain", po::bool_switch(), "print to stderr every launcher tried, why it was taken or not, and where each value came from")
      ("launcher", po::value<std::string>(), "use this launcher's variables instead of detecting (see the list below)")
      ("master-addr", po::value<std::string>(), "host of rank 0 (MASTER_ADDR); overrides what the environment says")
      ("master-port", po::value<std::string>(), "rendezvous port (MASTER_PORT), 1-65535, the same on every rank")
      ("dry-run", po::bool_switch(), "print what would be done and run nothing")
      ("print-env", po::bool_switch(), "print the variables rankwrap sets (KEY=VALUE, sorted) and exit 0; PROGRAM may be omitted")
      ("json", po::bool_switch(), "with --dry-run (implied), or with 'plan': print one JSON object")
      ("bind", po::value<std::string>()->default_value("auto"), "auto, or none: no GPU, CPU or memory binding at all")
      ("gpu-bind", po::value<std::string>()->default_value("closest"), "closest (GPUs by locality, shared evenly), map:I,J,... (GPU per local rank), none")
      ("gpu-visibility", po::value<std::string>()->default_value("single"), "single (only the rank's GPUs visible), reorder (all the node's GPUs, the rank's own first) or local-rank (all the node's GPUs, the same list on every rank, index LOCAL_RANK being the rank's own: torch.cuda.set_device(LOCAL_RANK))")
      ("cpu-bind", po::value<std::string>()->default_value("auto"), "gpu (cores local to the rank's GPU; the default with GPUs), numa, cores (the default without GPUs), none")
      ("mem-bind", po::value<std::string>()->default_value("local"), "local or prefer (prefer the rank's NUMA nodes: MPOL_PREFERRED_MANY), strict (only them: MPOL_BIND), or none")
      ("topology", po::value<std::string>(), "plan from this hwloc XML file instead of this machine (CPU/memory binding is then not applied)")
      ("report", po::bool_switch(), "print this rank's binding to stderr")
      ("nccl-bootstrap", po::value<std::string>()->default_value("none"), "mpi: rank 0 creates the NCCL unique id, MPI broadcasts it (RANKWRAP_NCCL_UNIQUE_ID), the job is checked, and rankwrap stays the program's parent; tcp: the same without MPI, through the job control plane (--plane); none")
      ("bootstrap-timeout", po::value<std::string>(), "seconds the MPI bootstrap waits for the other ranks (default 60 + 0.01 per rank)")
      ("nccl-comm-id", po::bool_switch(), "export NCCL_COMM_ID=MASTER_ADDR:MASTER_PORT (single-communicator programs only; unsafe for PyTorch)")
      ("nproc", po::value<std::string>(), "start N local ranks of PROGRAM and supervise them (like torchrun --nproc-per-node); under a scheduler, one task per node")
      ("supervise", po::bool_switch(), "stay the program's parent instead of exec'ing it: logs, failure summary, signal forwarding (implied by --nproc)")
      ("tag-output", po::bool_switch(), "prefix every output line with [RANK HOST]")
      ("log-dir", po::value<std::string>(), "write DIR/<rank>/stdout.log and stderr.log (DIR/attempt-K/<rank>/ with --max-restarts)")
      ("tee", po::bool_switch(), "with --log-dir: also print to the console")
      ("ranks-filter", po::value<std::string>(), "print only these ranks on the console, e.g. 0,3")
      ("grace", po::value<std::string>(), "seconds between SIGTERM and SIGKILL when the other ranks are stopped (default 30); scheduler: the scheduler's own (Slurm KillWait, PBS kill_delay) less one second")
      ("requeue", po::bool_switch(), "after the scheduler stopped the job (time limit, preemption: a signal from outside), rank 0's rankwrap requeues it (scontrol requeue, qrerun) once its ranks have ended")
      ("failure-file", po::value<std::string>(), "write the first failure as JSON to FILE")
      ("max-restarts", po::value<std::string>(), "standalone --nproc: restart all ranks up to K times after a failure (RANKWRAP_RESTART_COUNT)")
      ("signal-map", po::value<std::string>(), "translate signals before forwarding, e.g. USR1:TERM,HUP:INT (TERM, INT, HUP, QUIT, USR1, USR2, CONT; never KILL or STOP)")
      ("plane", po::value<std::string>(), "the job control plane between the nodes' rankwraps: the first failure on any node stops every node; rank 0's rankwrap announces MASTER_ADDR and a MASTER_PORT it bound. auto (the default: MUNGE if munged answers, else RANKWRAP_JOB_SECRET; for a supervised multi-node job, and off with a notice when neither is there), munge, secret, insecure, off; docs/control-plane.md")
      ("ranks-per-node", po::value<std::string>(), "plan: local ranks to plan for (default: the GPUs, or 1)")
      ("svg", po::value<std::string>(), "plan: also write a picture of the node plan to this SVG file");
  // clang-format on
  return d;
}

Error Usage(std::string what, std::string why) {
  return Error{kExitUsage, "usage", std::move(what), std::move(why), "see 'rankwrap --help'"};
}

}  // namespace

std::string HelpText() {
  std::ostringstream out;
  out << "usage: rankwrap [OPTIONS] [--] PROGRAM [ARGS...]\n"
         "       rankwrap plan [--ranks-per-node N] [--topology FILE] [BINDING OPTIONS] [--json] [--svg FILE]\n"
         "       rankwrap hostnames LIST       one host per line (like scontrol show hostnames)\n"
         "       rankwrap hostlist HOST...     the compressed list (like scontrol show hostlist)\n\n"
         "Derives the rank contract (RANK, WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE, NODE_RANK,\n"
         "GROUP_RANK, NUM_NODES, MASTER_ADDR, MASTER_PORT, RANKWRAP_LAUNCHER) from the launcher\n"
         "that started this process and execs PROGRAM with it. No shell is involved.\n\n"
      << Describe() << "\nLaunchers, tried in this order (innermost first):\n";
  for (const auto& d : detect::Registry()) out << "  " << d.name << ": " << d.describes << "\n";
  out << "\nExit codes (docs/exit-codes.md): PROGRAM's own once it runs; before that:\n"
         "  0    --help, --version, --print-env, --dry-run, plan, hostnames, hostlist succeeded\n"
         "  2    usage: the command line or a RANKWRAP_<OPTION> variable is wrong\n"
         "  3    the launcher's environment is not understood or inconsistent\n"
         "  4    binding cannot be planned or applied\n"
         "  5    --nccl-bootstrap=mpi: the job is inconsistent, or NCCL/MPI is unusable\n"
         "  6    --nccl-bootstrap=mpi: a rank waited past --bootstrap-timeout\n"
         "  7    a system limit: rankwrap could not create a process, pipe or file it needs\n"
         "  126  PROGRAM is not executable\n"
         "  127  PROGRAM is not found\n"
         "  N    --nccl-bootstrap=mpi or --nproc/--supervise: the first failing rank's status\n"
         "       (128+signal)\n";
  return out.str();
}

namespace {

// Split: our options, then the program. "-x" words before the program are
// ours; an option that takes a value consumes the next word.
struct Words {
  bool plan_command = false;
  std::vector<std::string> ours, program;
};
Words SplitWords(int argc, const char* const* argv, const po::options_description& desc) {
  Words w;
  int i = 1;
  if (argc > 1 && std::string(argv[1]) == "plan") {
    w.plan_command = true;
    i = 2;
  }
  for (; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--") {
      ++i;
      break;
    }
    if (a.empty() || a[0] != '-' || a == "-") break;
    w.ours.push_back(a);
    if (a.starts_with("--") && a.find('=') == std::string::npos) {
      const po::option_description* od = desc.find_nothrow(a.substr(2), false);
      if (od != nullptr && od->semantic()->max_tokens() > 0 && i + 1 < argc) w.ours.push_back(argv[++i]);
    }
  }
  for (; i < argc; ++i) w.program.emplace_back(argv[i]);
  return w;
}

// The values as given on the command line (defaults are BuildConfig's), then
// the environment forms where the flag was not given. Actions are never
// taken from the environment.
Result<app::OptionValues> Values(const po::options_description& desc, const po::variables_map& vm,
                                 const EnvSnapshot& env) {
  app::OptionValues values;
  for (const auto& od : desc.options()) {
    const std::string name = od->long_name();
    if (!vm.count(name) || vm[name].defaulted()) continue;
    if (od->semantic()->max_tokens() == 0) {
      if (vm[name].as<bool>()) values[name] = {"1", "--" + name};
    } else {
      values[name] = {vm[name].as<std::string>(), "--" + name};
    }
  }
  for (const char* action : kActionOptions) {
    const std::string var = app::EnvName(action);
    if (auto v = env.Get(var)) {
      return Error{kExitUsage, "usage", var + "='" + std::string(*v) + "' is set in the environment",
                   std::string("--") + action +
                       " is an action (print or explain instead of, or before, running PROGRAM) and is "
                       "never taken from the environment: exported once, it would change every later job",
                   "unset " + var + ", and pass --" + action + " on the command line where you want it"};
    }
  }
  std::vector<app::OptionSpec> specs = app::ConfigOptions();
  specs.insert(specs.end(), {{"report", true}, {"ranks-per-node", false}, {"svg", false}});
  if (auto s = app::AddFromEnvironment(&values, env, specs); !s) return s.error();
  return values;
}

}  // namespace

Result<Options> ParseCommandLine(int argc, const char* const* argv, const EnvSnapshot& env) {
  const po::options_description desc = Describe();
  Words words = SplitWords(argc, argv, desc);
  po::variables_map vm;
  try {
    po::store(po::command_line_parser(words.ours).options(desc).run(), vm);
    po::notify(vm);
  } catch (const po::error& e) {
    return Usage(e.what(), "expected the options listed by --help before PROGRAM");
  }
  auto parsed = Values(desc, vm, env);
  if (!parsed) return parsed.error();
  app::OptionValues& values = *parsed;
  std::vector<std::string> program = std::move(words.program);
  Options o;
  o.plan_command = words.plan_command;
  auto on = [&](const char* name) { return values.count(name) && values[name].value == "1"; };
  o.help = vm["help"].as<bool>();
  o.version = vm["version"].as<bool>();
  o.explain = on("explain");
  o.dry_run = on("dry-run");
  o.print_env = on("print-env");
  o.json = on("json");
  if (o.json) o.dry_run = true;
  o.report = on("report");
  if (values.count("ranks-per-node")) {
    const app::OptionValue& v = values["ranks-per-node"];
    auto n = parse::Decimal(v.value, 1u << 20);
    const bool flag = v.source.rfind("--", 0) == 0;
    const std::string quoted = flag ? "--ranks-per-node '" + v.value + "'" : v.source + "='" + v.value + "'";
    if (!n) return Usage(quoted, n.error().message + "; expected a number of ranks, 1-1048576");
    if (*n == 0) return Usage(flag ? "--ranks-per-node " + v.value : quoted, "expected at least 1 rank");
    o.ranks_per_node = static_cast<unsigned>(*n);
  }
  if (values.count("svg")) o.svg = values["svg"].value;
  if (o.plan_command && !program.empty()) {
    return Usage("'" + program.front() + "' after 'rankwrap plan'", "plan runs no program");
  }
  if (!o.plan_command && !o.help && !o.version && !o.print_env && !o.dry_run && program.empty()) {
    return Usage("no PROGRAM given", "rankwrap runs PROGRAM [ARGS...] with the rank contract");
  }
  for (const char* action : kActionOptions) values.erase(action);
  for (const char* cli : {"report", "ranks-per-node", "svg", "help", "version"}) values.erase(cli);
  auto config = app::BuildConfig(values, std::move(program));
  if (!config) return config.error();
  o.config = std::move(config).value();
  return o;
}

}  // namespace rankwrap::tools
