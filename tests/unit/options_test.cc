// The command line (tools::ParseCommandLine): strict numbers, refused signal
// maps, errors that name the RANKWRAP_<OPTION> variable a value came from,
// action options refused from the environment, and the --help exit codes.
#include "tools/options.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace rankwrap::tools {
namespace {

Result<Options> Parse(std::vector<std::string> args, const std::vector<std::string>& env = {}) {
  args.insert(args.begin(), "rankwrap");
  std::vector<const char*> argv;
  for (const auto& a : args) argv.push_back(a.c_str());
  return ParseCommandLine(static_cast<int>(argv.size()), argv.data(), EnvSnapshot::FromEntries(env));
}

std::string Text(const Error& e) { return e.what + ": " + e.why; }

struct Refused {
  std::vector<std::string> args;
  std::vector<std::string> env;
  const char* must_contain;  // the option or variable and its value
};

class OptionErrors : public ::testing::TestWithParam<Refused> {};

TEST_P(OptionErrors, AreUsageErrorsNamingTheOptionAndValue) {
  const Refused& r = GetParam();
  auto o = Parse(r.args, r.env);
  ASSERT_FALSE(o.ok()) << r.must_contain << " was accepted";
  EXPECT_EQ(o.error().exit_code, kExitUsage);
  EXPECT_EQ(o.error().stage, "usage");
  EXPECT_NE(Text(o.error()).find(r.must_contain), std::string::npos) << Text(o.error());
  EXPECT_FALSE(o.error().hint.empty());
}

INSTANTIATE_TEST_SUITE_P(
    Strict, OptionErrors,
    ::testing::Values(
        // Numbers: whole string, digits only (strtod took all of these).
        Refused{{"--nproc", "1e1", "true"}, {}, "--nproc '1e1': 'e' is not a decimal digit"},
        Refused{{"--nproc", "0x2", "true"}, {}, "--nproc '0x2'"},
        Refused{{"--nproc", " 2", "true"}, {}, "--nproc ' 2'"},
        Refused{{"--nproc", "2.0", "true"}, {}, "--nproc '2.0'"},
        Refused{{"--nproc", "+2", "true"}, {}, "--nproc '+2'"},
        Refused{{"--nproc", "0", "true"}, {}, "--nproc 0: expected at least 1 rank"},
        Refused{{"--nproc", "4097", "true"}, {}, "--nproc '4097': larger than 4096"},
        Refused{{"--grace", " 3", "--nproc", "1", "true"}, {}, "--grace ' 3'"},
        Refused{{"--grace", "nan", "--nproc", "1", "true"}, {}, "--grace 'nan'"},
        Refused{{"--grace", "inf", "--nproc", "1", "true"}, {}, "--grace 'inf'"},
        Refused{{"--grace", "-1", "--nproc", "1", "true"}, {}, "--grace '-1'"},
        Refused{{"--grace", "1e3", "--nproc", "1", "true"}, {}, "--grace '1e3'"},
        Refused{{"--grace", ".5", "--nproc", "1", "true"}, {}, "--grace '.5'"},
        Refused{{"--grace", "5.", "--nproc", "1", "true"}, {}, "--grace '5.': digits expected after '.'"},
        Refused{{"--grace", "86401", "--nproc", "1", "true"}, {}, "--grace '86401': larger than 86400"},
        Refused{{"--bootstrap-timeout", "1e3", "true"}, {}, "--bootstrap-timeout '1e3'"},
        Refused{{"--bootstrap-timeout", "0", "true"}, {}, "--bootstrap-timeout '0': expected more than 0"},
        Refused{{"--bootstrap-timeout", "inf", "true"}, {}, "--bootstrap-timeout 'inf'"},
        Refused{{"--master-port", "0x50", "true"}, {}, "--master-port '0x50'"},
        Refused{{"--master-port", " 80", "true"}, {}, "--master-port ' 80'"},
        Refused{{"--master-port", "0", "true"}, {}, "--master-port '0'"},
        Refused{{"plan", "--ranks-per-node", "-1"}, {}, "--ranks-per-node '-1'"},
        Refused{{"plan", "--ranks-per-node", " 2"}, {}, "--ranks-per-node ' 2'"},
        Refused{{"plan", "--ranks-per-node", "0"}, {}, "--ranks-per-node 0: expected at least 1"},
        Refused{{"--max-restarts", "1e1", "--nproc", "1", "true"}, {}, "--max-restarts '1e1'"},
        Refused{{"--max-restarts", "-1", "--nproc", "1", "true"}, {}, "--max-restarts '-1'"},
        Refused{{"--ranks-filter", "0, 1", "--nproc", "2", "true"}, {}, "--ranks-filter '0, 1': ' 1'"},
        Refused{{"--ranks-filter", "0,0x1", "--nproc", "2", "true"}, {}, "--ranks-filter '0,0x1': '0x1'"},
        Refused{{"--ranks-filter", "0,", "--nproc", "2", "true"}, {}, "--ranks-filter '0,': '': empty"},
        // Signal maps: KILL and STOP never, unknown names never.
        Refused{{"--signal-map", "USR1:STOP", "--nproc", "1", "true"}, {}, "--signal-map 'USR1:STOP': KILL and STOP"},
        Refused{{"--signal-map", "TERM:KILL", "--nproc", "1", "true"}, {}, "--signal-map 'TERM:KILL': KILL and STOP"},
        Refused{{"--signal-map", "SIGKILL:TERM", "--nproc", "1", "true"}, {}, "KILL and STOP cannot be mapped"},
        Refused{{"--signal-map", "HUP:INT,STOP:TERM", "--nproc", "1", "true"}, {}, "'STOP:TERM': KILL and STOP"},
        Refused{{"--signal-map", "FOO:TERM", "--nproc", "1", "true"}, {}, "--signal-map 'FOO:TERM': expected FROM:TO"},
        Refused{{"--signal-map", "USR1", "--nproc", "1", "true"}, {}, "--signal-map 'USR1': expected FROM:TO"},
        Refused{{"--signal-map", "USR1:", "--nproc", "1", "true"}, {}, "--signal-map 'USR1:': expected FROM:TO"},
        Refused{{"--launcher", "", "--print-env"}, {}, "--launcher '': expected a launcher name"},
        Refused{{"--master-addr", "", "true"}, {}, "--master-addr ''"},
        Refused{{"--master-addr", "node1 node2", "true"}, {}, "--master-addr 'node1 node2': ' ' at offset 5"},
        Refused{{"--master-addr", std::string(300, 'a'), "true"}, {}, "(300 characters)': 300 characters"},
        Refused{{"true"}, {"RANKWRAP_MASTER_ADDR=a;b"}, "RANKWRAP_MASTER_ADDR='a;b': ';' at offset 1"},
        // Values from RANKWRAP_<OPTION>: the error names the variable.
        Refused{{"true"}, {"RANKWRAP_CPU_BIND=bogus"}, "RANKWRAP_CPU_BIND='bogus': expected gpu, numa"},
        Refused{{"true"}, {"RANKWRAP_GPU_BIND=far"}, "RANKWRAP_GPU_BIND='far'"},
        Refused{{"true"}, {"RANKWRAP_MEM_BIND=x"}, "RANKWRAP_MEM_BIND='x'"},
        Refused{{"true"}, {"RANKWRAP_NPROC=1e1"}, "RANKWRAP_NPROC='1e1'"},
        Refused{{"true"}, {"RANKWRAP_NPROC=0"}, "RANKWRAP_NPROC='0': expected at least 1 rank"},
        Refused{{"true"}, {"RANKWRAP_GRACE=nan"}, "RANKWRAP_GRACE='nan'"},
        Refused{{"true"}, {"RANKWRAP_MASTER_PORT=0x50"}, "RANKWRAP_MASTER_PORT='0x50'"},
        Refused{{"true"}, {"RANKWRAP_SIGNAL_MAP=USR1:STOP"}, "RANKWRAP_SIGNAL_MAP='USR1:STOP'"},
        Refused{{"true"}, {"RANKWRAP_NCCL_BOOTSTRAP=pmix"}, "RANKWRAP_NCCL_BOOTSTRAP='pmix'"},
        Refused{{"true"}, {"RANKWRAP_BOOTSTRAP_TIMEOUT=-1"}, "RANKWRAP_BOOTSTRAP_TIMEOUT='-1'"},
        Refused{{"plan"}, {"RANKWRAP_RANKS_PER_NODE=0"}, "RANKWRAP_RANKS_PER_NODE='0'"},
        Refused{{"true"}, {"RANKWRAP_DRY_RUN=maybe"}, "RANKWRAP_DRY_RUN='maybe'"},
        // Action options are never taken from the environment.
        Refused{{"true"}, {"RANKWRAP_PRINT_ENV=1"}, "RANKWRAP_PRINT_ENV='1' is set in the environment"},
        Refused{{"true"}, {"RANKWRAP_DRY_RUN=1"}, "RANKWRAP_DRY_RUN='1' is set"},
        Refused{{"true"}, {"RANKWRAP_EXPLAIN=yes"}, "RANKWRAP_EXPLAIN='yes' is set"},
        Refused{{"true"}, {"RANKWRAP_JSON=1"}, "RANKWRAP_JSON='1' is set"},
        Refused{{"--print-env"}, {"RANKWRAP_PRINT_ENV=0"}, "RANKWRAP_PRINT_ENV='0' is set"}));

TEST(Options, StrictNumbersStillAcceptTheUsualForms) {
  auto o = Parse({"--nproc", "4", "--grace", "0.5", "--max-restarts", "2", "--ranks-filter", "0,3", "--master-port",
                  "29500", "--signal-map", "USR1:TERM,SIGHUP:INT", "true"});
  ASSERT_TRUE(o.ok()) << Text(o.error());
  EXPECT_EQ(o->config.supervise.nproc, 4u);
  EXPECT_DOUBLE_EQ(o->config.supervise.grace, 0.5);
  EXPECT_EQ(o->config.supervise.max_restarts, 2u);
  EXPECT_EQ(o->config.supervise.ranks_filter, (std::vector<std::uint64_t>{0, 3}));
  EXPECT_EQ(o->config.contract.master_port, 29500);
  EXPECT_EQ(o->config.supervise.signal_map, (std::vector<std::pair<int, int>>{{10, 15}, {1, 2}}));
  auto g = Parse({"--grace", "0", "--nproc", "1", "--bootstrap-timeout", "2.5", "true"});
  ASSERT_TRUE(g.ok()) << Text(g.error());
  EXPECT_DOUBLE_EQ(g->config.supervise.grace, 0.0);
  EXPECT_DOUBLE_EQ(*g->config.bootstrap.timeout, 2.5);
  auto p = Parse({"plan", "--ranks-per-node", "8"});
  ASSERT_TRUE(p.ok()) << Text(p.error());
  EXPECT_EQ(p->ranks_per_node, 8u);
}

TEST(Options, EnvironmentFormsApplyAndTheFlagWins) {
  auto o = Parse({"true"}, {"RANKWRAP_MASTER_PORT=23456", "RANKWRAP_CPU_BIND=none", "RANKWRAP_REPORT=1"});
  ASSERT_TRUE(o.ok()) << Text(o.error());
  EXPECT_EQ(o->config.contract.master_port, 23456);
  EXPECT_EQ(o->config.bind.options.cpu, bind::BindOptions::Cpu::kNone);
  EXPECT_TRUE(o->report);
  auto flag = Parse({"--cpu-bind", "cores", "true"}, {"RANKWRAP_CPU_BIND=bogus"});
  ASSERT_TRUE(flag.ok()) << Text(flag.error());
  EXPECT_EQ(flag->config.bind.options.cpu, bind::BindOptions::Cpu::kCores);
  // A bad flag value is reported under the flag's name.
  auto bad = Parse({"--cpu-bind", "bogus", "true"});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().what, "--cpu-bind 'bogus'");
}

