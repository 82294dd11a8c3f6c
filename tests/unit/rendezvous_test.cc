// app::RendezvousInputsFor: when the job control plane runs, where its
// server is, who announces, and what happens without authentication
// (stage: plane). And the configuration of --nccl-bootstrap=tcp.
#include "app/rendezvous.h"

#include <gtest/gtest.h>

namespace rankwrap::app {
namespace {

Config Parse(OptionValues v) {
  auto c = BuildConfig(v, {"true"});
  EXPECT_TRUE(c) << (c ? "" : c.error().what + ": " + c.error().why);
  return c ? *c : Config{};
}

// Rank `rank` of a Slurm step of 2 nodes x 2 tasks whose node list starts
// with node1; `master` empty: rank 0's host unknown (-m arbitrary without the
// host file, topology order).
Prepared Slurm(std::uint64_t rank, const std::string& master) {
  Prepared p;
  JobInfo& j = p.contract.job;
  j.launcher = "slurm";
  j.host = "host" + std::to_string(rank / 2 + 1);
  j.rank = rank;
  j.world_size = 4;
  j.local_rank = rank % 2;
  j.local_world_size = 2;
  j.node_rank = rank / 2;
  j.num_nodes = 2;
  j.job_key = "77.0";
  j.node0_host = "node1";
  j.node_host = "node" + std::to_string(rank / 2 + 1);
  j.master_addr_from = "SLURM_DISTRIBUTION=arbitrary but SLURM_HOSTFILE is not set";
  p.contract.master_addr = master;
  p.contract.master_port = 24000;
  return p;
}

EnvSnapshot Env(bool secret) {
  EnvSnapshot e;
  e.Set("MUNGE_SOCKET", "/nonexistent/munge.socket");  // no munged, whatever this machine runs
  if (secret) e.Set("RANKWRAP_JOB_SECRET", "unit-test-secret-0123456789");
  return e;
}

TEST(Rendezvous, DefaultPlaneRunsForASupervisedMultiNodeJobWithASecret) {
  const Config c = Parse({{"supervise", {"1", "--supervise"}}});
  std::vector<std::string> notices;
  for (std::uint64_t rank : {0u, 1u, 2u, 3u}) {
    auto in = RendezvousInputsFor(c, Slurm(rank, "node1"), Env(true), &notices);
    ASSERT_TRUE(in) << in.error().why;
    ASSERT_TRUE(in->plane) << "rank " << rank;
    EXPECT_EQ(in->plane->server_host, "node1");
    EXPECT_EQ(in->plane->node_index, rank / 2);
    EXPECT_EQ(in->plane->local_index, rank % 2);
    EXPECT_EQ(in->plane->local_count, 2u);
    EXPECT_EQ(in->plane->lowest_rank, rank);
    EXPECT_EQ(in->announces, rank == 0);
    EXPECT_FALSE(in->master_port_fixed);  // computed from the job id: may be replaced when taken
  }
  EXPECT_TRUE(notices.empty());
}

TEST(Rendezvous, ServerOnTheFirstNodeEvenWhenRankZeroIsElsewhere) {
  const Config c = Parse({{"supervise", {"1", "--supervise"}}});
  std::vector<std::string> notices;
  // -m arbitrary with node2 first and the host file readable: rank 0's host
  // is node2, the server stays on node1 (the node list's first host).
  Prepared p = Slurm(1, "node2");
  auto in = RendezvousInputsFor(c, p, Env(true), &notices);
  ASSERT_TRUE(in && in->plane);
  EXPECT_EQ(in->plane->server_host, "node1");
  EXPECT_EQ(in->master_addr, "node2");
}

TEST(Rendezvous, WithoutAuthenticationTheDefaultPlaneIsOffAndNodeZeroSaysSo) {
  const Config c = Parse({{"supervise", {"1", "--supervise"}}});
  std::vector<std::string> notices;
  for (std::uint64_t rank : {0u, 1u, 2u, 3u}) {
    auto in = RendezvousInputsFor(c, Slurm(rank, "node1"), Env(false), &notices);
    ASSERT_TRUE(in);
    EXPECT_FALSE(in->plane);
  }
  ASSERT_EQ(notices.size(), 1u);  // once per job: node 0's leader
  EXPECT_NE(notices[0].find("RANKWRAP_JOB_SECRET"), std::string::npos) << notices[0];
  EXPECT_NE(notices[0].find("--plane off"), std::string::npos) << notices[0];
}

TEST(Rendezvous, WhatNeedsThePlaneIsRefusedWithoutAuthentication) {
  std::vector<std::string> notices;
  struct Case {
    OptionValues opts;
    std::string master, needed;
  } cases[] = {
      {{{"supervise", {"1", "--supervise"}}}, "", "rank 0's host (SLURM_DISTRIBUTION=arbitrary"},
      {{{"nccl-bootstrap", {"tcp", "--nccl-bootstrap"}}}, "node1", "--nccl-bootstrap=tcp"},
      {{{"plane", {"auto", "--plane"}}}, "node1", "--plane auto"},
  };
  for (const Case& k : cases) {
    auto in = RendezvousInputsFor(Parse(k.opts), Slurm(2, k.master), Env(false), &notices);
    ASSERT_FALSE(in) << k.needed;
    EXPECT_EQ(in.error().exit_code, kExitEnvironment);
    EXPECT_NE(in.error().what.find("needed for " + k.needed), std::string::npos) << in.error().what;
    EXPECT_NE(in.error().hint.find("RANKWRAP_JOB_SECRET"), std::string::npos);
  }
}

TEST(Rendezvous, NoPlaneForOneKeeperOrWhenTurnedOff) {
  std::vector<std::string> notices;
  Prepared one = Slurm(0, "node1");
  one.contract.job.num_nodes = 1;
  one.contract.job.local_world_size = 1;
  auto a = RendezvousInputsFor(Parse({{"supervise", {"1", "--supervise"}}}), one, Env(true), &notices);
  ASSERT_TRUE(a);
  EXPECT_FALSE(a->plane);
  auto b = RendezvousInputsFor(Parse({{"supervise", {"1", "--supervise"}}, {"plane", {"off", "--plane"}}}),
                               Slurm(0, "node1"), Env(true), &notices);
  ASSERT_TRUE(b);
  EXPECT_FALSE(b->plane);
  EXPECT_TRUE(notices.empty());
}

TEST(Rendezvous, NprocMakesOneKeeperPerNodeWithItsFirstRank) {
  const Config c = Parse({{"nproc", {"4", "--nproc"}}});
  Prepared p = Slurm(0, "node1");
  p.contract.job.rank = 1;  // the task of node 1 (one task per node)
  p.contract.job.node_rank = 1;
  p.contract.job.local_rank = 0;
  p.contract.job.local_world_size = 1;
  p.contract.job.world_size = 2;
  std::vector<std::string> notices;
  auto in = RendezvousInputsFor(c, p, Env(true), &notices);
  ASSERT_TRUE(in && in->plane);
  EXPECT_EQ(in->plane->lowest_rank, 4u);
  EXPECT_EQ(in->plane->local_count, 1u);
  EXPECT_FALSE(in->announces);
  EXPECT_EQ(in->world_size, 8u);
}

TEST(BootstrapConfig, TcpNeedsThePlaneAndImpliesSupervision) {
  auto c = BuildConfig({{"nccl-bootstrap", {"tcp", "--nccl-bootstrap"}}}, {"true"});
  ASSERT_TRUE(c);
  EXPECT_EQ(c->bootstrap.mode, BootstrapMode::kTcp);
  EXPECT_TRUE(c->supervise.enabled);
  auto off = BuildConfig({{"nccl-bootstrap", {"tcp", "--nccl-bootstrap"}}, {"plane", {"off", "--plane"}}}, {"true"});
  ASSERT_FALSE(off);
  EXPECT_NE(off.error().what.find("--plane off"), std::string::npos);
  auto id = BuildConfig({{"nccl-bootstrap", {"tcp", "--nccl-bootstrap"}}, {"nccl-comm-id", {"1", "--nccl-comm-id"}}},
                        {"true"});
  EXPECT_FALSE(id);
  auto bad = BuildConfig({{"nccl-bootstrap", {"udp", "--nccl-bootstrap"}}}, {"true"});
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().why.find("mpi, tcp or none"), std::string::npos);
  // The default plane does not by itself turn supervision on.
  auto plain = BuildConfig({}, {"true"});
  ASSERT_TRUE(plain);
  EXPECT_FALSE(plain->supervise.enabled);
  EXPECT_EQ(plain->supervise.plane, "auto");
}

}  // namespace
}  // namespace rankwrap::app
