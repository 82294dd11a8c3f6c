#include "core/bind/plan.h"

#include <algorithm>
#include <set>

#include "core/parse/number.h"

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
  const std::set<unsigned> want(pus.begin(), pus.end());
  std::vector<unsigned> out;
  for (unsigned c = 0; c < topo.cores.size(); ++c) {
    for (unsigned p : topo.cores[c].pus) {
      if (want.count(p)) {
        out.push_back(c);
        break;
      }
    }
  }
  return out;
}

// Gives each of `ranks` an even, contiguous share of `cores`.
void Split(const topo::Topology& topo, const std::vector<unsigned>& cores,
           const std::vector<unsigned>& ranks, std::vector<RankLine>& lines,
           std::vector<std::string>& warnings) {
  const std::size_t n = cores.size(), k = ranks.size();
  if (n == 0 || k == 0) return;
  if (n < k) {
    warnings.push_back(std::to_string(k) + " ranks share " + std::to_string(n) +
                       " core(s): more ranks than cores");
  }
  for (std::size_t j = 0; j < k; ++j) {
    std::size_t lo = j * n / k, hi = (j + 1) * n / k;
    if (hi <= lo) hi = lo + 1;  // more ranks than cores: share
    RankLine& line = lines[ranks[j]];
    for (std::size_t c = lo; c < hi && c < n; ++c) {
      const topo::Core& core = topo.cores[cores[c]];
      line.cpus.insert(line.cpus.end(), core.pus.begin(), core.pus.end());
      ++line.cores;
    }
  }
}

}  // namespace

std::pair<int, std::size_t> DeviceDistance(const std::vector<topo::Ancestor>& a,
                                           const std::vector<topo::Ancestor>& b) {
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
        return Usage("--gpu-bind '" + gpu_bind + "'",
                     "expected map:I,J,... with one GPU index per local rank");
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
  } else {
    return Usage("--gpu-visibility '" + visibility + "'", "expected single or reorder");
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
  } else {
    return Usage("--cpu-bind '" + cpu_bind + "'", "expected gpu, numa, cores or none");
  }
  if (mem_bind == "local") {
    o.mem = BindOptions::Mem::kLocal;
  } else if (mem_bind == "none") {
    o.mem = BindOptions::Mem::kNone;
  } else {
    return Usage("--mem-bind '" + mem_bind + "'", "expected local or none");
  }
  return o;
}

