// The node plan on every recorded topology (tests/data/topologies: the
// tests carry their data, a missing file is a failure) x 1, 2, 4, 8 ranks
// and the GPU count: golden JSON plans in tests/data/plans/, property checks
// on each, and facts from the machines' documentation.
// RANKWRAP_UPDATE_GOLDEN=1 rewrites the goldens.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "adapters/hwloc/hwloc_topology.h"
#include "core/bind/plan.h"
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
      "aws-g4dn-metal-8xt4-interleaved.xml", "aws-g4dn-metal-8xt4.xml",
      "dell-xe8640-4xh100-spr.xml",          "hpe-cray-ex235a-tioga-4xmi250x.xml",
      "hpe-cray-ex255a-4xmi300a-cpx.xml",    "hpe-cray-ex255a-4xmi300a-spx.xml",
      "ibm-power9-lassen-4xv100.xml",        "juwels-booster-4xa100-epyc7402.xml",
      "nvidia-dgx2h-16xv100-trimmed.xml",    "nvidia-gh200-quanta-noio.xml"};
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

NodePlan PlanOrDie(const topo::Topology& t, unsigned n, const EnvSnapshot& env = {},
                   BindOptions opts = {}) {
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
  // Cores local to the GPU whenever the locality has enough cores.
  for (const RankLine& l : plan.ranks) {
    if (l.gpus.empty()) continue;
    std::set<unsigned> local;
    for (unsigned g : l.gpus) local.insert(t.gpus[g].local_pus.begin(), t.gpus[g].local_pus.end());
    std::size_t local_cores = 0, sharing = 0;
    for (const auto& c : t.cores) local_cores += local.count(c.pus.front()) ? 1 : 0;
    for (const RankLine& o : plan.ranks) {
      std::set<unsigned> ol;
      for (unsigned g : o.gpus) ol.insert(t.gpus[g].local_pus.begin(), t.gpus[g].local_pus.end());
      sharing += ol == local ? 1 : 0;
    }
    if (local_cores >= sharing) {
      for (unsigned p : l.cpus) {
        EXPECT_TRUE(local.count(p)) << where << " rank " << l.local_rank << ": PU " << p
                                    << " not local to its GPU";
      }
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
      const std::string got = Json(plan, *t);
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
  EXPECT_GE(checked, 40);  // 10 topologies x 4 or 5 rank counts
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
  EXPECT_FALSE(topo::FromText("not a topology\n").ok());
  EXPECT_FALSE(topo::FromText("rankwrap-topology 1\ncore\tx\t0\t1\n").ok());
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
  EXPECT_EQ(env.at("NCCL_IB_HCA"), "mlx5_0,mlx5_1");
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
  auto uuid = MapVisible(t, EnvSnapshot::FromEntries({"CUDA_VISIBLE_DEVICES=GPU-00000000-dead-beef-0000-000000000000"}));
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
  EXPECT_FALSE(ParseBindOptions("map:x", "single", "auto", "local", "auto").ok());
  EXPECT_FALSE(ParseBindOptions("nearest", "single", "auto", "local", "auto").ok());
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

}  // namespace
}  // namespace rankwrap::bind
