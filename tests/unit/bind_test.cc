// The node plan on every recorded topology (tests/data/topologies: the
// tests carry their data, a missing file is a failure) x 1, 2, 4, 8 ranks
// and the GPU count: golden JSON plans in tests/data/plans/, property checks
// on each, and facts from the machines' documentation.
// RANKWRAP_UPDATE_GOLDEN=1 rewrites the goldens.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "adapters/hwloc/hwloc_topology.h"
#include "core/bind/plan.h"
#include "core/parse/number.h"
#include "core/topo/serialize.h"
#include "fixture.h"

namespace rankwrap::bind {
namespace {

namespace fs = std::filesystem;

std::string TopologyDir() { return RANKWRAP_TEST_DATA "/topologies"; }

// Every file the tests expect (tests/data/topologies/README.md says where
// each comes from). A file missing is a failure of the test using it.
const std::vector<std::string>& ExpectedTopologies() {
  static const std::vector<std::string> files = {
      "aws-g4dn-metal-8xt4-interleaved.xml",    "aws-g4dn-metal-8xt4.xml",
      "dell-xe8640-4xh100-spr-interleaved.xml", "dell-xe8640-4xh100-spr.xml",
      "hpe-cray-ex235a-tioga-4xmi250x.xml",     "hpe-cray-ex255a-4xmi300a-cpx.xml",
      "hpe-cray-ex255a-4xmi300a-spx.xml",       "ibm-power9-lassen-4xv100.xml",
      "juwels-booster-4xa100-epyc7402.xml",     "nvidia-dgx2h-16xv100-trimmed.xml",
      "nvidia-gh200-quanta-noio.xml",           "synthetic-knl-flat-2x4.xml"};
  return files;
}

std::vector<fs::path> Topologies() {
  std::vector<fs::path> out;
  for (const std::string& name : ExpectedTopologies()) {
    const fs::path p = fs::path(TopologyDir()) / name;
    EXPECT_TRUE(fs::is_regular_file(p)) << p << " missing: the tests carry their data";
    if (fs::is_regular_file(p)) out.push_back(p);
  }
  return out;
}

topo::Topology LoadOrDie(const std::string& name) {
  auto t = hwloc::Load(TopologyDir() + "/" + name);
  EXPECT_TRUE(t.ok()) << name << ": " << (t ? "" : t.error().what + ": " + t.error().why);
  return t ? *t : topo::Topology{};
}

NodePlan PlanOrDie(const topo::Topology& t, unsigned n, const EnvSnapshot& env = {}, BindOptions opts = {}) {
  auto vis = MapVisible(t, env);
  EXPECT_TRUE(vis.ok());
  auto plan = PlanNode(t, n, *vis, opts);
  EXPECT_TRUE(plan.ok()) << (plan ? "" : plan.error().what + ": " + plan.error().why);
  return plan ? *plan : NodePlan{};
}

// The invariants every default plan must hold.
void CheckProperties(const topo::Topology& t, const NodePlan& plan, const std::string& where) {
  std::set<unsigned> allowed;
  std::size_t cores = t.cores.size();
  for (const auto& c : t.cores) allowed.insert(c.pus.begin(), c.pus.end());
  std::map<unsigned, unsigned> pu_users, gpu_users;
  for (const RankLine& l : plan.ranks) {
    EXPECT_FALSE(l.cpus.empty()) << where << " rank " << l.local_rank << " unbound";
    for (unsigned p : l.cpus) {
      EXPECT_TRUE(allowed.count(p)) << where << ": PU " << p << " is not allowed";
      ++pu_users[p];
    }
    for (unsigned g : l.gpus) ++gpu_users[g];
  }
  if (plan.ranks.size() <= cores) {
    for (const auto& [pu, n] : pu_users) EXPECT_EQ(n, 1u) << where << ": PU " << pu << " shared";
  }
  // GPUs used evenly.
  if (!t.gpus.empty()) {
    const std::size_t G = t.gpus.size(), N = plan.ranks.size();
    for (const RankLine& l : plan.ranks) {
      EXPECT_EQ(l.gpus.size(), N <= G ? G / N : 1u) << where << " rank " << l.local_rank;
    }
    unsigned lo = ~0u, hi = 0;
    for (const auto& [g, n] : gpu_users) lo = std::min(lo, n), hi = std::max(hi, n);
    EXPECT_LE(hi - lo, 1u) << where << ": GPUs unevenly shared";
  }
  // Cores local to the GPU first: a rank reaches beyond its GPUs' local
  // cores only when every one of them is in use (by it or another rank).
  std::set<unsigned> used;
  for (const RankLine& l : plan.ranks) used.insert(l.cpus.begin(), l.cpus.end());
  for (const RankLine& l : plan.ranks) {
    if (l.gpus.empty()) continue;
    std::set<unsigned> local;
    for (unsigned g : l.gpus) local.insert(t.gpus[g].local_pus.begin(), t.gpus[g].local_pus.end());
    const bool beyond = std::any_of(l.cpus.begin(), l.cpus.end(), [&](unsigned p) { return !local.count(p); });
    if (!beyond) continue;
    for (unsigned p : local) {
      EXPECT_TRUE(used.count(p)) << where << " rank " << l.local_rank << " uses non-local PUs while PU " << p
                                 << " local to its GPU is idle";
    }
  }
  // NIC nearest: no NIC of the candidates is nearer to the rank's GPU.
  for (const RankLine& l : plan.ranks) {
    if (l.gpus.empty() || t.nics.empty()) continue;
    ASSERT_FALSE(l.nics.empty()) << where;
    const auto& gpu = t.gpus[l.gpus.front()];
    const bool rdma = std::any_of(t.nics.begin(), t.nics.end(), [](const auto& n) { return n.infiniband; });
    std::pair<int, std::size_t> chosen{};
    for (const auto& n : t.nics) {
      if (n.name == l.nics.front()) chosen = DeviceDistance(gpu.path, n.path);
    }
    for (const auto& n : t.nics) {
      if (rdma && !n.infiniband) continue;
      EXPECT_LE(chosen, DeviceDistance(gpu.path, n.path)) << where << ": " << n.name << " is nearer";
    }
  }
}

TEST(Bind, EveryTopologyAndRankCountMatchesItsGoldenAndHoldsTheProperties) {
  const bool update = std::getenv("RANKWRAP_UPDATE_GOLDEN") != nullptr;
  const std::string golden_dir = RANKWRAP_TEST_DATA "/plans/";
  int checked = 0;
  for (const fs::path& file : Topologies()) {
    auto t = hwloc::Load(file.string());
    ASSERT_TRUE(t.ok()) << file;
    t->source = file.filename().string();  // goldens do not depend on the folder
    std::set<unsigned> counts = {1, 2, 4, 8};
    if (!t->gpus.empty()) counts.insert(static_cast<unsigned>(t->gpus.size()));
    for (unsigned n : counts) {
      const std::string where = file.stem().string() + " x" + std::to_string(n);
      NodePlan plan = PlanOrDie(*t, n);
      CheckProperties(*t, plan, where);
      // Goldens in a reviewable form: the plan's JSON, one key per line. The
      // one-line document rankwrap prints must parse to exactly this.
      const std::string got = nlohmann::ordered_json::parse(Json(plan, *t)).dump(1) + "\n";
      const std::string golden = golden_dir + file.stem().string() + ".r" + std::to_string(n) + ".json";
      if (update) {
        fs::create_directories(golden_dir);
        std::ofstream(golden) << got;
      } else {
        ASSERT_TRUE(fs::exists(golden)) << golden << " missing";
        EXPECT_EQ(got, testing::ReadText(golden)) << where;
      }
      ++checked;
    }
  }
  EXPECT_GE(checked, 48);  // 12 topologies x 4 or 5 rank counts
  // Rewriting goldens is never a passing test run (CI cannot pass in update mode).
  if (update) ADD_FAILURE() << "RANKWRAP_UPDATE_GOLDEN is set: goldens rewritten; review the diff, then run without it";
}

std::vector<unsigned> CoresOfPus(const topo::Topology& t, const std::vector<unsigned>& pus) {
  std::vector<unsigned> out;
  for (unsigned c = 0; c < t.cores.size(); ++c) {
    for (unsigned p : t.cores[c].pus) {
      if (std::find(pus.begin(), pus.end(), p) != pus.end()) {
        out.push_back(c);
        break;
      }
    }
  }
  return out;
}

const RankLine* LineWithGpu(const NodePlan& p, const topo::Topology& t, const std::string& bus) {
  for (const RankLine& l : p.ranks) {
    for (unsigned g : l.gpus) {
      if (t.gpus[g].bus_id == bus) return &l;
    }
  }
  return nullptr;
}

TEST(TopologyText, RoundTripsEveryRecordedTopologyAndPlansTheSame) {
  for (const fs::path& file : Topologies()) {
    auto t = hwloc::Load(file.string());
    ASSERT_TRUE(t.ok()) << file;
    const std::string text = topo::ToText(*t);
    auto back = topo::FromText(text);
    ASSERT_TRUE(back.ok()) << file << ": " << back.error().message;
    EXPECT_EQ(topo::ToText(*back), text) << file;
    const unsigned n = t->gpus.empty() ? 4 : static_cast<unsigned>(t->gpus.size());
    EXPECT_EQ(Json(PlanOrDie(*back, n), *back), Json(PlanOrDie(*t, n), *t)) << file;
  }
}

TEST(TopologyText, MalformedTextIsRefusedWithAReason) {
  auto not_topo = topo::FromText("not a topology\n");
  ASSERT_FALSE(not_topo.ok());
  EXPECT_EQ(not_topo.error().message, "not a rankwrap topology (first line)");
  auto bad_line = topo::FromText("rankwrap-topology 2\ncore\tx\t0\t1\n");
  auto old_format = topo::FromText("rankwrap-topology 1\n");  // an older cache: refused, rebuilt
  ASSERT_FALSE(old_format.ok());
  EXPECT_EQ(old_format.error().message, "not a rankwrap topology (first line)");
  ASSERT_FALSE(bad_line.ok());
  EXPECT_EQ(bad_line.error().message, "line 2 does not parse");
}

TEST(TopologyText, RestrictKeepsOnlyAllowedPus) {
  auto t = LoadOrDie("dell-xe8640-4xh100-spr.xml");
  auto r = topo::Restrict(t, {42, 43, 154, 155});
  ASSERT_EQ(r.cores.size(), 2u);
  EXPECT_EQ(r.cores[0].pus, (std::vector<unsigned>{42, 154}));
  EXPECT_EQ(r.gpus[0].local_pus, (std::vector<unsigned>{42, 43, 154, 155}));  // cuda0 sits on 42-55
  EXPECT_TRUE(r.gpus[1].local_pus.empty());
}

TEST(Bind, FrontierClassGcdsGetTheirCcd) {
  auto t = LoadOrDie("hpe-cray-ex235a-tioga-4xmi250x.xml");
  ASSERT_EQ(t.gpus.size(), 8u);
  auto plan = PlanOrDie(t, 8);
  const RankLine* d1 = LineWithGpu(plan, t, "0000:d1:00.0");
  const RankLine* c1 = LineWithGpu(plan, t, "0000:c1:00.0");
  ASSERT_TRUE(d1 && c1);
  EXPECT_EQ(topo::ListString(d1->cpus), "0-7,64-71");
  EXPECT_EQ(topo::ListString(c1->cpus), "48-55,112-119");
  EXPECT_EQ(d1->nics, std::vector<std::string>{"hsi2"});
  EXPECT_EQ(c1->nics, std::vector<std::string>{"hsi0"});
}

TEST(Bind, H100Cuda0SitsInNuma3WithItsTwoPorts) {
  auto t = LoadOrDie("dell-xe8640-4xh100-spr.xml");
  auto plan = PlanOrDie(t, 4);
  const RankLine* cuda0 = LineWithGpu(plan, t, "0000:4e:00.0");
  ASSERT_TRUE(cuda0);
  EXPECT_EQ(cuda0->numa, std::vector<unsigned>{3});
  EXPECT_EQ(topo::ListString(cuda0->cpus), "42-55,154-167");
  EXPECT_EQ(cuda0->nics, (std::vector<std::string>{"mlx5_0", "mlx5_1"}));
  EXPECT_EQ(LineWithGpu(plan, t, "0000:5f:00.0")->nics, std::vector<std::string>{"mlx5_2"});
  auto env = RankEnv(plan, *cuda0, t, EnvSnapshot{});
  EXPECT_EQ(env.at("CUDA_VISIBLE_DEVICES"), "0");
  EXPECT_EQ(env.at("CUDA_DEVICE_ORDER"), "PCI_BUS_ID");
  // '=': exact names (a bare mlx5_1 would also select mlx5_10, mlx5_11).
  EXPECT_EQ(env.at("NCCL_IB_HCA"), "=mlx5_0:1,mlx5_1:1");
  EXPECT_EQ(env.at("UCX_NET_DEVICES"), "mlx5_0:1,mlx5_1:1");
  EXPECT_EQ(env.at("OMP_NUM_THREADS"), "14");
}

TEST(Bind, Power9NumaIdsAre0And8) {
  auto t = LoadOrDie("ibm-power9-lassen-4xv100.xml");
  std::set<unsigned> numa;
  for (const auto& n : t.numa) numa.insert(n.os_index);
  EXPECT_EQ(numa, (std::set<unsigned>{0, 8}));
  auto plan = PlanOrDie(t, 4);
  EXPECT_EQ(plan.ranks[0].numa, std::vector<unsigned>{0});
  EXPECT_EQ(plan.ranks[3].numa, std::vector<unsigned>{8});
  for (const auto& l : plan.ranks) {
    for (unsigned p : l.cpus) EXPECT_FALSE(p < 8 || (p >= 88 && p < 96)) << "disallowed PU " << p;
  }
}

TEST(Bind, Mi300aCpxGives24Gpus) {
  auto t = LoadOrDie("hpe-cray-ex255a-4xmi300a-cpx.xml");
  EXPECT_EQ(t.gpus.size(), 24u);
  auto spx = LoadOrDie("hpe-cray-ex255a-4xmi300a-spx.xml");
  EXPECT_EQ(spx.gpus.size(), 4u);
  auto plan = PlanOrDie(t, 24);
  auto env = RankEnv(plan, plan.ranks[7], t, EnvSnapshot{});
  EXPECT_EQ(env.at("ROCR_VISIBLE_DEVICES"), "7");
  EXPECT_FALSE(env.count("CUDA_VISIBLE_DEVICES"));
}

TEST(Bind, Gh200WithoutGpusBindsByCores) {
  auto t = LoadOrDie("nvidia-gh200-quanta-noio.xml");
  EXPECT_TRUE(t.gpus.empty());
  auto plan = PlanOrDie(t, 4);
  EXPECT_EQ(topo::ListString(plan.ranks[0].cpus), "0-17");
  EXPECT_EQ(topo::ListString(plan.ranks[3].cpus), "54-71");
  BindOptions gpu;
  gpu.cpu = BindOptions::Cpu::kGpu;
  auto bad = PlanNode(t, 4, *MapVisible(t, EnvSnapshot{}), gpu);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().exit_code, kExitBinding);
}

TEST(Bind, JuwelsIndicesFollowPciOrderWithoutOsDevices) {
  auto t = LoadOrDie("juwels-booster-4xa100-epyc7402.xml");
  ASSERT_EQ(t.gpus.size(), 4u);
  EXPECT_EQ(t.gpus[0].bus_id, "0000:03:00.0");
  EXPECT_EQ(t.gpus[3].bus_id, "0000:c4:00.0");
  EXPECT_TRUE(t.gpus[0].os_names.empty());
}

TEST(Visible, LauncherListsMapToPhysicalGpus) {
  auto t = LoadOrDie("dell-xe8640-4xh100-spr.xml");
  // A second job on the node: global indices 2,3 (no device cgroup).
  auto env = EnvSnapshot::FromEntries({"CUDA_VISIBLE_DEVICES=2,3"});
  auto v = MapVisible(t, env);
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->gpus, (std::vector<unsigned>{2, 3}));
  auto plan = PlanOrDie(t, 2, env);
  EXPECT_EQ(RankEnv(plan, plan.ranks[0], t, env).at("CUDA_VISIBLE_DEVICES"), "3");  // db:00.0 sits on lower cores
  // Device cgroup: local index 0 is global GPU 1 (SLURM_STEP_GPUS).
  auto cg = EnvSnapshot::FromEntries({"CUDA_VISIBLE_DEVICES=0", "SLURM_STEP_GPUS=1"});
  auto vc = MapVisible(t, cg);
  ASSERT_TRUE(vc.ok());
  EXPECT_EQ(vc->gpus, std::vector<unsigned>{1});
  auto pc = PlanOrDie(t, 1, cg);
  EXPECT_EQ(RankEnv(pc, pc.ranks[0], t, cg).at("CUDA_VISIBLE_DEVICES"), "0");
  EXPECT_EQ(topo::ListString(pc.ranks[0].cpus), "14-27,126-139");
  // None: "" and -1.
  for (const char* none : {"CUDA_VISIBLE_DEVICES=", "CUDA_VISIBLE_DEVICES=-1"}) {
    auto vn = MapVisible(t, EnvSnapshot::FromEntries({none}));
    ASSERT_TRUE(vn.ok());
    EXPECT_TRUE(vn->gpus.empty()) << none;
  }
  // A GPU the node does not have.
  auto bad = MapVisible(t, EnvSnapshot::FromEntries({"CUDA_VISIBLE_DEVICES=0,7"}));
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().what.find("CUDA_VISIBLE_DEVICES='0,7' names GPU 7"), std::string::npos);
  auto uuid =
      MapVisible(t, EnvSnapshot::FromEntries({"CUDA_VISIBLE_DEVICES=GPU-00000000-dead-beef-0000-000000000000"}));
  ASSERT_FALSE(uuid.ok());
}

