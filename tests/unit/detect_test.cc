// Detector tests on recorded environments: a table of expected contracts for
// the launchers, a table of malformed environments and the message each must
// give, and golden files (tests/data/env/NAME.golden) holding the full
// outcome of every fixture. RANKWRAP_UPDATE_GOLDEN=1 rewrites the goldens.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "core/launch/report.h"
#include "core/plan/contract.h"
#include "detect/registry.h"
#include "fixture.h"

namespace rankwrap {
namespace {

const std::string kData = RANKWRAP_TEST_DATA "/env/";

Result<plan::RankContract> Detect(const testing::Fixture& f, std::string_view forced = "") {
  auto job = detect::Run(detect::Registry(), f.Context(), forced, nullptr);
  if (!job) return job.error();
  return plan::Ranks(*job, {}, f.env, [] { return Result<std::uint16_t>(std::uint16_t{29999}); });
}

std::string Render(const Result<plan::RankContract>& r) {
  if (!r) {
    const Error& e = r.error();
    return "exit=" + std::to_string(e.exit_code) + "\nerror: " + e.stage + ": " + e.what + ": " + e.why +
           "\nhint: " + e.hint + "\n";
  }
  std::string out = launch::PrintEnv(*r);
  for (const auto& w : r->warnings) out += "warning: " + w + "\n";
  return out;
}

struct Expect {
  const char* fixture;
  const char* launcher;
  std::uint64_t rank, world, local, local_size, node, nodes;
  const char* master;
};

class DetectTable : public ::testing::TestWithParam<Expect> {};

TEST_P(DetectTable, DerivesTheContract) {
  const Expect& e = GetParam();
  auto f = testing::LoadFixture(kData + e.fixture + ".env");
  auto c = Detect(f);
  ASSERT_TRUE(c.ok()) << e.fixture << ": " << Render(c);
  const JobInfo& j = c->job;
  EXPECT_EQ(j.launcher, e.launcher);
  EXPECT_EQ(j.rank, e.rank);
  EXPECT_EQ(j.world_size, e.world);
  EXPECT_EQ(j.local_rank, e.local);
  EXPECT_EQ(j.local_world_size, e.local_size);
  EXPECT_EQ(j.node_rank, e.node);
  EXPECT_EQ(j.num_nodes, e.nodes);
  EXPECT_EQ(c->master_addr, e.master);
  EXPECT_EQ(c->env.at("RANK"), std::to_string(e.rank));
  EXPECT_EQ(c->env.at("GROUP_RANK"), c->env.at("NODE_RANK"));
  EXPECT_EQ(c->env.at("RANKWRAP_LAUNCHER"), e.launcher);
  const int port = std::stoi(c->env.at("MASTER_PORT"));
  EXPECT_GT(port, 0);
  EXPECT_LT(port, 65536);
}

INSTANTIATE_TEST_SUITE_P(
    Launchers, DetectTable,
    ::testing::Values(Expect{"slurm_even_rank3", "slurm", 3, 4, 1, 2, 1, 2, "node1"},
                      Expect{"slurm_uneven_rank6", "slurm", 6, 7, 0, 1, 3, 4, "gpu-b04-09"},
                      Expect{"slurm_multibracket_rank5", "slurm", 5, 6, 0, 1, 5, 6, "rack1-node01"},
                      Expect{"slurm_het_rank2", "slurm", 2, 3, 1, 2, 1, 2, "node1"},
                      Expect{"slurm_stale_rank", "slurm", 3, 4, 1, 2, 1, 2, "node1"},
                      Expect{"ompi_alone_rank2", "ompi", 2, 4, 2, 4, 0, 1, "vm"},
                      Expect{"ompi_in_sbatch_node2", "ompi", 3, 4, 0, 1, 1, 2, "node1"},
                      Expect{"hydra_alone_rank2", "hydra", 2, 4, 2, 4, 0, 1, "vm"},
                      Expect{"hydra_in_sbatch_node2", "hydra", 3, 4, 0, 1, 1, 2, "node1"},
                      Expect{"mvapich_rank1", "mvapich", 1, 2, 1, 2, 0, 1, "vm"},
                      Expect{"pals_pbs_rank5", "pals", 5, 8, 1, 4, 1, 2, "x3005c0s13b0n0"},
                      Expect{"pals_slurm_cray_shasta", "slurm", 9, 16, 1, 8, 1, 2, "nid001000"},
                      Expect{"slurm_arbitrary_rank1", "slurm", 1, 2, 0, 1, 0, 2, "node2"},
                      Expect{"slurm_topology_none_rank3", "slurm", 3, 4, 1, 2, 1, 2, "node1"},
                      Expect{"slurm_topology_block_rank2", "slurm", 2, 4, 0, 2, 1, 2, "node1"},
                      Expect{"slurm_cyclic_rank1", "slurm", 1, 4, 0, 2, 1, 2, "node1"},
                      Expect{"slurm_batch_step_nproc", "slurm", 0, 1, 0, 1, 0, 1, "127.0.0.1"},
                      Expect{"rankwrap_nested_child3", "rankwrap", 3, 4, 1, 2, 1, 2, "node1"},
                      Expect{"rankwrap_stale_marker", "slurm", 1, 2, 0, 1, 1, 2, "node1"},
                      Expect{"slurm_pmix_rank3", "slurm", 3, 4, 1, 2, 1, 2, "node1"},
                      Expect{"kubeflow_v2_node1", "kubeflow", 1, 2, 0, 1, 1, 2, "mnist-node-0-0.mnist"},
                      Expect{"pytorchjob_v1_worker0", "pytorchjob", 1, 2, 0, 1, 1, 2, "pytorch-dist-master-0"},
                      Expect{"k8s_indexed_pod2", "k8s-indexed", 2, 4, 0, 1, 2, 4, "train-0.train-svc"},
                      Expect{"aws_batch_child_node2", "aws-batch", 2, 4, 0, 1, 2, 4, "10.0.1.15"},
                      Expect{"aws_batch_main_node", "aws-batch", 0, 4, 0, 1, 0, 4, "ip-10-0-1-15"},
                      Expect{"skypilot_node1", "skypilot", 1, 2, 0, 1, 1, 2, "10.128.0.4"},
                      Expect{"azure_batch_master", "azure-batch", 0, 3, 0, 1, 0, 3, "10.0.0.4"},
                      Expect{"gcp_batch_task1", "gcp-batch", 1, 2, 0, 1, 1, 2, "train-group0-0"},
                      Expect{"gridengine_host2", "gridengine", 1, 2, 0, 1, 1, 2, "node01"},
                      Expect{"pbs_pbsdsh_task", "pbs", 1, 3, 0, 1, 1, 3, "cn01"},
                      Expect{"flux_single_node", "flux", 3, 4, 3, 4, 0, 1, "fluke1"},
                      Expect{"lsf_jsrun_rank3", "lsf", 3, 4, 1, 2, 1, 2, "a01n01"},
                      Expect{"torchrun_worker", "torchrun", 3, 4, 1, 2, 1, 2, "node1"},
                      Expect{"standalone", "standalone", 0, 1, 0, 1, 0, 1, "127.0.0.1"}),
    [](const auto& p) { return std::string(p.param.fixture); });

struct ExpectError {
  const char* fixture;
  int exit_code;
  const char* must_contain;  // in what + why: the variable and its value
};

class DetectErrors : public ::testing::TestWithParam<ExpectError> {};

TEST_P(DetectErrors, RefuseWithAMessageNamingTheVariable) {
  const ExpectError& e = GetParam();
  auto f = testing::LoadFixture(kData + e.fixture + ".env");
  auto c = Detect(f);
  ASSERT_FALSE(c.ok()) << e.fixture << " was accepted:\n" << Render(c);
  EXPECT_EQ(c.error().exit_code, e.exit_code);
  const std::string text = c.error().what + ": " + c.error().why;
  EXPECT_NE(text.find(e.must_contain), std::string::npos) << e.fixture << ": " << text;
  EXPECT_FALSE(c.error().hint.empty());
}

INSTANTIATE_TEST_SUITE_P(
    Malformed, DetectErrors,
    ::testing::Values(
        ExpectError{"slurm_batch_step", 3, "SLURM_STEP_ID=-5 (the batch script)"},
        ExpectError{"slurm_batch_step_2205", 3, "SLURM_STEP_ID is not set and ENVIRONMENT=BATCH (the batch script)"},
        ExpectError{"slurm_salloc_shell", 3, "SLURM_STEP_ID is not set"},
        ExpectError{"bad_slurm_arbitrary_unreadable", 3,
                    "MASTER_ADDR cannot be derived under slurm: SLURM_HOSTFILE='/home/alice/hosts' cannot be read"},
        ExpectError{"bad_kubeflow_v2_no_nproc", 3, "PET_NPROC_PER_NODE=4 and no --nproc"},
        ExpectError{"bad_pytorchjob_v1_no_nproc", 3, "PET_NPROC_PER_NODE=4 and no --nproc"},
        ExpectError{"bad_k8s_indexed_no_port", 3, "MASTER_PORT cannot be derived under k8s-indexed"},
        ExpectError{"bad_aws_batch_no_main_address", 3,
                    "AWS_BATCH_JOB_MAIN_NODE_PRIVATE_IPV4_ADDRESS is not set on this child node"},
        ExpectError{"bad_azure_batch_no_node_rank", 3, "AZ_BATCH_IS_CURRENT_NODE_MASTER=false"},
        ExpectError{"bad_gcp_batch_no_master", 3, "MASTER_ADDR cannot be derived under gcp-batch"},
        ExpectError{"prrte_rank1", 3, "PMIX_RANK=1 (PMIX_NAMESPACE=prterun-node01-12345@1) is a PMIx launch"},
        ExpectError{"alps_pe3", 3, "ALPS_APP_PE=3 is set but aprun exports no world size"},
        ExpectError{"slurm_topology_no_distribution", 3,
                    "SLURM_TOPOLOGY_ADDR='s0.s2.node2' is set and SLURM_DISTRIBUTION is not block, cyclic or plane"},
        ExpectError{"pbs_job_script", 3, "PBS_TASKNUM='1'"},
        ExpectError{"hydra_pmi_port_mode", 3, "PMI_SIZE is not set"},
        ExpectError{"ompi_multihost_no_scheduler", 3, "MASTER_ADDR cannot be derived"},
        ExpectError{"flux_two_nodes", 3, "MASTER_ADDR cannot be derived"},
        ExpectError{"bad_hostlist_unbalanced", 3, "SLURM_STEP_NODELIST='node[1-2'"},
        ExpectError{"bad_hostlist_reversed", 3, "reversed range"},
        ExpectError{"bad_hostlist_empty_item", 3, "empty item"},
        ExpectError{"bad_count_x_empty", 3, "SLURM_STEP_TASKS_PER_NODE='2(x)'"},
        ExpectError{"bad_count_no_value", 3, "SLURM_STEP_TASKS_PER_NODE='(x3)'"},
        ExpectError{"bad_count_negative", 3, "SLURM_STEP_TASKS_PER_NODE='-1'"},
        ExpectError{"bad_rank_too_big", 3, "SLURM_PROCID=4"}, ExpectError{"bad_local_too_big", 3, "SLURM_LOCALID=2"},
        ExpectError{"bad_node_too_big", 3, "SLURM_NODEID=2"}, ExpectError{"bad_counts_sum", 3, "must add up"},
        ExpectError{"bad_non_numeric", 3, "SLURM_PROCID='three'"},
        ExpectError{"bad_nodes_mismatch", 3, "SLURM_STEP_NUM_NODES=3"},
        ExpectError{"bad_pbs_nodefile_missing", 3, "PBS_NODEFILE='/var/spool/pbs/aux/gone'"},
        ExpectError{"bad_pbs_nodefile_empty", 3, "empty"}, ExpectError{"bad_pals_node_too_big", 3, "PALS_NODEID=2"},
        ExpectError{"bad_two_world_sizes", 3, "two launchers claim different world sizes"},
        ExpectError{"bad_resv_ports_reversed", 3, "SLURM_STEP_RESV_PORTS='5000-4000': reversed range"},
        ExpectError{"bad_count_zero_node", 3, "SLURM_STEP_TASKS_PER_NODE='0,4': gives node 0 of the step 0 tasks"},
        ExpectError{"bad_torchrun_world_inconsistent", 3,
                    "WORLD_SIZE=70000 but GROUP_WORLD_SIZE=1 x LOCAL_WORLD_SIZE=2"}),
    [](const auto& p) { return std::string(p.param.fixture); });

TEST(Detect, EveryFixtureMatchesItsGolden) {
  const bool update = std::getenv("RANKWRAP_UPDATE_GOLDEN") != nullptr;
  int checked = 0;
  for (const auto& entry : std::filesystem::directory_iterator(kData)) {
    if (entry.path().extension() != ".env") continue;
    auto f = testing::LoadFixture(entry.path().string());
    const std::string got = Render(Detect(f));
    std::filesystem::path golden = entry.path();
    golden.replace_extension(".golden");
    if (update) {
      std::ofstream(golden) << got;
    } else {
      ASSERT_TRUE(std::filesystem::exists(golden)) << golden << " missing";
      EXPECT_EQ(got, testing::ReadText(golden.string())) << entry.path().filename();
    }
    ++checked;
  }
  EXPECT_GE(checked, 30);
  // Rewriting goldens is never a passing test run (CI cannot pass in update mode).
  if (update) ADD_FAILURE() << "RANKWRAP_UPDATE_GOLDEN is set: goldens rewritten; review the diff, then run without it";
}

TEST(Detect, InnermostLauncherWinsAndTheTraceSaysSo) {
  auto f = testing::LoadFixture(kData + "ompi_in_sbatch_node2.env");
  std::vector<TraceLine> trace;
  auto job = detect::Run(detect::Registry(), f.Context(), "", &trace);
  ASSERT_TRUE(job.ok());
  bool slurm_ignored = false;
  for (const auto& t : trace) {
    if (t.detector == "ompi") {
      EXPECT_EQ(t.verdict, "chosen");
    }
    if (t.detector == "slurm") slurm_ignored = t.verdict.find("inner launcher (ompi) wins") != std::string::npos;
  }
  EXPECT_TRUE(slurm_ignored);
  bool noted = false;
  for (const auto& n : job->notes) noted |= n.find("SLURM_PROCID") != std::string::npos;
  EXPECT_TRUE(noted);
}

TEST(Detect, ForcedLauncherIsUsedAndUnknownNamesAreUsageErrors) {
  auto f = testing::LoadFixture(kData + "torchrun_worker.env");
  auto job = detect::Run(detect::Registry(), f.Context(), "slurm", nullptr);
  ASSERT_TRUE(job.ok());
  EXPECT_EQ(job->launcher, "slurm");
  EXPECT_EQ(job->rank, 1u);
  auto bad = detect::Run(detect::Registry(), f.Context(), "condor", nullptr);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().exit_code, 2);
  EXPECT_NE(bad.error().why.find("slurm"), std::string::npos);
}

// Rank 0's host unknown (topology order, unreadable SLURM_HOSTFILE): refused
// without --master-addr (DetectErrors), and --master-addr settles it.
TEST(Detect, MasterAddrFlagSettlesAnUnknownRankZeroHost) {
  for (const char* name : {"slurm_topology_no_distribution", "bad_slurm_arbitrary_unreadable"}) {
    auto f = testing::LoadFixture(kData + name + ".env");
    auto job = detect::Run(detect::Registry(), f.Context(), "", nullptr);
    ASSERT_TRUE(job.ok()) << name;
    EXPECT_FALSE(job->master_addr) << name;
    plan::ContractOptions o;
    o.master_addr = "node2";
    auto c = plan::Ranks(*job, o, f.env, [] { return Result<std::uint16_t>(std::uint16_t{29999}); });
    ASSERT_TRUE(c.ok()) << name;
    EXPECT_EQ(c->env.at("MASTER_ADDR"), "node2");
    EXPECT_EQ(c->master_addr_from, "--master-addr");
  }
}

// topology/none: SLURM_TOPOLOGY_ADDR is the node name alone (no switch
// level), with or without the pattern: no topology order, not refused.
TEST(Detect, TopologyAddressWithoutSwitchLevelsIsNoTopologyOrder) {
  auto f = testing::LoadFixture(kData + "slurm_topology_none_rank3.env");
  f.env.Unset("SLURM_TOPOLOGY_ADDR_PATTERN");
  auto c = Detect(f);
  ASSERT_TRUE(c.ok()) << Render(c);
  EXPECT_EQ(c->master_addr, "node1");
  f.env.Set("SLURM_TOPOLOGY_ADDR", "s0.s1.node2");
  EXPECT_FALSE(Detect(f).ok());
  f.env.Set("SLURM_DISTRIBUTION", "block:cyclic");
  EXPECT_TRUE(Detect(f).ok());
}

// Under -m arbitrary every rank, on either node, names line 1's host.
TEST(Detect, ArbitraryDistributionGivesLineOneOnEveryRank) {
  auto f = testing::LoadFixture(kData + "slurm_arbitrary_rank1.env");
  for (int task : {0, 1}) {
    f.env.Set("SLURM_PROCID", std::to_string(task));
    f.env.Set("SLURM_NODEID", task == 0 ? "1" : "0");
    f.hostname = task == 0 ? "node2" : "node1";
    auto c = Detect(f);
    ASSERT_TRUE(c.ok()) << task;
    EXPECT_EQ(c->env.at("MASTER_ADDR"), "node2") << task;
  }
  f.files.files["/home/alice/hosts"] = "# comment\n\nnode3\nnode1\n";
  auto wrong = Detect(f);
  ASSERT_FALSE(wrong.ok());
  EXPECT_NE(wrong.error().what.find("line 1 names 'node3'"), std::string::npos) << wrong.error().what;
}

// The rank-order warning goes to local rank 0 only (once per node).
TEST(Detect, RankOrderWarningOncePerNode) {
  auto f = testing::LoadFixture(kData + "slurm_cyclic_rank1.env");
  f.env.Set("SLURM_LOCALID", "1");
  f.env.Set("SLURM_PROCID", "3");
  auto c = Detect(f);
  ASSERT_TRUE(c.ok());
  EXPECT_TRUE(c->warnings.empty());
  EXPECT_FALSE(c->job.rank_order.empty());
  const std::string text = launch::Explain({}, &*c);
  EXPECT_NE(text.find("rank order: RANK is not NODE_RANK*LOCAL_WORLD_SIZE+LOCAL_RANK"), std::string::npos) << text;
  // Block placement with even counts: nothing to say.
  auto even = Detect(testing::LoadFixture(kData + "slurm_even_rank3.env"));
  ASSERT_TRUE(even.ok());
  EXPECT_TRUE(even->job.rank_order.empty());
  // An MPI launcher that does not say its placement: this rank's own numbers.
  auto mpi = Detect(testing::LoadFixture(kData + "ompi_in_sbatch_node2.env"));
  ASSERT_TRUE(mpi.ok());
  EXPECT_NE(mpi->job.rank_order.find("here RANK=3 but NODE_RANK*LOCAL_WORLD_SIZE+LOCAL_RANK=1"), std::string::npos);
}

// A plain 'rankwrap PROGRAM' in the batch step stays refused (DetectErrors);
// with --nproc it is one node of 1 task whose ranks rankwrap starts.
TEST(Detect, BatchStepWithNprocIsOneNode) {
  auto f = testing::LoadFixture(kData + "slurm_batch_step_nproc.env");
  auto c = Detect(f);
  ASSERT_TRUE(c.ok()) << Render(c);
  EXPECT_TRUE(c->job.node_level);
  EXPECT_EQ(c->job.local_world_size, 1u);
  f.nproc.reset();
  EXPECT_FALSE(Detect(f).ok());
  f.env.Unset("SLURM_STEP_ID");  // an salloc shell: not the batch step, refused even with --nproc
  f.env.Unset("ENVIRONMENT");
  f.nproc = 4;
  EXPECT_FALSE(Detect(f).ok());
}

// The nested rankwrap: chosen first, the trace names the outer launcher, and
// a changed RANK is taken (checked), never replaced by SLURM_PROCID.
TEST(Detect, NestedRankwrapTakesTheOuterContract) {
  auto f = testing::LoadFixture(kData + "rankwrap_nested_child3.env");
  std::vector<TraceLine> trace;
  auto job = detect::Run(detect::Registry(), f.Context(), "", &trace);
  ASSERT_TRUE(job.ok());
  ASSERT_FALSE(trace.empty());
  EXPECT_EQ(trace[0].detector, "rankwrap");
  EXPECT_EQ(trace[0].verdict, "chosen");
  EXPECT_NE(trace[0].reason.find("launcher slurm"), std::string::npos);
  f.env.Set("RANK", "7");
  EXPECT_FALSE(Detect(f).ok()) << "RANK 7 of 4 must be refused";
  f.env.Set("RANK", "2");
  f.env.Set("GROUP_RANK", "0");
  EXPECT_FALSE(Detect(f).ok()) << "GROUP_RANK must equal NODE_RANK";
  f.hostname = "node1";  // the marker names node2: ignored, Slurm read instead
  f.env.Set("GROUP_RANK", "1");
  auto other = Detect(f);
  ASSERT_TRUE(other.ok());
  EXPECT_EQ(other->job.launcher, "slurm");
}

// Node-level launchers: one task per node, rank = node index, so that
// app::Supervise's --nproc N gives ranks node_rank*N+i of num_nodes*N.
TEST(Detect, NodeLevelLaunchersAreOneTaskPerNode) {
  for (const char* name : {"kubeflow_v2_node1", "pytorchjob_v1_worker0", "k8s_indexed_pod2", "aws_batch_child_node2",
                           "aws_batch_main_node", "skypilot_node1", "gridengine_host2", "slurm_batch_step_nproc",
                           "azure_batch_master", "gcp_batch_task1"}) {
    auto f = testing::LoadFixture(kData + name + ".env");
    auto c = Detect(f);
    ASSERT_TRUE(c.ok()) << name << ": " << Render(c);
    const JobInfo& j = c->job;
    EXPECT_TRUE(j.node_level) << name;
    EXPECT_EQ(j.rank, j.node_rank) << name;
    EXPECT_EQ(j.world_size, j.num_nodes) << name;
    EXPECT_EQ(j.local_rank, 0u) << name;
    EXPECT_EQ(j.local_world_size, 1u) << name;
    const std::string text = launch::Explain({}, &*c);
    EXPECT_NE(text.find("node-level launch"), std::string::npos) << name;
  }
  // --nproc must match the processes per node the launcher counts.
  auto f = testing::LoadFixture(kData + "kubeflow_v2_node1.env");
  f.nproc = 2;
  auto wrong = Detect(f);
  ASSERT_FALSE(wrong.ok());
  EXPECT_NE(wrong.error().what.find("PET_NPROC_PER_NODE=4 but --nproc 2"), std::string::npos);
  // AWS: a main node other than 0 becomes rank 0 (its address is the known one).
  auto a = testing::LoadFixture(kData + "aws_batch_child_node2.env");
  a.env.Set("AWS_BATCH_JOB_MAIN_NODE_INDEX", "3");
  auto rotated = Detect(a);
  ASSERT_TRUE(rotated.ok());
  EXPECT_EQ(rotated->job.node_rank, 3u);  // (2 - 3) mod 4
  // SkyPilot: the address list must have one line per node.
  auto s = testing::LoadFixture(kData + "skypilot_node1.env");
  s.env.Set("SKYPILOT_NODE_IPS", "10.128.0.4");
  EXPECT_FALSE(Detect(s).ok());
  // SGE: a host not in PE_HOSTFILE is refused.
  auto g = testing::LoadFixture(kData + "gridengine_host2.env");
  g.hostname = "login1";
  EXPECT_FALSE(Detect(g).ok());
}

TEST(Detect, StaleInheritedRankIsReplacedWithAWarning) {
  auto f = testing::LoadFixture(kData + "slurm_stale_rank.env");
  auto c = Detect(f);
  ASSERT_TRUE(c.ok());
  ASSERT_EQ(c->warnings.size(), 2u);
  EXPECT_NE(c->warnings[0].find("MASTER_ADDR=localhost replaced by node1"), std::string::npos);
  EXPECT_NE(c->warnings[1].find("RANK=0 replaced by 3"), std::string::npos);
}

}  // namespace
}  // namespace rankwrap
