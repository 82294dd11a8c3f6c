#include "tools/options.h"

#include <boost/program_options.hpp>
#include <algorithm>
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

// A value's placeholder in --help ("--nproc N", not Boost's "--nproc arg").
po::typed_value<std::string>* Text(const char* placeholder) {
  return po::value<std::string>()->value_name(placeholder);
}

po::options_description GeneralOptions() {
  po::options_description d("General");
  // clang-format off
  d.add_options()
      ("help,h", po::bool_switch(), "print this help and exit ('rankwrap plan --help': the plan's)")
      ("version", po::bool_switch(), "print the version, the hwloc in use and the MPI modules found, and exit")
      ("explain", po::bool_switch(), "print to stderr every launcher tried, why it was taken or not, and where each value came from")
      ("launcher", Text("NAME"), "use this launcher's variables instead of detecting (see the list below)")
      ("master-addr", Text("HOST"), "host of rank 0 (MASTER_ADDR); overrides what the environment says")
      ("master-port", Text("PORT"), "rendezvous port (MASTER_PORT), 1-65535, the same on every rank")
      ("dry-run", po::bool_switch(), "print what would be done and run nothing")
      ("print-env", po::bool_switch(), "print the variables rankwrap sets (KEY=VALUE, sorted) and exit 0; PROGRAM may be omitted")
      ("json", po::bool_switch(), "with --dry-run (implied), or with 'plan': print one JSON object");
  // clang-format on
  return d;
}

po::options_description BindingOptions() {
  po::options_description d("Binding (also for 'rankwrap plan')");
  // clang-format off
  d.add_options()
      ("bind", Text("auto|none")->default_value("auto"), "auto: bind GPUs, cores and memory as the options below say; none: no GPU, CPU or memory binding at all")
      ("gpu-bind", Text("POLICY")->default_value("closest"), "closest (GPUs by locality, shared evenly), map:I,J,... (GPU per local rank; Slurm's map_gpu:I,J,... too), none")
      ("gpu-visibility", Text("MODE")->default_value("single"), "single (only the rank's GPUs visible), reorder (all the node's GPUs, the rank's own first) or local-rank (all the node's GPUs, the same list on every rank, index LOCAL_RANK being the rank's own: torch.cuda.set_device(LOCAL_RANK))")
      ("cpu-bind", Text("POLICY")->default_value("auto"), "auto: gpu on a node with GPUs, else cores; gpu (cores local to the rank's GPU), numa (Slurm's ldoms too), cores (an even share of the node's cores), map_cpu:ID,... (local rank i on OS CPU ID i; ID*N for N ranks; the list reused), mask_cpu:MASK,... (the same with hexadecimal CPU masks), none")
      ("mem-bind", Text("POLICY")->default_value("local"), "local or prefer (prefer the rank's NUMA nodes: MPOL_PREFERRED_MANY), strict (only them: MPOL_BIND), or none")
      ("topology", Text("FILE.xml"), "plan from this hwloc XML file instead of this machine (CPU/memory binding is then not applied)")
      ("report", po::bool_switch(), "print this rank's binding to stderr (Slurm's --cpu-bind=verbose,... and --gpu-bind=verbose,... too)");
  // clang-format on
  return d;
}

po::options_description BootstrapOptions() {
  po::options_description d("NCCL bootstrap");
  // clang-format off
  d.add_options()
      ("nccl-bootstrap", Text("mpi|tcp|none")->default_value("none"), "mpi: rank 0 creates the NCCL unique id, MPI broadcasts it (RANKWRAP_NCCL_UNIQUE_ID), the job is checked, and rankwrap stays the program's parent; tcp: the same without MPI, through the job control plane (--plane); none")
      ("bootstrap-timeout", Text("SECONDS"), "seconds the MPI bootstrap waits for the other ranks (default 60 + 0.01 per rank)")
      ("nccl-comm-id", po::bool_switch(), "export NCCL_COMM_ID=MASTER_ADDR:MASTER_PORT (single-communicator programs only; unsafe for PyTorch)");
  // clang-format on
  return d;
}