Result<NodePlan> PlanNode(const topo::Topology& topo, unsigned local_ranks,
                          const VisibleGpus& visible, const BindOptions& opts) {
  NodePlan plan;
  plan.options = opts;
  plan.visible = visible;
  if (local_ranks == 0) {
    return BindError("0 ranks on this node", "a node plan needs at least one rank",
                     "check --ranks-per-node");
  }
  plan.warnings = visible.warnings;
  plan.ranks.resize(local_ranks);
  for (unsigned r = 0; r < local_ranks; ++r) plan.ranks[r].local_rank = r;

  // ---- GPUs ----
  const std::vector<unsigned>& vis = visible.gpus;
  const std::size_t G = vis.size(), N = local_ranks;
  if (opts.gpu == BindOptions::Gpu::kMap) {
    if (G == 0) {
      return BindError("--gpu-bind=map given but no GPU is usable",
                       visible.from + " leaves no GPU to this node's ranks",
                       "drop --gpu-bind=map, or request GPUs for the job");
    }
    std::map<unsigned, unsigned> users;
    for (unsigned r = 0; r < N; ++r) {
      const unsigned idx = opts.map[r % opts.map.size()];
      if (idx >= G) {
        return BindError("--gpu-bind=map entry " + std::to_string(idx) + " for local rank " +
                             std::to_string(r),
                         "is out of range: this node's ranks may use " + std::to_string(G) +
                             " GPU(s), 0-" + std::to_string(G - 1) + " (" + visible.from + ")",
                         "use indices below " + std::to_string(G));
      }
      plan.ranks[r].gpus = {vis[idx]};
      ++users[idx];
    }
    for (const auto& [idx, count] : users) {
      if (count > 1) {
        plan.warnings.push_back("GPU " + std::to_string(idx) + " is shared by " +
                                std::to_string(count) + " ranks (--gpu-bind=map)");
      }
    }
  } else if (opts.gpu == BindOptions::Gpu::kClosest && G > 0) {
    // Locality order: GPUs near the first cores first, so consecutive ranks
    // get consecutive cores (the Frontier GCD at d1:00.0 serves cores 0-7).
    std::vector<unsigned> order(vis);
    std::stable_sort(order.begin(), order.end(), [&](unsigned a, unsigned b) {
      const auto& ga = topo.gpus[a].local_pus;
      const auto& gb = topo.gpus[b].local_pus;
      const unsigned fa = ga.empty() ? ~0u : *std::min_element(ga.begin(), ga.end());
      const unsigned fb = gb.empty() ? ~0u : *std::min_element(gb.begin(), gb.end());
      return fa < fb;
    });
    if (N <= G) {
      const std::size_t share = G / N;
      for (std::size_t r = 0; r < N; ++r) {
        for (std::size_t k = 0; k < share; ++k) plan.ranks[r].gpus.push_back(order[r * share + k]);
      }
      if (G % N != 0) {
        plan.warnings.push_back(std::to_string(G - share * N) + " of " + std::to_string(G) +
                                " GPUs left unused: " + std::to_string(N) +
                                " ranks get an equal share of " + std::to_string(share));
      }
    } else {
      for (std::size_t r = 0; r < N; ++r) plan.ranks[r].gpus = {order[r * G / N]};
      plan.warnings.push_back(std::to_string(N) + " ranks share " + std::to_string(G) +
                              " GPU(s); consider NVIDIA MPS for concurrent kernels");
    }
  }

  // ---- CPUs ----
  if (topo.cores.empty() && opts.cpu != BindOptions::Cpu::kNone) {
    return BindError("no allowed core in " + topo.source,
                     "the allowed cpuset and this process's binding leave no core",
                     "check the job's CPU allocation, or pass --cpu-bind none");
  }
  std::vector<unsigned> all(topo.cores.size());
  for (unsigned c = 0; c < all.size(); ++c) all[c] = c;
  BindOptions::Cpu cpu = opts.cpu;
  const bool have_gpus = !plan.ranks[0].gpus.empty();
  if (cpu == BindOptions::Cpu::kAuto) cpu = have_gpus ? BindOptions::Cpu::kGpu : BindOptions::Cpu::kCores;
  if (cpu == BindOptions::Cpu::kGpu && !have_gpus) {
    return BindError("--cpu-bind gpu", "the ranks have no GPU on " + topo.source + " (" + visible.from + ")",
                     "use --cpu-bind cores or numa");
  }
  if (cpu == BindOptions::Cpu::kCores) {
    std::vector<unsigned> ranks(N);
    for (unsigned r = 0; r < N; ++r) ranks[r] = r;
    Split(topo, all, ranks, plan.ranks, plan.warnings);
  } else if (cpu == BindOptions::Cpu::kGpu) {
    // Group ranks by the cores local to their GPUs; each group shares its
    // locality's cores evenly. Cores taken by an earlier group are not
    // given again unless nothing else is left.
    std::vector<std::pair<std::vector<unsigned>, std::vector<unsigned>>> groups;  // cores, ranks
    for (unsigned r = 0; r < N; ++r) {
      std::vector<unsigned> pus;
      for (unsigned g : plan.ranks[r].gpus) {
        pus.insert(pus.end(), topo.gpus[g].local_pus.begin(), topo.gpus[g].local_pus.end());
      }
      std::vector<unsigned> cores = CoresOf(topo, pus);
      if (cores.empty()) {
        cores = all;
        plan.ranks[r].warnings.push_back("its GPU has no local core in the allowed set: using all cores");
      }
      auto it = std::find_if(groups.begin(), groups.end(), [&](const auto& g) { return g.first == cores; });
      if (it == groups.end()) {
        groups.push_back({cores, {r}});
      } else {
        it->second.push_back(r);
      }
    }
    std::set<unsigned> taken;
    for (auto& [cores, ranks] : groups) {
      std::vector<unsigned> free;
      for (unsigned c : cores) {
        if (!taken.count(c)) free.push_back(c);
      }
      if (free.size() < ranks.size()) {
        free = cores;
        plan.warnings.push_back("local ranks sharing GPU locality get fewer cores than ranks: cores shared");
      }
      Split(topo, free, ranks, plan.ranks, plan.warnings);
      for (unsigned r : ranks) {
        for (unsigned c : CoresOf(topo, plan.ranks[r].cpus)) taken.insert(c);
      }
    }
  } else if (cpu == BindOptions::Cpu::kNuma) {
    if (topo.numa.empty()) {
      return BindError("--cpu-bind numa", topo.source + " has no NUMA node with cores",
                       "use --cpu-bind cores");
    }
    for (unsigned r = 0; r < N; ++r) {
      std::vector<unsigned> numa_ids;
      if (!plan.ranks[r].gpus.empty()) {
        std::vector<unsigned> pus;
        for (unsigned g : plan.ranks[r].gpus) {
          pus.insert(pus.end(), topo.gpus[g].local_pus.begin(), topo.gpus[g].local_pus.end());
        }
        for (unsigned c : CoresOf(topo, pus)) {
          if (topo.cores[c].numa >= 0) numa_ids.push_back(static_cast<unsigned>(topo.cores[c].numa));
        }
      }
      if (numa_ids.empty()) numa_ids.push_back(topo.numa[r * topo.numa.size() / N].os_index);
      std::sort(numa_ids.begin(), numa_ids.end());
      numa_ids.erase(std::unique(numa_ids.begin(), numa_ids.end()), numa_ids.end());
      for (unsigned c = 0; c < topo.cores.size(); ++c) {
        const int n = topo.cores[c].numa;
        if (n >= 0 && std::binary_search(numa_ids.begin(), numa_ids.end(), static_cast<unsigned>(n))) {
          plan.ranks[r].cpus.insert(plan.ranks[r].cpus.end(), topo.cores[c].pus.begin(),
                                    topo.cores[c].pus.end());
          ++plan.ranks[r].cores;
        }
      }
    }
  }

  // ---- memory and NICs ----
  for (RankLine& line : plan.ranks) {
    std::sort(line.cpus.begin(), line.cpus.end());
    if (opts.mem == BindOptions::Mem::kLocal) {
      std::set<unsigned> numa;
      for (unsigned c : CoresOf(topo, line.cpus)) {
        if (topo.cores[c].numa >= 0) numa.insert(static_cast<unsigned>(topo.cores[c].numa));
      }
      line.numa.assign(numa.begin(), numa.end());
    }
    if (!line.gpus.empty() && !topo.nics.empty()) {
      // RDMA-capable NICs (an OpenFabrics device) are what NCCL and UCX use:
      // when a node has any, plain Ethernet ports (AWS ENA) are not candidates.
      const bool any_rdma = std::any_of(topo.nics.begin(), topo.nics.end(),
                                        [](const topo::Nic& n) { return n.infiniband; });
      const topo::Gpu& gpu = topo.gpus[line.gpus.front()];
      std::pair<int, std::size_t> best{1 << 30, 0};
      for (const topo::Nic& nic : topo.nics) {
        if (!any_rdma || nic.infiniband) best = std::min(best, DeviceDistance(gpu.path, nic.path));
      }
      for (const topo::Nic& nic : topo.nics) {
        if ((!any_rdma || nic.infiniband) && DeviceDistance(gpu.path, nic.path) == best) {
          line.nics.push_back(nic.name);
        }
      }
    }
  }
  return plan;
}

