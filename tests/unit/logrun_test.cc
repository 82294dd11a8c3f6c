// supervise::LogRunName and friends: the run directory under --log-dir
// (stage: supervise).
#include "core/supervise/logrun.h"

#include <gtest/gtest.h>

namespace rankwrap::supervise {
namespace {

JobInfo Keyed(const std::string& key) {
  JobInfo j;
  j.job_key = key;
  return j;
}

TEST(LogRun, NamesFromTheJobKey) {
  struct Case {
    const char* key;
    const char* name;
  };
  for (const Case& c :
       {Case{"SLURM_JOB_ID=123/4", "123.4"}, Case{"SLURM_JOB_ID=123", "123"}, Case{"PBS_JOBID=7.server", "7.server"},
        Case{"PBS_JOBID=1234[5].server/pbsdsh", "1234_5_.server.pbsdsh"}, Case{"JOB_ID=9/2", "9.2"},
        Case{"launch/abc", "abc"}, Case{"FLUX_JOB_ID=f2oLTUQd", "f2oLTUQd"}, Case{"LSB_JOBID=../x", "_...x"},
        Case{"", ""}}) {
    EXPECT_EQ(LogRunName(Keyed(c.key), std::nullopt), c.name) << c.key;
  }
}

TEST(LogRun, ARequeuedJobGetsItsOwnName) {
  EXPECT_EQ(LogRunName(Keyed("SLURM_JOB_ID=123/0"), "2"), "123.0.requeue-2");
  EXPECT_EQ(LogRunName(Keyed("SLURM_JOB_ID=123/0"), "0"), "123.0");
  EXPECT_EQ(LogRunName(Keyed("SLURM_JOB_ID=123/0"), "x"), "123.0");
  EXPECT_EQ(LogRunName(Keyed(""), "2"), "");
}

TEST(LogRun, ALongKeyIsCutBeforeTheRequeueSuffix) {
  const std::string key(200, 'k');
  const std::string first = LogRunName(Keyed("launch/" + key), std::nullopt);
  EXPECT_EQ(first, std::string(96, 'k'));
  const std::string second = LogRunName(Keyed("launch/" + key), "1");
  const std::string third = LogRunName(Keyed("launch/" + key), "12");
  EXPECT_EQ(second, std::string(96, 'k') + ".requeue-1");
  EXPECT_EQ(third, std::string(96, 'k') + ".requeue-12");
  // A key that is cut to a hidden name still is not hidden.
  EXPECT_EQ(LogRunName(Keyed("launch/." + key), "2"), "_." + std::string(95, 'k') + ".requeue-2");
}

TEST(LogRun, LocalNamesAndCandidates) {
  EXPECT_EQ(LocalLogRunName(0, 42), "local-19700101-000000-42");
  EXPECT_EQ(LocalLogRunName(1706745599, 4242), "local-20240131-235959-4242");
  EXPECT_EQ(LogRunCandidate("123", 0), "123");
  EXPECT_EQ(LogRunCandidate("123", 2), "123.rerun-2");
}

}  // namespace
}  // namespace rankwrap::supervise
