// This node's pre-flight checks (stage: preflight, app/preflight.h) against
// the fake sysfs tree in tests/data/preflight, a real listener, a real port
// nobody listens on, a real /bin/sh and a real statvfs; and the options
// (--preflight, --preflight-cmd, `rankwrap preflight`).
#include "app/preflight.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include "adapters/posix/posix.h"
#include "tools/options.h"

namespace rankwrap::app {
namespace {

const std::string kRoot = std::string(RANKWRAP_TEST_DATA) + "/preflight/sysfs";

// The real probe on the fake tree, with a memlock limit chosen by the test.
class FakeLimits : public posix::PreflightProbe {
 public:
  explicit FakeLimits(std::optional<std::uint64_t> memlock) : PreflightProbe(kRoot), memlock_(memlock) {}
  std::optional<std::uint64_t> MemlockLimit() const override { return memlock_; }

 private:
  std::optional<std::uint64_t> memlock_;
};

const preflight::Check& Find(const preflight::NodeReport& r, const std::string& name) {
  for (const auto& c : r.checks) {
    if (c.name == name) return c;
  }
  static const preflight::Check missing{"missing", false, "no check named that", ""};
  ADD_FAILURE() << "no check " << name;
  return missing;
}

PreflightInputs Base() {
  PreflightInputs in;
  in.node = 1;
  in.host = "node2";
  in.version = "0.1.0";
  in.shape = "gpus=1 nics=1 local-ranks=1";
  in.shm_path = ::testing::TempDir();
  in.shm_min = 1;
  in.connect_timeout = 0.5;  // refused connects are retried until then
  return in;
}

TEST(PreflightNode, TheFakeSysfsTreeIsThere) {
  // The tree is the test's data: missing, the checks below would fail anyway; say why here.
  for (const char* p : {"/sys/bus/pci/devices/0000:4e:00.0/driver", "/sys/bus/pci/devices/0000:5e:00.0/vendor",
                        "/sys/class/infiniband/mlx5_0/ports/1/state", "/sys/class/infiniband/mlx5_1/ports/2/state"}) {
    EXPECT_TRUE(std::filesystem::exists(kRoot + p)) << kRoot + p << " is missing (tests/data/preflight/README.md)";
  }
}

TEST(PreflightNode, GpusArePciDevicesWithADriverInSysfs) {
  PreflightInputs in = Base();
  in.gpu_bus_ids = {"0000:4e:00.0", "0000:5E:00.0", "0000:9e:00.0"};
  const auto r = CheckNode(in, FakeLimits(std::nullopt));
  EXPECT_TRUE(Find(r, "gpu 0000:4e:00.0").ok);
  EXPECT_EQ(Find(r, "gpu 0000:4e:00.0").detail, "PCI device present, driver nvidia");
  const auto& no_driver = Find(r, "gpu 0000:5E:00.0");
  EXPECT_FALSE(no_driver.ok);
  EXPECT_NE(no_driver.detail.find("no kernel driver is bound"), std::string::npos) << no_driver.detail;
  const auto& gone = Find(r, "gpu 0000:9e:00.0");
  EXPECT_FALSE(gone.ok);
  EXPECT_NE(gone.detail.find(kRoot + "/sys/bus/pci/devices/0000:9e:00.0 does not exist"), std::string::npos);
  EXPECT_FALSE(gone.fix.empty());
}

TEST(PreflightNode, RdmaPortsMustBeActiveAndMemlockUnlimited) {
  PreflightInputs in = Base();
  in.rdma_nics = {"mlx5_0", "mlx5_1", "mlx5_9"};
  auto r = CheckNode(in, FakeLimits(64 << 10));
  EXPECT_TRUE(Find(r, "nic mlx5_0").ok);
  EXPECT_EQ(Find(r, "nic mlx5_0").detail, "port 1: 4: ACTIVE");
  EXPECT_FALSE(Find(r, "nic mlx5_1").ok);
  EXPECT_EQ(Find(r, "nic mlx5_1").detail, "port 1: 1: DOWN, port 2: 2: INIT");
  EXPECT_NE(Find(r, "nic mlx5_1").fix.find("ibstat mlx5_1"), std::string::npos);
  EXPECT_FALSE(Find(r, "nic mlx5_9").ok);
  const auto& memlock = Find(r, "memlock");
  EXPECT_FALSE(memlock.ok);
  EXPECT_NE(memlock.detail.find("RLIMIT_MEMLOCK is 64 KiB"), std::string::npos) << memlock.detail;
  EXPECT_NE(memlock.fix.find("ulimit -l unlimited"), std::string::npos);
  EXPECT_TRUE(Find(CheckNode(in, FakeLimits(std::nullopt)), "memlock").ok);
  in.rdma_nics.clear();
  EXPECT_TRUE(Find(CheckNode(in, FakeLimits(64 << 10)), "memlock").ok) << "no RDMA, no memlock need";
}

TEST(PreflightNode, ShmFreeSpaceAgainstTheMinimum) {
  PreflightInputs in = Base();
  EXPECT_TRUE(Find(CheckNode(in, FakeLimits(std::nullopt)), "shm").ok);
  in.shm_min = UINT64_MAX;
  const auto shm = Find(CheckNode(in, FakeLimits(std::nullopt)), "shm");
  EXPECT_FALSE(shm.ok);
  EXPECT_NE(shm.fix.find("--shm-size"), std::string::npos);
  in.shm_path = "/nonexistent/shm";
  EXPECT_NE(Find(CheckNode(in, FakeLimits(std::nullopt)), "shm").detail.find("statvfs('/nonexistent/shm')"),
            std::string::npos);
  EXPECT_EQ(kShmMinBytes, 512ull << 20);
}

TEST(PreflightNode, MasterPortReachableOrNotNamingTheInterface) {
  posix::HeldPort held;
  auto port = held.Open(0);
  ASSERT_TRUE(port);
  ASSERT_TRUE(held.Listen());
  PreflightInputs in = Base();
  in.master_addr = "127.0.0.1";
  in.master_port = *port;
  const auto ok = Find(CheckNode(in, FakeLimits(std::nullopt)), "master");
  EXPECT_TRUE(ok.ok) << ok.detail;
  EXPECT_NE(ok.detail.find("over interface lo (from 127.0.0.1)"), std::string::npos) << ok.detail;
  held.Close();
  const auto refused = Find(CheckNode(in, FakeLimits(std::nullopt)), "master");
  EXPECT_FALSE(refused.ok);
  EXPECT_NE(refused.detail.find("cannot connect to MASTER_ADDR:MASTER_PORT 127.0.0.1:" + std::to_string(*port) +
                                " over interface lo"),
            std::string::npos)
      << refused.detail;
  EXPECT_NE(refused.detail.find("refused"), std::string::npos) << refused.detail;
  EXPECT_NE(refused.fix.find("rank 0's host"), std::string::npos);
  in.master_addr = "no-such-host.invalid";
  const auto unknown = Find(CheckNode(in, FakeLimits(std::nullopt)), "master");
  EXPECT_FALSE(unknown.ok);
  EXPECT_NE(unknown.detail.find("cannot resolve"), std::string::npos) << unknown.detail;
}

// Rank 0's node answers every node's connect test however many there are
// (each is accepted and closed at once: the accept queue never fills), and
// once the round is over it holds the port without answering.
TEST(PreflightNode, TheHeldPortAnswersManyThenStopsListeningButKeepsThePort) {
  posix::HeldPort held;
  auto port = held.Open(0);
  ASSERT_TRUE(port);
  ASSERT_TRUE(held.Listen());
  EXPECT_TRUE(held.listening());
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(*port);
  int connected = 0;
  for (int i = 0; i < 300; ++i) {  // more than net.core.somaxconn on older kernels (128)
    const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ASSERT_GE(fd, 0);
    timeval tv{1, 0};
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    connected += connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    close(fd);
  }
  EXPECT_EQ(connected, 300);
  ASSERT_TRUE(held.StopListening());
  EXPECT_FALSE(held.listening());
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  EXPECT_NE(connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0) << "refused once the round is over";
  EXPECT_EQ(errno, ECONNREFUSED);
  close(fd);
  posix::HeldPort other;
  EXPECT_FALSE(other.Open(*port)) << "the port is still held";
  held.Close();
  EXPECT_TRUE(other.Open(*port));
}

TEST(PreflightNode, RankZerosNodeListensDuringItsOwnCheck) {
  auto port = posix::FreeLocalPort();
  ASSERT_TRUE(port);
  PreflightInputs in = Base();
  in.master_addr = "127.0.0.1";
  in.master_port = *port;
  in.master_node = true;
  const auto r = CheckThisNode(in, FakeLimits(std::nullopt));
  EXPECT_TRUE(Find(r, "master").ok) << Find(r, "master").detail;
  posix::HeldPort taken;
  ASSERT_TRUE(taken.Open(*port));
  ASSERT_TRUE(taken.Listen());
  const auto busy = CheckThisNode(in, FakeLimits(std::nullopt));
  EXPECT_FALSE(Find(busy, "master-port").ok);
  EXPECT_NE(Find(busy, "master-port").detail.find("cannot be held"), std::string::npos);
}

TEST(PreflightNode, ALateListenerIsReachedWithinTheTimeout) {
  // Rank 0's node may start its check after this one: refused is retried.
  auto port = posix::FreeLocalPort();
  ASSERT_TRUE(port);
  PreflightInputs in = Base();
  in.master_addr = "127.0.0.1";
  in.master_port = *port;
  in.connect_timeout = 3;
  posix::HeldPort late;
  std::thread rank0([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(400));
    if (late.Open(*port)) (void)late.Listen();
  });
  const auto start = std::chrono::steady_clock::now();
  const auto master = Find(CheckNode(in, FakeLimits(std::nullopt)), "master");
  const double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  rank0.join();
  EXPECT_TRUE(master.ok) << master.detail;
  EXPECT_GE(took, 0.3);
  EXPECT_LT(took, 2.5);
}

TEST(PreflightNode, RankZerosNodeListensForTheWholeWindow) {
  auto port = posix::FreeLocalPort();
  ASSERT_TRUE(port);
  PreflightInputs in = Base();
  in.master_addr = "127.0.0.1";
  in.master_port = *port;
  in.master_node = true;
  in.listen_window = 0.6;
  PreflightInputs other = Base();
  other.master_addr = "127.0.0.1";
  other.master_port = *port;
  preflight::NodeReport late;
  std::thread node1([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));  // after rank 0's node checked itself
    late = CheckNode(other, FakeLimits(std::nullopt));
  });
  const auto start = std::chrono::steady_clock::now();
  const auto r = CheckThisNode(in, FakeLimits(std::nullopt));
  const double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  node1.join();
  EXPECT_TRUE(Find(r, "master").ok);
  EXPECT_TRUE(Find(late, "master").ok) << Find(late, "master").detail;
  EXPECT_GE(took, 0.6);
}

