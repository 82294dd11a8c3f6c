#include "app/pipeline.h"

#include <cctype>
#include <functional>

#include "adapters/hwloc/hwloc_topology.h"
#include "adapters/posix/posix.h"
#include "core/topo/serialize.h"
#include "detect/registry.h"
#include "version.h"

namespace rankwrap::app {

namespace {

// hwloc loads another machine than this one when one of these is set (an
// XML file, a synthetic description, another sysfs root): the cache, which
// holds this machine, steps aside.
constexpr const char* kHwlocRedirects[] = {"HWLOC_XMLFILE", "HWLOC_SYNTHETIC", "HWLOC_FSROOT"};

// HWLOC_COMPONENTS changes what hwloc discovers ("-pci": no GPU) and
// overrides the variables above. Naming an XML or synthetic source it is a
// redirect (nullopt); otherwise its view of this machine gets its own cache file
// so a "-pci" run never serves, or stores, the GPU-less view to normal runs.
std::optional<std::string> ComponentsKey(const EnvSnapshot& env) {
  auto value = env.Get("HWLOC_COMPONENTS");
  if (!value) return std::string("-default");
  const std::string v(*value);
  if (v.find("xml") != std::string::npos || v.find("synthetic") != std::string::npos) return std::nullopt;
  std::string key = "-components";
  for (char ch : v) key += std::isalnum(static_cast<unsigned char>(ch)) || ch == '-' ? ch : '_';
  if (key.size() > 64) key = "-components" + std::to_string(std::hash<std::string>{}(v));
  return key;
}

// This machine's topology as the node plan sees it: restricted to the
// node's allowed PUs (the job's cgroup cpuset), never to this process's own
// CPU mask (bind::NodeTopology says why). hwloc's walk of sysfs with I/O
// devices costs tens of milliseconds on some systems, paid by every rank of
// every job, while the machine does not change between boots: the
// whole-machine result is kept in a private per-user cache keyed by boot
// id, hwloc version, rankwrap version and format version
// (docs/performance.md, row 1b). RANKWRAP_TOPOLOGY_CACHE=0 turns it off.
Result<topo::Topology> MachineTopology(const EnvSnapshot& env, std::vector<std::string>* warnings) {
  const std::optional<std::string> components = ComponentsKey(env);
  bool redirect = !components;
  for (const char* var : kHwlocRedirects) redirect = redirect || (env.Has(var) && !env.Has("HWLOC_COMPONENTS"));
  if (redirect) {
    std::vector<unsigned> allowed;  // the loaded machine's own allowed set
    auto t = hwloc::LoadMachine(&allowed);
    if (!t) return t.error();
    return bind::NodeTopology(*t, allowed);
  }
  const std::vector<unsigned> allowed = posix::CgroupPus();
  std::string cache_file;
  if (env.Get("RANKWRAP_TOPOLOGY_CACHE") != std::optional<std::string_view>("0")) {
    const posix::DiskFileReader files;
    auto boot = files.Read("/proc/sys/kernel/random/boot_id");
    auto dir = posix::PrivateCacheDir(env);
    if (!dir) {
      // Never read or write a cache others could have planted: do without.
      warnings->push_back("topology cache not used: " + dir.error().what + ": " + dir.error().why);
    }
    if (boot && dir) {
      std::string id = *boot;
      while (!id.empty() && (id.back() == '\n' || id.back() == ' ')) id.pop_back();
      cache_file = *dir + "/topology-" + id + "-hwloc" + hwloc::Version() + *components + "-rankwrap" +
                   RANKWRAP_VERSION + "-v2.txt";
      if (auto text = posix::ReadPrivateFile(cache_file)) {
        auto t = topo::FromText(*text);
        if (t) {
          topo::Topology node = bind::NodeTopology(*t, allowed);
          if (!node.cores.empty()) return node;
        }
        // A cache that does not parse, or leaves no core, is damaged (or
        // from elsewhere): say so, discard it and ask hwloc again, instead
        // of failing every run until someone deletes it.
        warnings->push_back("topology cache '" + cache_file + "' " +
                            (t ? std::string("leaves no allowed core") : "does not parse") +
                            ": discarded and rebuilt from hwloc");
      }
    }
  }
  std::vector<unsigned> hwloc_allowed;
  auto whole = hwloc::LoadMachine(&hwloc_allowed);
  if (!whole) return whole.error();
  if (!cache_file.empty()) (void)posix::WritePrivateFile(cache_file, topo::ToText(*whole));  // best effort
  return bind::NodeTopology(*whole, allowed.empty() ? hwloc_allowed : allowed);
}

}  // namespace

Result<Binding> PlanBinding(const BindConfig& c, const PlanRequest& req, const EnvSnapshot& env) {
  Binding b;
  const bind::BindOptions* opts = &c.options;
  if (!c.enabled) return b;
  unsigned local_ranks = req.local_ranks, local_rank = req.local_rank;
  auto topo = c.topology.empty() ? MachineTopology(env, &b.warnings) : hwloc::Load(c.topology);
  if (!topo) return topo.error();
  b.topo = std::move(topo).value();
  bind::VisibleGpus visible;
  if (opts->gpu != bind::BindOptions::Gpu::kNone) {
    auto v = bind::MapVisible(b.topo, env);
    if (!v) return v.error();
    visible = std::move(v).value();
  }
  if (req.whole_node && !req.ranks_given) {
    local_ranks = visible.gpus.empty() ? 1u : static_cast<unsigned>(visible.gpus.size());
  }
  if (!req.whole_node && bind::PerTaskGpus(visible, local_ranks, env)) {
    // The launcher already split the node's GPUs per task: plan this rank
    // alone with its own (see bind::PerTaskGpus).
    if (opts->visibility == bind::BindOptions::Visibility::kLocalRank) {  // said on local rank 0
      b.warnings.push_back("--gpu-visibility local-rank: the launcher gave each task its own GPUs (" + visible.from +
                           "), so each rank sees only its own: use device 0, not LOCAL_RANK");
    }
    local_ranks = 1;
    local_rank = 0;
  }
  auto plan = bind::PlanNode(b.topo, local_ranks, visible, *opts);
  if (!plan) return plan.error();
  if (!req.whole_node && c.topology.empty()) {
    // Printed once per node (Prepare passes binding warnings on local rank 0 only).
    if (auto note = bind::LauncherMaskNote(b.topo, posix::AffinityPus(), *opts)) b.warnings.push_back(*note);
  }
  b.plan = std::move(plan).value();
  if (!req.whole_node) {
    b.line = b.plan.ranks.at(local_rank);
    b.env = bind::RankEnv(b.plan, *b.line, b.topo, env);
  }
  return b;
}

Result<Prepared> Prepare(const Config& c, const EnvSnapshot& env, const std::string& host,
                         std::vector<TraceLine>* trace) {
  const posix::DiskFileReader files;
  const detect::DetectContext ctx{env, files, host, posix::ParentPid(), c.supervise.nproc};
  auto job = detect::Run(detect::Registry(), ctx, c.contract.launcher, trace);
  if (!job) return job.error();
  plan::ContractOptions copts{c.contract.master_addr, c.contract.master_port, c.bootstrap.mode == BootstrapMode::kMpi,
                              c.supervise.enabled && !c.supervise.plane.empty()};
  auto contract = plan::Ranks(*job, copts, env, [] { return posix::FreeLocalPort(); });
  if (!contract) return contract.error();
  Prepared p{std::move(contract).value(), {}, {}};
  // With --nproc rankwrap starts this node's ranks itself: plan for them
  // (app::Supervise gives each its line); otherwise for the launcher's.
  const std::optional<unsigned>& nproc = c.supervise.nproc;
  auto binding = PlanBinding(
      c.bind,
      nproc ? PlanRequest{*nproc, 0}
            : PlanRequest{static_cast<unsigned>(job->local_world_size), static_cast<unsigned>(job->local_rank)},
      env);
  if (!binding) return binding.error();
  p.binding = std::move(binding).value();
  p.warnings = p.contract.warnings;
  if (job->local_rank == 0) {
    for (const auto& w : p.binding.plan.warnings) p.warnings.push_back(w);  // once per node
    for (const auto& w : p.binding.warnings) p.warnings.push_back(w);
  }
  if (p.binding.line) {
    for (const auto& w : p.binding.line->warnings) p.warnings.push_back(w);
  }
  for (const auto& [k, v] : p.binding.env) p.contract.env[k] = v;
  if (c.bootstrap.nccl_comm_id) {
    // NCCL_COMM_ID makes rank 0 run NCCL's bootstrap root inside
    // ncclCommInitRank at this address: right for one communicator, wrong
    // for programs that create several (PyTorch: one per process group).
    p.contract.env["NCCL_COMM_ID"] = p.contract.master_addr + ":" + std::to_string(p.contract.master_port);
  }
  return p;
}

}  // namespace rankwrap::app
