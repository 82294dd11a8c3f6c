#include "app/config.h"

#include <cctype>

#include "core/parse/hostlist.h"
#include "core/parse/number.h"

namespace rankwrap::app {
namespace {

Error Usage(std::string what, std::string why) {
  return Error{kExitUsage, "usage", std::move(what), std::move(why), "see 'rankwrap --help'"};
}

// Reads values by name; every error says where the value came from.
class Reader {
 public:
  explicit Reader(const OptionValues& v) : v_(v) {}
  bool Has(const std::string& name) const { return v_.count(name) > 0; }
  std::string Get(const std::string& name, const std::string& fallback = "") const {
    auto it = v_.find(name);
    return it == v_.end() ? fallback : it->second.value;
  }
  bool On(const std::string& name) const { return Get(name) == "1"; }
  // "--nproc '1e1'" or "RANKWRAP_NPROC='1e1'".
  std::string Named(const std::string& name, const std::string& value) const {
    auto it = v_.find(name);
    if (it != v_.end() && it->second.source.rfind("--", 0) != 0) return it->second.source + "='" + value + "'";
    return "--" + name + " '" + value + "'";
  }
  Error Bad(const std::string& name, const std::string& value, const std::string& why) const {
    return Usage(Named(name, value), why);
  }
  bool FromEnv(const std::string& name) const {
    auto it = v_.find(name);
    return it != v_.end() && it->second.source.rfind("--", 0) != 0;
  }