TEST(PreflightNode, UserCommandExitCodeAndOutput) {
  PreflightInputs in = Base();
  in.command = "echo checking; echo 'no IB' >&2; exit 3";
  const auto bad = Find(CheckNode(in, FakeLimits(std::nullopt)), "preflight-cmd");
  EXPECT_FALSE(bad.ok);
  EXPECT_NE(bad.detail.find("exited with 3: "), std::string::npos) << bad.detail;
  EXPECT_NE(bad.detail.find("no IB"), std::string::npos) << bad.detail;
  in.command = "head -c 5000 /dev/zero | tr '\\0' x";
  const auto long_ok = Find(CheckNode(in, FakeLimits(std::nullopt)), "preflight-cmd");
  EXPECT_TRUE(long_ok.ok);
  EXPECT_LT(long_ok.detail.size(), kCommandOutputMax + 100);
  in.command = "sleep 5";
  in.command_timeout = 0.3;
  const auto slow = Find(CheckNode(in, FakeLimits(std::nullopt)), "preflight-cmd");
  EXPECT_FALSE(slow.ok);
  EXPECT_NE(slow.fix.find("finish within"), std::string::npos) << slow.detail;
  // A command that closes its output and goes on (a daemon, `sleep` in the
  // background of a shell that exits later) is held to the limit too, and
  // what it started is ended with it.
  in.command = "exec >/dev/null 2>&1; sleep 5 & sleep 5";
  const auto start = std::chrono::steady_clock::now();
  const auto quiet = Find(CheckNode(in, FakeLimits(std::nullopt)), "preflight-cmd");
  const double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_FALSE(quiet.ok);
  EXPECT_LT(took, 2.0) << "the limit is 0.3 s";
  in.command.clear();
  for (const auto& c : CheckNode(in, FakeLimits(std::nullopt)).checks) EXPECT_NE(c.name, "preflight-cmd");
}

