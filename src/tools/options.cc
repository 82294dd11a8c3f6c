#include "tools/options.h"

#include <boost/program_options.hpp>
#include <map>
#include <sstream>

#include "core/bind/plan.h"
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
      ("gpu-visibility", po::value<std::string>()->default_value("single"), "single (only the rank's GPUs visible) or reorder (all the node's GPUs, the rank's own first)")
      ("cpu-bind", po::value<std::string>()->default_value("auto"), "gpu (cores local to the rank's GPU; the default with GPUs), numa, cores (the default without GPUs), none")
      ("mem-bind", po::value<std::string>()->default_value("local"), "local (memory on the rank's NUMA node) or none")
      ("topology", po::value<std::string>(), "plan from this hwloc XML file instead of this machine (CPU/memory binding is then not applied)")
      ("report", po::bool_switch(), "print this rank's binding to stderr")
      ("nccl-bootstrap", po::value<std::string>()->default_value("none"), "mpi: rank 0 creates the NCCL unique id, MPI broadcasts it (RANKWRAP_NCCL_UNIQUE_ID), the job is checked, and rankwrap stays the program's parent; none")
      ("bootstrap-timeout", po::value<std::string>(), "seconds the MPI bootstrap waits for the other ranks (default 60 + 0.01 per rank)")
      ("nccl-comm-id", po::bool_switch(), "export NCCL_COMM_ID=MASTER_ADDR:MASTER_PORT (single-communicator programs only; unsafe for PyTorch)")
      ("nproc", po::value<std::string>(), "start N local ranks of PROGRAM and supervise them (like torchrun --nproc-per-node); under a scheduler, one task per node")
      ("supervise", po::bool_switch(), "stay the program's parent instead of exec'ing it: logs, failure summary, signal forwarding (implied by --nproc)")
      ("tag-output", po::bool_switch(), "prefix every output line with [RANK HOST]")
      ("log-dir", po::value<std::string>(), "write DIR/<rank>/stdout.log and stderr.log (DIR/attempt-K/<rank>/ with --max-restarts)")
      ("tee", po::bool_switch(), "with --log-dir: also print to the console")
      ("ranks-filter", po::value<std::string>(), "print only these ranks on the console, e.g. 0,3")
      ("grace", po::value<std::string>(), "seconds between SIGTERM and SIGKILL when the other ranks are stopped (default 30)")
      ("failure-file", po::value<std::string>(), "write the first failure as JSON to FILE")
      ("max-restarts", po::value<std::string>(), "standalone --nproc: restart all ranks up to K times after a failure (RANKWRAP_RESTART_COUNT)")
      ("signal-map", po::value<std::string>(), "translate signals before forwarding, e.g. USR1:TERM,HUP:INT (TERM, INT, HUP, QUIT, USR1, USR2, CONT; never KILL or STOP)")
      ("ranks-per-node", po::value<std::string>(), "plan: local ranks to plan for (default: the GPUs, or 1)")
      ("svg", po::value<std::string>(), "plan: also write a picture of the node plan to this SVG file");
  // clang-format on
  return d;
}

Error Usage(std::string what, std::string why) {
  return Error{kExitUsage, "usage", std::move(what), std::move(why), "see 'rankwrap --help'"};
}