po::options_description SuperviseOptions() {
  po::options_description d("Supervision (any of these implies --supervise; torchrun's spellings in brackets)");
  // clang-format off
  d.add_options()
      ("nproc", Text("N"), "start N local ranks of PROGRAM and supervise them [--nproc-per-node N]; under a scheduler, one task per node")
      ("supervise", po::bool_switch(), "stay the program's parent instead of exec'ing it: logs, failure summary, signal forwarding")
      ("tag-output", po::bool_switch(), "prefix every output line with [RANK HOST]")
      ("log-dir", Text("DIR"), "write DIR/RUN/<rank>/stdout.log and stderr.log (DIR/RUN/attempt-K/<rank>/ with --max-restarts); RUN is the job id and step (Slurm: JOBID.STEP), or local-DATE-TIME-PID without one, a new name for a rerun; DIR/latest points at the newest [--redirects 3]")
      ("tee", po::bool_switch(), "with --log-dir: also print to the console [--tee 3]")
      ("ranks-filter", Text("RANKS"), "print only these ranks on the console, e.g. 0,3")
      ("local-ranks-filter", Text("RANKS"), "print only these local ranks (the rank on its node) on the console, e.g. 0 (torchrun's option); not with --ranks-filter")
      ("grace", Text("SECONDS|scheduler"), "seconds between SIGTERM and SIGKILL when the other ranks are stopped (default 30); scheduler: the scheduler's own (Slurm KillWait, PBS kill_delay) less one second")
      ("requeue", po::bool_switch(), "after the scheduler stopped the job (time limit, preemption: a signal from outside), rank 0's rankwrap requeues it (scontrol requeue, qrerun) once its ranks have ended")
      ("failure-file", Text("FILE"), "write the first failure as JSON to FILE")
      ("restart-backoff", Text("SECONDS"), "wait before restart 1 (default 1), doubling for each further restart, at most 60")
      ("max-restarts", Text("K"), "restart every rank of the job up to K times after a failure, all together (a standalone --nproc job alone; otherwise through the job control plane, which keeps the count); RANKWRAP_RESTART_COUNT and TORCHELASTIC_RESTART_COUNT")
      ("signal-map", Text("FROM:TO,..."), "translate signals before forwarding, e.g. USR1:TERM,HUP:INT (TERM, INT, HUP, QUIT, USR1, USR2, CONT; never KILL or STOP)")
      ("plane", Text("MODE"), "the job control plane between the rankwraps of a job: the first failure on any node stops every node; rank 0's rankwrap announces MASTER_ADDR and a MASTER_PORT it bound. auto (the default: MUNGE if munged answers, else RANKWRAP_JOB_SECRET; for a supervised multi-node job, and off with a notice when neither is there), munge, secret, insecure, off; docs/control-plane.md");
  // clang-format on
  return d;
}

po::options_description PreflightOptions() {
  po::options_description d("Pre-flight (also 'rankwrap preflight'; docs/preflight.md)");
  // clang-format off
  d.add_options()
      ("preflight", po::bool_switch(), "before the program starts, every node checks itself: MASTER_ADDR:MASTER_PORT reachable (the interface named), the plan's GPUs present, RDMA ports ACTIVE, /dev/shm free space, memlock unlimited with RDMA; a failed check stops the job with a table naming the bad nodes (exit 8)")
      ("preflight-cmd", Text("CMD"), "a check of your own, run once per node with /bin/sh -c (30 s at most); its exit code and output join the table; implies --preflight");
  // clang-format on
  return d;
}

po::options_description PlanOptions() {
  po::options_description d("Plan ('rankwrap plan' only)");
  // clang-format off
  d.add_options()
      ("ranks-per-node", Text("N"), "local ranks to plan for (default: the GPUs, or 1)")
      ("svg", Text("FILE"), "also write a picture of the node plan to this SVG file");
  // clang-format on
  return d;
}

po::options_description Describe() {
  po::options_description d(
      "Options (each also as RANKWRAP_<OPTION>, e.g. RANKWRAP_MASTER_PORT, except --launcher,\n"
      "--help, --version and the actions --explain, --dry-run, --print-env, --json: a\n"
      "RANKWRAP_EXPLAIN, RANKWRAP_DRY_RUN, RANKWRAP_PRINT_ENV or RANKWRAP_JSON is refused)");
  d.add(GeneralOptions())
      .add(BindingOptions())
      .add(BootstrapOptions())
      .add(SuperviseOptions())
      .add(PreflightOptions())
      .add(PlanOptions());
  return d;
}

Error Usage(std::string what, std::string why) {
  return Error{kExitUsage, "usage", std::move(what), std::move(why), "see 'rankwrap --help'"};
}

