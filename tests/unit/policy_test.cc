// The supervision policy with a fake clock: every rule of a job's stop.
#include "core/supervise/policy.h"

#include <gtest/gtest.h>
#include <signal.h>

namespace rankwrap::supervise {
namespace {

PolicyOptions Opts(double grace = 5) {
  PolicyOptions o;
  o.grace = grace;
  return o;
}

TEST(Policy, FirstFailureStopsEveryoneThenKillsAfterGrace) {
  Policy p(Opts(5));
  EXPECT_EQ(p.OnExit(1, {3, 0}, 10.0), (Actions{SIGTERM, 0}));
  EXPECT_EQ(p.OnExit(0, {0, SIGSEGV}, 10.5), Actions{});  // a later failure changes nothing
  EXPECT_EQ(p.OnTick(14.9, true, true), Actions{});
  EXPECT_DOUBLE_EQ(p.NextDeadline(14.0), 1.0);
  EXPECT_EQ(p.OnTick(15.0, true, true), (Actions{SIGKILL, 0}));
  ASSERT_TRUE(p.outcome().failed);
  EXPECT_EQ(*p.outcome().failed, 1);
  EXPECT_EQ(p.outcome().failure.code, 3);
  EXPECT_FALSE(p.outcome().escalated);  // killing after one's own failure is not an outside stop
  const Verdict v = Decide(p.outcome(), 0, 0);
  EXPECT_EQ(v.exit_code, 3);
  EXPECT_TRUE(v.report);
  EXPECT_FALSE(v.restart);
}

TEST(Policy, RemembersTheLastSignalFromOutsideForRequeue) {
  Policy p(Opts());
  EXPECT_EQ(p.OnSignal(SIGUSR2, true, 1), Actions{});  // the terminal's: not the scheduler's
  EXPECT_EQ(p.outcome().received, 0);
  EXPECT_EQ(p.OnSignal(SIGUSR1, false, 2), (Actions{0, SIGUSR1}));  // --signal=USR1@T: to the ranks only
  EXPECT_EQ(p.outcome().received, SIGUSR1);
  EXPECT_EQ(p.outcome().external, 0);  // not a stop: the ranks decide
  EXPECT_EQ(p.OnExit(0, {0, 0}, 3), Actions{});
  EXPECT_EQ(Decide(p.outcome(), 0, 0).exit_code, 0);
}

TEST(Policy, SuccessIsZeroAndNothingToReport) {
  Policy p(Opts());
  EXPECT_EQ(p.OnExit(0, {0, 0}, 1), Actions{});
  EXPECT_TRUE(p.Done(false, false));
  const Verdict v = Decide(p.outcome(), 0, 3);
  EXPECT_EQ(v.exit_code, 0);
  EXPECT_FALSE(v.report);
  EXPECT_FALSE(v.restart);
}

TEST(Policy, StragglersOfFinishedRanksAreStoppedThenKilled) {
  Policy p(Opts(2));
  EXPECT_EQ(p.OnExit(0, {0, 0}, 1), Actions{});
  EXPECT_FALSE(p.Done(false, true));
  EXPECT_EQ(p.OnTick(1.0, false, true), (Actions{SIGTERM, 0}));
  EXPECT_EQ(p.OnTick(2.0, false, true), Actions{});  // once
  EXPECT_EQ(p.OnTick(3.0, false, true), (Actions{SIGKILL, 0}));
  EXPECT_TRUE(p.Done(false, false));
  EXPECT_EQ(Decide(p.outcome(), 0, 0).exit_code, 0);
}

TEST(Policy, ExternalTermHandledByTheRanksIsTheirCode) {
  Policy p(Opts(5));
  EXPECT_EQ(p.OnSignal(SIGTERM, false, 1), (Actions{SIGTERM, 0}));
  EXPECT_EQ(p.OnExit(0, {0, 0}, 1.2), Actions{});
  EXPECT_EQ(p.OnExit(1, {0, 0}, 1.3), Actions{});
  const Verdict v = Decide(p.outcome(), 0, 2);
  EXPECT_EQ(v.exit_code, 0);
  EXPECT_FALSE(v.report);
  EXPECT_FALSE(v.restart);  // a stop from outside is never restarted
}

TEST(Policy, ExternalTermIgnoredEscalatesAfterGrace) {
  Policy p(Opts(5));
  p.OnSignal(SIGTERM, false, 1);
  EXPECT_EQ(p.OnTick(5.9, true, true), Actions{});
  EXPECT_EQ(p.OnTick(6.0, true, true), (Actions{SIGKILL, 0}));
  p.OnExit(0, {0, SIGKILL}, 6.1);
  EXPECT_EQ(Decide(p.outcome(), 0, 0).exit_code, 128 + SIGTERM);
}

TEST(Policy, RanksDyingOfTheStopSignalAreNotAFailure) {
  Policy p(Opts(5));
  p.OnSignal(SIGTERM, false, 1);
  EXPECT_EQ(p.OnExit(0, {0, SIGTERM}, 1.1), Actions{});
  EXPECT_FALSE(p.outcome().failed);
  EXPECT_EQ(Decide(p.outcome(), 0, 0).exit_code, 128 + SIGTERM);  // the ranks' own code
}

TEST(Policy, LauncherGroupSignalBeforeTheRelayIsNotAFailure) {
  Policy p(Opts(5));
  // The rank died of TERM first; the wrapper's relay arrives 0.1 s later.
  EXPECT_EQ(p.OnExit(0, {0, SIGTERM}, 1.0), Actions{});
  EXPECT_FALSE(p.Done(false, false));  // undecided
  EXPECT_GT(p.NextDeadline(1.0), 0);
  p.OnSignal(SIGTERM, false, 1.1);
  p.OnTick(1.2, false, false);
  EXPECT_FALSE(p.outcome().failed);
  EXPECT_TRUE(p.Done(false, false));
  EXPECT_FALSE(Decide(p.outcome(), 0, 0).report);
}

TEST(Policy, DeathBySigtermWithoutRelayIsTheRanksFailure) {
  Policy p(Opts(5));
  p.OnExit(1, {0, SIGTERM}, 1.0);
  EXPECT_EQ(p.OnTick(1.2, true, true), Actions{});
  EXPECT_EQ(p.OnTick(1.3, true, true), (Actions{SIGTERM, 0}));
  ASSERT_TRUE(p.outcome().failed);
  EXPECT_EQ(*p.outcome().failed, 1);
  EXPECT_EQ(Decide(p.outcome(), 0, 0).exit_code, 128 + SIGTERM);
}

TEST(Policy, DoubleCtrlCKillsAtOnceWith130) {
  Policy p(Opts(30));
  EXPECT_EQ(p.OnSignal(SIGINT, true, 1.0), Actions{});  // the terminal delivered it already
  EXPECT_EQ(p.OnSignal(SIGINT, true, 1.5), (Actions{SIGKILL, 0}));
  p.OnExit(0, {0, SIGKILL}, 1.6);
  EXPECT_EQ(Decide(p.outcome(), 0, 0).exit_code, 130);
}

TEST(Policy, TwoCtrlCMoreThanASecondApartAreTwoInterrupts) {
  Policy p(Opts(30));
  EXPECT_EQ(p.OnSignal(SIGINT, false, 1.0), (Actions{SIGINT, 0}));
  EXPECT_EQ(p.OnSignal(SIGINT, false, 2.5), (Actions{SIGINT, 0}));
}

TEST(Policy, SignalMapTranslatesAndRoutes) {
  PolicyOptions o = Opts();
  o.signal_map = {{SIGUSR1, SIGTERM}};
  Policy p(o);
  EXPECT_EQ(p.OnSignal(SIGUSR1, false, 1), (Actions{SIGTERM, 0}));
  EXPECT_EQ(p.outcome().external, SIGTERM);
  Policy q(Opts());
  EXPECT_EQ(q.OnSignal(SIGUSR2, false, 1), (Actions{0, SIGUSR2}));  // to the ranks only
  EXPECT_EQ(q.outcome().external, 0);
}

TEST(Policy, MappedTerminalSignalIsDelivered) {
  PolicyOptions o = Opts();
  o.signal_map = {{SIGINT, SIGTERM}};
  Policy p(o);
  // The terminal sent INT to the ranks; the map asks for TERM: deliver it.
  EXPECT_EQ(p.OnSignal(SIGINT, true, 1), (Actions{SIGTERM, 0}));
}

TEST(Policy, ParentGoneKillsEverythingNow) {
  Policy p(Opts(30));
  EXPECT_EQ(p.OnParentGone(), (Actions{SIGKILL, 0}));
  EXPECT_TRUE(p.outcome().parent_gone);
  EXPECT_EQ(Decide(p.outcome(), 0, 5).exit_code, 128 + SIGKILL);
  EXPECT_FALSE(Decide(p.outcome(), 0, 5).restart);
}

TEST(Policy, RestartsUntilTheLimit) {
  Policy p(Opts());
  p.OnExit(0, {5, 0}, 1);
  EXPECT_TRUE(Decide(p.outcome(), 0, 2).restart);
  EXPECT_TRUE(Decide(p.outcome(), 1, 2).restart);
  const Verdict last = Decide(p.outcome(), 2, 2);
  EXPECT_FALSE(last.restart);
  EXPECT_EQ(last.exit_code, 5);
}

TEST(Policy, GraceZeroKillsOnTheNextTick) {
  Policy p(Opts(0));
  EXPECT_EQ(p.OnExit(0, {1, 0}, 7), (Actions{SIGTERM, 0}));
  EXPECT_DOUBLE_EQ(p.NextDeadline(7), 0);
  EXPECT_EQ(p.OnTick(7, true, true), (Actions{SIGKILL, 0}));
}

TEST(Policy, AnotherNodesFailureStopsThisNodeWithItsCode) {
  Policy p(Opts(5));
  EXPECT_EQ(p.OnRemoteFailure({3, 0}, 2.0), (Actions{SIGTERM, 0}));
  EXPECT_EQ(p.OnExit(0, {0, SIGTERM}, 2.1), Actions{});  // a consequence, not a failure of its own
  p.OnTick(3.0, false, false);
  EXPECT_FALSE(p.outcome().failed);
  const Verdict v = Decide(p.outcome(), 0, 3);
  EXPECT_EQ(v.exit_code, 3);
  EXPECT_TRUE(v.report);
  EXPECT_FALSE(v.restart);
  // This node's own failure first: a later remote one changes nothing.
  Policy q(Opts(5));
  q.OnExit(1, {7, 0}, 1.0);
  EXPECT_EQ(q.OnRemoteFailure({3, 0}, 1.5), Actions{});
  EXPECT_EQ(Decide(q.outcome(), 0, 0).exit_code, 7);
}

TEST(LikelyCause, OomKillCountRising) {
  FailureFacts f;
  f.oom_kills_before = 2;
  f.oom_kills_after = 3;
  EXPECT_EQ(LikelyCause({0, SIGKILL}, f), "out of memory: the cgroup's memory.events oom_kill count rose from 2 to 3");
  EXPECT_EQ(LikelyCause({0, SIGTERM}, f), "");  // only a SIGKILL is the OOM killer's
  f.oom_kills_after = 2;
  EXPECT_EQ(LikelyCause({0, SIGKILL}, f), "");  // someone else's SIGKILL
  f.oom_kills_after.reset();
  EXPECT_EQ(LikelyCause({0, SIGKILL}, f), "");  // unreadable: no guess
}

TEST(LikelyCause, SmallOrFullDevShm) {
  const std::uint64_t mib = 1024 * 1024;
  FailureFacts f;
  f.shm_total = 64 * mib;
  f.shm_free = 60 * mib;
  EXPECT_EQ(LikelyCause({0, SIGBUS}, f),
            "shared memory: /dev/shm has 64 MiB, 60 MiB free (a container's default 64 MiB is too small for NCCL and "
            "data loaders)");
  f.shm_total = 16384 * mib;
  f.shm_free = 1000 * mib;  // under a tenth free
  EXPECT_NE(LikelyCause({0, SIGBUS}, f).find("16384 MiB, 1000 MiB free"), std::string::npos);
  f.shm_free = 8000 * mib;
  EXPECT_EQ(LikelyCause({0, SIGBUS}, f), "");  // big and mostly free: not the cause
  EXPECT_EQ(LikelyCause({7, 0}, f), "");
}

}  // namespace
}  // namespace rankwrap::supervise
