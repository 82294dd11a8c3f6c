// The node's rankwraps share one plane connection through the node's leader
// (adapters/net/local_relay.h, app::Plane with local members), in one
// process: node 0's leader (server + client + relay), a second rankwrap of
// node 0 (member), and node 1 (stage: plane).
#include <gtest/gtest.h>
#include <poll.h>
#include <unistd.h>

#include <chrono>
#include <future>

#include "adapters/net/asio_plane.h"
#include "adapters/net/local_relay.h"
#include "app/plane.h"

namespace rankwrap::app {
namespace {

plane::PlaneConfig Config(std::uint32_t node, std::uint32_t local_index, std::uint32_t local_count,
                          std::uint32_t max_restarts = 0) {
  plane::PlaneInputs in;
  in.job_id = "relay-test." + std::to_string(getpid());
  in.node_count = 2;
  in.node_index = node;
  in.host = "node" + std::to_string(node);
  in.server_host = "127.0.0.1";
  in.lowest_rank = node * 2 + local_index;
  in.local_index = local_index;
  in.local_count = local_count;
  in.uid = static_cast<std::uint32_t>(getuid());
  in.auth = "secret";
  in.secret = "relay-test-secret-0123456789";
  in.port = static_cast<std::uint16_t>(52000 + (getpid() % 1000) * 8);
  in.rendezvous_timeout = 10;
  in.heartbeat_interval = 0.2;
  in.heartbeat_timeout = 2;
  in.max_restarts = max_restarts;
  auto c = plane::MakePlaneConfig(in);
  EXPECT_TRUE(c) << c.error().what;
  return *c;
}

bool Heard(Plane& p, int ms) {
  pollfd pf{p.failure_fd(), POLLIN, 0};
  return poll(&pf, 1, ms) == 1;
}

TEST(PlaneRelay, AMemberGetsTheRendezvousAndItsFailureReachesEveryNode) {
  auto leader = Plane::Start(Config(0, 0, 2));
  ASSERT_TRUE(leader) << leader.error().what << ": " << leader.error().why;
  auto member = Plane::Start(Config(0, 1, 2));
  ASSERT_TRUE(member);
  auto node1 = Plane::Start(Config(1, 0, 1));
  ASSERT_TRUE(node1);
  const plane::Master m{"node0", 29500, "id"};
  auto rm = std::async(std::launch::async, [&] { return (*member)->Rendezvous(std::nullopt); });
  auto r1 = std::async(std::launch::async, [&] { return (*node1)->Rendezvous(std::nullopt); });
  auto r0 = (*leader)->Rendezvous(m);
  ASSERT_TRUE(r0) << r0.error().why;
  auto gm = rm.get();
  ASSERT_TRUE(gm) << gm.error().why;
  EXPECT_EQ(*gm, m);
  ASSERT_TRUE(r1.get());

  plane::Failure f;
  f.rank = 1;
  f.host = "node0";
  f.code = 9;
  f.time_ms = 5;
  f.cause = "exit code 9";
  (*member)->ReportFailure(f);
  for (Plane* p : {leader->get(), member->get(), node1->get()}) {
    ASSERT_TRUE(Heard(*p, 3000));
    auto got = p->TakeFailure();
    ASSERT_TRUE(got);
    EXPECT_EQ(got->rank, 1u);
    EXPECT_EQ(got->code, 9);
    EXPECT_EQ(got->node, 0u);  // the member speaks as its node
  }
  // The leader stays in the plane until the member is gone, then leaves at once.
  auto left = std::async(std::launch::async, [&] { (*leader)->Shutdown(1); });
  EXPECT_EQ(left.wait_for(std::chrono::milliseconds(300)), std::future_status::timeout);
  (*member)->Shutdown();
  EXPECT_EQ(left.wait_for(std::chrono::seconds(3)), std::future_status::ready);
  (*node1)->Shutdown();
}

// Job-wide restarts: the server answers once every keeper of every node has
// stopped the attempt (the leader waits for its member), with rank 0's new
// blob; the count is the server's: after max_restarts, no more attempts.
TEST(PlaneRelay, RestartsWaitForEveryKeeperAndTheServerKeepsTheCount) {
  auto leader = Plane::Start(Config(0, 0, 2, 1));
  ASSERT_TRUE(leader) << leader.error().why;
  auto member = Plane::Start(Config(0, 1, 2, 1));
  auto node1 = Plane::Start(Config(1, 0, 1, 1));
  ASSERT_TRUE(member && node1);
  auto rm = std::async(std::launch::async, [&] { return (*member)->Rendezvous(std::nullopt); });
  auto r1 = std::async(std::launch::async, [&] { return (*node1)->Rendezvous(std::nullopt); });
  ASSERT_TRUE((*leader)->Rendezvous(plane::Master{"node0", 29500, "id0"}));
  ASSERT_TRUE(rm.get() && r1.get());
  plane::Failure f;
  f.rank = 2;
  f.host = "node1";
  f.code = 3;
  (*node1)->ReportFailure(f);
  ASSERT_TRUE(Heard(**member, 3000));
  // Attempt 0 ends on node 1 and on the leader; the member has not stopped yet.
  auto e1 = std::async(std::launch::async, [&] { return (*node1)->EndAttempt(0, true, ""); });
  auto e0 = std::async(std::launch::async, [&] { return (*leader)->EndAttempt(0, false, "id1"); });
  EXPECT_EQ(e1.wait_for(std::chrono::milliseconds(300)), std::future_status::timeout);
  auto em = (*member)->EndAttempt(0, false, "");
  ASSERT_TRUE(em) << em.error().why;
  ASSERT_TRUE(*em);
  EXPECT_EQ((*em)->attempt, 1u);
  EXPECT_EQ((*em)->blob, "id1");
  for (auto* e : {&e0, &e1}) {
    auto r = e->get();
    ASSERT_TRUE(r && *r) << (r ? "no restart" : r.error().why);
    EXPECT_EQ((*r)->attempt, 1u);
  }
  // Attempt 1 has a failure state of its own; it fails too: no restart is left.
  EXPECT_FALSE((*leader)->TakeFailure());
  (*member)->ReportFailure(f);
  ASSERT_TRUE(Heard(**node1, 3000));
  auto f1 = std::async(std::launch::async, [&] { return (*node1)->EndAttempt(1, false, ""); });
  auto fm = std::async(std::launch::async, [&] { return (*member)->EndAttempt(1, true, ""); });
  auto f0 = (*leader)->EndAttempt(1, false, "");
  ASSERT_TRUE(f0) << f0.error().why;
  EXPECT_FALSE(*f0);
  auto g1 = f1.get();
  auto gm = fm.get();
  ASSERT_TRUE(g1 && gm);
  EXPECT_FALSE(*g1);
  EXPECT_FALSE(*gm);
  (*member)->Shutdown();
  (*node1)->Shutdown();
  (*leader)->Shutdown(1);
}

TEST(PlaneRelay, ALeaderThatDiesIsAFailureForItsMembers) {
  const std::string name = "rankwrap-relay-test-" + std::to_string(getpid());
  std::promise<std::string> lost;
  auto server = net::RelayServer::Start(
      name, [](const plane::Message&) {}, [](const std::string&) {});
  ASSERT_TRUE(server) << (*server ? "" : server.error().why);
  std::promise<plane::Message> first;
  bool got_first = false;
  auto client = net::RelayClient::Start(
      name, net::MonoNow() + 5,
      [&](const plane::Message& m) {
        if (!got_first) first.set_value(m);
        got_first = true;
      },
      [&](const std::string& why) { lost.set_value(why); });
  // Kept for late joiners: a broadcast before the member connected.
  (*server)->Broadcast(plane::RendezvousDone{plane::Master{"node0", 1234, ""}});
  auto fm = first.get_future();
  ASSERT_EQ(fm.wait_for(std::chrono::seconds(3)), std::future_status::ready);
  EXPECT_TRUE(std::holds_alternative<plane::RendezvousDone>(fm.get()));
  // A second leader for the same node is refused, naming the socket.
  auto twin = net::RelayServer::Start(
      name, [](const plane::Message&) {}, [](const std::string&) {});
  ASSERT_FALSE(twin);
  EXPECT_NE(twin.error().what.find(name), std::string::npos);
  (*server)->Stop();  // gone without a Shutdown: as if its keeper were killed
  auto lf = lost.get_future();
  ASSERT_EQ(lf.wait_for(std::chrono::seconds(3)), std::future_status::ready);
  EXPECT_NE(lf.get().find("went away"), std::string::npos);
  client->Close();
}

TEST(PlaneRelay, AMemberWithoutALeaderGivesUpAtTheDeadline) {
  std::promise<std::string> lost;
  auto client = net::RelayClient::Start(
      "rankwrap-relay-nobody-" + std::to_string(getpid()), net::MonoNow() + 0.3, [](const plane::Message&) {},
      [&](const std::string& why) { lost.set_value(why); });
  auto lf = lost.get_future();
  ASSERT_EQ(lf.wait_for(std::chrono::seconds(3)), std::future_status::ready);
  EXPECT_NE(lf.get().find("cannot reach the node's leader"), std::string::npos);
  client->Close();
}

}  // namespace
}  // namespace rankwrap::app