constexpr const char* kExamples =
    "Examples:\n"
    "  srun rankwrap python train.py                   one rank per Slurm task\n"
    "  mpirun -np 16 rankwrap ./solver                 one rank per MPI process\n"
    "  rankwrap --nproc 4 python train.py              4 local ranks (torchrun --nproc-per-node 4)\n"
    "  srun -N2 --ntasks-per-node=1 rankwrap --nproc 4 --log-dir logs python train.py\n"
    "                                                  4 ranks per node, one task per node, logs per rank\n"
    "  srun rankwrap --explain --dry-run -- python train.py\n"
    "                                                  why each value is what it is; nothing runs\n"
    "  mpirun -np 8 rankwrap --nccl-bootstrap=mpi -- ./nccl_program\n"
    "  rankwrap plan --ranks-per-node 8                this node's binding as a table\n";

}  // namespace

std::string HelpText() {
  std::ostringstream out;
  out << "usage: rankwrap [OPTIONS] [--] PROGRAM [ARGS...]\n"
         "       rankwrap plan [--ranks-per-node N] [--topology FILE] [BINDING OPTIONS] [--json] [--svg FILE]\n"
         "       rankwrap preflight [--preflight-cmd CMD] [OPTIONS]   check this node, print its table\n"
         "       rankwrap hostnames LIST       one host per line (like scontrol show hostnames)\n"
         "       rankwrap hostlist HOST...     the compressed list (like scontrol show hostlist)\n"
         "       rankwrap COMMAND --help       one command's help\n\n"
         "Derives the rank contract (RANK, WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE, NODE_RANK,\n"
         "GROUP_RANK, NUM_NODES, MASTER_ADDR, MASTER_PORT, RANKWRAP_LAUNCHER) from the launcher\n"
         "that started this process and execs PROGRAM with it. No shell is involved.\n\n"
      << Describe() << "\n"
      << kExamples << "\nLaunchers, tried in this order (innermost first):\n";
  for (const auto& d : detect::Registry()) out << "  " << d.name << ": " << d.describes << "\n";
  out << "\nExit codes (docs/exit-codes.md): PROGRAM's own once it runs; before that:\n"
         "  0    --help, --version, --print-env, --dry-run, plan, hostnames, hostlist succeeded\n"
         "  2    usage: the command line or a RANKWRAP_<OPTION> variable is wrong\n"
         "  3    the launcher's environment is not understood or inconsistent\n"
         "  4    binding cannot be planned or applied\n"
         "  5    --nccl-bootstrap=mpi: the job is inconsistent, or NCCL/MPI is unusable\n"
         "  6    --nccl-bootstrap=mpi: a rank waited past --bootstrap-timeout\n"
         "  7    a system limit: rankwrap could not create a process, pipe or file it needs\n"
         "  8    pre-flight (--preflight, 'rankwrap preflight'): a node failed a check\n"
         "  126  PROGRAM is not executable\n"
         "  127  PROGRAM is not found\n"
         "  N    --nccl-bootstrap=mpi or --nproc/--supervise: the first failing rank's status\n"
         "       (128+signal)\n"
         "\nMore: man rankwrap; docs/ (installed in share/doc/rankwrap).\n";
  return out.str();
}

std::string PlanHelpText() {
  std::ostringstream out;
  out << "usage: rankwrap plan [--ranks-per-node N] [--topology FILE.xml] [BINDING OPTIONS] [--json] [--svg FILE]\n\n"
         "Prints the binding plan of every local rank of this node (or of a recorded hwloc\n"
         "topology) as a table, or as JSON with --json; runs nothing. Exit 0, 2 (usage) or\n"
         "4 (the plan cannot be made).\n\n"
      << PlanOptions() << "\n"
      << BindingOptions() << "\n"
      << "  --json                print one JSON object instead of the table\n\n"
         "Examples:\n"
         "  rankwrap plan                                   this node, one rank per GPU\n"
         "  rankwrap plan --ranks-per-node 8 --cpu-bind numa\n"
         "  rankwrap plan --ranks-per-node 4 --cpu-bind map_cpu:0,28,56,84\n"
         "  rankwrap plan --topology node.xml --ranks-per-node 8 --svg node.svg\n"
         "  lstopo --of xml node.xml                        record a node's topology\n";
  return out.str();
}

