// app::Plane in one process over loopback: node 0 (server + its client) and
// node 1, as two keepers would use them (stage: plane).
#include <gtest/gtest.h>
#include <poll.h>
#include <unistd.h>

#include <future>

#include "app/plane.h"

namespace rankwrap::app {
namespace {

plane::PlaneConfig Config(std::uint32_t node, std::uint16_t port) {
  plane::PlaneInputs in;
  in.job_id = "app-test." + std::to_string(getpid());
  in.node_count = 2;
  in.node_index = node;
  in.host = "node" + std::to_string(node);
  in.server_host = "127.0.0.1";
  in.lowest_rank = node * 2;
  in.auth = "secret";
  in.secret = "app-test-secret-0123456789";
  in.port = port;
  in.rendezvous_timeout = 10;
  in.heartbeat_interval = 0.2;
  in.heartbeat_timeout = 2;
  auto c = plane::MakePlaneConfig(in);
  EXPECT_TRUE(c) << c.error().what;
  return *c;
}

std::uint16_t TestPort() { return static_cast<std::uint16_t>(46000 + (getpid() % 1000) * 8); }

TEST(PlanePlane, RendezvousFailureAndShutdown) {
  auto p0 = Plane::Start(Config(0, TestPort()));
  ASSERT_TRUE(p0) << p0.error().what << ": " << p0.error().why;
  auto p1 = Plane::Start(Config(1, TestPort()));
  ASSERT_TRUE(p1);
  const plane::Master m{"node0", 29500, std::string(128, '\x42')};
  auto r1 = std::async(std::launch::async, [&] { return (*p1)->Rendezvous(std::nullopt); });
  auto r0 = (*p0)->Rendezvous(m);
  ASSERT_TRUE(r0) << r0.error().why;
  auto m1 = r1.get();
  ASSERT_TRUE(m1) << m1.error().why;
  EXPECT_EQ(*r0, m);
  EXPECT_EQ(*m1, m);
  // Node 1 fails; both hear it through their descriptor.
  plane::Failure f;
  f.rank = 3;
  f.host = "node1";
  f.code = 7;
  f.time_ms = 1;
  f.cause = "exit code 7";
  (*p1)->ReportFailure(f);
  for (auto* p : {p0->get(), p1->get()}) {
    pollfd pf{p->failure_fd(), POLLIN, 0};
    ASSERT_EQ(poll(&pf, 1, 2000), 1);
    auto got = p->TakeFailure();
    ASSERT_TRUE(got);
    EXPECT_EQ(got->node, 1u);
    EXPECT_EQ(got->rank, 3u);
    EXPECT_EQ(got->code, 7);
    EXPECT_FALSE(p->TakeFailure());  // once
  }
  (*p1)->Shutdown(1);
  (*p0)->Shutdown(1);
}

TEST(PlanePlane, AnAnnouncementTheDecoderWouldRefuseIsRefusedHere) {
  auto p0 = Plane::Start(Config(0, static_cast<std::uint16_t>(TestPort() + 4)));
  ASSERT_TRUE(p0);
  auto r = (*p0)->Rendezvous(plane::Master{"node0", 0, ""});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().what, "announcement node0:0 with 0 bytes");
}

TEST(PlanePlane, NodeZeroEndingThePlaneIsNoFailure) {
  auto p0 = Plane::Start(Config(0, static_cast<std::uint16_t>(TestPort() + 2)));
  ASSERT_TRUE(p0);
  auto p1 = Plane::Start(Config(1, static_cast<std::uint16_t>(TestPort() + 2)));
  ASSERT_TRUE(p1);
  auto r1 = std::async(std::launch::async, [&] { return (*p1)->Rendezvous(std::nullopt); });
  ASSERT_TRUE((*p0)->Rendezvous(plane::Master{"node0", 1, ""}));
  ASSERT_TRUE(r1.get());
  p0->reset();  // node 0 done: its destructor ends the plane (Shutdown to every node)...
  pollfd pf{(*p1)->failure_fd(), POLLIN, 0};
  // ...which is no failure: Shutdown, not a lost connection.
  EXPECT_EQ(poll(&pf, 1, 500), 0);
  EXPECT_FALSE((*p1)->TakeFailure());
}

}  // namespace
}  // namespace rankwrap::app