TEST(Visible, NoGpuInTheTopologyLeavesTheLauncherListAlone) {
  auto t = LoadOrDie("nvidia-gh200-quanta-noio.xml");
  auto env = EnvSnapshot::FromEntries({"CUDA_VISIBLE_DEVICES=1"});
  auto v = MapVisible(t, env);
  ASSERT_TRUE(v.ok());
  EXPECT_TRUE(v->passthrough);
  auto plan = PlanOrDie(t, 2, env);
  ASSERT_EQ(plan.warnings.size(), 1u);
  EXPECT_NE(plan.warnings[0].find("shows no GPU"), std::string::npos);
  EXPECT_FALSE(RankEnv(plan, plan.ranks[1], t, env).count("CUDA_VISIBLE_DEVICES"));
  EXPECT_EQ(topo::ListString(plan.ranks[1].cpus), "36-71");
}

TEST(Visible, PerTaskGpusAreRecognised) {
  auto t = LoadOrDie("dell-xe8640-4xh100-spr.xml");
  // srun --gpus-per-task=1 with 2 tasks: each task sees one of the 2 GPUs.
  auto per_task = EnvSnapshot::FromEntries({"CUDA_VISIBLE_DEVICES=1", "SLURM_GPUS_ON_NODE=2"});
  EXPECT_TRUE(PerTaskGpus(*MapVisible(t, per_task), 2, per_task));
  // srun --gpus-per-node=2 with 2 tasks: both see both.
  auto shared = EnvSnapshot::FromEntries({"CUDA_VISIBLE_DEVICES=0,1", "SLURM_GPUS_ON_NODE=2"});
  EXPECT_FALSE(PerTaskGpus(*MapVisible(t, shared), 2, shared));
  // No launcher list: never per task.
  EXPECT_FALSE(PerTaskGpus(*MapVisible(t, EnvSnapshot{}), 4, EnvSnapshot{}));
}

