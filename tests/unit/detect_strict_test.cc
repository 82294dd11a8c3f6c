// Launcher values that used to be accepted and must not be: a recorded
// fixture (tests/data/env) with one or more variables changed, the exit code,
// and the text that names the variable, its value and the reason.
#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "core/plan/contract.h"
#include "detect/launchers.h"
#include "detect/registry.h"
#include "fixture.h"

namespace rankwrap {
namespace {

const std::string kData = RANKWRAP_TEST_DATA "/env/";
const std::string kLongName(10000, 'a');

struct Changed {
  const char* name;  // test name
  const char* fixture;
  std::vector<std::pair<std::string, std::string>> set;  // variables set (or, with "#file", a file's text)
  std::vector<std::string> must_contain;                 // in what + ": " + why
};

Result<plan::RankContract> Detect(const testing::Fixture& f) {
  auto job = detect::Run(detect::Registry(), f.Context(), "", nullptr);
  if (!job) return job.error();
  return plan::Ranks(*job, {}, f.env, [] { return Result<std::uint16_t>(std::uint16_t{29999}); });
}

class DetectStrict : public ::testing::TestWithParam<Changed> {};

TEST_P(DetectStrict, RefusesNamingTheVariableValueAndReason) {
  const Changed& c = GetParam();
  auto f = testing::LoadFixture(kData + c.fixture + ".env");
  ASSERT_TRUE(Detect(f).ok()) << c.fixture << " itself must be accepted";
  for (const auto& [key, value] : c.set) {
    if (key.rfind("#file ", 0) == 0) {
      f.files.files[key.substr(6)] = value;
    } else {
      f.env.Set(key, value);
    }
  }
  auto r = Detect(f);
  ASSERT_FALSE(r.ok()) << c.name << " was accepted";
  EXPECT_EQ(r.error().exit_code, kExitEnvironment) << c.name;
  EXPECT_EQ(r.error().stage, "detect");
  const std::string text = r.error().what + ": " + r.error().why;
  for (const std::string& part : c.must_contain) {
    EXPECT_NE(text.find(part), std::string::npos) << c.name << ": no \"" << part << "\" in: " << text;
  }
  EXPECT_LT(text.size(), 1000u) << "a long value is not printed whole";
  EXPECT_FALSE(r.error().hint.empty());
}

const char* kSlurm = "slurm_even_rank3";
const char* kTorch = "torchrun_worker";

INSTANTIATE_TEST_SUITE_P(
    Launchers, DetectStrict,
    ::testing::Values(
        Changed{"step_id_empty", kSlurm, {{"SLURM_STEP_ID", ""}}, {"SLURM_STEP_ID=''", "empty, expected a number"}},
        Changed{
            "step_id_abc", kSlurm, {{"SLURM_STEP_ID", "abc"}}, {"SLURM_STEP_ID='abc'", "'a' is not a decimal digit"}},
        Changed{"step_id_fraction",
                kSlurm,
                {{"SLURM_STEP_ID", "0.1"}},
                {"SLURM_STEP_ID='0.1'", "'.' is not a decimal digit"}},
        Changed{"job_id_empty", kSlurm, {{"SLURM_JOB_ID", ""}}, {"SLURM_JOB_ID=''", "empty", "Slurm job id"}},
        Changed{"job_id_abc", kSlurm, {{"SLURM_JOB_ID", "abc"}}, {"SLURM_JOB_ID='abc'", "'a' is not a decimal digit"}},
        Changed{
            "job_id_negative", kSlurm, {{"SLURM_JOB_ID", "-1"}}, {"SLURM_JOB_ID='-1'", "'-' is not a decimal digit"}},
        Changed{"het_size_abc",
                kSlurm,
                {{"SLURM_HET_SIZE", "abc"}},
                {"SLURM_HET_SIZE='abc'", "'a' is not a decimal digit"}},
        Changed{"het_size_zero", kSlurm, {{"SLURM_HET_SIZE", "0"}}, {"SLURM_HET_SIZE='0'", "zero components"}},
        Changed{"resv_ports_reversed",
                kSlurm,
                {{"SLURM_STEP_RESV_PORTS", "5000-4000"}},
                {"SLURM_STEP_RESV_PORTS='5000-4000'", "reversed range '5000-4000'"}},
        Changed{"resv_ports_privileged",
                kSlurm,
                {{"SLURM_STEP_RESV_PORTS", "1-2,3"}},
                {"SLURM_STEP_RESV_PORTS='1-2,3'", "port 1 is below 1024"}},
        Changed{"resv_ports_garbage",
                kSlurm,
                {{"SLURM_STEP_RESV_PORTS", "12000-x"}},
                {"SLURM_STEP_RESV_PORTS='12000-x'", "'x' is not a decimal digit"}},
        Changed{"resv_ports_empty_item",
                kSlurm,
                {{"SLURM_STEP_RESV_PORTS", "12000-12003,"}},
                {"SLURM_STEP_RESV_PORTS='12000-12003,'", "empty"}},
        Changed{"resv_ports_second_below_1024",
                kSlurm,
                {{"SLURM_STEP_RESV_PORTS", "12000-12003,80"}},
                {"SLURM_STEP_RESV_PORTS='12000-12003,80'", "port 80 is below 1024"}},
        Changed{"tasks_zero_first_node",
                kSlurm,
                {{"SLURM_STEP_TASKS_PER_NODE", "0,4"}},
                {"SLURM_STEP_TASKS_PER_NODE='0,4'", "gives node 0 of the step 0 tasks"}},
        Changed{"tasks_zero_in_run",
                kSlurm,
                {{"SLURM_STEP_TASKS_PER_NODE", "4,0(x1)"}},
                {"SLURM_STEP_TASKS_PER_NODE='4,0(x1)'", "gives node 1 of the step 0 tasks"}},
        Changed{"nodelist_long_name",
                kSlurm,
                {{"SLURM_STEP_NODELIST", kLongName + ",node2"}},
                {"SLURM_STEP_NODELIST='aaaaaaaaaa", "(10006 characters)'", "host name of 10000 characters"}},
        Changed{
            "nodelist_bad_char",
            kSlurm,
            {{"SLURM_STEP_NODELIST", "node1;x,node2"}},
            {"MASTER_ADDR 'node1;x' (first host of SLURM_STEP_NODELIST)", "';' at offset 5 cannot be in a host name"}},
        Changed{"torch_master_addr_long",
                kTorch,
                {{"MASTER_ADDR", kLongName}},
                {"MASTER_ADDR='aaaaaaaaaa", "(10000 characters)'",
                 "10000 characters; expected a host name of at most 253"}},
        Changed{"torch_master_addr_space",
                kTorch,
                {{"MASTER_ADDR", "node1 node2"}},
                {"MASTER_ADDR='node1 node2'", "' ' at offset 5 cannot be in a host name"}},
        Changed{"torch_world_inconsistent",
                kTorch,
                {{"WORLD_SIZE", "70000"}, {"GROUP_WORLD_SIZE", "1"}, {"LOCAL_WORLD_SIZE", "2"}, {"GROUP_RANK", "0"}},
                {"WORLD_SIZE=70000 but GROUP_WORLD_SIZE=1 x LOCAL_WORLD_SIZE=2 is 2"}},
        Changed{"pbs_nodefile_bad_host",
                "pals_pbs_rank5",
                {{"#file /var/spool/pbs/aux/308834.polaris-pbs-01", "cn$1\ncn$1\ncn$1\ncn$1\ncn2\ncn2\ncn2\ncn2\n"}},
                {"MASTER_ADDR 'cn$1' (first host of PBS_NODEFILE)", "'$' at offset 2 cannot be in a host name"}}),
    [](const auto& p) { return std::string(p.param.name); });

TEST(DetectStrict, InheritedContractMustAgreeWithNumNodes) {
  auto f = testing::LoadFixture(kData + kTorch + ".env");
  f.env.Unset("TORCHELASTIC_RUN_ID");
  f.env.Unset("GROUP_RANK");
  f.env.Unset("GROUP_WORLD_SIZE");
  for (const char* v :
       {"SLURM_JOB_ID", "SLURM_STEP_ID", "SLURM_PROCID", "SLURM_LOCALID", "SLURM_NODEID", "SLURM_STEP_NODELIST",
        "SLURM_STEP_NUM_NODES", "SLURM_STEP_NUM_TASKS", "SLURM_STEP_TASKS_PER_NODE"}) {
    f.env.Unset(v);
  }
  f.env.Set("NODE_RANK", "1");
  f.env.Set("NUM_NODES", "2");
  auto ok = detect::Run(detect::Registry(), f.Context(), "", nullptr);
  ASSERT_TRUE(ok.ok()) << ok.error().what << ": " << ok.error().why;
  EXPECT_EQ(ok->launcher, "inherited");
  f.env.Set("NUM_NODES", "3");
  auto bad = detect::Run(detect::Registry(), f.Context(), "", nullptr);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().what, "WORLD_SIZE=4 but NUM_NODES=3 x LOCAL_WORLD_SIZE=2 is 6");
}

TEST(DetectStrict, ValidSlurmValuesStillPass) {
  auto f = testing::LoadFixture(kData + kSlurm + ".env");
  f.env.Set("SLURM_STEP_RESV_PORTS", "12000-12003,12010");
  f.env.Set("SLURM_HET_SIZE", "2");
  auto c = Detect(f);
  ASSERT_TRUE(c.ok()) << c.error().what << ": " << c.error().why;
  EXPECT_EQ(c->master_port, 12000);
  f.env.Set("SLURM_STEP_RESV_PORTS", "1024");
  auto single = Detect(f);
  ASSERT_TRUE(single.ok()) << single.error().what << ": " << single.error().why;
  EXPECT_EQ(single->master_port, 1024);
}

// A registry where nothing applies (no standalone at the end): an error, not
// a null dereference (clang static analyzer finding in detect::Run).
TEST(DetectStrict, NothingAppliesIsAnErrorNotACrash) {
  const std::vector<detect::Detector> only_slurm = {detect::SlurmDetector(), detect::PbsDetector()};
  testing::Fixture f;
  auto job = detect::Run(only_slurm, f.Context(), "", nullptr);
  ASSERT_FALSE(job.ok());
  EXPECT_EQ(job.error().exit_code, kExitEnvironment);
  EXPECT_EQ(job.error().what, "no launcher detected");
  EXPECT_NE(job.error().why.find("(slurm, pbs)"), std::string::npos) << job.error().why;
  auto none = detect::Run({}, f.Context(), "", nullptr);
  ASSERT_FALSE(none.ok());
  EXPECT_NE(none.error().why.find("(none)"), std::string::npos) << none.error().why;
}

}  // namespace
}  // namespace rankwrap