TEST(Options, ActionVariablesAreRefusedWithAHintToUnsetThem) {
  auto o = Parse({"true"}, {"RANKWRAP_PRINT_ENV=1"});
  ASSERT_FALSE(o.ok());
  EXPECT_EQ(o.error().hint, "unset RANKWRAP_PRINT_ENV, and pass --print-env on the command line where you want it");
  // --help and --version are not read from the environment at all (a module
  // file may export RANKWRAP_VERSION): ignored, the program still runs.
  auto v = Parse({"true"}, {"RANKWRAP_VERSION=0.3", "RANKWRAP_HELP=1"});
  ASSERT_TRUE(v.ok()) << Text(v.error());
  EXPECT_FALSE(v->version);
  EXPECT_FALSE(v->help);
}

TEST(Options, HelpListsEveryExitCode) {
  const std::string help = HelpText();
  for (const char* code :
       {"\n  0 ", "\n  2 ", "\n  3 ", "\n  4 ", "\n  5 ", "\n  6 ", "\n  7 ", "\n  126 ", "\n  127 "}) {
    EXPECT_NE(help.find(code), std::string::npos) << "exit code" << code << "missing from --help";
  }
  for (int code : {kExitUsage, kExitEnvironment, kExitBinding, kExitBootstrap, kExitBootstrapTimeout, kExitSystem,
                   kExitNotExecutable, kExitNotFound}) {
    EXPECT_NE(help.find("\n  " + std::to_string(code) + " "), std::string::npos) << code;
  }
  EXPECT_NE(help.find("RANKWRAP_PRINT_ENV"), std::string::npos) << "help says action variables are refused";
}