std::string PreflightHelpText() {
  std::ostringstream out;
  out << "usage: rankwrap preflight [--preflight-cmd CMD] [OPTIONS]\n\n"
         "Checks this node as --preflight does before a program starts (MASTER_ADDR:MASTER_PORT\n"
         "reachable over which interface, the binding plan's GPUs and RDMA ports, /dev/shm,\n"
         "the memlock limit, CMD), prints the node's table and runs nothing. The launcher's\n"
         "options (--launcher, --master-addr, --master-port, binding options) apply as for a\n"
         "run. Exit 0 (every check passed), 2 (usage), 3/4 (the job or the plan cannot be\n"
         "derived) or 8 (a check failed). docs/preflight.md.\n\n"
      << PreflightOptions() << "\n"
      << "Examples:\n"
         "  rankwrap preflight\n"
         "  srun -N4 --ntasks-per-node=1 rankwrap preflight --preflight-cmd 'nvidia-smi -L'\n";
  return out.str();
}

std::string HostlistHelpText(const std::string& command) {
  if (command == "hostnames") {
    return "usage: rankwrap hostnames LIST...\n\n"
           "Prints the hosts of each Slurm host list, one per line, as 'scontrol show hostnames'\n"
           "does (for containers and nodes without scontrol). Exit 0, or 2 for a malformed list.\n\n"
           "Examples:\n"
           "  rankwrap hostnames 'nid[001-004,010]'\n"
           "  rankwrap hostnames \"$SLURM_JOB_NODELIST\" | head -1   the first node\n";
  }
  return "usage: rankwrap hostlist HOST...\n\n"
         "Prints the compressed Slurm host list of the hosts given (each may itself be a list),\n"
         "as 'scontrol show hostlist' does. Exit 0, or 2 for a malformed host.\n\n"
         "Examples:\n"
         "  rankwrap hostlist n1 n2 n3 n7          -> n[1-3,7]\n"
         "  rankwrap hostlist $(cat hosts.txt)\n";
}

