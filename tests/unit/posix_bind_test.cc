// posix::BindProcess and the CPU sets it reads, on this machine, in forked
// children (binding the test process would bind every later test).
#include <gtest/gtest.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <functional>

#include "adapters/posix/posix.h"

namespace rankwrap::posix {
namespace {

// Runs `body` in a child; its return value is the child's exit code.
int InChild(const std::function<int()>& body) {
  const pid_t pid = fork();
  if (pid == 0) _exit(body());
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 200;
}

int MemPolicyMode() {
  int mode = -1;
  unsigned long mask[1024 / (8 * sizeof(unsigned long))] = {};
  if (syscall(SYS_get_mempolicy, &mode, mask, 1025UL, nullptr, 0UL) != 0) return 100;
  return mode;
}

TEST(PosixBind, MemoryIsPreferredByDefaultAndBoundOnlyWhenStrict) {
  constexpr int kPreferred = 1, kBind = 2, kPreferredMany = 5;  // <linux/mempolicy.h>
  const int prefer = InChild([] { return BindProcess({}, {0}) ? MemPolicyMode() : 101; });
  EXPECT_TRUE(prefer == kPreferredMany || prefer == kPreferred) << "mode " << prefer;
  const int strict = InChild([] { return BindProcess({}, {0}, MemPolicy::kStrict) ? MemPolicyMode() : 101; });
  EXPECT_EQ(strict, kBind);
}

TEST(PosixBind, CpusAreBoundAndReadBack) {
  const std::vector<unsigned> mine = AffinityPus();
  ASSERT_FALSE(mine.empty());
  const unsigned last = mine.back();
  EXPECT_EQ(InChild([&] { return BindProcess({last}, {}) && AffinityPus() == std::vector<unsigned>{last} ? 0 : 1; }),
            0);
  // A PU number far above 1024 (CPU_ALLOC-sized set) next to a real one:
  // the set reaches the kernel whole and the real PU is bound.
  EXPECT_EQ(InChild([&] {
              return BindProcess({last, 4000}, {}) && AffinityPus() == std::vector<unsigned>{last} ? 0 : 1;
            }),
            0);
}

TEST(PosixBind, TheCgroupSetHoldsThisProcessMask) {
  const std::vector<unsigned> cgroup = CgroupPus();
  if (cgroup.empty()) GTEST_SKIP() << "no cgroup cpuset file on this machine";  // not test data: the host's kernel
  for (unsigned p : AffinityPus()) EXPECT_TRUE(std::count(cgroup.begin(), cgroup.end(), p)) << "PU " << p;
}

}  // namespace
}  // namespace rankwrap::posix