// The typed configuration: bind values are checked before anything is
// detected, supervision options imply supervision, the bootstrap is an enum.
TEST(Options, ConfigIsTypedAndCheckedBeforeDetection) {
  // A bad binding value is a usage error even with --bind none (it used to
  // be accepted silently, or reported as an environment error).
  auto bad = Parse({"--bind", "none", "--gpu-bind", "bogus", "true"});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().exit_code, kExitUsage);
  EXPECT_EQ(bad.error().what.rfind("--gpu-bind 'bogus'", 0), 0u) << bad.error().what;
  auto none = Parse({"--bind", "none", "true"});
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->config.bind.enabled);
  auto mpi = Parse({"--nccl-bootstrap", "mpi", "true"});
  ASSERT_TRUE(mpi.ok());
  EXPECT_EQ(mpi->config.bootstrap.mode, app::BootstrapMode::kMpi);
  for (std::vector<std::string> args : std::vector<std::vector<std::string>>{{"--log-dir", "d", "true"},
                                                                             {"--tag-output", "true"},
                                                                             {"--grace", "3", "true"},
                                                                             {"--failure-file", "f", "true"},
                                                                             {"--ranks-filter", "0", "true"},
                                                                             {"--signal-map", "USR1:TERM", "true"}}) {
    auto o = Parse(args);
    ASSERT_TRUE(o.ok()) << Text(o.error());
    EXPECT_TRUE(o->config.supervise.enabled) << args[0];
  }
  auto plain = Parse({"true"});
  ASSERT_TRUE(plain.ok());
  EXPECT_FALSE(plain->config.supervise.enabled);
  EXPECT_EQ(plain->config.program, std::vector<std::string>{"true"});
}

}  // namespace
}  // namespace rankwrap::tools
