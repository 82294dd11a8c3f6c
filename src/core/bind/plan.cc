#include "core/bind/plan.h"

#include <algorithm>
#include <set>

#include "core/parse/cpulist.h"
#include "core/parse/number.h"
#include "core/topo/serialize.h"

namespace rankwrap::bind {
namespace {

Error BindError(std::string what, std::string why, std::string hint) {
  return Error{kExitBinding, "bind", std::move(what), std::move(why), std::move(hint)};
}
Error Usage(std::string what, std::string why) {
  return Error{kExitUsage, "usage", std::move(what), std::move(why), "see 'rankwrap --help'"};
}

// Cores (indices into topo.cores) holding any PU of `pus`.
std::vector<unsigned> CoresOf(const topo::Topology& topo, const std::vector<unsigned>& pus) {
  std::vector<unsigned> out;
  if (pus.empty()) return out;
  std::vector<bool> want(*std::max_element(pus.begin(), pus.end()) + 1u, false);
  for (unsigned p : pus) want[p] = true;
  for (unsigned c = 0; c < topo.cores.size(); ++c) {
    for (unsigned p : topo.cores[c].pus) {
      if (p < want.size() && want[p]) {
        out.push_back(c);
        break;
      }
    }
  }
  return out;
}

// Gives each of `ranks` an even, contiguous share of `cores` (at least one
// core each: the caller checks there are enough).
void Split(const topo::Topology& topo, const std::vector<unsigned>& cores, const std::vector<unsigned>& ranks,
           std::vector<RankLine>& lines) {
  const std::size_t n = cores.size(), k = ranks.size();
  if (n == 0 || k == 0) return;
  for (std::size_t j = 0; j < k; ++j) {
    const std::size_t lo = j * n / k, hi = (j + 1) * n / k;
    RankLine& line = lines[ranks[j]];
    for (std::size_t c = lo; c < hi && c < n; ++c) {
      const topo::Core& core = topo.cores[cores[c]];
      line.cpus.insert(line.cpus.end(), core.pus.begin(), core.pus.end());
      ++line.cores;
    }
  }
}

// The PUs local to a rank's GPUs (allowed ones only).
std::vector<unsigned> GpuPus(const topo::Topology& topo, const std::vector<unsigned>& gpus) {
  std::vector<unsigned> pus;
  for (unsigned g : gpus) pus.insert(pus.end(), topo.gpus[g].local_pus.begin(), topo.gpus[g].local_pus.end());
  std::sort(pus.begin(), pus.end());
  pus.erase(std::unique(pus.begin(), pus.end()), pus.end());
  return pus;
}

// How far each core is from a set of local cores: 0 local, 1 same NUMA
// node, 2 same package, 3 elsewhere (all 3 when `local` is empty).
std::vector<int> CoreDistances(const topo::Topology& topo, const std::vector<unsigned>& local) {
  std::set<int> numa, pkg;
  std::set<unsigned> here(local.begin(), local.end());
  for (unsigned c : local) {
    if (topo.cores[c].numa >= 0) numa.insert(topo.cores[c].numa);
    pkg.insert(topo.cores[c].package);
  }
  std::vector<int> d(topo.cores.size(), 3);
  for (unsigned c = 0; c < topo.cores.size(); ++c) {
    if (here.count(c))
      d[c] = 0;
    else if (topo.cores[c].numa >= 0 && numa.count(topo.cores[c].numa))
      d[c] = 1;
    else if (pkg.count(topo.cores[c].package))
      d[c] = 2;
  }
  return d;
}

// Every rank gets its fair share of the allowed cores, nearest to its GPUs
// first (ranks in order; ties by core order, so shares stay contiguous).
// More ranks than cores but enough PUs: hardware threads are split instead,
// so no PU is shared; more ranks than PUs: PUs are shared evenly (warns).
void FairShare(const topo::Topology& topo, std::vector<RankLine>& lines, bool by_gpu,
               std::vector<std::string>& warnings) {
  struct Unit {  // a core, or one PU of it: core.pus[first, first + count)
    unsigned core;
    unsigned first;
    unsigned count;
  };
  const std::size_t N = lines.size();
  std::size_t P = 0;
  for (const topo::Core& c : topo.cores) P += c.pus.size();
  std::vector<Unit> units;
  const bool by_pu = N > topo.cores.size();
  // Cores in machine order (package, NUMA node, PU number), so a share is
  // one socket's cores also where PU numbers alternate between sockets.
  std::vector<unsigned> cores(topo.cores.size());
  for (unsigned c = 0; c < cores.size(); ++c) cores[c] = c;
  std::stable_sort(cores.begin(), cores.end(), [&](unsigned a, unsigned b) {
    const topo::Core &x = topo.cores[a], &y = topo.cores[b];
    return std::make_pair(x.package, x.numa) < std::make_pair(y.package, y.numa);
  });
  for (unsigned c : cores) {
    const auto n = static_cast<unsigned>(topo.cores[c].pus.size());
    if (!by_pu) {
      units.push_back({c, 0, n});
    } else {
      for (unsigned i = 0; i < n; ++i) units.push_back({c, i, 1});
    }
  }
  const std::size_t U = units.size();
  if (U == 0) return;
  auto give = [&](RankLine& line, const Unit& u) {
    const auto& pus = topo.cores[u.core].pus;
    line.cpus.insert(line.cpus.end(), pus.begin() + u.first, pus.begin() + u.first + u.count);
  };
  if (N > U) {
    warnings.push_back(std::to_string(N) + " ranks share " + std::to_string(P) +
                       " PU(s): more ranks than hardware threads");
    for (std::size_t r = 0; r < N; ++r) give(lines[r], units[r * U / N]);
  } else {
    if (by_pu) {
      warnings.push_back(std::to_string(N) + " ranks on " + std::to_string(topo.cores.size()) +
                         " cores: hardware threads split, no PU shared");
    }
    // Units nearest first: distance buckets 0-3, machine order inside each.
    // Ranks with the same GPUs share their distances (computed once).
    std::vector<bool> taken(U, false);
    std::map<std::vector<unsigned>, std::vector<int>> distances;
    const std::vector<int> far(topo.cores.size(), 3);
    for (std::size_t r = 0; r < N; ++r) {
      const std::size_t want = (r + 1) * U / N - r * U / N;
      const std::vector<int>* dist = &far;
      if (by_gpu && !lines[r].gpus.empty()) {
        auto it = distances.find(lines[r].gpus);
        if (it == distances.end()) {
          it = distances.emplace(lines[r].gpus, CoreDistances(topo, CoresOf(topo, GpuPus(topo, lines[r].gpus)))).first;
        }
        dist = &it->second;
      }
      std::size_t got = 0;
      for (int d = 0; d <= 3 && got < want; ++d) {
        for (std::size_t u = 0; u < U && got < want; ++u) {
          if (taken[u] || (*dist)[units[u].core] != d) continue;
          taken[u] = true;
          give(lines[r], units[u]);
          ++got;
        }
      }
    }
  }
  for (RankLine& line : lines) line.cores = static_cast<unsigned>(CoresOf(topo, line.cpus).size());
}

// GPUs for ranks whose cores are already placed (--cpu-bind cores): each
// rank takes the free GPU with the most PUs among its own cores (then the
// locality order), so a rank on NUMA 1 gets a NUMA-1 GPU. Every GPU is used
// before any is shared, and shared ones are shared evenly.
void GpusFollowCores(const topo::Topology& topo, const std::vector<unsigned>& order, std::vector<RankLine>& lines) {
  const std::size_t N = lines.size(), G = order.size();
  std::vector<std::size_t> users(G, 0);
  const std::size_t per_rank = N <= G ? G / N : 1;
  const std::size_t floor_users = N <= G ? 0 : N / G;
  std::size_t at_ceiling = 0;  // GPUs holding floor_users + 1 ranks
  const std::size_t max_ceiling = N <= G ? G : N % G;
  for (std::size_t r = 0; r < N; ++r) {
    const std::set<unsigned> mine(lines[r].cpus.begin(), lines[r].cpus.end());
    for (std::size_t k = 0; k < per_rank; ++k) {
      // GPUs still below their floor must all be served by the ranks left.
      std::size_t owed = 0;
      for (std::size_t g = 0; g < G; ++g) owed += users[g] < floor_users ? floor_users - users[g] : 0;
      const std::size_t ranks_left = N - r;
      std::size_t best = G;
      std::size_t best_overlap = 0;
      for (std::size_t g = 0; g < G; ++g) {
        if (std::find(lines[r].gpus.begin(), lines[r].gpus.end(), order[g]) != lines[r].gpus.end()) continue;
        const std::size_t cap = N <= G ? 1 : floor_users + 1;
        if (users[g] >= cap) continue;
        if (N > G && users[g] == floor_users && at_ceiling >= max_ceiling) continue;
        if (N > G && users[g] >= floor_users && owed >= ranks_left) continue;
        std::size_t overlap = 0;
        for (unsigned p : topo.gpus[order[g]].local_pus) overlap += mine.count(p);
        if (best == G || overlap > best_overlap) {
          best = g;
          best_overlap = overlap;
        }
      }
      if (best == G) break;
      if (N > G && users[best] == floor_users) ++at_ceiling;
      ++users[best];
      lines[r].gpus.push_back(order[best]);
    }
  }
}

}  // namespace

std::pair<int, std::size_t> DeviceDistance(const std::vector<topo::Ancestor>& a, const std::vector<topo::Ancestor>& b) {
  for (std::size_t i = 0; i < a.size(); ++i) {
    for (std::size_t j = 0; j < b.size(); ++j) {
      if (a[i].id == b[j].id) return {static_cast<int>(a[i].level), i + j};
    }
  }
  return {static_cast<int>(topo::Level::kMachine) + 1, a.size() + b.size()};
}

Result<BindOptions> ParseBindOptions(const std::string& gpu_bind, const std::string& visibility,
                                     const std::string& cpu_bind, const std::string& mem_bind,
                                     const std::string& bind) {
  BindOptions o;
  if (bind == "none") {
    o.gpu = BindOptions::Gpu::kNone;
    o.cpu = BindOptions::Cpu::kNone;
    o.mem = BindOptions::Mem::kNone;
    return o;
  }
  if (bind != "auto") return Usage("--bind '" + bind + "'", "expected auto or none");
  if (gpu_bind == "closest") {
    o.gpu = BindOptions::Gpu::kClosest;
  } else if (gpu_bind == "none") {
    o.gpu = BindOptions::Gpu::kNone;
  } else if (gpu_bind.rfind("map:", 0) == 0) {
    o.gpu = BindOptions::Gpu::kMap;
    for (std::string_view item : parse::Split(std::string_view(gpu_bind).substr(4), ',')) {
      auto n = parse::Decimal(item, 65535);
      if (!n) {
        return Usage("--gpu-bind '" + gpu_bind + "'", "expected map:I,J,... with one GPU index per local rank");
      }
      o.map.push_back(static_cast<unsigned>(*n));
    }
  } else {
    return Usage("--gpu-bind '" + gpu_bind + "'", "expected closest, map:LIST or none");
  }
  if (visibility == "single") {
    o.visibility = BindOptions::Visibility::kSingle;
  } else if (visibility == "reorder") {
    o.visibility = BindOptions::Visibility::kReorder;
  } else if (visibility == "local-rank") {
    o.visibility = BindOptions::Visibility::kLocalRank;
  } else {
    return Usage("--gpu-visibility '" + visibility + "'", "expected single, reorder or local-rank");
  }
  if (cpu_bind == "auto") {
    o.cpu = BindOptions::Cpu::kAuto;
  } else if (cpu_bind == "gpu") {
    o.cpu = BindOptions::Cpu::kGpu;
  } else if (cpu_bind == "numa") {
    o.cpu = BindOptions::Cpu::kNuma;
  } else if (cpu_bind == "cores") {
    o.cpu = BindOptions::Cpu::kCores;
  } else if (cpu_bind == "none") {
    o.cpu = BindOptions::Cpu::kNone;
  } else if (cpu_bind.starts_with("map_cpu:") || cpu_bind.starts_with("mask_cpu:")) {
    const bool map = cpu_bind.starts_with("map_cpu:");
    const std::size_t prefix = map ? 8 : 9;
    auto list = parse::CpuList(std::string_view(cpu_bind).substr(prefix),
                               map ? parse::CpuListForm::kMap : parse::CpuListForm::kMask);
    if (!list) {
      return Error{kExitUsage, "usage", "--cpu-bind '" + cpu_bind + "'",
                   list.error().message + " (offset " + std::to_string(prefix + list.error().pos) + ")",
                   map ? "write map_cpu:ID,ID,... with one OS CPU number per local rank, ID*N for N ranks in a row "
                         "(map_cpu:0,4 or map_cpu:0*2,4*2)"
                       : "write mask_cpu:MASK,MASK,... with one hexadecimal CPU mask per local rank, MASK*N for N "
                         "ranks in a row (mask_cpu:0x3,0xc or mask_cpu:0x3*2,0xc*2)"};
    }
    o.cpu = BindOptions::Cpu::kList;
    o.cpu_list = std::move(*list);
    o.cpu_list_value = cpu_bind;
  } else {
    return Usage("--cpu-bind '" + cpu_bind + "'", "expected gpu, numa, cores, map_cpu:LIST, mask_cpu:LIST or none");
  }
  // Named like Slurm's --mem-bind: "local" is the rank's own NUMA node(s),
  // preferred (allocations spill to other nodes when those are full: on
  // SNC-4 a strict bind would leave a rank 1/8 of the memory); "strict"
  // binds (MPOL_BIND: allocations fail or reclaim instead of spilling).
  if (mem_bind == "local" || mem_bind == "prefer") {
    o.mem = BindOptions::Mem::kLocal;
    o.mem_policy = BindOptions::MemPolicy::kPrefer;
  } else if (mem_bind == "strict") {
    o.mem = BindOptions::Mem::kLocal;
    o.mem_policy = BindOptions::MemPolicy::kStrict;
  } else if (mem_bind == "none") {
    o.mem = BindOptions::Mem::kNone;
  } else {
    return Usage("--mem-bind '" + mem_bind + "'", "expected local, strict or none");
  }
  return o;
}

topo::Topology NodeTopology(const topo::Topology& machine, const std::vector<unsigned>& allowed) {
  return allowed.empty() ? machine : topo::Restrict(machine, allowed);
}

std::optional<std::string> LauncherMaskNote(const topo::Topology& node, const std::vector<unsigned>& mask,
                                            const BindOptions& opts) {
  if (opts.cpu == BindOptions::Cpu::kNone || mask.empty()) return std::nullopt;
  const std::set<unsigned> in_mask(mask.begin(), mask.end());
  std::vector<unsigned> allowed;
  bool narrower = false;
  for (const topo::Core& c : node.cores) {
    for (unsigned p : c.pus) {
      allowed.push_back(p);
      narrower = narrower || !in_mask.count(p);
    }
  }
  if (!narrower) return std::nullopt;
  return "the launcher bound this process to PUs " + topo::ListString(mask) + " of the node's " +
         topo::ListString(allowed) +
         ": rankwrap's node plan replaces that binding on every local rank "
         "(--cpu-bind none keeps the launcher's)";
}

namespace {

// --gpu-bind=map: each rank's GPU from the list.
Status MapGpus(const VisibleGpus& visible, const BindOptions& opts, NodePlan* plan) {
  const std::vector<unsigned>& vis = visible.gpus;
  const std::size_t G = vis.size(), N = plan->ranks.size();
  if (G == 0) {
    return BindError("--gpu-bind=map given but no GPU is usable", visible.from + " leaves no GPU to this node's ranks",
                     "drop --gpu-bind=map, or request GPUs for the job");
  }
  std::map<unsigned, unsigned> users;
  for (unsigned r = 0; r < N; ++r) {
    const unsigned idx = opts.map[r % opts.map.size()];
    if (idx >= G) {
      return BindError("--gpu-bind=map entry " + std::to_string(idx) + " for local rank " + std::to_string(r),
                       "is out of range: this node's ranks may use " + std::to_string(G) + " GPU(s), 0-" +
                           std::to_string(G - 1) + " (" + visible.from + ")",
                       "use indices below " + std::to_string(G));
    }
    plan->ranks[r].gpus = {vis[idx]};
    ++users[idx];
  }
  for (const auto& [idx, count] : users) {
    if (count > 1) {
      plan->warnings.push_back("GPU " + std::to_string(idx) + " is shared by " + std::to_string(count) +
                               " ranks (--gpu-bind=map)");
    }
  }
  return Ok{};
}

// Locality order: GPUs near the first cores first, so consecutive ranks
// get consecutive cores (the Frontier GCD at d1:00.0 serves cores 0-7).
std::vector<unsigned> LocalityOrder(const topo::Topology& topo, const std::vector<unsigned>& vis) {
  std::vector<unsigned> order(vis);
  std::stable_sort(order.begin(), order.end(), [&](unsigned a, unsigned b) {
    const auto& ga = topo.gpus[a].local_pus;
    const auto& gb = topo.gpus[b].local_pus;
    const unsigned fa = ga.empty() ? ~0u : *std::min_element(ga.begin(), ga.end());
    const unsigned fb = gb.empty() ? ~0u : *std::min_element(gb.begin(), gb.end());
    return fa < fb;
  });
  return order;
}

// --gpu-bind closest: an equal share of the GPUs in locality order.
void ClosestGpus(const std::vector<unsigned>& order, bool assign, NodePlan* plan) {
  const std::size_t G = order.size(), N = plan->ranks.size();
  if (assign) {
    if (N <= G) {
      const std::size_t share = G / N;
      for (std::size_t r = 0; r < N; ++r) {
        for (std::size_t k = 0; k < share; ++k) plan->ranks[r].gpus.push_back(order[r * share + k]);
      }
    } else {
      for (std::size_t r = 0; r < N; ++r) plan->ranks[r].gpus = {order[r * G / N]};
    }
  }
  if (N <= G && G % N != 0) {
    const std::size_t share = G / N;
    plan->warnings.push_back(std::to_string(G - share * N) + " of " + std::to_string(G) + " GPUs left unused: " +
                             std::to_string(N) + " ranks get an equal share of " + std::to_string(share));
  } else if (N > G) {
    plan->warnings.push_back(std::to_string(N) + " ranks share " + std::to_string(G) +
                             " GPU(s); consider NVIDIA MPS for concurrent kernels");
  }
}

// --cpu-bind gpu: ranks grouped by the cores local to their GPUs; each group
// splits its locality's cores. That is only right when there are at least as
// many ranks as GPU localities and every locality has a core for each of its
// ranks; otherwise (one rank on a 2-socket node, a cgroup without some GPUs'
// cores, more ranks than a locality's cores) every rank gets its fair share
// of the allowed cores, nearest first.
void CpusByGpu(const topo::Topology& topo, const std::vector<unsigned>& vis, NodePlan* plan) {
  const std::size_t N = plan->ranks.size();
  std::vector<std::pair<std::vector<unsigned>, std::vector<unsigned>>> groups;  // cores, ranks
  std::set<std::vector<unsigned>> domains;
  bool domain_mode = true;
  for (unsigned g : vis) {
    auto cores = CoresOf(topo, topo.gpus[g].local_pus);
    if (!cores.empty()) domains.insert(cores);
  }
  for (unsigned r = 0; r < N && domain_mode; ++r) {
    std::vector<unsigned> cores = CoresOf(topo, GpuPus(topo, plan->ranks[r].gpus));
    if (cores.empty()) {
      domain_mode = false;
      break;
    }
    auto it = std::find_if(groups.begin(), groups.end(), [&](const auto& g) { return g.first == cores; });
    if (it == groups.end()) {
      groups.push_back({cores, {r}});
    } else {
      it->second.push_back(r);
    }
  }
  if (N < domains.size()) domain_mode = false;
  std::set<unsigned> taken;
  std::vector<std::vector<unsigned>> free_of(groups.size());
  for (std::size_t i = 0; i < groups.size() && domain_mode; ++i) {
    for (unsigned c : groups[i].first) {
      if (!taken.count(c)) free_of[i].push_back(c);
    }
    if (free_of[i].size() < groups[i].second.size()) domain_mode = false;
    taken.insert(free_of[i].begin(), free_of[i].end());
  }
  if (domain_mode) {
    for (std::size_t i = 0; i < groups.size(); ++i) Split(topo, free_of[i], groups[i].second, plan->ranks);
  } else {
    FairShare(topo, plan->ranks, true, plan->warnings);
  }
}

// --cpu-bind numa: the CPU NUMA nodes, the home nodes of the allowed cores,
// in core order. A memory-only node (KNL flat MCDRAM, HBM, CXL) is never a
// CPU domain.
Status CpusByNuma(const topo::Topology& topo, NodePlan* plan) {
  const std::size_t N = plan->ranks.size();
  std::vector<unsigned> domains;
  for (const topo::Core& c : topo.cores) {
    if (c.numa >= 0 && std::find(domains.begin(), domains.end(), static_cast<unsigned>(c.numa)) == domains.end()) {
      domains.push_back(static_cast<unsigned>(c.numa));
    }
  }
  if (domains.empty()) {
    return BindError("--cpu-bind numa", topo.source + " has no NUMA node with allowed cores", "use --cpu-bind cores");
  }
  for (unsigned r = 0; r < N; ++r) {
    std::vector<unsigned> numa_ids;
    for (unsigned c : CoresOf(topo, GpuPus(topo, plan->ranks[r].gpus))) {
      if (topo.cores[c].numa >= 0) numa_ids.push_back(static_cast<unsigned>(topo.cores[c].numa));
    }
    if (numa_ids.empty()) numa_ids.push_back(domains[r * domains.size() / N]);
    std::sort(numa_ids.begin(), numa_ids.end());
    numa_ids.erase(std::unique(numa_ids.begin(), numa_ids.end()), numa_ids.end());
    for (unsigned c = 0; c < topo.cores.size(); ++c) {
      const int n = topo.cores[c].numa;
      if (n >= 0 && std::binary_search(numa_ids.begin(), numa_ids.end(), static_cast<unsigned>(n))) {
        plan->ranks[r].cpus.insert(plan->ranks[r].cpus.end(), topo.cores[c].pus.begin(), topo.cores[c].pus.end());
        ++plan->ranks[r].cores;
      }
    }
  }
  return Ok{};
}

// --cpu-bind map_cpu:/mask_cpu: local rank i takes exactly the CPUs of item
// i, as srun(1) describes them ("the lowest task ID on each node is mapped to
// the first CPU ID specified in the list, etc."; more ranks than items: "elements
// in the list will be reused as needed starting from the beginning of the
// list"). The numbers are OS (machine) CPU numbers, never Slurm's abstract
// ones: task/affinity checks the list against the step's CPUs after their
// abstract-to-machine translation and binds to the IDs as given (_alloc_mask,
// _validate_map, _validate_mask in src/plugins/task/affinity/dist_tasks.c).
// Like Slurm ("CPU binding outside of job step allocation"), a CPU the node
// does not allow is an error, checked for every item whether or not a rank
// takes it; unlike Slurm's mask_cpu, no item is trimmed or widened.
Status CpusFromList(const topo::Topology& topo, const BindOptions& opts, NodePlan* plan) {
  std::set<unsigned> allowed;
  for (const topo::Core& c : topo.cores) allowed.insert(c.pus.begin(), c.pus.end());
  for (std::size_t i = 0; i < opts.cpu_list.size(); ++i) {
    for (unsigned p : opts.cpu_list[i].cpus) {
      if (allowed.count(p)) continue;
      const std::string pus = topo::ListString(std::vector<unsigned>(allowed.begin(), allowed.end()));
      return BindError("--cpu-bind '" + opts.cpu_list_value + "' item " + std::to_string(i + 1),
                       "names CPU " + std::to_string(p) + ", which is not one of this node's allowed PUs " + pus +
                           " (" + topo.source + "; OS CPU numbers)",
                       "list only CPUs in " + pus);
    }
  }
  std::map<unsigned, unsigned> users;
  for (RankLine& line : plan->ranks) {
    line.cpus = parse::CpuListAt(opts.cpu_list, line.local_rank).cpus;
    line.cores = static_cast<unsigned>(CoresOf(topo, line.cpus).size());
    for (unsigned p : line.cpus) ++users[p];
    // The list is the user's; the GPU is still chosen by local rank: say so
    // when none of the rank's CPUs is in its GPU's locality (the PUs of the
    // GPU's NUMA node or package, as hwloc places it): its copies cross it.
    auto near = [&](unsigned g) {
      const std::vector<unsigned>& pus = topo.gpus[g].local_pus;
      return pus.empty() || std::any_of(line.cpus.begin(), line.cpus.end(),
                                        [&](unsigned p) { return std::find(pus.begin(), pus.end(), p) != pus.end(); });
    };
    if (line.gpus.empty() || std::any_of(line.gpus.begin(), line.gpus.end(), near)) continue;
    const topo::Gpu& gpu = topo.gpus[line.gpus.front()];
    line.warnings.push_back("--cpu-bind " + opts.cpu_list_value + ": local rank " + std::to_string(line.local_rank) +
                            "'s CPU(s) " + topo::ListString(line.cpus) + " are not near its GPU " + gpu.bus_id +
                            " (its CPUs: " + topo::ListString(gpu.local_pus) +
                            "): list CPUs from those for this rank, or use --cpu-bind gpu");
  }
  std::vector<unsigned> shared;
  unsigned most = 0;
  for (const auto& [p, n] : users) {
    if (n > 1) shared.push_back(p);
    most = std::max(most, n);
  }
  if (!shared.empty()) {
    plan->warnings.push_back("PU(s) " + topo::ListString(shared) + " shared by up to " + std::to_string(most) +
                             " local ranks (--cpu-bind " + opts.cpu_list_value + ")");
  }
  return Ok{};
}

void CheckLocalRankVisibility(const BindOptions& opts, std::size_t gpu_count, NodePlan* plan) {
  if (opts.visibility != BindOptions::Visibility::kLocalRank || opts.gpu == BindOptions::Gpu::kNone) return;
  std::set<unsigned> firsts;
  for (const RankLine& l : plan->ranks) {
    if (!l.gpus.empty()) firsts.insert(l.gpus.front());
  }
  if (firsts.size() < plan->ranks.size() && gpu_count > 0) {
    plan->warnings.push_back("--gpu-visibility local-rank: " + std::to_string(plan->ranks.size()) + " ranks share " +
                             std::to_string(firsts.size()) +
                             " GPU(s), so device LOCAL_RANK is not each rank's GPU for every rank; "
                             "use --gpu-visibility single");
  }
}

// Memory: the NUMA nodes of the rank's cores. NICs: the nearest to its first
// GPU; RDMA-capable NICs (an OpenFabrics device) are what NCCL and UCX use,
// so when a node has any, plain Ethernet ports (AWS ENA) are not candidates.
void MemoryAndNics(const topo::Topology& topo, const BindOptions& opts, RankLine& line) {
  std::sort(line.cpus.begin(), line.cpus.end());
  if (opts.mem == BindOptions::Mem::kLocal) {
    std::set<unsigned> numa;
    for (unsigned c : CoresOf(topo, line.cpus)) {
      if (topo.cores[c].numa >= 0) numa.insert(static_cast<unsigned>(topo.cores[c].numa));
    }
    line.numa.assign(numa.begin(), numa.end());
  }
  if (line.gpus.empty() || topo.nics.empty()) return;
  const bool any_rdma =
      std::any_of(topo.nics.begin(), topo.nics.end(), [](const topo::Nic& n) { return n.infiniband; });
  const topo::Gpu& gpu = topo.gpus[line.gpus.front()];
  std::pair<int, std::size_t> best{1 << 30, 0};
  for (const topo::Nic& nic : topo.nics) {
    if (!any_rdma || nic.infiniband) best = std::min(best, DeviceDistance(gpu.path, nic.path));
  }
  for (const topo::Nic& nic : topo.nics) {
    if ((!any_rdma || nic.infiniband) && DeviceDistance(gpu.path, nic.path) == best) line.nics.push_back(nic.name);
  }
}

}  // namespace

Result<NodePlan> PlanNode(const topo::Topology& topo, unsigned local_ranks, const VisibleGpus& visible,
                          const BindOptions& opts) {
  NodePlan plan;
  plan.options = opts;
  plan.visible = visible;
  if (local_ranks == 0) {
    return BindError("0 ranks on this node", "a node plan needs at least one rank", "check --ranks-per-node");
  }
  plan.warnings = visible.warnings;
  plan.ranks.resize(local_ranks);
  for (unsigned r = 0; r < local_ranks; ++r) plan.ranks[r].local_rank = r;

  // GPUs.
  const std::vector<unsigned>& vis = visible.gpus;
  if (opts.gpu == BindOptions::Gpu::kMap) {
    if (auto s = MapGpus(visible, opts, &plan); !s) return s.error();
  }
  const std::vector<unsigned> order = LocalityOrder(topo, vis);
  BindOptions::Cpu cpu = opts.cpu;
  const bool closest = opts.gpu == BindOptions::Gpu::kClosest && !vis.empty();
  if (cpu == BindOptions::Cpu::kAuto) {
    cpu = closest || opts.gpu == BindOptions::Gpu::kMap ? BindOptions::Cpu::kGpu : BindOptions::Cpu::kCores;
  }
  if (closest) ClosestGpus(order, cpu != BindOptions::Cpu::kCores, &plan);

  // CPUs.
  if (topo.cores.empty() && opts.cpu != BindOptions::Cpu::kNone) {
    return BindError("no allowed core in " + topo.source, "the node's allowed cpuset leaves no core",
                     "check the job's CPU allocation, or pass --cpu-bind none");
  }
  if (cpu == BindOptions::Cpu::kGpu && plan.ranks[0].gpus.empty()) {
    return BindError("--cpu-bind gpu", "the ranks have no GPU on " + topo.source + " (" + visible.from + ")",
                     "use --cpu-bind cores or numa");
  }
  if (cpu == BindOptions::Cpu::kCores) {
    FairShare(topo, plan.ranks, false, plan.warnings);
    if (closest) GpusFollowCores(topo, order, plan.ranks);
  } else if (cpu == BindOptions::Cpu::kGpu) {
    CpusByGpu(topo, vis, &plan);
  } else if (cpu == BindOptions::Cpu::kNuma) {
    if (auto s = CpusByNuma(topo, &plan); !s) return s.error();
  } else if (cpu == BindOptions::Cpu::kList) {
    if (auto s = CpusFromList(topo, opts, &plan); !s) return s.error();
  }
  CheckLocalRankVisibility(opts, vis.size(), &plan);

  // Memory and NICs.
  for (RankLine& line : plan.ranks) MemoryAndNics(topo, opts, line);
  return plan;
}

std::vector<unsigned> VisibleOrder(const NodePlan& plan, const RankLine& line) {
  const std::vector<unsigned>& vis = plan.visible.gpus;
  std::vector<unsigned> list;
  auto add = [&](unsigned g) {
    if (std::find(list.begin(), list.end(), g) == list.end()) list.push_back(g);
  };
  switch (plan.options.visibility) {
    case BindOptions::Visibility::kSingle:
      for (unsigned g : line.gpus) add(g);
      break;
    case BindOptions::Visibility::kReorder:
      for (unsigned g : line.gpus) add(g);
      for (unsigned g : vis) add(g);
      break;
    case BindOptions::Visibility::kLocalRank:
      // One list for the whole node: position i is local rank i's first
      // GPU, then every other GPU of the node in the launcher's order.
      for (const RankLine& l : plan.ranks) {
        if (!l.gpus.empty()) add(l.gpus.front());
      }
      for (unsigned g : vis) add(g);
      break;
  }
  return list;
}

std::map<std::string, std::string> RankEnv(const NodePlan& plan, const RankLine& line, const topo::Topology& topo,
                                           const EnvSnapshot& inherited) {
  std::map<std::string, std::string> env;
  const VisibleGpus& vis = plan.visible;
  if (plan.options.gpu != BindOptions::Gpu::kNone && !vis.passthrough && !vis.gpus.empty()) {
    auto token = [&](unsigned g) {
      const auto pos = std::find(vis.gpus.begin(), vis.gpus.end(), g) - vis.gpus.begin();
      return vis.tokens[static_cast<std::size_t>(pos)];
    };
    std::vector<std::string> list;
    for (unsigned g : VisibleOrder(plan, line)) list.push_back(token(g));
    std::string value;
    bool indices = true;
    for (const auto& t : list) {
      value += (value.empty() ? "" : ",") + t;
      indices = indices && t.find_first_not_of("0123456789") == std::string::npos;
    }
    env[vis.var] = value;
    if (indices && vis.var == "CUDA_VISIBLE_DEVICES") env["CUDA_DEVICE_ORDER"] = "PCI_BUS_ID";
  }
  auto set_default = [&](const char* key, const std::string& value) {
    if (!inherited.Has(key)) env[key] = value;
  };
  if (!line.cpus.empty()) {
    set_default("OMP_NUM_THREADS", std::to_string(line.cores));
    set_default("OMP_PLACES", "cores");
    set_default("OMP_PROC_BIND", "close");
  }
  // InfiniBand/RoCE devices only: NCCL and UCX name them by their verbs
  // device; other fabrics (Slingshot, EFA over libfabric) are reported in the
  // plan but configured by their own providers.
  // NCCL_IB_HCA entries are prefixes ("mlx5_1" also selects mlx5_10 and
  // mlx5_11) unless the list starts with '=' (NCCL's exact match). The port
  // is the device's active port as hwloc reports it (PortNState); without
  // port information (or none active) port 1, the only port of nearly every
  // HCA.
  std::string hca, ucx;
  for (const auto& name : line.nics) {
    for (const topo::Nic& nic : topo.nics) {
      if (nic.name != name || !nic.infiniband || name.rfind("mlx", 0) != 0) continue;
      std::vector<unsigned> ports = nic.ports;
      if (ports.empty()) ports = {1};
      for (unsigned port : ports) {
        const std::string dev = name + ":" + std::to_string(port);
        hca += (hca.empty() ? "=" : ",") + dev;
        ucx += (ucx.empty() ? "" : ",") + dev;
      }
      break;
    }
  }
  if (!hca.empty()) {
    set_default("NCCL_IB_HCA", hca);
    set_default("UCX_NET_DEVICES", ucx);
  }
  return env;
}

}  // namespace rankwrap::bind
