// The command line as torchrun and srun users type it (tools::ParseCommandLine):
// their spellings where the meaning is the same, refusals naming the value
// where it is not, "did you mean" for unknown options, and the help texts.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tools/options.h"

namespace rankwrap::tools {
namespace {

Result<Options> Parse(std::vector<std::string> args, const std::vector<std::string>& env = {}) {
  args.insert(args.begin(), "rankwrap");
  std::vector<const char*> argv;
  for (const auto& a : args) argv.push_back(a.c_str());
  return ParseCommandLine(static_cast<int>(argv.size()), argv.data(), EnvSnapshot::FromEntries(env));
}

std::string Text(const Error& e) { return e.what + ": " + e.why + " / hint: " + e.hint; }

TEST(TorchrunSpellings, NprocPerNodeIsNproc) {
  for (const std::vector<std::string>& args : {std::vector<std::string>{"--nproc-per-node", "4", "prog"},
                                               {"--nproc_per_node", "4", "prog"},
                                               {"--nproc-per-node=4", "prog"}}) {
    auto o = Parse(args);
    ASSERT_TRUE(o.ok()) << args[0] << ": " << Text(o.error());
    EXPECT_EQ(o->config.supervise.nproc, 4u) << args[0];
    EXPECT_EQ(o->config.program, std::vector<std::string>{"prog"}) << args[0];
  }
}

TEST(TorchrunSpellings, LocalRanksFilterLogDirMaxRestarts) {
  auto o = Parse({"--nproc", "4", "--local-ranks-filter", "0,3", "--log_dir", "/tmp/x", "--max_restarts", "2", "prog"});
  ASSERT_TRUE(o.ok()) << Text(o.error());
  // torchrun's --local-ranks-filter selects local ranks, not global ones.
  EXPECT_EQ(o->config.supervise.local_ranks_filter, (std::vector<std::uint64_t>{0, 3}));
  EXPECT_TRUE(o->config.supervise.ranks_filter.empty());
  EXPECT_EQ(o->config.supervise.log_dir, "/tmp/x");
  EXPECT_EQ(o->config.supervise.max_restarts, 2u);
  o = Parse({"--local_ranks_filter", "1", "prog"});
  ASSERT_TRUE(o.ok()) << Text(o.error());
  EXPECT_EQ(o->config.supervise.local_ranks_filter, (std::vector<std::uint64_t>{1}));
  EXPECT_TRUE(o->config.supervise.enabled);
}

TEST(TorchrunSpellings, OneRanksFilterAtATime) {
  auto o = Parse({"--nproc", "4", "--ranks-filter", "0", "--local-ranks-filter", "1", "prog"});
  ASSERT_FALSE(o.ok());
  EXPECT_EQ(o.error().what, "--ranks-filter '0' and --local-ranks-filter '1'");
  EXPECT_EQ(o.error().hint, "give one of them");
  o = Parse({"--nproc", "4", "--ranks-filter", "0", "prog"}, {"RANKWRAP_LOCAL_RANKS_FILTER=1"});
  ASSERT_FALSE(o.ok());
  EXPECT_EQ(o.error().what, "--ranks-filter '0' and RANKWRAP_LOCAL_RANKS_FILTER='1'");
  o = Parse({"--nproc", "4", "--local-ranks-filter", "0,x", "prog"});
  ASSERT_FALSE(o.ok());
  EXPECT_EQ(o.error().what, "--local-ranks-filter '0,x'");
}

TEST(TorchrunSpellings, StreamSelectors) {
  auto o = Parse({"--nproc", "2", "--log-dir", "/tmp/x", "--redirects", "3", "--tee", "3", "prog"});
  ASSERT_TRUE(o.ok()) << Text(o.error());
  EXPECT_TRUE(o->config.supervise.tee);
  EXPECT_EQ(o->config.program, std::vector<std::string>{"prog"});
  // rankwrap's own --tee still takes no value: the next word is PROGRAM.
  o = Parse({"--nproc", "2", "--log-dir", "/tmp/x", "--tee", "python", "train.py"});
  ASSERT_TRUE(o.ok()) << Text(o.error());
  EXPECT_TRUE(o->config.supervise.tee);
  EXPECT_EQ(o->config.program, (std::vector<std::string>{"python", "train.py"}));
  o = Parse({"--nproc", "2", "--log-dir", "/tmp/x", "-t", "0", "-r", "0", "prog"});
  ASSERT_TRUE(o.ok()) << Text(o.error());
  EXPECT_FALSE(o->config.supervise.tee);
}

struct Refused {
  std::vector<std::string> args;
  std::vector<std::string> env;
  const char* must_contain;
};
class CompatRefusals : public ::testing::TestWithParam<Refused> {};

TEST_P(CompatRefusals, NameTheValueAndAFix) {
  const Refused& r = GetParam();
  auto o = Parse(r.args, r.env);
  ASSERT_FALSE(o.ok()) << r.must_contain << " was accepted";
  EXPECT_EQ(o.error().exit_code, kExitUsage);
  EXPECT_NE(Text(o.error()).find(r.must_contain), std::string::npos) << Text(o.error());
}

INSTANTIATE_TEST_SUITE_P(
    Compat, CompatRefusals,
    ::testing::Values(
        Refused{{"--nproc", "2", "--log-dir", "/tmp/x", "--redirects", "1", "p"}, {}, "--redirects '1': torchrun's"},
        Refused{{"--nproc", "2", "--log-dir", "/tmp/x", "--redirects=0:3,1:1", "p"}, {}, "--redirects '0:3,1:1'"},
        Refused{{"--nproc", "2", "--log-dir", "/tmp/x", "--tee", "2", "p"}, {}, "--tee '2'"},
        Refused{{"--nproc", "2", "--redirects", "3", "p"}, {}, "hint: add --log-dir DIR"},
        Refused{{"--redirects"}, {}, "--redirects without a value"},
        Refused{{"--nnodes", "2", "p"}, {}, "torchrun's --nnodes is not a rankwrap option"},
        Refused{{"--standalone", "p"}, {}, "torchrun's --standalone"},
        Refused{{"--nproc-per-nod", "2", "p"}, {}, "did you mean '--nproc-per-node'?"},
        Refused{{"--supervize", "p"}, {}, "did you mean '--supervise'?"},
        Refused{{"--npro", "2", "p"}, {}, "did you mean '--nproc'?"},
        Refused{{"--frobnicate", "p"}, {}, "hint: see 'rankwrap --help' for the options"},
        Refused{{"--cpu-bind=map_ldom:0,1", "p"}, {}, "--cpu-bind 'map_ldom:0,1': Slurm's per-rank map_ldom list"},
        Refused{
            {"--cpu-bind=verbose,mask_ldom:0x3", "p"}, {}, "srun --cpu-bind=mask_ldom:0x3 rankwrap --cpu-bind none"},
        // map_cpu:/mask_cpu: are accepted; a malformed list names the item, where, and the form.
        Refused{{"--cpu-bind=map_cpu:0,,4", "p"},
                {},
                "--cpu-bind 'map_cpu:0,,4': item 2 is empty (offset 10) / hint: write map_cpu:ID,ID,..."},
        Refused{{"--cpu-bind=verbose,mask_cpu:0x3,0xg", "p"},
                {},
                "--cpu-bind 'mask_cpu:0x3,0xg': item 2 '0xg': 'g' is not a hexadecimal digit; a mask is hexadecimal, "
                "with or without 0x (offset 15)"},
        Refused{{"p"},
                {"RANKWRAP_CPU_BIND=mask_cpu:0"},
                "RANKWRAP_CPU_BIND='mask_cpu:0': item 1 '0': the mask selects no CPU"},
        Refused{{"--gpu-bind=mask_gpu:0x1", "p"}, {}, "--gpu-bind 'mask_gpu:0x1'"},
        Refused{{"p"}, {"RANKWRAP_CPU_BIND=map_ldom:0,1"}, "RANKWRAP_CPU_BIND='map_ldom:0,1'"}));

TEST(SlurmSpellings, BindValues) {
  auto o = Parse({"--gpu-bind=verbose,map_gpu:1,0", "--cpu-bind=ldoms", "p"});
  ASSERT_TRUE(o.ok()) << Text(o.error());
  EXPECT_TRUE(o->report);
  EXPECT_EQ(o->config.bind.options.map, (std::vector<unsigned>{1, 0}));
  auto same = Parse({"--gpu-bind", "map:1,0", "--cpu-bind", "numa", "p"});
  ASSERT_TRUE(same.ok());
  EXPECT_EQ(o->config.bind.options.gpu, same->config.bind.options.gpu);
  EXPECT_EQ(o->config.bind.options.cpu, same->config.bind.options.cpu);
  // srun's explicit lists: rankwrap's own values, verbose, prefix included.
  o = Parse({"--cpu-bind=verbose,map_cpu:0*2,0x1c", "p"});
  ASSERT_TRUE(o.ok()) << Text(o.error());
  EXPECT_TRUE(o->report);
  EXPECT_EQ(o->config.bind.options.cpu, bind::BindOptions::Cpu::kList);
  EXPECT_EQ(o->config.bind.options.cpu_list_value, "map_cpu:0*2,0x1c");
  EXPECT_EQ(o->config.bind.options.cpu_list, (std::vector<parse::CpuListItem>{{{0}, 2}, {{28}, 1}}));
  o = Parse({"p"}, {"RANKWRAP_CPU_BIND=mask_cpu:0x3,c0"});
  ASSERT_TRUE(o.ok()) << Text(o.error());
  EXPECT_EQ(o->config.bind.options.cpu_list, (std::vector<parse::CpuListItem>{{{0, 1}, 1}, {{6, 7}, 1}}));
  o = Parse({"--cpu-bind=verbose", "p"});  // the default binding, reported
  ASSERT_TRUE(o.ok()) << Text(o.error());
  EXPECT_TRUE(o->report);
  EXPECT_EQ(o->config.bind.options.cpu, bind::BindOptions::Cpu::kAuto);
}

TEST(RanksFilter, TurnsSupervisionOnByItself) {
  auto o = Parse({"--ranks-filter", "0", "p"});
  ASSERT_TRUE(o.ok()) << Text(o.error());
  EXPECT_TRUE(o->config.supervise.enabled);
  EXPECT_FALSE(o->config.supervise.nproc.has_value());
}

TEST(Help, PlaceholdersExamplesAndPerCommand) {
  const std::string help = HelpText();
  EXPECT_EQ(help.find(" arg "), std::string::npos) << "Boost's 'arg' placeholder left";
  EXPECT_NE(help.find("--nproc N"), std::string::npos);
  EXPECT_NE(help.find("Examples:"), std::string::npos);
  const std::string plan = PlanHelpText();
  EXPECT_NE(plan.find("usage: rankwrap plan"), std::string::npos);
  EXPECT_NE(plan.find("--ranks-per-node N"), std::string::npos);
  EXPECT_EQ(plan.find("--nproc"), std::string::npos);
  EXPECT_NE(HostlistHelpText("hostnames").find("usage: rankwrap hostnames"), std::string::npos);
  EXPECT_NE(HostlistHelpText("hostlist").find("usage: rankwrap hostlist"), std::string::npos);
  auto o = Parse({"plan", "--help"});
  ASSERT_TRUE(o.ok()) << Text(o.error());
  EXPECT_TRUE(o->plan_command && o->help);
}

}  // namespace
}  // namespace rankwrap::tools