TEST(Bind, MapAndReorder) {
  auto t = LoadOrDie("dell-xe8640-4xh100-spr.xml");
  auto opts = ParseBindOptions("map:3,2,1,0", "reorder", "auto", "local", "auto");
  ASSERT_TRUE(opts.ok());
  auto plan = PlanOrDie(t, 4, {}, *opts);
  auto env = RankEnv(plan, plan.ranks[0], t, EnvSnapshot{});
  EXPECT_EQ(env.at("CUDA_VISIBLE_DEVICES"), "3,0,1,2");
  EXPECT_EQ(topo::ListString(plan.ranks[0].cpus), "70-83,182-195");
  auto out_of_range = ParseBindOptions("map:0,4", "single", "auto", "local", "auto");
  ASSERT_TRUE(out_of_range.ok());
  auto bad = PlanNode(t, 2, *MapVisible(t, EnvSnapshot{}), *out_of_range);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().what.find("map entry 4"), std::string::npos);
  auto shared = ParseBindOptions("map:0,0", "single", "auto", "local", "auto");
  auto sp = PlanNode(t, 2, *MapVisible(t, EnvSnapshot{}), *shared);
  ASSERT_TRUE(sp.ok());
  EXPECT_FALSE(sp->warnings.empty());
  auto map_x = ParseBindOptions("map:x", "single", "auto", "local", "auto");
  ASSERT_FALSE(map_x.ok());
  EXPECT_EQ(map_x.error().what, "--gpu-bind 'map:x'");
  EXPECT_NE(map_x.error().why.find("one GPU index per local rank"), std::string::npos) << map_x.error().why;
  auto nearest = ParseBindOptions("nearest", "single", "auto", "local", "auto");
  ASSERT_FALSE(nearest.ok());
  EXPECT_EQ(nearest.error().what, "--gpu-bind 'nearest'");
  EXPECT_EQ(nearest.error().why, "expected closest, map:LIST or none");
}

