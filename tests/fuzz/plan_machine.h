// Random machines for the node planner, and the properties every plan must
// hold on them. Shared by the libFuzzer target (tests/fuzz/fuzz_plan.cc,
// bytes from the fuzzer) and the unit test that runs a few thousand seeded
// machines in the normal build (tests/unit/plan_fuzz_test.cc).
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "core/bind/plan.h"
#include "core/topo/serialize.h"

namespace rankwrap::fuzz {

// Choices drawn from a byte string; 0 once it runs out.
class Choices {
 public:
  Choices(const std::uint8_t* data, std::size_t size) : data_(data), size_(size) {}
  unsigned Below(unsigned n) {  // 0 .. n-1
    if (n <= 1) return 0;
    unsigned v = 0;
    for (int k = 0; k < 2; ++k) v = v << 8 | (pos_ < size_ ? data_[pos_++] : 0u);
    return v % n;
  }
  bool Chance(unsigned percent) { return Below(100) < percent; }

 private:
  const std::uint8_t* data_;
  std::size_t size_;
  std::size_t pos_ = 0;
};

struct Case {
  topo::Topology machine;  // the node as hwloc would give it, restricted to its allowed set
  unsigned ranks = 1;
  bind::BindOptions options;
  std::string what;  // for failure messages
};

// A machine: 1-4 packages of 1-4 NUMA nodes of 1-8 cores of 1-4 PUs, PU
// numbers block-wise or interleaved across packages, a random allowed set,
// memory-only NUMA nodes, GPUs and NICs local to a NUMA node, a package, the
// whole machine or to cores outside the allowed set.
inline Case MakeCase(Choices& c) {
  Case k;
  topo::Topology& t = k.machine;
  t.source = "random";
  const unsigned packages = 1 + c.Below(4), numa_per = 1 + c.Below(4), cores_per = 1 + c.Below(8), smt = 1 + c.Below(4);
  const bool interleaved = c.Chance(30);
  const unsigned ncores = packages * numa_per * cores_per;
  t.packages = static_cast<int>(packages);
  std::vector<topo::Core> cores;
  std::vector<std::vector<unsigned>> numa_pus(packages * numa_per), pkg_pus(packages);
  std::vector<unsigned> all_pus;
  for (unsigned p = 0; p < packages; ++p) {
    for (unsigned n = 0; n < numa_per; ++n) {
      for (unsigned i = 0; i < cores_per; ++i) {
        const unsigned in_pkg = n * cores_per + i;  // core number within its package
        const unsigned id = interleaved ? in_pkg * packages + p : p * numa_per * cores_per + in_pkg;
        topo::Core core;
        core.numa = static_cast<int>(p * numa_per + n);
        core.package = static_cast<int>(p);
        for (unsigned s = 0; s < smt; ++s) core.pus.push_back(id + s * ncores);
        numa_pus[p * numa_per + n].insert(numa_pus[p * numa_per + n].end(), core.pus.begin(), core.pus.end());
        pkg_pus[p].insert(pkg_pus[p].end(), core.pus.begin(), core.pus.end());
        all_pus.insert(all_pus.end(), core.pus.begin(), core.pus.end());
        cores.push_back(core);
      }
    }
  }
  std::sort(cores.begin(), cores.end(), [](const auto& a, const auto& b) { return a.pus[0] < b.pus[0]; });
  t.cores = cores;
  for (unsigned n = 0; n < numa_pus.size(); ++n) t.numa.push_back({n, numa_pus[n], 1u << 30});
  // Memory-only nodes (KNL MCDRAM, HBM, CXL): with their CPUs' cpuset or none.
  for (unsigned m = 0, extra = c.Below(3); m < extra; ++m) {
    const unsigned near = c.Below(static_cast<unsigned>(numa_pus.size()));
    t.numa.push_back({static_cast<unsigned>(numa_pus.size() + m),
                      c.Chance(50) ? numa_pus[near] : std::vector<unsigned>{}, 1u << 28});
  }
  // Ancestors: switch, host bridge, NUMA node, package, machine.
  std::uint64_t next_id = 1000;
  auto place = [&](std::vector<unsigned>* local, std::vector<topo::Ancestor>* path) {
    const unsigned p = c.Below(packages), n = p * numa_per + c.Below(numa_per);
    const unsigned where = c.Below(10);
    *local = where < 6 ? numa_pus[n] : where < 8 ? pkg_pus[p] : where < 9 ? all_pus : std::vector<unsigned>{};
    const std::uint64_t sw = c.Chance(50) ? 10 + c.Below(4) : next_id++;
    *path = {{sw, topo::Level::kSwitch},
             {100 + n, topo::Level::kHostBridge},
             {200 + n, topo::Level::kNuma},
             {300 + p, topo::Level::kPackage},
             {1, topo::Level::kMachine}};
  };
  for (unsigned g = 0, gpus = c.Below(9); g < gpus; ++g) {
    topo::Gpu gpu;
    gpu.bus_id = "0000:" + std::to_string(10 + g) + ":00.0";
    gpu.vendor = topo::Vendor::kNvidia;
    place(&gpu.local_pus, &gpu.path);
    t.gpus.push_back(gpu);
  }
  for (unsigned i = 0, nics = c.Below(5); i < nics; ++i) {
    topo::Nic nic;
    nic.name = "mlx5_" + std::to_string(i);
    nic.infiniband = c.Chance(70);
    place(&nic.local_pus, &nic.path);
    t.nics.push_back(nic);
  }
  // The job's allowed set: everything, or a random part of it.
  std::vector<unsigned> allowed;
  if (c.Chance(60)) {
    allowed = all_pus;
  } else {
    const unsigned keep = 20 + c.Below(80);
    for (unsigned p : all_pus) {
      if (c.Below(100) < keep) allowed.push_back(p);
    }
    if (allowed.empty()) allowed.push_back(all_pus[c.Below(static_cast<unsigned>(all_pus.size()))]);
  }
  t = bind::NodeTopology(t, allowed);
  std::size_t pus = 0;
  for (const auto& core : t.cores) pus += core.pus.size();
  // Mostly no more ranks than cores; sometimes up to twice the PUs.
  const std::size_t most = c.Chance(60) ? std::max<std::size_t>(t.cores.size(), 1) : 2 * pus + 4;
  k.ranks = 1 + c.Below(static_cast<unsigned>(std::min<std::size_t>(most, 400)));
  const unsigned mode = c.Below(4);
  k.options.cpu = mode == 0   ? bind::BindOptions::Cpu::kAuto
                  : mode == 1 ? bind::BindOptions::Cpu::kCores
                  : mode == 2 ? bind::BindOptions::Cpu::kNuma
                              : bind::BindOptions::Cpu::kGpu;
  k.what = std::to_string(packages) + " package(s) x " + std::to_string(numa_per) + " NUMA x " +
           std::to_string(cores_per) + " cores x " + std::to_string(smt) + " PUs" +
           (interleaved ? " (interleaved)" : "") + ", " + std::to_string(t.cores.size()) + " allowed cores, " +
           std::to_string(t.gpus.size()) + " GPUs, " + std::to_string(k.ranks) + " ranks, cpu mode " +
           std::to_string(mode);
  return k;
}

inline bind::VisibleGpus AllGpus(const topo::Topology& t) {
  bind::VisibleGpus v;
  v.var = "CUDA_VISIBLE_DEVICES";
  for (unsigned g = 0; g < t.gpus.size(); ++g) {
    v.gpus.push_back(g);
    v.tokens.push_back(std::to_string(g));
  }
  v.from = "test";
  return v;
}

// Plans the case and returns what is wrong with the plan ("" when nothing).
inline std::string Check(const Case& k) {
  const topo::Topology& t = k.machine;
  auto result = bind::PlanNode(t, k.ranks, AllGpus(t), k.options);
  using Cpu = bind::BindOptions::Cpu;
  const Cpu cpu = k.options.cpu == Cpu::kAuto ? (t.gpus.empty() ? Cpu::kCores : Cpu::kGpu) : k.options.cpu;
  if (!result) {
    const bool expected = t.cores.empty() || (cpu == Cpu::kGpu && t.gpus.empty());
    return expected ? "" : "unexpected error: " + result.error().what + ": " + result.error().why;
  }
  const bind::NodePlan& plan = *result;
  // Flat tables, not maps: this runs thousands of times under ASan.
  unsigned max_pu = 0;
  std::size_t pus = 0;
  for (const auto& c : t.cores) {
    for (unsigned p : c.pus) max_pu = std::max(max_pu, p);
    pus += c.pus.size();
  }
  for (const auto& g : t.gpus) {
    for (unsigned p : g.local_pus) max_pu = std::max(max_pu, p);
  }
  std::vector<bool> allowed(max_pu + 1, false);
  std::vector<unsigned> pu_users(max_pu + 1, 0), gpu_users(t.gpus.size(), 0);
  std::set<unsigned> cpu_numa;
  for (const auto& c : t.cores) {
    for (unsigned p : c.pus) allowed[p] = true;
    if (c.numa >= 0) cpu_numa.insert(static_cast<unsigned>(c.numa));
  }
  for (const auto& l : plan.ranks) {
    if (l.cpus.empty()) return "rank " + std::to_string(l.local_rank) + " has no CPU";
    for (unsigned p : l.cpus) {
      if (p > max_pu || !allowed[p]) {
        return "rank " + std::to_string(l.local_rank) + " has PU " + std::to_string(p) + " outside the allowed set";
      }
      ++pu_users[p];
    }
    for (unsigned n : l.numa) {
      if (!cpu_numa.count(n)) {
        return "rank " + std::to_string(l.local_rank) + " bound to memory-only NUMA " + std::to_string(n);
      }
    }
    for (unsigned g : l.gpus) ++gpu_users[g];
  }
  if (cpu != Cpu::kNuma && k.ranks <= pus) {
    for (unsigned p = 0; p <= max_pu; ++p) {
      if (pu_users[p] > 1) {
        return "PU " + std::to_string(p) + " shared by " + std::to_string(pu_users[p]) + " ranks while PUs suffice";
      }
    }
  }
  if (!t.gpus.empty()) {
    for (unsigned g = 0; g < t.gpus.size(); ++g) {
      if (k.ranks <= t.gpus.size() && gpu_users[g] > 1) {
        return "GPU " + std::to_string(g) + " given twice while another is free";
      }
      if (k.ranks > t.gpus.size() && gpu_users[g] == 0) return "a GPU is shared while another is unused";
    }
  }
  std::vector<bool> mine(max_pu + 1), local(max_pu + 1);
  for (const auto& l : plan.ranks) {
    if (l.gpus.empty()) continue;
    std::fill(mine.begin(), mine.end(), false);
    std::fill(local.begin(), local.end(), false);
    for (unsigned p : l.cpus) mine[p] = true;
    for (unsigned g : l.gpus) {
      for (unsigned p : t.gpus[g].local_pus) local[p] = true;
    }
    if (cpu == Cpu::kGpu) {
      // Cores follow GPUs: beyond the GPUs' local PUs only when all are in use.
      const bool beyond = std::any_of(l.cpus.begin(), l.cpus.end(), [&](unsigned p) { return !local[p]; });
      for (unsigned p = 0; beyond && p <= max_pu; ++p) {
        if (local[p] && pu_users[p] == 0) {
          return "rank " + std::to_string(l.local_rank) + " uses PUs away from its GPU while local PU " +
                 std::to_string(p) + " is idle";
        }
      }
    } else if (cpu == Cpu::kCores) {
      // GPUs follow cores: a GPU local to none of the rank's cores only
      // when every GPU local to them is in use.
      auto touches = [&](unsigned gpu) {
        return std::any_of(t.gpus[gpu].local_pus.begin(), t.gpus[gpu].local_pus.end(),
                           [&](unsigned p) { return mine[p]; });
      };
      const unsigned g = l.gpus.front();
      if (!touches(g)) {
        for (unsigned other = 0; other < t.gpus.size(); ++other) {
          if (touches(other) && gpu_users[other] == 0) {
            return "rank " + std::to_string(l.local_rank) + " got GPU " + std::to_string(g) + " while GPU " +
                   std::to_string(other) + ", local to its cores, is free";
          }
        }
      }
    }
  }
  return "";
}

}  // namespace rankwrap::fuzz