std::map<std::string, std::string> RankEnv(const NodePlan& plan, const RankLine& line,
                                           const topo::Topology& topo, const EnvSnapshot& inherited) {
  std::map<std::string, std::string> env;
  const VisibleGpus& vis = plan.visible;
  if (plan.options.gpu != BindOptions::Gpu::kNone && !vis.passthrough && !vis.gpus.empty()) {
    auto token = [&](unsigned g) {
      const auto pos = std::find(vis.gpus.begin(), vis.gpus.end(), g) - vis.gpus.begin();
      return vis.tokens[static_cast<std::size_t>(pos)];
    };
    std::vector<std::string> list;
    for (unsigned g : line.gpus) list.push_back(token(g));
    if (plan.options.visibility == BindOptions::Visibility::kReorder) {
      for (unsigned g : vis.gpus) {
        if (std::find(line.gpus.begin(), line.gpus.end(), g) == line.gpus.end()) list.push_back(token(g));
      }
    }
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
  std::string hca, ucx;
  for (const auto& name : line.nics) {
    for (const topo::Nic& nic : topo.nics) {
      if (nic.name != name || !nic.infiniband || name.rfind("mlx", 0) != 0) continue;
      hca += (hca.empty() ? "" : ",") + name;
      ucx += (ucx.empty() ? "" : ",") + name + ":1";
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