// ---- Slurm's explicit lists: --cpu-bind map_cpu:LIST / mask_cpu:LIST ----

BindOptions CpuList(const std::string& cpu_bind) {
  auto o = ParseBindOptions("closest", "single", cpu_bind, "local", "auto");
  EXPECT_TRUE(o.ok()) << cpu_bind << ": " << (o ? "" : o.error().why);
  return o ? *o : BindOptions{};
}

TEST(CpuList, GoldenPlansOnARealTopology) {
  // dell-xe8640 in SNC-4: NUMA node k holds PUs 14k..14k+13 and their
  // siblings 112+14k..; the GPUs are planned by local rank as for the default.
  struct Case {
    const char* topology;
    unsigned ranks;
    const char* cpu_bind;
    const char* golden;
  };
  const bool update = std::getenv("RANKWRAP_UPDATE_GOLDEN") != nullptr;
  for (const Case& c :
       {Case{"dell-xe8640-4xh100-spr.xml", 4, "map_cpu:0,28,56,84", "dell-xe8640-4xh100-spr.map_cpu.r4.json"},
        Case{"dell-xe8640-4xh100-spr.xml", 6, "mask_cpu:0x3fff*2,fffc000",
             "dell-xe8640-4xh100-spr.mask_cpu.r6.json"}}) {
    auto t = LoadOrDie(c.topology);
    t.source = c.topology;
    const NodePlan plan = PlanOrDie(t, c.ranks, {}, CpuList(c.cpu_bind));
    const NodePlan usual = PlanOrDie(t, c.ranks);
    for (unsigned r = 0; r < c.ranks; ++r) EXPECT_EQ(plan.ranks[r].gpus, usual.ranks[r].gpus) << c.golden << " " << r;
    const std::string got = nlohmann::ordered_json::parse(Json(plan, t)).dump(1) + "\n";
    const std::string golden = RANKWRAP_TEST_DATA "/plans/" + std::string(c.golden);
    if (update) {
      std::ofstream(golden) << got;
    } else {
      ASSERT_TRUE(fs::exists(golden)) << golden << " missing";
      EXPECT_EQ(got, testing::ReadText(golden)) << c.golden;
    }
  }
  if (update) ADD_FAILURE() << "RANKWRAP_UPDATE_GOLDEN is set: goldens rewritten; review the diff, then run without it";
}

TEST(CpuList, EachLocalRankGetsExactlyItsItemAndItsNumaNodes) {
  auto t = LoadOrDie("dell-xe8640-4xh100-spr.xml");
  auto plan = PlanOrDie(t, 4, {}, CpuList("map_cpu:0,28,56,84"));
  const std::vector<unsigned> cpus = {0, 28, 56, 84}, numa = {0, 2, 4, 6};
  for (unsigned r = 0; r < 4; ++r) {
    EXPECT_EQ(plan.ranks[r].cpus, std::vector<unsigned>{cpus[r]}) << r;
    EXPECT_EQ(plan.ranks[r].cores, 1u) << r;
    EXPECT_EQ(plan.ranks[r].numa, std::vector<unsigned>{numa[r]}) << r;
    EXPECT_EQ(RankEnv(plan, plan.ranks[r], t, EnvSnapshot{}).at("OMP_NUM_THREADS"), "1");
  }
  EXPECT_TRUE(plan.warnings.empty()) << plan.warnings[0];
  // A mask: PU 0 and its sibling 112 (one core), and two NUMA nodes' PUs.
  auto mask = PlanOrDie(t, 2, {}, CpuList("mask_cpu:0x10000000000000000000000000001,0xfffc000"));
  EXPECT_EQ(topo::ListString(mask.ranks[0].cpus), "0,112");
  EXPECT_EQ(mask.ranks[0].cores, 1u);
  EXPECT_EQ(mask.ranks[0].numa, std::vector<unsigned>{0});
  EXPECT_EQ(topo::ListString(mask.ranks[1].cpus), "14-27");
  EXPECT_EQ(mask.ranks[1].cores, 14u);
  EXPECT_EQ(mask.ranks[1].numa, std::vector<unsigned>{1});
}

