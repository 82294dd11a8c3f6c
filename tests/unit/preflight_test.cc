// The pre-flight report's codec and the job's table (stage: preflight,
// core/preflight/report.h).
#include "core/preflight/report.h"

#include <gtest/gtest.h>

namespace rankwrap::preflight {
namespace {

NodeReport Sample() {
  return NodeReport{17,
                    "node17",
                    "0.1.0",
                    "gpus=8 nics=4 local-ranks=8",
                    {{"master", true, "connected to node1:29500 over interface ib0", ""},
                     {"nic mlx5_1", false, "port 1: 1: DOWN", "check the cable"}}};
}

bool Same(const NodeReport& a, const NodeReport& b) {
  if (a.node != b.node || a.host != b.host || a.version != b.version || a.shape != b.shape) return false;
  if (a.checks.size() != b.checks.size()) return false;
  for (std::size_t i = 0; i < a.checks.size(); ++i) {
    const Check &x = a.checks[i], &y = b.checks[i];
    if (x.name != y.name || x.ok != y.ok || x.detail != y.detail || x.fix != y.fix) return false;
  }
  return true;
}

TEST(PreflightReport, RoundTripsWithAwkwardBytes) {
  NodeReport r = Sample();
  r.checks.push_back({"preflight-cmd", false, "tab\there, newline\nthere, 100% \x01\x7f done", "fix\r\nit"});
  r.host = "";
  const std::string text = Encode(r);
  EXPECT_LE(text.size(), kMaxEncoded);
  auto back = Decode(text);
  ASSERT_TRUE(back);
  EXPECT_TRUE(Same(*back, r));
  EXPECT_EQ(Encode(*back), text);
  EXPECT_NE(text.find("100%25 %01%7F"), std::string::npos) << text;
}

TEST(PreflightReport, NeverExceedsTheLimitAndKeepsFailuresFirst) {
  NodeReport r = Sample();
  r.host = std::string(5000, '%');  // triples when escaped
  for (int i = 0; i < 200; ++i) {
    r.checks.push_back({"check " + std::to_string(i), i % 2 == 0, std::string(3000, '\n'), std::string(900, 'f')});
  }
  const std::string text = Encode(r);
  EXPECT_LE(text.size(), kMaxEncoded);
  auto back = Decode(text);
  ASSERT_TRUE(back) << text.substr(0, 200);
  EXPECT_LE(back->checks.size(), kMaxChecks);
  EXPECT_EQ(back->node, 17u);
  // Cut, marked as cut.
  EXPECT_NE(back->host.find("..."), std::string::npos);
  // Passing checks were dropped before failing ones: all 32 failing checks of
  // the first kMaxChecks (Sample's and every other one of the loop) are there,
  // their names whole.
  std::size_t failing = 0;
  for (const auto& c : back->checks) failing += c.ok ? 0 : 1;
  EXPECT_EQ(failing, 32u);
  EXPECT_EQ(back->checks[0].name, "nic mlx5_1");
  EXPECT_FALSE(back->checks[0].ok);
  EXPECT_EQ(back->checks[1].name, "check 1");
  EXPECT_EQ(back->checks.back().name, "check 61");
}

TEST(PreflightReport, RefusesMalformedInput) {
  const std::string good = Encode(Sample());
  ASSERT_TRUE(Decode(good));
  auto replaced = [&](const std::string& from, const std::string& to) {
    std::string t = good;
    t.replace(t.find(from), from.size(), to);
    return t;
  };
  const std::vector<std::string> bad = {
      "",
      good.substr(0, good.size() - 1),  // no final newline
      replaced("rankwrap-preflight 1", "rankwrap-preflight 2"),
      replaced("node 17", "node 017"),         // not canonical
      replaced("node 17", "node 4294967296"),  // over 32 bits
      replaced("node 17", "node -1"),
      replaced("host node17", "host node%0a17"),  // lower-case hex
      replaced("host node17", "host node%4117"),  // 'A' needs no escape
      replaced("host node17", "host node%4"),     // cut escape
      replaced("host node17", "hosts node17"),
      replaced("check ok", "check maybe"),
      replaced("\tcheck the cable", " check the cable"),  // two fields, not three
      good + "check ok a\tb\tc\textra\n",
      good + "bogus line\n",
      good + "check ok a\tb\r\tc\n",  // a raw control byte
      std::string(kMaxEncoded + 1, 'x'),
  };
  for (const auto& t : bad) EXPECT_FALSE(Decode(t)) << t;
  std::string many = Encode(NodeReport{1, "h", "v", "s", {}});
  for (std::size_t i = 0; i <= kMaxChecks; ++i) many += "check ok c\t\t\n";
  EXPECT_FALSE(Decode(many)) << "more than kMaxChecks checks";
}

TEST(PreflightTable, NamesBadNodesChecksFixesAndTheSlurmExclusion) {
  std::vector<NodeReport> reports;
  for (std::uint32_t n = 0; n < 4; ++n) {
    reports.push_back({n, "node" + std::to_string(17 + n), "0.1.0", "gpus=8", {{"master", true, "ok", ""}}});
  }
  reports[0].checks.push_back({"shm", false, "/dev/shm: 64 MiB free, at least 512 MiB wanted", "--shm-size=8g"});
  reports[3].version = "0.0.9";
  reports[2].shape = "gpus=7";
  EXPECT_FALSE(AllOk(reports));
  const std::string t = Table(reports, "slurm");
  EXPECT_NE(t.find("4 nodes checked, 3 bad (rankwrap 0.1.0; shape gpus=8)"), std::string::npos) << t;
  EXPECT_NE(t.find("node 0 (node17):\n  FAIL shm: /dev/shm: 64 MiB free, at least 512 MiB wanted\n"
                   "       fix: --shm-size=8g"),
            std::string::npos)
      << t;
  EXPECT_NE(t.find("FAIL version: rankwrap 0.0.9, the other nodes run 0.1.0"), std::string::npos) << t;
  EXPECT_NE(t.find("FAIL shape: this node has gpus=7, most nodes have gpus=8"), std::string::npos) << t;
  EXPECT_EQ(t.find("node 1 (node18)"), std::string::npos) << t;
  EXPECT_NE(t.find("\n  ok: node18\n"), std::string::npos) << "the good nodes in one list: " << t;
  EXPECT_NE(t.find("sbatch --exclude=node[17,19-20]"), std::string::npos) << t;
}

TEST(PreflightTable, BadNodesInNodeOrderWithTheirFirstProblem) {
  std::vector<NodeReport> reports;
  for (std::uint32_t n : {3u, 0u, 2u, 1u}) {
    reports.push_back({n, "h" + std::to_string(n), "1", "gpus=4", {{"master", true, "ok", ""}}});
  }
  reports[0].checks.push_back({"shm", false, "64 MiB free", "--shm-size=8g"});  // node 3
  reports[0].checks.push_back({"memlock", false, "64 KiB", "ulimit -l unlimited"});
  reports[3].shape = "gpus=3";  // node 1
  const std::vector<BadNode> bad = BadNodes(reports);
  ASSERT_EQ(bad.size(), 2u);
  EXPECT_EQ(bad[0].node, 1u);
  EXPECT_EQ(bad[0].host, "h1");
  EXPECT_EQ(bad[0].problem, "shape: this node has gpus=3, most nodes have gpus=4");
  EXPECT_EQ(bad[1].node, 3u);
  EXPECT_EQ(bad[1].problem, "shm: 64 MiB free");
  reports[0].checks.resize(1);
  reports[3].shape = "gpus=4";
  EXPECT_TRUE(BadNodes(reports).empty());
}

TEST(PreflightTable, ThousandsOfGoodNodesTakeOneLine) {
  std::vector<NodeReport> reports;
  for (std::uint32_t n = 0; n < 5000; ++n) {
    reports.push_back({n, "nid" + std::to_string(100000 + n), "1", "s", {{"master", true, "", ""}}});
  }
  reports[4321].checks[0] = {"master", false, "refused", "fix it"};
  const std::string t = Table(reports, "slurm");
  EXPECT_LT(t.size(), 1000u) << t;
  EXPECT_NE(t.find("  ok: nid[100000-104320,104322-104999]\n"), std::string::npos) << t;
  EXPECT_NE(t.find("sbatch --exclude=nid104321 "), std::string::npos) << t;
}

TEST(PreflightTable, LauncherHintsAndAllGood) {
  std::vector<NodeReport> reports{{0, "a1", "1", "s", {{"master", true, "", ""}}},
                                  {1, "b7", "1", "s", {{"preflight-cmd", false, "exited with 3", ""}}}};
  EXPECT_NE(Table(reports, "pbs").find("remove b7 from the host list given to mpiexec"), std::string::npos);
  EXPECT_NE(Table(reports, "pbs").find("qsub -l select="), std::string::npos);
  EXPECT_NE(Table(reports, "ompi")
                .find("leave the bad nodes out of the host list or host file given to the "
                      "launcher: b7"),
            std::string::npos);
  reports[1].checks[0].ok = true;
  EXPECT_TRUE(AllOk(reports));
  const std::string t = Table(reports, "slurm");
  EXPECT_NE(t.find("every node passed"), std::string::npos) << t;
  EXPECT_EQ(t.find("exclude"), std::string::npos) << t;
  // A tie goes to the lowest node's value: node 0's version is the reference.
  reports[1].version = "2";
  EXPECT_NE(Table(reports, "slurm").find("FAIL version: rankwrap 2, the other nodes run 1"), std::string::npos);
}

}  // namespace
}  // namespace rankwrap::preflight
