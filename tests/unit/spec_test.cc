// app::BuildRankSpecs: one builder for every rank's argv, environment and
// binding (the exec path, the keeper and the bootstrap consume it).
#include "app/spec.h"

#include <gtest/gtest.h>

namespace rankwrap::app {
namespace {

// A standalone job of one task whose node plan has two lines: line 0 with a
// NIC, line 1 without (a node whose only NIC is near local rank 0).
Prepared TwoLinePlan(unsigned numa_nodes) {
  Prepared p;
  p.contract.job.launcher = "standalone";
  p.contract.job.world_size = 1;
  p.contract.job.local_world_size = 1;
  p.contract.job.num_nodes = 1;
  p.contract.env = {{"RANK", "0"},
                    {"WORLD_SIZE", "1"},
                    {"LOCAL_RANK", "0"},
                    {"LOCAL_WORLD_SIZE", "1"},
                    {"MASTER_ADDR", "127.0.0.1"},
                    {"MASTER_PORT", "29500"},
                    {"RANKWRAP_LAUNCHER", "standalone"}};
  for (unsigned i = 0; i < numa_nodes; ++i) p.binding.topo.numa.push_back(topo::NumaNode{});
  bind::RankLine l0, l1;
  l0.local_rank = 0;
  l0.cpus = {0, 1};
  l0.numa = {0};
  l0.nics = {"mlx5_0"};
  l1.local_rank = 1;
  l1.cpus = {2, 3};
  l1.numa = {numa_nodes > 1 ? 1u : 0u};
  p.binding.plan.ranks = {l0, l1};
  p.binding.line = l0;
  // What Prepare did for local rank 0: its line's variables (here a NIC that
  // only its line has) joined the contract.
  p.binding.env = bind::RankEnv(p.binding.plan, l0, p.binding.topo, EnvSnapshot{});
  p.binding.env["NCCL_IB_HCA"] = "=mlx5_0:1";
  for (const auto& [k, v] : p.binding.env) p.contract.env[k] = v;
  return p;
}

TEST(RankSpecs, NprocChildrenGetTheirOwnContractAndNotRankZerosBindingKeys) {
  Config c;
  c.supervise.nproc = 2;
  c.program = {"train"};
  const Prepared p = TwoLinePlan(2);
  ASSERT_TRUE(p.contract.env.count("NCCL_IB_HCA")) << "the fixture gives local rank 0 a NIC";
  const auto specs =
      BuildRankSpecs(c, p, EnvSnapshot::FromEntries({"PATH=/bin", "HOME=/h"}), Endpoint{"127.0.0.1", 4242}, 0);
  ASSERT_EQ(specs.size(), 2u);
  const RankSpec& r1 = specs[1];
  EXPECT_EQ(r1.rank, 1u);
  EXPECT_EQ(r1.argv, std::vector<std::string>{"train"});
  EXPECT_EQ(r1.env.Get("RANK"), std::optional<std::string_view>("1"));
  EXPECT_EQ(r1.env.Get("WORLD_SIZE"), std::optional<std::string_view>("2"));
  EXPECT_EQ(r1.env.Get("LOCAL_WORLD_SIZE"), std::optional<std::string_view>("2"));
  EXPECT_EQ(r1.env.Get("MASTER_PORT"), std::optional<std::string_view>("4242"));
  EXPECT_EQ(r1.env.Get("HOME"), std::optional<std::string_view>("/h"));
  EXPECT_FALSE(r1.env.Has("NCCL_IB_HCA")) << "local rank 0's NIC leaked into rank 1";
  EXPECT_EQ(r1.cpus, (std::vector<unsigned>{2, 3}));
  EXPECT_TRUE(r1.bind);
  EXPECT_FALSE(r1.env.Has("RANKWRAP_RESTART_COUNT"));
}

TEST(RankSpecs, MemoryIsBoundOnlyWithSeveralNumaNodesAndStrictOnlyWhenAsked) {
  Config c;
  c.program = {"x"};
  Prepared one = TwoLinePlan(1);
  EXPECT_TRUE(BuildRankSpecs(c, one, {}, std::nullopt, 0)[0].numa.empty());
  Prepared two = TwoLinePlan(2);
  RankSpec s = BuildRankSpecs(c, two, {}, std::nullopt, 0)[0];
  EXPECT_EQ(s.numa, std::vector<unsigned>{0});
  EXPECT_FALSE(s.strict_memory);
  two.binding.plan.options.mem_policy = bind::BindOptions::MemPolicy::kStrict;
  EXPECT_TRUE(BuildRankSpecs(c, two, {}, std::nullopt, 0)[0].strict_memory);
  two.binding.plan.options.mem = bind::BindOptions::Mem::kNone;
  EXPECT_TRUE(BuildRankSpecs(c, two, {}, std::nullopt, 0)[0].numa.empty());
}

TEST(RankSpecs, AnotherMachinesPlanIsNotApplied) {
  Config c;
  c.bind.topology = "other.xml";
  const RankSpec s = BuildRankSpecs(c, TwoLinePlan(2), {}, std::nullopt, 0)[0];
  EXPECT_FALSE(s.bind);
}

TEST(RankSpecs, RestartCountOnlyWithRestarts) {
  Config c;
  c.supervise.nproc = 2;
  c.supervise.max_restarts = 3;
  const auto specs = BuildRankSpecs(c, TwoLinePlan(2), {}, Endpoint{"127.0.0.1", 1}, 2);
  EXPECT_EQ(specs[1].env.Get("RANKWRAP_RESTART_COUNT"), std::optional<std::string_view>("2"));
}

TEST(RankSpecs, ChildContractsShowWhatEachChildGets) {
  Config c;
  c.supervise.nproc = 2;
  const auto kids = ChildContracts(c, TwoLinePlan(2), EnvSnapshot::FromEntries({"PATH=/bin"}));
  ASSERT_EQ(kids.size(), 2u);
  EXPECT_EQ(kids[1].job.rank, 1u);
  EXPECT_EQ(kids[1].job.world_size, 2u);
  EXPECT_EQ(kids[1].env.at("WORLD_SIZE"), "2");
  EXPECT_FALSE(kids[1].env.count("MASTER_PORT")) << "a standalone port is chosen at start, never shown as a guess";
  EXPECT_EQ(kids[1].master_port, 0);
  EXPECT_FALSE(kids[1].env.count("PATH"));
}

}  // namespace
}  // namespace rankwrap::app