// The GPUs are still planned by local rank: a rank whose listed CPUs are
// outside its GPU's locality is told so, one that lists them is not.
TEST(CpuList, CpusAwayFromTheRanksGpuAreNamed) {
  auto t = LoadOrDie("dell-xe8640-4xh100-spr.xml");
  const NodePlan usual = PlanOrDie(t, 4);
  std::vector<unsigned> near;  // local rank i's GPU: the first PU of its locality
  for (const auto& l : usual.ranks) near.push_back(t.gpus[l.gpus.at(0)].local_pus.at(0));
  auto list = [&](std::vector<unsigned> v) {
    std::string s;
    for (unsigned p : v) s += (s.empty() ? "map_cpu:" : ",") + std::to_string(p);
    return s;
  };
  const NodePlan good = PlanOrDie(t, 4, {}, CpuList(list(near)));
  for (const auto& l : good.ranks) EXPECT_TRUE(l.warnings.empty()) << l.warnings[0];
  std::vector<unsigned> rotated = {near[1], near[2], near[3], near[0]};
  const NodePlan bad = PlanOrDie(t, 4, {}, CpuList(list(rotated)));
  for (unsigned r = 0; r < 4; ++r) {
    EXPECT_EQ(bad.ranks[r].gpus, usual.ranks[r].gpus);
    ASSERT_EQ(bad.ranks[r].warnings.size(), 1u) << r;
    EXPECT_NE(
        bad.ranks[r].warnings[0].find("local rank " + std::to_string(r) + "'s CPU(s) " + std::to_string(rotated[r]) +
                                      " are not near its GPU " + t.gpus[usual.ranks[r].gpus.at(0)].bus_id),
        std::string::npos)
        << bad.ranks[r].warnings[0];
  }
}

TEST(CpuList, MoreRanksThanItemsReuseTheListAndWarn) {
  auto t = LoadOrDie("dell-xe8640-4xh100-spr.xml");
  auto plan = PlanOrDie(t, 4, {}, CpuList("map_cpu:0*2,5"));  // 4 ranks: one GPU each, no GPU warning
  std::vector<std::string> got;
  for (const auto& l : plan.ranks) got.push_back(topo::ListString(l.cpus));
  EXPECT_EQ(got, (std::vector<std::string>{"0", "0", "5", "0"}));
  ASSERT_EQ(plan.warnings.size(), 1u);
  EXPECT_EQ(plan.warnings[0], "PU(s) 0 shared by up to 3 local ranks (--cpu-bind map_cpu:0*2,5)");
}

TEST(CpuList, ACpuOutsideTheAllowedSetIsAnErrorNamingItAndTheSet) {
  auto t = LoadOrDie("dell-xe8640-4xh100-spr.xml");
  t.source = "dell.xml";
  // Every item is checked, also one no rank takes.
  auto bad = PlanNode(t, 1, *MapVisible(t, EnvSnapshot{}), CpuList("map_cpu:0,224"));
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().exit_code, kExitBinding);
  EXPECT_EQ(bad.error().what, "--cpu-bind 'map_cpu:0,224' item 2");
  EXPECT_EQ(bad.error().why,
            "names CPU 224, which is not one of this node's allowed PUs 0-223 (dell.xml; OS CPU numbers)");
  EXPECT_EQ(bad.error().hint, "list only CPUs in 0-223");
  // The job's cpuset: socket 0 only (0-55, 112-167); CPU 56 is the machine's, not the job's.
  std::vector<unsigned> socket0;
  for (const auto& c : t.cores) {
    if (c.package == 0) socket0.insert(socket0.end(), c.pus.begin(), c.pus.end());
  }
  auto node = NodeTopology(t, socket0);
  auto outside = PlanNode(node, 2, *MapVisible(node, EnvSnapshot{}), CpuList("mask_cpu:1,0x100000000000000"));
  ASSERT_FALSE(outside.ok());
  EXPECT_EQ(outside.error().what, "--cpu-bind 'mask_cpu:1,0x100000000000000' item 2");
  EXPECT_NE(outside.error().why.find("names CPU 56, which is not one of this node's allowed PUs 0-55,112-167"),
            std::string::npos)
      << outside.error().why;
  EXPECT_TRUE(PlanNode(node, 2, *MapVisible(node, EnvSnapshot{}), CpuList("map_cpu:55,112")).ok());
}

TEST(CpuList, MalformedListsAreUsageErrorsNamingTheItem) {
  auto empty = ParseBindOptions("closest", "single", "map_cpu:", "local", "auto");
  ASSERT_FALSE(empty.ok());
  EXPECT_EQ(empty.error().exit_code, kExitUsage);
  EXPECT_EQ(empty.error().what, "--cpu-bind 'map_cpu:'");
  EXPECT_EQ(empty.error().why, "empty list, expected map_cpu:ID,ID,... (offset 8)");
  auto bad_hex = ParseBindOptions("closest", "single", "mask_cpu:0x3,0xz", "local", "auto");
  ASSERT_FALSE(bad_hex.ok());
  EXPECT_EQ(bad_hex.error().why,
            "item 2 '0xz': 'z' is not a hexadecimal digit; a mask is hexadecimal, with or without 0x (offset 15)");
  EXPECT_EQ(bad_hex.error().hint,
            "write mask_cpu:MASK,MASK,... with one hexadecimal CPU mask per local rank, MASK*N for N ranks in a row "
            "(mask_cpu:0x3,0xc or mask_cpu:0x3*2,0xc*2)");
  auto other = ParseBindOptions("closest", "single", "map_ldom:0", "local", "auto");
  ASSERT_FALSE(other.ok());
  EXPECT_EQ(other.error().why, "expected gpu, numa, cores, map_cpu:LIST, mask_cpu:LIST or none");
}

TEST(Bind, MissingAndBrokenFilesAreErrorsNamingTheFile) {
  auto missing = hwloc::Load("/nonexistent/topo.xml");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().what.find("/nonexistent/topo.xml"), std::string::npos);
  const std::string bad = ::testing::TempDir() + "/broken.xml";
  std::ofstream(bad) << "<topology><object type=\"Machine\"";
  auto broken = hwloc::Load(bad);
  ASSERT_FALSE(broken.ok());
  EXPECT_NE(broken.error().what.find("does not load"), std::string::npos);
  EXPECT_EQ(broken.error().exit_code, kExitBinding);
}