 private:
  const OptionValues& v_;
};

// --ranks-filter / --local-ranks-filter: rank numbers separated by commas.
Result<std::vector<std::uint64_t>> RankList(const Reader& r, const std::string& name) {
  std::vector<std::uint64_t> out;
  const std::string t = r.Get(name);
  for (std::string_view item : parse::Split(t, ',')) {
    auto n = parse::Decimal(item, UINT32_MAX);
    if (!n) {
      return r.Bad(name, t,
                   "'" + std::string(item) + "': " + n.error().message +
                       "; expected rank numbers separated by commas, e.g. 0,3");
    }
    out.push_back(*n);
  }
  return out;
}

// Strict numbers (parse::Decimal, parse::Seconds): digits only, no sign,
// spaces, exponent, hex, inf or nan.
Result<std::optional<std::uint64_t>> Whole(const Reader& r, const std::string& name, std::uint64_t max,
                                           const std::string& expected) {
  if (!r.Has(name)) return std::optional<std::uint64_t>{};
  const std::string t = r.Get(name);
  auto n = parse::Decimal(t, max);
  if (!n) return r.Bad(name, t, n.error().message + "; expected " + expected);
  return std::optional<std::uint64_t>{*n};
}

Status ContractPart(const Reader& r, ContractConfig* c) {
  if (r.Has("launcher")) {
    c->launcher = r.Get("launcher");
    if (c->launcher.empty()) return Usage("--launcher ''", "expected a launcher name (see the list in --help)");
  }
  if (r.Has("master-addr")) {
    const std::string a = r.Get("master-addr");
    if (a.empty()) return r.Bad("master-addr", "", "expected a host name or address");
    if (auto host = parse::CheckHostName(a); !host) {
      const std::string shown =
          a.size() <= 80 ? a : a.substr(0, 40) + "...(" + std::to_string(a.size()) + " characters)";
      return r.Bad("master-addr", shown, host.error().message);
    }
    c->master_addr = a;
  }
  if (r.Has("master-port")) {
    const std::string p = r.Get("master-port");
    auto n = parse::Decimal(p, 65535);
    if (!n || *n == 0) return r.Bad("master-port", p, "expected a TCP port 1-65535");
    c->master_port = static_cast<std::uint16_t>(*n);
  }
  return Ok{};
}

Status BindPart(const Reader& r, BindConfig* b) {
  const std::string bind = r.Get("bind", "auto");
  if (bind != "auto" && bind != "none") return r.Bad("bind", bind, "expected auto or none");
  // Every value is checked, also under --bind none (which then ignores them).
  auto opts = bind::ParseBindOptions(r.Get("gpu-bind", "closest"), r.Get("gpu-visibility", "single"),
                                     r.Get("cpu-bind", "auto"), r.Get("mem-bind", "local"), "auto");
  if (!opts) {
    // ParseBindOptions names the flag; name the variable when the value came from one.
    Error e = opts.error();
    for (const char* name : {"bind", "gpu-bind", "gpu-visibility", "cpu-bind", "mem-bind"}) {
      const std::string flag = std::string("--") + name + " '";
      if (r.FromEnv(name) && e.what.rfind(flag, 0) == 0) e.what = EnvName(name) + "='" + e.what.substr(flag.size());
    }
    return e;
  }
  b->options = *opts;
  b->enabled = bind != "none";
  b->topology = r.Get("topology");
  return Ok{};
}

Status BootstrapPart(const Reader& r, BootstrapConfig* b) {
  const std::string mode = r.Get("nccl-bootstrap", "none");
  if (mode == "mpi") {
    b->mode = BootstrapMode::kMpi;
  } else if (mode == "tcp") {
    b->mode = BootstrapMode::kTcp;
  } else if (mode != "none") {
    return r.Bad("nccl-bootstrap", mode, "expected mpi, tcp or none");
  }
  b->nccl_comm_id = r.On("nccl-comm-id");
  if (r.Has("bootstrap-timeout")) {
    const std::string t = r.Get("bootstrap-timeout");
    auto secs = parse::Seconds(t, 86400);
    if (!secs) return r.Bad("bootstrap-timeout", t, secs.error().message + "; expected seconds, e.g. 60 or 2.5");
    if (!(*secs > 0)) return r.Bad("bootstrap-timeout", t, "expected more than 0 seconds");
    b->timeout = *secs;
  }
  return Ok{};
}

// KILL and STOP are not in the table: neither can be caught (so never
// received to forward), and delivering STOP to the ranks stops them
// without ending them: the job hangs until its time limit.
Result<std::vector<std::pair<int, int>>> SignalMap(const Reader& r) {
  std::vector<std::pair<int, int>> map;
  if (!r.Has("signal-map")) return map;
  const std::string t = r.Get("signal-map");
  auto strip = [](std::string name) { return name.rfind("SIG", 0) == 0 ? name.substr(3) : name; };
  auto sig = [&](const std::string& name) -> int {
    const std::pair<const char*, int> known[] = {{"TERM", 15}, {"INT", 2},   {"HUP", 1},  {"QUIT", 3},
                                                 {"USR1", 10}, {"USR2", 12}, {"CONT", 18}};
    for (const auto& [n, v] : known) {
      if (strip(name) == n) return v;
    }
    return 0;
  };
  for (std::string_view piece : parse::Split(t, ',')) {
    const std::string item(piece);
    const std::size_t colon = item.find(':');
    const std::string from_name = colon == std::string::npos ? item : item.substr(0, colon);
    const std::string to_name = colon == std::string::npos ? "" : item.substr(colon + 1);
    const std::string which = item == t ? std::string() : "'" + item + "': ";
    for (const std::string& n : {from_name, to_name}) {
      if (strip(n) == "KILL" || strip(n) == "STOP") {
        return r.Bad("signal-map", t,
                     which +
                         "KILL and STOP cannot be mapped (they can never be caught, and "
                         "delivering STOP would stop the ranks and hang the job)");
      }
    }
    const int from = colon == std::string::npos ? 0 : sig(from_name);
    const int to = colon == std::string::npos ? 0 : sig(to_name);
    if (from == 0 || to == 0) {
      return r.Bad("signal-map", t,
                   which + "expected FROM:TO pairs of TERM, INT, HUP, QUIT, USR1, USR2, CONT, e.g. USR1:TERM");
    }
    map.push_back({from, to});
  }
  return map;
}

Status SupervisePart(const Reader& r, SuperviseConfig* s) {
  auto nproc = Whole(r, "nproc", 4096, "a whole number of ranks, 1-4096");
  if (!nproc) return nproc.error();
  if (*nproc) {
    if (**nproc == 0) {
      return Usage(r.FromEnv("nproc") ? r.Named("nproc", "0") : "--nproc 0", "expected at least 1 rank");
    }
    s->nproc = static_cast<unsigned>(**nproc);
  }
  if (r.Has("grace") && r.Get("grace") == "scheduler") {
    s->grace_from_scheduler = true;
  } else if (r.Has("grace")) {
    const std::string t = r.Get("grace");
    auto g = parse::Seconds(t, 86400);
    if (!g) {
      return r.Bad("grace", t, g.error().message + "; expected seconds, 0-86400, e.g. 30 or 0.5, or scheduler");
    }
    s->grace = *g;
  }
  auto restarts = Whole(r, "max-restarts", 1000, "a whole number, 0-1000");
  if (!restarts) return restarts.error();
  s->max_restarts = static_cast<unsigned>(restarts->value_or(0));
  if (r.Has("restart-backoff")) {
    const std::string t = r.Get("restart-backoff");
    auto b = parse::Seconds(t, 3600);
    if (!b) return r.Bad("restart-backoff", t, b.error().message + "; expected seconds, 0-3600, e.g. 1 or 0.5");
    s->restart_backoff = *b;
  }
  s->tag_output = r.On("tag-output");
  s->requeue = r.On("requeue");
  s->tee = r.On("tee");
  s->log_dir = r.Get("log-dir");
  s->failure_file = r.Get("failure-file");
  if (r.Has("ranks-filter") && r.Has("local-ranks-filter")) {
    return Error{kExitUsage, "usage",
                 r.Named("ranks-filter", r.Get("ranks-filter")) + " and " +
                     r.Named("local-ranks-filter", r.Get("local-ranks-filter")),
                 "both choose the ranks shown on the console: --ranks-filter by global rank, --local-ranks-filter by "
                 "the rank on its node",
                 "give one of them"};
  }
  for (const char* name : {"ranks-filter", "local-ranks-filter"}) {
    if (!r.Has(name)) continue;
    auto list = RankList(r, name);
    if (!list) return list.error();
    (std::string(name) == "ranks-filter" ? s->ranks_filter : s->local_ranks_filter) = *list;
  }
  if (r.Has("plane")) {
    s->plane = r.Get("plane");
    s->plane_given = true;
    if (s->plane == "off") {
      s->plane.clear();
    } else if (s->plane != "auto" && s->plane != "munge" && s->plane != "secret" && s->plane != "insecure") {
      return r.Bad("plane", s->plane, "expected auto, munge, secret, insecure or off");
    }
  }
  auto map = SignalMap(r);
  if (!map) return map.error();
  s->signal_map = *map;
  // Every supervision option turns supervision on: none is silently ignored.
  s->enabled = r.On("supervise") || s->nproc || r.Has("grace") || s->tag_output || !s->log_dir.empty() ||
               !s->failure_file.empty() || !s->ranks_filter.empty() || !s->local_ranks_filter.empty() ||
               !s->signal_map.empty() || s->max_restarts > 0 || s->requeue || (s->plane_given && !s->plane.empty());
  if (s->tee && s->log_dir.empty()) {
    return Usage("--tee without --log-dir", "--tee keeps the console output next to the log files");
  }

  return Ok{};
}

Status PreflightPart(const Reader& r, PreflightConfig* p) {
  if (r.Has("preflight-cmd")) {
    p->command = r.Get("preflight-cmd");
    if (p->command.empty()) {
      return r.Bad("preflight-cmd", "", "expected a shell command run once per node, e.g. 'nvidia-smi -L'");
    }
  }
  p->enabled = r.On("preflight") || !p->command.empty();
  return Ok{};
}

}  // namespace

const std::vector<OptionSpec>& ConfigOptions() {
  // One option a line.
  // clang-format off
  static const std::vector<OptionSpec> specs = {
      {"launcher", false},
      {"master-addr", false},
      {"master-port", false},
      {"bind", false},
      {"gpu-bind", false},
      {"gpu-visibility", false},
      {"cpu-bind", false},
      {"mem-bind", false},
      {"topology", false},
      {"nccl-bootstrap", false},
      {"bootstrap-timeout", false},
      {"nccl-comm-id", true},
      {"nproc", false},
      {"supervise", true},
      {"tag-output", true},
      {"log-dir", false},
      {"tee", true},
      {"ranks-filter", false},
      {"local-ranks-filter", false},
      {"grace", false},
      {"failure-file", false},
      {"max-restarts", false},
      {"signal-map", false},
      {"plane", false},
      {"requeue", true},
      {"restart-backoff", false},
      {"preflight", true},
      {"preflight-cmd", false},
  };
  // clang-format on
  return specs;
}

std::string EnvName(const std::string& option) {
  std::string out = "RANKWRAP_";
  for (char c : option) out += c == '-' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

Status AddFromEnvironment(OptionValues* values, const EnvSnapshot& env, const std::vector<OptionSpec>& specs) {
  for (const OptionSpec& spec : specs) {
    // RANKWRAP_LAUNCHER is what rankwrap exports to the program, not an option.
    if (std::string(spec.name) == "launcher" || values->count(spec.name)) continue;
    const std::string var = EnvName(spec.name);
    auto v = env.Get(var);
    if (!v) continue;
    const std::string value(*v);
    if (!spec.is_switch) {
      (*values)[spec.name] = {value, var};
    } else if (value == "1" || value == "true" || value == "yes" || value == "on") {
      (*values)[spec.name] = {"1", var};
    } else if (!(value == "0" || value == "false" || value == "no" || value == "off" || value.empty())) {
      return Usage(var + "='" + value + "'", "expected 1/true/yes/on or 0/false/no/off");
    }
  }
  return Ok{};
}

Result<Config> BuildConfig(const OptionValues& values, std::vector<std::string> program) {
  const Reader r(values);
  Config c;
  c.program = std::move(program);
  if (auto s = ContractPart(r, &c.contract); !s) return s.error();
  if (auto s = BindPart(r, &c.bind); !s) return s.error();
  if (auto s = BootstrapPart(r, &c.bootstrap); !s) return s.error();
  if (auto s = SupervisePart(r, &c.supervise); !s) return s.error();
  if (auto s = PreflightPart(r, &c.preflight); !s) return s.error();
  if (c.supervise.nproc && c.bootstrap.mode == BootstrapMode::kMpi) {
    return Usage("--nproc with --nccl-bootstrap=mpi",
                 "the MPI bootstrap needs one rankwrap per rank (mpirun -np N rankwrap ...)");
  }
  if (c.bootstrap.nccl_comm_id && c.bootstrap.mode != BootstrapMode::kNone) {
    return Usage("--nccl-comm-id with --nccl-bootstrap", "pick one way to bootstrap NCCL");
  }
  if (c.bootstrap.mode == BootstrapMode::kTcp) {
    if (c.supervise.plane.empty()) {
      return Usage("--nccl-bootstrap=tcp with --plane off",
                   "the job control plane carries the NCCL id from rank 0's rankwrap to every other");
    }
    // Rank 0's keeper creates the id and must outlive the ranks' NCCL init.
    c.supervise.enabled = true;
  }
  return c;
}

}  // namespace rankwrap::app