namespace {

// Other launchers' spellings of rankwrap's options, where the meaning is
// the same (docs/cli-compat.md): torchrun's, with '-' or '_'.
struct Alias {
  const char* spelling;
  const char* option;
};
constexpr Alias kAliases[] = {
    {"--nproc-per-node", "--nproc"},
    {"--nproc_per_node", "--nproc"},
    {"--local_ranks_filter", "--local-ranks-filter"},
    {"--log_dir", "--log-dir"},
    {"--max_restarts", "--max-restarts"},
    {"--master_addr", "--master-addr"},
    {"--master_port", "--master-port"},
};

// torchrun options rankwrap has no flag for, and why (an unknown-option
// error says this instead of a guess).
constexpr std::pair<const char*, const char*> kTorchrunOnly[] = {
    {"--nnodes", "the launcher (srun -N, mpirun's host list) says how many nodes there are"},
    {"--node-rank", "NODE_RANK comes from the launcher (SLURM_NODEID, ...)"},
    {"--node_rank", "NODE_RANK comes from the launcher (SLURM_NODEID, ...)"},
    {"--rdzv-endpoint", "MASTER_ADDR/MASTER_PORT are derived from the job, or given as --master-addr/--master-port"},
    {"--rdzv_endpoint", "MASTER_ADDR/MASTER_PORT are derived from the job, or given as --master-addr/--master-port"},
    {"--rdzv-backend", "there is no rendezvous: the contract is derived from the launcher, without a network call"},
    {"--rdzv_backend", "there is no rendezvous: the contract is derived from the launcher, without a network call"},
    {"--standalone", "without a launcher rankwrap is standalone already: rankwrap --nproc N PROGRAM"},
};

// Split: our options, then the program. "-x" words before the program are
// ours; an option that takes a value consumes the next word. Aliases are
// rewritten to rankwrap's names here.
struct Words {
  bool plan_command = false;
  bool preflight_command = false;
  bool redirects = false;  // torchrun's --redirects 3: needs --log-dir
  std::vector<std::string> ours, program;
};

// "--nproc-per-node=4" -> "--nproc=4".
std::string Canonical(const std::string& word) {
  const std::size_t eq = word.find('=');
  const std::string name = word.substr(0, eq);
  for (const Alias& a : kAliases) {
    if (name == a.spelling) return a.option + (eq == std::string::npos ? "" : word.substr(eq));
  }
  return word;
}

// torchrun's stream selector (--redirects, --tee): 0 none, 1 stdout, 2
// stderr, 3 both, or per local rank ("0:3,1:1").
bool IsStreams(const std::string& w) { return !w.empty() && w.find_first_not_of("0123456789:,") == std::string::npos; }

// torchrun's --redirects/-r and --tee/-t with a selector. rankwrap's
// --log-dir always writes both streams and --tee always keeps both on the
// console, so 3 (both) and 0 (none) mean the same; 1, 2 and per-rank maps
// have no rankwrap equivalent.
Status TorchrunStreams(const std::string& flag, const std::string& value, Words* w) {
  const bool tee = flag == "--tee" || flag == "-t";
  if (value == "3") {
    if (tee) w->ours.push_back("--tee");
    w->redirects = w->redirects || !tee;
    return Ok{};
  }
  if (value == "0") return Ok{};
  return Error{kExitUsage, "usage", flag + " '" + value + "'",
               std::string("torchrun's stream selector; rankwrap ") +
                   (tee ? "--tee keeps both stdout and stderr of every rank on the console"
                        : "--log-dir writes both stdout and stderr of every rank") +
                   ", so only 3 (both) or 0 (neither) mean the same",
               tee ? "use --tee 3 (or --tee) with --log-dir DIR" : "use --log-dir DIR (torchrun's --redirects 3)"};
}

// One option word at argv[i] (and its value); advances i past what it took.
Status TakeOption(int argc, const char* const* argv, int& i, const po::options_description& desc, Words* w) {
  const std::string a = Canonical(argv[i]);
  const std::size_t eq = a.find('=');
  const std::string name = a.substr(0, eq);
  const bool streams = name == "--redirects" || name == "-r" || name == "--tee" || name == "-t";
  if (streams && eq != std::string::npos) return TorchrunStreams(name, a.substr(eq + 1), w);
  if (streams && name != "--tee") {
    if (i + 1 >= argc) return Usage(name + " without a value", "expected torchrun's stream selector, 3 or 0");
    return TorchrunStreams(name, argv[++i], w);
  }
  if (name == "--tee" && i + 1 < argc && IsStreams(argv[i + 1])) return TorchrunStreams(name, argv[++i], w);
  w->ours.push_back(a);
  if (a.starts_with("--") && eq == std::string::npos) {
    const po::option_description* od = desc.find_nothrow(a.substr(2), false);
    if (od != nullptr && od->semantic()->max_tokens() > 0 && i + 1 < argc) w->ours.push_back(argv[++i]);
  }
  return Ok{};
}

Result<Words> SplitWords(int argc, const char* const* argv, const po::options_description& desc) {
  Words w;
  int i = 1;
  if (argc > 1 && std::string(argv[1]) == "plan") {
    w.plan_command = true;
    i = 2;
  } else if (argc > 1 && std::string(argv[1]) == "preflight") {
    w.preflight_command = true;
    i = 2;
  }
  for (; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--") {
      ++i;
      break;
    }
    if (a.empty() || a[0] != '-' || a == "-") break;
    if (auto s = TakeOption(argc, argv, i, desc, &w); !s) return s.error();
  }
  for (; i < argc; ++i) w.program.emplace_back(argv[i]);
  return w;
}

// Edit distance (insertions, deletions, substitutions), for "did you mean".
std::size_t Distance(const std::string& a, const std::string& b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = up;
    }
  }
  return row[b.size()];
}