// ---- The plan does not depend on the launcher's mask (issue: binding truth) ----

// The masks launchers give the local ranks of a node before rankwrap runs:
// bound to a core, a socket or a NUMA node, ranks placed block-wise or
// round-robin over those.
std::vector<std::vector<unsigned>> LauncherMasks(const topo::Topology& t, unsigned n, const std::string& to,
                                                 bool round_robin) {
  std::vector<std::vector<unsigned>> domains;
  if (to == "core") {
    for (const auto& c : t.cores) domains.push_back(c.pus);
  } else {
    std::map<int, std::vector<unsigned>> by;
    for (const auto& c : t.cores) {
      auto& d = by[to == "socket" ? c.package : c.numa];
      d.insert(d.end(), c.pus.begin(), c.pus.end());
    }
    for (auto& [k, v] : by) domains.push_back(v);
  }
  std::vector<std::vector<unsigned>> masks;
  const std::size_t D = domains.size();
  for (unsigned r = 0; r < n; ++r) masks.push_back(domains[round_robin ? r % D : r * D / n % D]);
  return masks;
}

TEST(BindTruth, EveryLocalRankPlansTheSameWhateverTheLauncherBoundItTo) {
  int cases = 0, old_disagreed = 0;
  for (const fs::path& file : Topologies()) {
    auto machine = hwloc::Load(file.string());
    ASSERT_TRUE(machine.ok()) << file;
    std::set<unsigned> counts = {1, 2, 4, 8};
    if (!machine->gpus.empty()) counts.insert(static_cast<unsigned>(machine->gpus.size()));
    for (unsigned n : counts) {
      for (const char* to : {"core", "socket", "numa"}) {
        for (bool rr : {false, true}) {
          const std::string where =
              file.stem().string() + " x" + std::to_string(n) + " bound to " + to + (rr ? " round-robin" : " block");
          const auto masks = LauncherMasks(*machine, n, to, rr);
          // What each local rank computes: the node's allowed set (here the
          // file's), whatever its own mask.
          std::vector<std::string> plans, old_plans;
          for (unsigned r = 0; r < n; ++r) {
            topo::Topology node = NodeTopology(*machine, {});
            NodePlan plan = PlanOrDie(node, n);
            plans.push_back(Json(plan, node));
            if (r == 0) {
              CheckProperties(node, plan, where);
              // No GPU given twice while another is idle.
              std::map<unsigned, unsigned> users;
              for (const auto& l : plan.ranks) {
                for (unsigned g : l.gpus) ++users[g];
              }
              if (n <= machine->gpus.size()) {
                for (const auto& [g, k] : users) EXPECT_EQ(k, 1u) << where << ": GPU " << g << " given twice";
              } else {
                EXPECT_EQ(users.size(), machine->gpus.size()) << where << ": a GPU idle while others are shared";
              }
              // Local rank 0 hears once that the plan replaces a narrower mask.
              const bool narrower = masks[0].size() < node.cores.size() * node.cores[0].pus.size();
              EXPECT_EQ(LauncherMaskNote(node, masks[0], plan.options).has_value(), narrower) << where;
              BindOptions keep;
              keep.cpu = BindOptions::Cpu::kNone;
              EXPECT_FALSE(LauncherMaskNote(node, masks[0], keep).has_value()) << where;
            }
            // The old way: the topology restricted to the rank's own mask.
            topo::Topology masked = topo::Restrict(*machine, masks[r]);
            auto vis = MapVisible(masked, EnvSnapshot{});
            auto old = vis ? PlanNode(masked, n, *vis, BindOptions{}) : Result<NodePlan>(vis.error());
            old_plans.push_back(old ? Json(*old, masked) : "error");
          }
          for (unsigned r = 1; r < n; ++r) EXPECT_EQ(plans[r], plans[0]) << where << ": local rank " << r;
          bool old_same = true;
          for (unsigned r = 1; r < n; ++r) old_same = old_same && old_plans[r] == old_plans[0];
          old_disagreed += old_same ? 0 : 1;
          ++cases;
        }
      }
    }
  }
  EXPECT_GE(cases, 12 * 4 * 6);
  // The matrix does hold the launcher binding that broke plans before.
  EXPECT_GT(old_disagreed, cases / 4);
}

TEST(BindTruth, G4dnLocalRank0NoLongerGetsGpusOfTheOtherSocket) {
  // Open MPI's default --bind-to socket, 8 ranks round-robin: local rank 0
  // on socket 0 used to plan GPUs 0,1 on socket 0 while rank 1 on socket 1
  // planned 4,5 on socket 1 for itself: duplicated and idle GPUs.
  for (const char* name : {"aws-g4dn-metal-8xt4.xml", "aws-g4dn-metal-8xt4-interleaved.xml"}) {
    auto t = LoadOrDie(name);
    auto plan = PlanOrDie(NodeTopology(t, {}), 8);
    std::set<unsigned> gpus;
    for (const auto& l : plan.ranks) {
      ASSERT_EQ(l.gpus.size(), 1u) << name;
      gpus.insert(l.gpus[0]);
      // Each rank's cores are on its GPU's socket.
      for (unsigned c : CoresOfPus(t, l.cpus)) {
        EXPECT_EQ(t.cores[c].numa, l.gpus[0] < 4 ? 0 : 1) << name << " rank " << l.local_rank;
      }
    }
    EXPECT_EQ(gpus.size(), 8u) << name;
    EXPECT_TRUE(plan.warnings.empty()) << name << ": " << plan.warnings.front();
  }
}

// ---- Planner defects ----

topo::Topology Machine(unsigned packages, unsigned numa_per_package, unsigned cores_per_numa, unsigned smt) {
  topo::Topology t;
  t.source = "machine";
  t.packages = static_cast<int>(packages);
  unsigned pu = 0, numa = 0;
  for (unsigned p = 0; p < packages; ++p) {
    for (unsigned n = 0; n < numa_per_package; ++n, ++numa) {
      topo::NumaNode node;
      node.os_index = numa;
      node.memory = 1u << 30;
      for (unsigned c = 0; c < cores_per_numa; ++c) {
        topo::Core core;
        core.numa = static_cast<int>(numa);
        core.package = static_cast<int>(p);
        for (unsigned s = 0; s < smt; ++s) core.pus.push_back(pu + s * packages * numa_per_package * cores_per_numa);
        ++pu;
        node.pus.insert(node.pus.end(), core.pus.begin(), core.pus.end());
        t.cores.push_back(core);
      }
      t.numa.push_back(node);
    }
  }
  std::sort(t.cores.begin(), t.cores.end(), [](const auto& a, const auto& b) { return a.pus[0] < b.pus[0]; });
  return t;
}