TEST(PreflightNode, AReportOfThisNodeEncodesWithinTheLimit) {
  PreflightInputs in = Base();
  in.gpu_bus_ids = {"0000:4e:00.0", "0000:5e:00.0"};
  in.rdma_nics = {"mlx5_0", "mlx5_1"};
  in.command = "exit 1";
  const auto r = CheckNode(in, FakeLimits(1 << 16));
  const auto back = preflight::Decode(preflight::Encode(r));
  ASSERT_TRUE(back);
  EXPECT_EQ(back->checks.size(), r.checks.size());
  EXPECT_FALSE(preflight::AllOk({*back}));
}

}  // namespace
}  // namespace rankwrap::app

namespace rankwrap::tools {
namespace {

Result<Options> ParsePreflight(std::vector<std::string> args, const std::vector<std::string>& env = {}) {
  args.insert(args.begin(), "rankwrap");
  std::vector<const char*> argv;
  for (const auto& a : args) argv.push_back(a.c_str());
  return ParseCommandLine(static_cast<int>(argv.size()), argv.data(), EnvSnapshot::FromEntries(env));
}

TEST(PreflightOptions, SwitchCommandAndSubcommand) {
  auto off = ParsePreflight({"true"});
  ASSERT_TRUE(off);
  EXPECT_FALSE(off->config.preflight.enabled);
  auto on = ParsePreflight({"--preflight", "true"});
  ASSERT_TRUE(on);
  EXPECT_TRUE(on->config.preflight.enabled);
  EXPECT_TRUE(on->config.preflight.command.empty());
  EXPECT_FALSE(on->config.supervise.enabled) << "--preflight alone does not imply supervision";
  auto cmd = ParsePreflight({"--preflight-cmd", "nvidia-smi -L", "true"});
  ASSERT_TRUE(cmd);
  EXPECT_TRUE(cmd->config.preflight.enabled) << "--preflight-cmd implies --preflight";
  EXPECT_EQ(cmd->config.preflight.command, "nvidia-smi -L");
  auto env = ParsePreflight({"true"}, {"RANKWRAP_PREFLIGHT=yes", "RANKWRAP_PREFLIGHT_CMD=exit 0"});
  ASSERT_TRUE(env);
  EXPECT_TRUE(env->config.preflight.enabled);
  EXPECT_EQ(env->config.preflight.command, "exit 0");
  auto sub = ParsePreflight({"preflight", "--preflight-cmd", "true"});
  ASSERT_TRUE(sub) << sub.error().what;
  EXPECT_TRUE(sub->preflight_command);
  EXPECT_TRUE(sub->config.program.empty());
}

TEST(PreflightOptions, BadValuesNameTheOptionOrVariable) {
  auto empty = ParsePreflight({"--preflight-cmd", "", "true"});
  ASSERT_FALSE(empty);
  EXPECT_EQ(empty.error().exit_code, kExitUsage);
  EXPECT_EQ(empty.error().what, "--preflight-cmd ''");
  auto maybe = ParsePreflight({"true"}, {"RANKWRAP_PREFLIGHT=maybe"});
  ASSERT_FALSE(maybe);
  EXPECT_EQ(maybe.error().what, "RANKWRAP_PREFLIGHT='maybe'");
  auto program = ParsePreflight({"preflight", "python", "train.py"});
  ASSERT_FALSE(program);
  EXPECT_EQ(program.error().what, "'python' after 'rankwrap preflight'");
  EXPECT_NE(HelpText().find("  8    pre-flight"), std::string::npos);
  EXPECT_NE(PreflightHelpText().find("--preflight-cmd CMD"), std::string::npos);
}

}  // namespace
}  // namespace rankwrap::tools
