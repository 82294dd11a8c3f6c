// In-process benchmarks. Baselines are measured in the same run:
//  - hostlist expansion/compression/lookup of 100,000 hosts: rankwrap vs
//    libslurm's hostlist functions (Debian libslurm-dev);
//  - detection of one rank of simulated Slurm jobs of 1, 1,000 and 100,000
//    nodes (the per-rank work must not grow with the job);
//  - hwloc XML load (with and without I/O devices) and planning for every
//    recorded topology, and this machine's own topology.
#include <benchmark/benchmark.h>
#include <hwloc.h>

#include <filesystem>
#include <string>
#include <vector>

#include "adapters/hwloc/hwloc_topology.h"
#include "core/bind/plan.h"
#include "core/parse/hostlist.h"
#include "detect/registry.h"

#ifdef RANKWRAP_WITH_LIBSLURM
#include <slurm/slurm.h>
#endif

namespace {

using rankwrap::parse::Hostlist;

// 100,000 hosts as Slurm writes them for a big job: a few ranges with gaps.
std::string BigList() { return "nid[000001-020000,020002-040000,040005-060000,060010-080000,080020-100016]"; }

void BM_Expand_Rankwrap(benchmark::State& state) {
  const std::string text = BigList();
  for (auto _ : state) {
    auto list = Hostlist::Parse(text);
    auto hosts = list->Expand();
    benchmark::DoNotOptimize(hosts.data());
  }
  state.SetItemsProcessed(state.iterations() * 100000);
}
BENCHMARK(BM_Expand_Rankwrap)->Unit(benchmark::kMillisecond);

void BM_Compress_Rankwrap(benchmark::State& state) {
  const auto hosts = Hostlist::Parse(BigList())->Expand();
  for (auto _ : state) {
    auto text = rankwrap::parse::Compress(hosts);
    benchmark::DoNotOptimize(text.data());
  }
  state.SetItemsProcessed(state.iterations() * 100000);
}
BENCHMARK(BM_Compress_Rankwrap)->Unit(benchmark::kMillisecond);

// What a rank needs: rank 0's host and its own node's position.
void BM_Lookup_Rankwrap(benchmark::State& state) {
  const std::string text = BigList();
  for (auto _ : state) {
    auto list = Hostlist::Parse(text);
    auto first = list->at(0);
    auto mine = list->Find("nid099999");
    benchmark::DoNotOptimize(first.data());
    benchmark::DoNotOptimize(mine);
  }
}
BENCHMARK(BM_Lookup_Rankwrap)->Unit(benchmark::kMicrosecond);

#ifdef RANKWRAP_WITH_LIBSLURM
void BM_Expand_Slurm(benchmark::State& state) {
  const std::string text = BigList();
  for (auto _ : state) {
    hostlist_t hl = slurm_hostlist_create(text.c_str());
    std::vector<std::string> hosts;
    hosts.reserve(100000);
    while (char* h = slurm_hostlist_shift(hl)) {
      hosts.emplace_back(h);
      free(h);
    }
    slurm_hostlist_destroy(hl);
    benchmark::DoNotOptimize(hosts.data());
  }
  state.SetItemsProcessed(state.iterations() * 100000);
}
BENCHMARK(BM_Expand_Slurm)->Unit(benchmark::kMillisecond);

void BM_Compress_Slurm(benchmark::State& state) {
  const auto hosts = Hostlist::Parse(BigList())->Expand();
  for (auto _ : state) {
    hostlist_t hl = slurm_hostlist_create(nullptr);
    for (const auto& h : hosts) slurm_hostlist_push_host(hl, h.c_str());
    char* text = slurm_hostlist_ranged_string_malloc(hl);
    benchmark::DoNotOptimize(text);
    free(text);
    slurm_hostlist_destroy(hl);
  }
  state.SetItemsProcessed(state.iterations() * 100000);
}
BENCHMARK(BM_Compress_Slurm)->Unit(benchmark::kMillisecond);

void BM_Lookup_Slurm(benchmark::State& state) {
  const std::string text = BigList();
  for (auto _ : state) {
    hostlist_t hl = slurm_hostlist_create(text.c_str());
    char* first = slurm_hostlist_shift(hl);
    const int mine = slurm_hostlist_find(hl, "nid099999");
    benchmark::DoNotOptimize(first);
    benchmark::DoNotOptimize(mine);
    free(first);
    slurm_hostlist_destroy(hl);
  }
}
BENCHMARK(BM_Lookup_Slurm)->Unit(benchmark::kMicrosecond);
#endif

// Detection of one rank (the last) of a simulated Slurm job of N nodes.
class NoFiles : public rankwrap::detect::FileReader {
 public:
  rankwrap::Result<std::string, rankwrap::detect::ReadError> Read(const std::string&) const override {
    return rankwrap::detect::ReadError{"no files in this benchmark"};
  }
};

void BM_DetectSlurm(benchmark::State& state) {
  const long nodes = state.range(0);
  const std::string list = nodes == 1 ? "nid000001"
                                      : "nid[000001-" + std::to_string(nodes / 2) + "," +
                                            std::to_string(nodes / 2 + 2) + "-" + std::to_string(nodes + 1) + "]";
  const long tasks = 4 * nodes - 1;  // uneven: the last node runs 3
  const std::string counts = nodes == 1 ? "3" : "4(x" + std::to_string(nodes - 1) + "),3";
  rankwrap::EnvSnapshot env = rankwrap::EnvSnapshot::FromEntries(
      {"SLURM_JOB_ID=4242", "SLURM_STEP_ID=0", "SLURM_PROCID=" + std::to_string(tasks - 1), "SLURM_LOCALID=2",
       "SLURM_NODEID=" + std::to_string(nodes - 1), "SLURM_STEP_NODELIST=" + list,
       "SLURM_STEP_NUM_NODES=" + std::to_string(nodes), "SLURM_STEP_NUM_TASKS=" + std::to_string(tasks),
       "SLURM_STEP_TASKS_PER_NODE=" + counts});
  NoFiles files;
  const rankwrap::detect::DetectContext ctx{env, files, "nid" + std::to_string(nodes + 1), 1};
  for (auto _ : state) {
    auto job = rankwrap::detect::Run(rankwrap::detect::Registry(), ctx, "", nullptr);
    if (!job) state.SkipWithError(job.error().what.c_str());
    benchmark::DoNotOptimize(job.ok());
  }
}
BENCHMARK(BM_DetectSlurm)->Arg(1)->Arg(1000)->Arg(100000)->Unit(benchmark::kMicrosecond);

// Topology: load (I/O kept, as rankwrap does) and plan, per recorded file.
void BM_LoadTopology(benchmark::State& state, const std::string& path) {
  for (auto _ : state) {
    auto t = rankwrap::hwloc::Load(path);
    if (!t) state.SkipWithError(t.error().what.c_str());
    benchmark::DoNotOptimize(t.ok());
  }
}

void BM_LoadTopologyNoIo(benchmark::State& state, const std::string& path) {
  for (auto _ : state) {
    hwloc_topology_t t;
    hwloc_topology_init(&t);
    if (!path.empty()) hwloc_topology_set_xml(t, path.c_str());
    hwloc_topology_load(t);
    benchmark::DoNotOptimize(hwloc_topology_get_depth(t));
    hwloc_topology_destroy(t);
  }
}

void BM_Plan(benchmark::State& state, const std::string& path) {
  auto t = rankwrap::hwloc::Load(path);
  if (!t) {
    state.SkipWithError("load failed");
    return;
  }
  auto vis = rankwrap::bind::MapVisible(*t, rankwrap::EnvSnapshot{});
  const unsigned ranks = t->gpus.empty() ? 8 : static_cast<unsigned>(t->gpus.size());
  for (auto _ : state) {
    auto plan = rankwrap::bind::PlanNode(*t, ranks, *vis, rankwrap::bind::BindOptions{});
    benchmark::DoNotOptimize(plan.ok());
  }
}

void RegisterTopologies() {
  benchmark::RegisterBenchmark("BM_LoadTopology/this_machine", BM_LoadTopology, std::string())
      ->Unit(benchmark::kMillisecond);
  benchmark::RegisterBenchmark("BM_LoadTopologyNoIo/this_machine", BM_LoadTopologyNoIo, std::string())
      ->Unit(benchmark::kMillisecond);
  const char* env = std::getenv("RANKWRAP_TOPOLOGIES");
  const std::filesystem::path dir = env ? env : RANKWRAP_TOPOLOGY_DIR;
  if (!std::filesystem::is_directory(dir)) return;
  std::vector<std::filesystem::path> files;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    if (e.path().extension() == ".xml") files.push_back(e.path());
  }
  std::sort(files.begin(), files.end());
  for (const auto& f : files) {
    const std::string stem = f.stem().string();
    benchmark::RegisterBenchmark(("BM_LoadTopology/" + stem).c_str(), BM_LoadTopology, f.string())
        ->Unit(benchmark::kMillisecond);
    benchmark::RegisterBenchmark(("BM_LoadTopologyNoIo/" + stem).c_str(), BM_LoadTopologyNoIo, f.string())
        ->Unit(benchmark::kMillisecond);
    benchmark::RegisterBenchmark(("BM_Plan/" + stem).c_str(), BM_Plan, f.string())->Unit(benchmark::kMicrosecond);
  }
}

}  // namespace

int main(int argc, char** argv) {
  RegisterTopologies();
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