TEST(PlanDefects, CpuBindNumaNeverPicksAMemoryOnlyNode) {
  // KNL in flat mode (and SPR HBM, CXL memory): memory-only NUMA nodes next
  // to the CPU ones; as hwloc 2 reports them they carry their CPUs' cpuset.
  topo::Topology t = Machine(1, 2, 4, 1);
  for (unsigned k = 0; k < 2; ++k) {
    topo::NumaNode mcdram = t.numa[k];
    mcdram.os_index = 2 + k;
    t.numa.push_back(mcdram);
  }
  BindOptions numa;
  numa.cpu = BindOptions::Cpu::kNuma;
  auto plan = PlanNode(t, 4, VisibleGpus{}, numa);
  ASSERT_TRUE(plan.ok());
  for (const auto& l : plan->ranks) {
    EXPECT_FALSE(l.cpus.empty()) << "rank " << l.local_rank << " got no CPU";
    for (unsigned n : l.numa) EXPECT_LT(n, 2u) << "rank " << l.local_rank;
  }
  EXPECT_EQ(plan->ranks[0].numa, std::vector<unsigned>{0});
  EXPECT_EQ(plan->ranks[3].numa, std::vector<unsigned>{1});
}

TEST(PlanDefects, KnlFlatMcdramIsNeitherACoresNodeNorACpuDomain) {
  // hwloc gives MCDRAM (first) and DDR the same cpuset: the core's node is
  // the plain DDR one, and --cpu-bind numa never plans on MCDRAM.
  auto t = LoadOrDie("synthetic-knl-flat-2x4.xml");
  ASSERT_EQ(t.numa.size(), 4u);
  for (const auto& c : t.cores) EXPECT_TRUE(c.numa == 1 || c.numa == 3) << "core on NUMA " << c.numa;
  auto plan = PlanOrDie(t, 4, {}, *ParseBindOptions("closest", "single", "numa", "local", "auto"));
  for (const auto& l : plan.ranks) {
    EXPECT_EQ(l.cores, 4u) << "rank " << l.local_rank;
    ASSERT_EQ(l.numa.size(), 1u);
    EXPECT_EQ(l.numa[0], l.local_rank < 2 ? 1u : 3u);
  }
}

TEST(PlanDefects, AllowedSetWithoutSomeGpusCoresIsSplitNotShared) {
  // The job's cgroup holds socket 0 only; GPUs 4-7 sit on socket 1.
  auto t = LoadOrDie("aws-g4dn-metal-8xt4.xml");
  std::vector<unsigned> socket0;
  for (const auto& c : t.cores) {
    if (c.package == 0) socket0.insert(socket0.end(), c.pus.begin(), c.pus.end());
  }
  auto node = NodeTopology(t, socket0);
  auto plan = PlanOrDie(node, 8);
  CheckProperties(node, plan, "g4dn socket 0 only x8");
  for (const auto& l : plan.ranks) EXPECT_EQ(l.cores, 3u) << "rank " << l.local_rank;
  // Ranks with a GPU on socket 0 still get cores local to it.
  for (unsigned r = 0; r < 4; ++r) {
    const auto& local = node.gpus[plan.ranks[r].gpus[0]].local_pus;
    for (unsigned p : plan.ranks[r].cpus) EXPECT_TRUE(std::count(local.begin(), local.end(), p)) << r;
  }
}

TEST(PlanDefects, CpuBindCoresGpuFollowsTheRanksCores) {
  // Interleaved numbering: GPU locality order (5f, db, 4e, cb) is not core
  // order. A rank on NUMA 2-3 must get cuda0 (4e:00.0, NUMA 3).
  auto t = LoadOrDie("dell-xe8640-4xh100-spr-interleaved.xml");
  BindOptions cores;
  cores.cpu = BindOptions::Cpu::kCores;
  auto plan = PlanOrDie(t, 4, {}, cores);
  for (const auto& l : plan.ranks) {
    ASSERT_EQ(l.gpus.size(), 1u);
    std::set<int> numa;
    for (unsigned c : CoresOfPus(t, l.cpus)) numa.insert(t.cores[c].numa);
    std::set<int> gpu_numa;
    for (unsigned c : CoresOfPus(t, t.gpus[l.gpus[0]].local_pus)) gpu_numa.insert(t.cores[c].numa);
    ASSERT_EQ(gpu_numa.size(), 1u);
    EXPECT_TRUE(numa.count(*gpu_numa.begin()))
        << "rank " << l.local_rank << " on NUMA " << *numa.begin() << " got a GPU in NUMA " << *gpu_numa.begin();
    EXPECT_EQ(l.cores, 28u);
  }
  EXPECT_EQ(t.gpus[plan.ranks[1].gpus[0]].bus_id, "0000:4e:00.0");
}

TEST(PlanDefects, FewerRanksThanGpuLocalitiesGetTheirFairShareNearestFirst) {
  auto t = LoadOrDie("dell-xe8640-4xh100-spr.xml");
  auto one = PlanOrDie(t, 1);
  EXPECT_EQ(one.ranks[0].cores, 112u);  // the whole allowed set, not the GPUs' 56 cores
  EXPECT_EQ(topo::ListString(one.ranks[0].cpus), "0-223");
  auto two = PlanOrDie(t, 2);
  EXPECT_EQ(topo::ListString(two.ranks[0].cpus), "0-55,112-167");  // socket 0, with both its GPUs
  EXPECT_EQ(topo::ListString(two.ranks[1].cpus), "56-111,168-223");
  auto p9 = PlanOrDie(LoadOrDie("ibm-power9-lassen-4xv100.xml"), 1);
  EXPECT_EQ(p9.ranks[0].cores, 40u);
}

TEST(PlanDefects, AsManyRanksAsCoresNeverShareACore) {
  for (const char* name :
       {"juwels-booster-4xa100-epyc7402.xml", "aws-g4dn-metal-8xt4.xml", "aws-g4dn-metal-8xt4-interleaved.xml"}) {
    auto t = LoadOrDie(name);
    auto plan = PlanOrDie(t, 48);
    CheckProperties(t, plan, std::string(name) + " x48");
    std::set<unsigned> cores;
    for (const auto& l : plan.ranks) {
      ASSERT_EQ(l.cores, 1u) << name << " rank " << l.local_rank;
      cores.insert(CoresOfPus(t, l.cpus)[0]);
    }
    EXPECT_EQ(cores.size(), 48u) << name;
  }
}