// The unknown option's error: torchrun's options without an equivalent say
// why; otherwise the closest spelling rankwrap knows, if one is close.
Error UnknownOption(const std::string& given, const po::options_description& desc) {
  const std::string name = given.substr(0, given.find('='));
  for (const auto& [flag, why] : kTorchrunOnly) {
    if (name == flag) {
      return Error{kExitUsage, "usage", "torchrun's " + name + " is not a rankwrap option", why,
                   "leave it out; 'rankwrap --help' lists the options (docs/cli-compat.md: torchrun side by side)"};
    }
  }
  std::vector<std::string> known;
  for (const auto& od : desc.options()) known.push_back("--" + od->long_name());
  for (const Alias& a : kAliases) known.emplace_back(a.spelling);
  std::string best;
  std::size_t best_distance = std::string::npos;
  for (const std::string& k : known) {
    const std::size_t d = Distance(name, k);
    if (d < best_distance) best = k, best_distance = d;
  }
  const bool close = best_distance <= 2 || best_distance * 4 <= name.size();
  return Error{kExitUsage, "usage", "unknown option '" + name + "'", "rankwrap has no option of that name",
               close ? "did you mean '" + best + "'? ('rankwrap --help' lists the options)"
                     : "see 'rankwrap --help' for the options; PROGRAM's own options go after PROGRAM"};
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

// "--cpu-bind 'x'" or "RANKWRAP_CPU_BIND='x'", as the value was given.
std::string Quoted(const std::string& name, const app::OptionValue& v) {
  return v.source.starts_with("--") ? "--" + name + " '" + v.value + "'" : v.source + "='" + v.value + "'";
}

// srun's spellings of the binding values, where they mean what rankwrap's
// do: [verbose,]map_gpu:LIST is map:LIST (verbose is --report), ldoms is
// numa; map_cpu:LIST and mask_cpu:LIST are rankwrap's own values too
// (core/parse/cpulist.h). NUMA-domain lists and GPU masks have no rankwrap
// equivalent: srun applies them itself.
Status SlurmBindValues(app::OptionValues* values, bool* report) {
  for (const std::string name : {"gpu-bind", "cpu-bind"}) {
    auto it = values->find(name);
    if (it == values->end()) continue;
    const std::string given = Quoted(name, it->second);
    std::string t = it->second.value;
    while (t.starts_with("verbose") || t.starts_with("quiet")) {
      if (t.starts_with("verbose")) *report = true;
      const std::size_t comma = t.find(',');
      t = comma == std::string::npos ? "" : t.substr(comma + 1);
    }
    if (t.starts_with("map_gpu:")) t = "map:" + t.substr(8);
    if (t == "ldoms") t = "numa";
    if (t.starts_with("map_ldom:") || t.starts_with("mask_ldom:") || t.starts_with("mask_gpu:")) {
      return Error{
          kExitUsage, "usage", given,
          "Slurm's per-rank " + t.substr(0, t.find(':')) +
              " list has no rankwrap equivalent: rankwrap plans from the node's topology (" +
              (name == "cpu-bind" ? "gpu, numa, cores, map_cpu:LIST or mask_cpu:LIST)" : "closest or map:I,J,...)"),
          "let srun bind and keep it: srun --" + name + "=" + t + " rankwrap --" + name + " none PROGRAM"};
    }
    if (t.empty()) {
      values->erase(it);  // "verbose" alone: the default binding, reported
    } else {
      it->second.value = t;
    }
  }
  return Ok{};
}

}  // namespace

Result<Options> ParseCommandLine(int argc, const char* const* argv, const EnvSnapshot& env) {
  const po::options_description desc = Describe();
  auto split = SplitWords(argc, argv, desc);
  if (!split) return split.error();
  Words& words = *split;
  po::variables_map vm;
  try {
    // No abbreviations: "--npro 4" would take 4 as PROGRAM; a typo gets a suggestion instead.
    const int style = po::command_line_style::default_style & ~po::command_line_style::allow_guessing;
    po::store(po::command_line_parser(words.ours).options(desc).style(style).run(), vm);
    po::notify(vm);
  } catch (const po::unknown_option& e) {
    return UnknownOption(e.get_option_name(), desc);
  } catch (const po::error& e) {
    return Usage(e.what(), "expected the options listed by --help before PROGRAM");
  }
  auto parsed = Values(desc, vm, env);
  if (!parsed) return parsed.error();
  app::OptionValues& values = *parsed;
  if (words.redirects && !values.count("log-dir")) {
    return Error{kExitUsage, "usage", "--redirects 3 without --log-dir",
                 "torchrun writes the logs to a temporary directory; rankwrap writes them only where it is told",
                 "add --log-dir DIR"};
  }
  bool slurm_verbose = false;
  if (auto s = SlurmBindValues(&values, &slurm_verbose); !s) return s.error();
  std::vector<std::string> program = std::move(words.program);
  Options o;
  o.plan_command = words.plan_command;
  o.preflight_command = words.preflight_command;
  auto on = [&](const char* name) { return values.count(name) && values[name].value == "1"; };
  o.help = vm["help"].as<bool>();
  o.version = vm["version"].as<bool>();
  o.explain = on("explain");
  o.dry_run = on("dry-run");
  o.print_env = on("print-env");
  o.json = on("json");
  if (o.json) o.dry_run = true;
  o.report = on("report") || slurm_verbose;
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
  if (o.preflight_command && !program.empty()) {
    return Usage("'" + program.front() + "' after 'rankwrap preflight'",
                 "preflight checks this node and runs no program (--preflight runs the check before one)");
  }
  if (!o.plan_command && !o.preflight_command && !o.help && !o.version && !o.print_env && !o.dry_run &&
      program.empty()) {
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
