// supervise::SlurmKillWait / PbsKillDelay / GraceWithin: the scheduler's
// grace period from its own commands' output (stage: supervise).
#include "core/supervise/scheduler.h"

#include <gtest/gtest.h>

namespace rankwrap::supervise {
namespace {

TEST(SchedulerGrace, SlurmKillWaitFromShowConfig) {
  // As Slurm 22.05's `scontrol show config` prints it (the test cluster's).
  const char* text =
      "Configuration data as of 2026-11-30T18:00:00\n"
      "JobRequeue              = 1\n"
      "KillOnBadExit           = 0\n"
      "KillWait                = 5 sec\n"
      "MaxJobCount             = 10000\n";
  EXPECT_EQ(SlurmKillWait(text), 5.0);
  EXPECT_EQ(SlurmKillWait("KillWait = 120 sec\n"), 120.0);
  EXPECT_FALSE(SlurmKillWait("KillOnBadExit = 0\n"));
  EXPECT_FALSE(SlurmKillWait("KillWait = sec\n"));
  EXPECT_FALSE(SlurmKillWait("slurm_load_ctl_conf error: Unable to contact slurm controller"));
}

TEST(SchedulerGrace, PbsKillDelayFromTheQueue) {
  const char* text =
      "Queue: workq\n"
      "    queue_type = Execution\n"
      "    kill_delay = 45\n"
      "    enabled = True\n";
  EXPECT_EQ(PbsKillDelay(text), 45.0);
  EXPECT_EQ(PbsKillDelay("Queue: workq\n    queue_type = Execution\n"), 10.0);  // PBS's default
  EXPECT_FALSE(PbsKillDelay("qstat: Unknown queue"));
}

TEST(SchedulerGrace, OneSecondLessAndNeverNegative) {
  EXPECT_EQ(GraceWithin(30), 29);
  EXPECT_EQ(GraceWithin(1), 0);
  EXPECT_EQ(GraceWithin(0), 0);
}

}  // namespace
}  // namespace rankwrap::supervise