TEST(PlanDefects, MoreRanksThanCoresSplitHardwareThreads) {
  auto t = LoadOrDie("juwels-booster-4xa100-epyc7402.xml");  // 48 cores, 96 PUs
  for (unsigned n : {64u, 96u}) {
    auto plan = PlanOrDie(t, n);
    std::map<unsigned, unsigned> users;
    for (const auto& l : plan.ranks) {
      ASSERT_FALSE(l.cpus.empty());
      for (unsigned p : l.cpus) ++users[p];
    }
    for (const auto& [p, k] : users) EXPECT_EQ(k, 1u) << n << " ranks: PU " << p << " shared";
  }
  auto over = PlanOrDie(t, 100);
  EXPECT_FALSE(over.warnings.empty());
}

TEST(PlanDefects, SvgForHundredsOfRanksIsWellFormed) {
  // 300 ranks on 2 cores: each core's title names 150 ranks (a fixed
  // 512-byte buffer cut it, and the file did not parse).
  topo::Topology t = Machine(1, 1, 2, 1);
  auto plan = PlanOrDie(t, 300);
  const std::string svg = Svg(plan, t);
  EXPECT_NE(svg.find(",149</title>"), std::string::npos);
  auto count = [&](const std::string& needle) {
    std::size_t n = 0;
    for (std::size_t at = svg.find(needle); at != std::string::npos; at = svg.find(needle, at + 1)) ++n;
    return n;
  };
  EXPECT_EQ(count("<title>"), count("</title>"));
  EXPECT_EQ(count("<text"), count("</text>"));
  // Every element line is whole: <rect .../>, <rect ...>...</rect>, <text>...</text>.
  for (auto line : parse::Split(svg, '\n')) {
    if (line.empty()) continue;
    const bool whole = line.substr(line.size() - 2) == "/>" || line.substr(line.size() - 1) == ">";
    EXPECT_TRUE(whole) << "cut: " << line.substr(0, 80);
    if (line.rfind("<rect", 0) == 0 && line.find("<title>") != std::string_view::npos) {
      EXPECT_EQ(line.substr(line.size() - 7), "</rect>") << line.substr(0, 80);
    }
  }
  EXPECT_NE(svg.find(">rank 299 ("), std::string::npos);
  EXPECT_EQ(svg.substr(svg.size() - 7), "</svg>\n");
}

// ---- What the program sees ----

TEST(ProgramSees, LocalRankVisibilityPutsEachRanksGpuAtItsLocalRank) {
  auto t = LoadOrDie("dell-xe8640-4xh100-spr.xml");
  auto opts = ParseBindOptions("closest", "local-rank", "auto", "local", "auto");
  ASSERT_TRUE(opts.ok());
  auto plan = PlanOrDie(t, 4, {}, *opts);
  std::string first;
  for (const auto& l : plan.ranks) {
    auto env = RankEnv(plan, l, t, EnvSnapshot{});
    const std::string list = env.at("CUDA_VISIBLE_DEVICES");
    if (first.empty()) first = list;
    EXPECT_EQ(list, first) << "every rank sees the same list";
    // Position LOCAL_RANK holds the rank's planned GPU.
    std::vector<std::string> items;
    for (auto item : parse::Split(list, ',')) items.emplace_back(item);
    ASSERT_EQ(items.size(), 4u);
    EXPECT_EQ(items[l.local_rank], std::to_string(l.gpus[0])) << "rank " << l.local_rank;
  }
  EXPECT_EQ(first, "1,0,3,2");
  EXPECT_TRUE(plan.warnings.empty());
  auto shared = PlanOrDie(t, 8, {}, *opts);
  EXPECT_FALSE(shared.warnings.empty());
  EXPECT_FALSE(ParseBindOptions("closest", "torch", "auto", "local", "auto").ok());
}

TEST(ProgramSees, NicPortsAndExactHcaNames) {
  auto t = LoadOrDie("juwels-booster-4xa100-epyc7402.xml");
  for (const auto& n : t.nics) EXPECT_EQ(n.ports, std::vector<unsigned>{1}) << n.name;
  auto plan = PlanOrDie(t, 4);
  auto env = RankEnv(plan, plan.ranks[0], t, EnvSnapshot{});
  EXPECT_EQ(env.at("NCCL_IB_HCA"), "=mlx5_1:1");
  EXPECT_EQ(env.at("UCX_NET_DEVICES"), "mlx5_1:1");
  // A port hwloc shows as the active one wins over port 1.
  for (auto& n : t.nics) {
    if (n.name == "mlx5_1") n.ports = {2};
  }
  EXPECT_EQ(RankEnv(plan, plan.ranks[0], t, EnvSnapshot{}).at("UCX_NET_DEVICES"), "mlx5_1:2");
  // The user's own choice is kept.
  auto mine = EnvSnapshot::FromEntries({"NCCL_IB_HCA=mlx5_3"});
  EXPECT_FALSE(RankEnv(plan, plan.ranks[0], t, mine).count("NCCL_IB_HCA"));
}

TEST(ProgramSees, MemoryPrefersTheLocalNodeUnlessStrict) {
  auto local = ParseBindOptions("closest", "single", "auto", "local", "auto");
  ASSERT_TRUE(local.ok());
  EXPECT_EQ(local->mem, BindOptions::Mem::kLocal);
  EXPECT_EQ(local->mem_policy, BindOptions::MemPolicy::kPrefer);
  EXPECT_EQ(BindOptions{}.mem_policy, BindOptions::MemPolicy::kPrefer);
  auto strict = ParseBindOptions("closest", "single", "auto", "strict", "auto");
  ASSERT_TRUE(strict.ok());
  EXPECT_EQ(strict->mem, BindOptions::Mem::kLocal);
  EXPECT_EQ(strict->mem_policy, BindOptions::MemPolicy::kStrict);
  auto none = ParseBindOptions("closest", "single", "auto", "none", "auto");
  EXPECT_EQ(none->mem, BindOptions::Mem::kNone);
  EXPECT_FALSE(ParseBindOptions("closest", "single", "auto", "bind", "auto").ok());
}

}  // namespace
}  // namespace rankwrap::bind