std::string EnvName(const std::string& option) {
  std::string out = "RANKWRAP_";
  for (char c : option) out += c == '-' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
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

Result<Options> ParseCommandLine(int argc, const char* const* argv, const EnvSnapshot& env) {
  const po::options_description desc = Describe();
  // Split: our options, then the program. "-x" words before the program are
  // ours; an option that takes a value consumes the next word.
  std::vector<std::string> ours;
  Options o;
  int i = 1;
  if (argc > 1 && std::string(argv[1]) == "plan") {
    o.plan_command = true;
    i = 2;
  }
  for (; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--") {
      ++i;
      break;
    }
    if (a.empty() || a[0] != '-' || a == "-") break;
    ours.push_back(a);
    if (a.starts_with("--") && a.find('=') == std::string::npos) {
      const po::option_description* od = desc.find_nothrow(a.substr(2), false);
      if (od != nullptr && od->semantic()->max_tokens() > 0 && i + 1 < argc) ours.push_back(argv[++i]);
    }
  }
  for (; i < argc; ++i) o.program.emplace_back(argv[i]);

  po::variables_map vm;
  try {
    po::store(po::command_line_parser(ours).options(desc).run(), vm);
    po::notify(vm);
  } catch (const po::error& e) {
    return Usage(e.what(), "expected the options listed by --help before PROGRAM");
  }

  // Environment forms, used only where the flag was not given. Values taken
  // from a variable are remembered so that an error names the variable, not
  // a flag the user never typed.
  std::map<std::string, std::string> from_env;  // option -> RANKWRAP_<OPTION>
  for (const auto& od : desc.options()) {
    const std::string name = od->long_name();
    if (name == "launcher" || name == "help" || name == "version") continue;
    const std::string var = EnvName(name);
    auto v = env.Get(var);
    if (!v) continue;
    for (const char* action : kActionOptions) {
      if (name != action) continue;
      return Error{kExitUsage, "usage", var + "='" + std::string(*v) + "' is set in the environment",
                   "--" + name +
                       " is an action (print or explain instead of, or before, running PROGRAM) and is "
                       "never taken from the environment: exported once, it would change every later job",
                   "unset " + var + ", and pass --" + name + " on the command line where you want it"};
    }
    const bool is_switch = od->semantic()->max_tokens() == 0;
    if (is_switch) {
      if (vm[name].as<bool>()) continue;
      if (*v == "1" || *v == "true" || *v == "yes" || *v == "on") {
        vm.at(name).value() = true;
      } else if (!(*v == "0" || *v == "false" || *v == "no" || *v == "off" || v->empty())) {
        return Usage(var + "='" + std::string(*v) + "'", "expected 1/true/yes/on or 0/false/no/off");
      }
    } else if (!vm.count(name) || vm[name].defaulted()) {
      vm.erase(name);
      vm.insert({name, po::variable_value(std::string(*v), false)});
      from_env[name] = var;
    }
  }
  // "--nproc '1e1'" or "RANKWRAP_NPROC='1e1'": where the bad value came from.
  auto named = [&](const std::string& name, const std::string& value) {
    auto it = from_env.find(name);
    if (it != from_env.end()) return it->second + "='" + value + "'";
    return "--" + name + " '" + value + "'";
  };
  auto bad = [&](const std::string& name, const std::string& value, const std::string& why) {
    return Usage(named(name, value), why);
  };
  o.help = vm["help"].as<bool>();
  o.version = vm["version"].as<bool>();
  o.explain = vm["explain"].as<bool>();
  o.dry_run = vm["dry-run"].as<bool>();
  o.print_env = vm["print-env"].as<bool>();
  o.json = vm["json"].as<bool>();
  if (o.json) o.dry_run = true;
  o.report = vm["report"].as<bool>();
  if (vm.count("launcher")) o.launcher = vm["launcher"].as<std::string>();
  if (o.launcher.empty() && vm.count("launcher")) {
    return Usage("--launcher ''", "expected a launcher name (see the list in --help)");
  }
  o.bind = vm["bind"].as<std::string>();
  o.gpu_bind = vm["gpu-bind"].as<std::string>();
  o.gpu_visibility = vm["gpu-visibility"].as<std::string>();
  o.cpu_bind = vm["cpu-bind"].as<std::string>();
  o.mem_bind = vm["mem-bind"].as<std::string>();
  // The binding values are checked where they are used (bind::ParseBindOptions,
  // which names the flag); checked here too so that a bad value from
  // RANKWRAP_CPU_BIND and the like is reported under the variable's name.
  if (auto b = bind::ParseBindOptions(o.gpu_bind, o.gpu_visibility, o.cpu_bind, o.mem_bind, o.bind); !b) {
    Error e = b.error();
    for (const auto& [name, var] : from_env) {
      const std::string flag = "--" + name + " '";
      if (e.what.rfind(flag, 0) == 0) e.what = var + "='" + e.what.substr(flag.size());
    }
    return e;
  }
  if (vm.count("topology")) o.topology = vm["topology"].as<std::string>();
  if (vm.count("ranks-per-node")) {
    const std::string t = vm["ranks-per-node"].as<std::string>();
    auto n = parse::Decimal(t, 1u << 20);
    if (!n) return bad("ranks-per-node", t, n.error().message + "; expected a number of ranks, 1-1048576");
    if (*n == 0) {
      return Usage(from_env.count("ranks-per-node") ? named("ranks-per-node", t) : "--ranks-per-node " + t,
                   "expected at least 1 rank");
    }
    o.ranks_per_node = static_cast<unsigned>(*n);
  }
  if (vm.count("svg")) o.svg = vm["svg"].as<std::string>();
  // Numbers are strict (parse::Decimal, parse::Seconds): digits only, no
  // sign, spaces, exponent, hex, inf or nan. strtod took "1e1", " 2", "0x2".
  if (vm.count("nproc")) {
    const std::string t = vm["nproc"].as<std::string>();
    auto n = parse::Decimal(t, 4096);
    if (!n) return bad("nproc", t, n.error().message + "; expected a whole number of ranks, 1-4096");
    if (*n == 0) {
      // "--nproc 0" as before (tests/integration/supervise.sh matches it).
      return Usage(from_env.count("nproc") ? named("nproc", t) : "--nproc " + t, "expected at least 1 rank");
    }
    o.nproc = static_cast<unsigned>(*n);
  }
  if (vm.count("grace")) {
    const std::string t = vm["grace"].as<std::string>();
    auto g = parse::Seconds(t, 86400);
    if (!g) return bad("grace", t, g.error().message + "; expected seconds, 0-86400, e.g. 30 or 0.5");
    o.grace = *g;
  }
  if (vm.count("max-restarts")) {
    const std::string t = vm["max-restarts"].as<std::string>();
    auto m = parse::Decimal(t, 1000);
    if (!m) return bad("max-restarts", t, m.error().message + "; expected a whole number, 0-1000");
    o.max_restarts = static_cast<unsigned>(*m);
  }
  // Every supervision option turns supervision on (none is silently ignored);
  // the others are in app::WantsSupervision.
  o.supervise = vm["supervise"].as<bool>() || o.nproc.has_value() || vm.count("grace") > 0;
  o.tag_output = vm["tag-output"].as<bool>();
  o.tee = vm["tee"].as<bool>();
  if (vm.count("log-dir")) o.log_dir = vm["log-dir"].as<std::string>();
  if (vm.count("failure-file")) o.failure_file = vm["failure-file"].as<std::string>();
  if (vm.count("ranks-filter")) {
    const std::string t = vm["ranks-filter"].as<std::string>();
    for (std::string_view item : parse::Split(t, ',')) {
      auto r = parse::Decimal(item, UINT32_MAX);
      if (!r) {
        return bad("ranks-filter", t,
                   "'" + std::string(item) + "': " + r.error().message +
                       "; expected rank numbers separated by commas, e.g. 0,3");
      }
      o.ranks_filter.push_back(*r);
    }
  }
  if (vm.count("signal-map")) {
    const std::string t = vm["signal-map"].as<std::string>();
    // KILL and STOP are not in the table: neither can be caught (so never
    // received to forward), and delivering STOP to the ranks stops them
    // without ending them: the job hangs until its time limit.
    auto sig = [](std::string name) -> int {
      if (name.rfind("SIG", 0) == 0) name = name.substr(3);
      const std::pair<const char*, int> known[] = {{"TERM", 15}, {"INT", 2},   {"HUP", 1}, {"QUIT", 3},
                                                   {"USR1", 10}, {"USR2", 12}, {"CONT", 18}};
      for (const auto& [n, v] : known) {
        if (name == n) return v;
      }
      return 0;
    };
    auto uncatchable = [](std::string name) {
      if (name.rfind("SIG", 0) == 0) name = name.substr(3);
      return name == "KILL" || name == "STOP";
    };
    for (std::string_view piece : parse::Split(t, ',')) {
      const std::string item(piece);
      const std::size_t colon = item.find(':');
      const std::string from_name = colon == std::string::npos ? item : item.substr(0, colon);
      const std::string to_name = colon == std::string::npos ? "" : item.substr(colon + 1);
      const std::string which = item == t ? std::string() : "'" + item + "': ";
      if (uncatchable(from_name) || uncatchable(to_name)) {
        return bad("signal-map", t,
                   which + "KILL and STOP cannot be mapped (they can never be caught, and "
                   "delivering STOP would stop the ranks and hang the job)");
      }
      const int from = colon == std::string::npos ? 0 : sig(from_name);
      const int to = colon == std::string::npos ? 0 : sig(to_name);
      if (from == 0 || to == 0) {
        return bad("signal-map", t,
                   which + "expected FROM:TO pairs of TERM, INT, HUP, QUIT, USR1, USR2, CONT, e.g. USR1:TERM");
      }
      o.signal_map.push_back({from, to});
    }
  }
  if (o.tee && o.log_dir.empty()) return Usage("--tee without --log-dir", "--tee keeps the console output next to the log files");
  if (o.max_restarts > 0 && !o.nproc) return Usage("--max-restarts without --nproc", "restarts are for rankwrap's own local ranks");
  o.nccl_bootstrap = vm["nccl-bootstrap"].as<std::string>();
  if (o.nccl_bootstrap != "none" && o.nccl_bootstrap != "mpi") {
    return bad("nccl-bootstrap", o.nccl_bootstrap, "expected mpi or none");
  }
  o.nccl_comm_id = vm["nccl-comm-id"].as<bool>();
  if (o.nproc && o.nccl_bootstrap == "mpi") {
    return Usage("--nproc with --nccl-bootstrap=mpi", "the MPI bootstrap needs one rankwrap per rank (mpirun -np N rankwrap ...)");
  }
  if (o.nccl_comm_id && o.nccl_bootstrap == "mpi") {
    return Usage("--nccl-comm-id with --nccl-bootstrap=mpi", "pick one way to bootstrap NCCL");
  }
  if (vm.count("bootstrap-timeout")) {
    const std::string t = vm["bootstrap-timeout"].as<std::string>();
    auto secs = parse::Seconds(t, 86400);
    if (!secs) return bad("bootstrap-timeout", t, secs.error().message + "; expected seconds, e.g. 60 or 2.5");
    if (!(*secs > 0)) return bad("bootstrap-timeout", t, "expected more than 0 seconds");
    o.bootstrap_timeout = *secs;
  }
  if (o.plan_command && !o.program.empty()) {
    return Usage("'" + o.program.front() + "' after 'rankwrap plan'", "plan runs no program");
  }
  if (vm.count("master-addr")) {
    o.master_addr = vm["master-addr"].as<std::string>();
    if (o.master_addr->empty()) return bad("master-addr", "", "expected a host name or address");
    if (auto host = parse::CheckHostName(*o.master_addr); !host) {
      const std::string& a = *o.master_addr;
      const std::string shown = a.size() <= 80 ? a : a.substr(0, 40) + "...(" + std::to_string(a.size()) + " characters)";
      return bad("master-addr", shown, host.error().message);
    }
  }
  if (vm.count("master-port")) {
    const std::string p = vm["master-port"].as<std::string>();
    auto n = parse::Decimal(p, 65535);
    if (!n || *n == 0) return bad("master-port", p, "expected a TCP port 1-65535");
    o.master_port = static_cast<std::uint16_t>(*n);
  }
  if (!o.plan_command && !o.help && !o.version && !o.print_env && !o.dry_run && o.program.empty()) {
    return Usage("no PROGRAM given", "rankwrap runs PROGRAM [ARGS...] with the rank contract");
  }
  return o;
}

}  // namespace rankwrap::tools
