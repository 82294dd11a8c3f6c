#include "core/plan/contract.h"

#include <gtest/gtest.h>

#include <set>

namespace rankwrap::plan {
namespace {

JobInfo SlurmJob(std::uint64_t job, std::uint64_t step) {
  JobInfo j;
  j.launcher = "slurm";
  j.world_size = j.local_world_size = j.num_nodes = 1;
  j.master_addr = "n1";
  j.job_key = "SLURM_JOB_ID=" + std::to_string(job) + "/" + std::to_string(step);
  j.job_numeric = job;
  j.step_numeric = step;
  return j;
}

TEST(Port, InRangeAndDistinctForConsecutiveJobsAndSteps) {
  std::set<std::uint16_t> per_job;
  for (std::uint64_t job = 100000; job < 100000 + 5000; ++job) {
    const std::uint16_t p = PortFromJob(SlurmJob(job, 0));
    EXPECT_GE(p, 20000);
    EXPECT_LE(p, 32767);
    EXPECT_NE(p, PortFromJob(SlurmJob(job + 1, 0))) << job;
    per_job.insert(p);
  }
  EXPECT_EQ(per_job.size(), 5000u) << "5000 consecutive jobs must all differ";
  for (std::uint64_t step = 0; step < 50; ++step) {
    EXPECT_NE(PortFromJob(SlurmJob(777, step)), PortFromJob(SlurmJob(777, step + 1)));
  }
}

TEST(Port, FlagBeatsReservedBeatsComputed) {
  JobInfo j = SlurmJob(5, 0);
  EnvSnapshot env;
  auto never = [] { return Result<std::uint16_t>(Error{}); };
  auto computed = Ranks(j, {}, env, never);
  ASSERT_TRUE(computed.ok());
  EXPECT_EQ(computed->master_port, PortFromJob(j));
  j.master_port = 12000;
  j.master_port_from = "first port of SLURM_STEP_RESV_PORTS";
  auto reserved = Ranks(j, {}, env, never);
  ASSERT_TRUE(reserved.ok());
  EXPECT_EQ(reserved->master_port, 12000);
  auto flagged = Ranks(j, {std::string("h0"), 31000}, env, never);
  ASSERT_TRUE(flagged.ok());
  EXPECT_EQ(flagged->master_port, 31000);
  EXPECT_EQ(flagged->master_addr, "h0");
  EXPECT_EQ(flagged->env.at("MASTER_ADDR"), "h0");
}

TEST(Contract, NoPortSourceIsAnErrorNotADefault) {
  JobInfo j;
  j.launcher = "hydra";
  j.world_size = 8;
  j.local_world_size = 4;
  j.num_nodes = 2;
  j.master_addr = "a";
  auto c = Ranks(j, {}, EnvSnapshot{}, [] { return Result<std::uint16_t>(std::uint16_t{1}); });
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.error().what.find("MASTER_PORT cannot be derived"), std::string::npos);
  EXPECT_NE(c.error().hint.find("--master-port"), std::string::npos);
}

TEST(Contract, ExportsExactlyTheContract) {
  auto c = Ranks(SlurmJob(9, 1), {}, EnvSnapshot{}, [] { return Result<std::uint16_t>(Error{}); });
  ASSERT_TRUE(c.ok());
  std::vector<std::string> keys;
  for (const auto& [k, v] : c->env) keys.push_back(k);
  EXPECT_EQ(keys, (std::vector<std::string>{"GROUP_RANK", "LOCAL_RANK", "LOCAL_WORLD_SIZE", "MASTER_ADDR",
                                            "MASTER_PORT", "NODE_RANK", "NUM_NODES", "RANK", "RANKWRAP_CONTRACT",
                                            "RANKWRAP_LAUNCHER", "WORLD_SIZE"}));
}

}  // namespace
}  // namespace rankwrap::plan
