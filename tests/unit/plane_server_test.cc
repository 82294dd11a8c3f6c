// The control plane's server and client state machines over fake
// connections and a fake clock: rendezvous, missing nodes, duplicates, late
// joiners, the first failure, heartbeats, and refused strangers.
#include <gtest/gtest.h>

#include <deque>
#include <functional>
#include <map>
#include <set>

#include "core/plane/client.h"
#include "core/plane/server.h"

namespace rankwrap::plane {
namespace {

const char* kSecret = "a-job-secret-of-enough-bytes";

Nonce N(std::uint64_t v) {
  Nonce n{};
  for (int i = 0; i < 8; ++i) n[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(v >> (8 * i));
  return n;
}

std::string_view Body(const std::string& frame) { return std::string_view(frame).substr(4); }

// One server, clients over fake connections, frames delivered in order.
struct Job {
  explicit Job(std::uint32_t nodes, AuthMode mode = AuthMode::kSecret,
               const std::function<void(ServerOptions&)>& tweak = {})
      : nodes_(nodes) {
    ServerOptions o;
    o.job_id = "job.1";
    o.node_count = nodes;
    o.mode = mode;
    o.secret = kSecret;
    o.rendezvous_deadline = 100;
    o.heartbeat_interval = 1;
    o.heartbeat_timeout = 5;
    o.handshake_timeout = 5;
    if (tweak) tweak(o);
    server = std::make_unique<ServerCore>(o);
  }
  struct Peer {
    std::unique_ptr<ClientCore> core;
    std::vector<ClientEvent> events;
    std::vector<std::string> received;  // raw frames from the server
    bool closed = false;
  };
  ConnId Connect(std::uint32_t node, std::uint64_t lowest_rank, std::string secret = kSecret, std::string job = "job.1",
                 AuthMode mode = AuthMode::kSecret) {
    const ConnId c = next++;
    ClientOptions co{job, node, server_nodes(), "host" + std::to_string(node), lowest_rank, mode, secret};
    peers[c].core = std::make_unique<ClientCore>(co, N(1000 + c), std::string(32, 'm'));
    Outbox out;
    server->OnConnect(c, N(c), now, out);
    Apply(out);
    return c;
  }
  std::uint32_t server_nodes() const { return nodes_; }
  std::uint32_t nodes_;
  void Apply(Outbox& out) {
    std::deque<std::pair<ConnId, std::string>> q(out.sends.begin(), out.sends.end());
    for (auto& n : out.notices) notices.push_back(n);
    for (ConnId c : out.closes) peers[c].closed = true;
    while (!q.empty()) {
      auto [c, frame] = q.front();
      q.pop_front();
      Peer& p = peers[c];
      p.received.push_back(frame);
      ClientOut co;
      p.core->OnFrame(Body(frame), co);
      for (auto& e : co.events) p.events.push_back(e);
      if (co.close) p.closed = true;
      for (auto& s : co.sends) {
        Outbox o2;
        server->OnFrame(c, Body(s), now, o2);
        for (auto& n : o2.notices) notices.push_back(n);
        for (ConnId x : o2.closes) peers[x].closed = true;
        for (auto& x : o2.sends) q.push_back(x);
      }
    }
  }
  void Send(ConnId c, const Message& m) { Raw(c, peers[c].core->Seal(m)); }
  void Raw(ConnId c, const std::string& frame) {
    Outbox out;
    server->OnFrame(c, Body(frame), now, out);
    Apply(out);
  }
  void Tick(double t) {
    now = t;
    Outbox out;
    server->OnTick(now, 42, out);
    Apply(out);
  }
  bool Has(ConnId c, ClientEvent::Kind k) const {
    for (auto& e : peers.at(c).events) {
      if (e.kind == k) return true;
    }
    return false;
  }
  const ClientEvent* Last(ConnId c, ClientEvent::Kind k) const {
    const ClientEvent* r = nullptr;
    for (auto& e : peers.at(c).events) {
      if (e.kind == k) r = &e;
    }
    return r;
  }
  std::unique_ptr<ServerCore> server;
  std::map<ConnId, Peer> peers;
  std::vector<std::string> notices;
  ConnId next = 1;
  double now = 0;
};

using K = ClientEvent::Kind;

TEST(PlaneServer, RendezvousCompletesWhenAllJoinedAndRankZeroAnnounced) {
  Job j(8);
  std::vector<ConnId> c;
  for (std::uint32_t i = 0; i < 8; ++i) c.push_back(j.Connect(i, i * 4));
  for (ConnId x : c) EXPECT_TRUE(j.Has(x, K::kWelcome));
  EXPECT_FALSE(j.server->rendezvous_done());
  j.Send(c[0], Announce{{"host0", 29500, std::string(128, '\x07')}});
  EXPECT_TRUE(j.server->rendezvous_done());
  for (ConnId x : c) {
    const ClientEvent* e = j.Last(x, K::kRendezvous);
    ASSERT_NE(e, nullptr);
    EXPECT_EQ(e->master, (Master{"host0", 29500, std::string(128, '\x07')}));
  }
}

TEST(PlaneServer, AnnounceBeforeOthersJoinAndLateJoinerGetsTheResult) {
  Job j(8);
  const ConnId c0 = j.Connect(0, 0);
  j.Send(c0, Announce{{"host0", 1234, ""}});
  for (std::uint32_t i = 1; i < 7; ++i) j.Connect(i, i);
  EXPECT_FALSE(j.server->rendezvous_done());
  EXPECT_EQ(j.server->Missing(), std::vector<std::uint32_t>{7});
  const ConnId c7 = j.Connect(7, 7);
  EXPECT_TRUE(j.Has(c0, K::kRendezvous));
  EXPECT_TRUE(j.Has(c7, K::kRendezvous));
}

TEST(PlaneServer, OnlyTheRankZeroNodeAnnounces) {
  Job j(8);
  const ConnId c3 = j.Connect(3, 12);
  j.Send(c3, Announce{{"evil", 1, ""}});
  for (std::uint32_t i = 0; i < 8; ++i) {
    if (i != 3) j.Connect(i, i * 4);
  }
  EXPECT_FALSE(j.server->rendezvous_done());
  EXPECT_EQ(j.notices.back(), "ignored an announcement from node 3 (host3): it does not run rank 0");
}

TEST(PlaneServer, MissingNodesAreNamedAtTheDeadline) {
  Job j(8);
  std::vector<ConnId> c;
  for (std::uint32_t i : {0u, 1u, 2u, 4u, 6u}) c.push_back(j.Connect(i, i));
  j.Send(c[0], Announce{{"host0", 1234, ""}});
  for (double t = 1; t < 100; t += 1) {
    for (ConnId x : c) j.Send(x, Heartbeat{});
    j.Tick(t);
  }
  EXPECT_FALSE(j.server->rendezvous_failed());
  j.Tick(100);
  ASSERT_TRUE(j.server->rendezvous_failed());
  for (ConnId x : c) {
    const ClientEvent* e = j.Last(x, K::kRendezvousFailed);
    ASSERT_NE(e, nullptr);
    EXPECT_EQ(e->failed.missing_count, 3u);
    EXPECT_EQ(e->failed.missing, "3,5,7");
    EXPECT_EQ(e->failed.reason, "3 of 8 nodes did not join: node indices 3,5,7");
  }
  // A node that comes after the deadline learns it failed.
  const ConnId late = j.Connect(3, 3);
  EXPECT_TRUE(j.Has(late, K::kRendezvousFailed));
}

TEST(PlaneServer, AllJoinedButNoAnnouncement) {
  Job j(8);
  for (std::uint32_t i = 0; i < 8; ++i) j.Connect(i, i);
  j.Tick(100);
  EXPECT_EQ(j.notices.front(),
            "rendezvous failed: every node joined but the node of rank 0 did not announce its MASTER_ADDR/MASTER_PORT");
}

TEST(PlaneServer, DuplicateNodeIndexIsRefusedWhileTheFirstIsConnected) {
  Job j(8);
  const ConnId a = j.Connect(2, 2);
  const ConnId b = j.Connect(2, 2);
  EXPECT_TRUE(j.Has(a, K::kWelcome));
  ASSERT_TRUE(j.Has(b, K::kRejected));
  EXPECT_EQ(j.Last(b, K::kRejected)->text,
            "refused by the job's plane: node index 2 already joined from host2, now again from host2");
  EXPECT_TRUE(j.peers[b].closed);
  EXPECT_FALSE(j.peers[a].closed);
  // After the first one's connection dropped, the node may come back.
  Outbox out;
  j.server->OnDisconnect(a, j.now, out);
  const ConnId c = j.Connect(2, 2);
  EXPECT_TRUE(j.Has(c, K::kWelcome));
}

TEST(PlaneServer, FirstFailureWinsAndReachesEveryNode) {
  Job j(8);
  std::vector<ConnId> c;
  for (std::uint32_t i = 0; i < 8; ++i) c.push_back(j.Connect(i, i));
  j.Send(c[5], Failure{5, 99 /* ignored: the sender's index counts */, "host5", 3, 0, 1000, "exit code 3"});
  j.Send(c[2], Failure{2, 2, "host2", 0, 9, 1001, "signal 9"});
  ASSERT_TRUE(j.server->first_failure());
  EXPECT_EQ(j.server->first_failure()->node, 5u);
  for (ConnId x : c) {
    int n = 0;
    for (auto& e : j.peers[x].events) n += e.kind == K::kFailure;
    EXPECT_EQ(n, 1);
    EXPECT_EQ(j.Last(x, K::kFailure)->failure.rank, 5u);
    EXPECT_EQ(j.Last(x, K::kFailure)->failure.code, 3);
  }
  // A node joining later hears of it too.
  Job j2(2);
  const ConnId a = j2.Connect(0, 0);
  j2.Send(a, Failure{0, 0, "host0", 1, 0, 1, ""});
  const ConnId b = j2.Connect(1, 1);
  EXPECT_TRUE(j2.Has(b, K::kFailure));
}

// --preflight: one report per node after the rendezvous; the judge reads
// them all at once, in node order; the verdict reaches every node.
TEST(PlaneServer, PreflightVerdictOnceEveryNodeReported) {
  std::vector<std::vector<std::string>> judged;
  auto judge = [&](const std::vector<std::string>& reports) {
    judged.push_back(reports);
    PreflightVerdict v;
    v.ok = true;
    for (std::uint32_t i = 0; i < reports.size(); ++i) {
      if (v.ok && reports[i] != "good") v = {false, Failure{kNoRank, i, "host" + std::to_string(i), 8, 0, 7, "bad"}};
    }
    return v;
  };
  auto with_preflight = [&](ServerOptions& o) {
    o.preflight = true;
    o.preflight_timeout = 30;
    o.heartbeat_timeout = 1000;  // silent nodes are not lost here
    o.judge = judge;
  };
  Job j(3, AuthMode::kSecret, with_preflight);
  std::vector<ConnId> c;
  for (std::uint32_t i = 0; i < 3; ++i) c.push_back(j.Connect(i, i));
  j.Send(c[0], Announce{{"host0", 29500, ""}});
  j.Send(c[2], PreflightReport{"good"});
  j.Send(c[0], PreflightReport{"good"});
  j.Send(c[0], PreflightReport{"bad"});  // a second report is ignored
  EXPECT_TRUE(judged.empty());
  for (ConnId x : c) EXPECT_FALSE(j.Has(x, K::kPreflightDone));
  j.Send(c[1], PreflightReport{"good"});
  ASSERT_EQ(judged.size(), 1u);
  EXPECT_EQ(judged[0], (std::vector<std::string>{"good", "good", "good"}));
  for (ConnId x : c) {
    ASSERT_NE(j.Last(x, K::kPreflightDone), nullptr);
    EXPECT_EQ(j.Last(x, K::kPreflightDone)->preflight_nodes, 3u);
    EXPECT_FALSE(j.Has(x, K::kFailure));
  }
  j.Tick(40);  // past the timeout: nothing more, the round is over
  for (ConnId x : c) EXPECT_FALSE(j.Has(x, K::kFailure));

  // One bad node: the judge's failure (no rank, exit code 8) to every node.
  Job bad(2, AuthMode::kSecret, with_preflight);
  const ConnId b0 = bad.Connect(0, 0), b1 = bad.Connect(1, 1);
  bad.Send(b0, Announce{{"host0", 29500, ""}});
  bad.Send(b1, PreflightReport{"no gpu"});
  bad.Send(b0, PreflightReport{"good"});
  for (ConnId x : {b0, b1}) {
    EXPECT_FALSE(bad.Has(x, K::kPreflightDone));
    const ClientEvent* e = bad.Last(x, K::kFailure);
    ASSERT_NE(e, nullptr);
    EXPECT_EQ(e->failure.node, 1u);
    EXPECT_EQ(e->failure.code, 8);
    EXPECT_EQ(e->failure.rank, kNoRank);
  }
}

TEST(PlaneServer, PreflightReportsMissingAtTheTimeoutAreAFailure) {
  Job j(4, AuthMode::kSecret, [](ServerOptions& o) {
    o.preflight = true;
    o.preflight_timeout = 30;
    o.heartbeat_timeout = 1000;
    o.judge = [](const std::vector<std::string>&) { return PreflightVerdict{true, {}}; };
  });
  std::vector<ConnId> c;
  for (std::uint32_t i = 0; i < 4; ++i) c.push_back(j.Connect(i, i));
  j.Tick(10);
  j.Send(c[0], Announce{{"host0", 29500, ""}});  // the rendezvous completes at t=10
  j.Send(c[0], PreflightReport{"r"});
  j.Send(c[3], PreflightReport{"r"});
  EXPECT_LE(j.server->NextDeadline(10), 1.0);
  j.Tick(39);
  for (ConnId x : c) EXPECT_FALSE(j.Has(x, K::kFailure));
  j.Tick(40.5);
  for (ConnId x : c) {
    const ClientEvent* e = j.Last(x, K::kFailure);
    ASSERT_NE(e, nullptr);
    EXPECT_EQ(e->failure.code, 8);
    EXPECT_EQ(e->failure.node, 1u);
    EXPECT_NE(e->failure.cause.find("no pre-flight report from 2 of 4 nodes within 30 s of the rendezvous: node "
                                    "indices 1-2"),
              std::string::npos)
        << e->failure.cause;
  }
}

TEST(PlaneServer, APreflightReportNodeZeroDidNotAskForIsAUsageError) {
  Job j(2);
  const ConnId a = j.Connect(0, 0), b = j.Connect(1, 1);
  j.Send(a, Announce{{"host0", 29500, ""}});
  j.Send(b, PreflightReport{"r"});
  for (ConnId x : {a, b}) {
    const ClientEvent* e = j.Last(x, K::kFailure);
    ASSERT_NE(e, nullptr);
    EXPECT_EQ(e->failure.code, 2);
    EXPECT_NE(e->failure.cause.find("node 1 (host1) ran a pre-flight check that node 0 did not"), std::string::npos)
        << e->failure.cause;
  }
}

// A node that leaves while the job restarts (stopped from outside in its
// back-off) ends the restarts: the others hear of it, their barrier does
// not wait for it, and no further attempt starts. A Bye after the last
// Restart is no failure.
TEST(PlaneServer, ANodeLeavingDuringRestartsEndsThem) {
  Job j(3, AuthMode::kSecret, [](ServerOptions& o) {
    o.max_restarts = 2;
    o.heartbeat_timeout = 1000;
  });
  std::vector<ConnId> c;
  for (std::uint32_t i = 0; i < 3; ++i) c.push_back(j.Connect(i, i));
  j.Send(c[0], Announce{{"host0", 29500, ""}});
  j.Send(c[2], Failure{2, 2, "host2", 3, 0, 1, "exit code 3"});
  for (ConnId x : c) j.Send(x, Stopped{0, x == c[2], ""});
  for (ConnId x : c) ASSERT_EQ(j.Last(x, K::kRestart)->restart.attempt, 1u);
  // Node 1 is stopped in its back-off: it says so, then leaves.
  j.Send(c[1], Failure{kNoRank, 1, "host1", 0, 15, 2, "stopped by SIGTERM during the restart back-off"});
  j.Send(c[1], Bye{});
  for (ConnId x : {c[0], c[2]}) {
    EXPECT_EQ(j.Last(x, K::kFailure)->failure.cause, "stopped by SIGTERM during the restart back-off");
    j.Send(x, Stopped{1, false, ""});
  }
  for (ConnId x : {c[0], c[2]}) EXPECT_EQ(j.Last(x, K::kRestart)->restart.attempt, kNoMoreAttempts);

  // Leaving without a word in attempt 1 is a failure of its own.
  Job k(2, AuthMode::kSecret, [](ServerOptions& o) {
    o.max_restarts = 1;
    o.heartbeat_timeout = 1000;
  });
  const ConnId a = k.Connect(0, 0), b = k.Connect(1, 1);
  k.Send(a, Announce{{"host0", 29500, ""}});
  k.Send(b, Bye{});
  EXPECT_NE(k.Last(a, K::kFailure)->failure.cause.find("node 1 (host1) left the job during its restarts"),
            std::string::npos);
  k.Send(a, Stopped{0, false, ""});
  EXPECT_EQ(k.Last(a, K::kRestart)->restart.attempt, kNoMoreAttempts);

  // Every node done: the last Restart, then Byes, and no failure.
  Job ok(2, AuthMode::kSecret, [](ServerOptions& o) {
    o.max_restarts = 2;
    o.heartbeat_timeout = 1000;
  });
  const ConnId p = ok.Connect(0, 0), q = ok.Connect(1, 1);
  ok.Send(p, Announce{{"host0", 29500, ""}});
  ok.Send(p, Stopped{0, false, ""});
  ok.Send(q, Stopped{0, false, ""});
  EXPECT_EQ(ok.Last(p, K::kRestart)->restart.attempt, kNoMoreAttempts);
  ok.Send(q, Bye{});
  EXPECT_FALSE(ok.Has(p, K::kFailure));
}

// 64 nodes that join at the same moment get their heartbeats spread over the
// interval, not all in one tick; each gets one within the first interval.
TEST(PlaneServer, HeartbeatsOfNodesThatJoinedTogetherAreSpread) {
  Job j(64);
  std::vector<ConnId> c;
  for (std::uint32_t i = 0; i < 64; ++i) c.push_back(j.Connect(i, i));
  auto beats = [&](ConnId x) {
    std::size_t n = 0;
    for (const auto& f : j.peers[x].received) n += static_cast<std::uint8_t>(f[5]) == TypeOf(Heartbeat{});
    return n;
  };
  std::size_t before = 0, most = 0;
  for (int t = 1; t <= 20; ++t) {
    j.Tick(t * 0.05);
    std::size_t total = 0;
    for (ConnId x : c) total += beats(x);
    most = std::max(most, total - before);
    before = total;
  }
  for (ConnId x : c) EXPECT_EQ(beats(x), 1u) << x;
  EXPECT_LE(most, 8u);
}

TEST(PlaneServer, SilentNodeIsLostAfterTheHeartbeatTimeout) {
  Job j(8);
  std::vector<ConnId> c;
  for (std::uint32_t i = 0; i < 8; ++i) c.push_back(j.Connect(i, i));
  for (double t = 1; t <= 4; t += 1) {
    for (std::uint32_t i = 0; i < 8; ++i) {
      if (i != 6) j.Send(c[i], Heartbeat{});
    }
    j.Tick(t);
  }
  EXPECT_FALSE(j.server->first_failure());
  for (std::uint32_t i = 0; i < 8; ++i) {
    if (i != 6) j.Send(c[i], Heartbeat{});
  }
  j.Tick(5);
  ASSERT_TRUE(j.server->first_failure());
  EXPECT_EQ(j.server->first_failure()->node, 6u);
  EXPECT_EQ(j.server->first_failure()->cause,
            "node 6 (host6) lost: no word from its rankwrap for 5.0 s (killed, or its host is down)");
  EXPECT_EQ(j.server->first_failure()->time_ms, 42);
  EXPECT_TRUE(j.peers[c[6]].closed);
  EXPECT_TRUE(j.Has(c[0], K::kFailure));
}

TEST(PlaneServer, DroppedConnectionCountsAfterTheTimeoutUnlessItSaidBye) {
  Job j(3);
  const ConnId a = j.Connect(0, 0), b = j.Connect(1, 1), c = j.Connect(2, 2);
  j.Send(c, Bye{});
  EXPECT_TRUE(j.peers[c].closed);
  Outbox out;
  j.server->OnDisconnect(b, 0, out);
  j.Tick(4.9);
  EXPECT_FALSE(j.server->first_failure());
  j.Send(a, Heartbeat{});
  j.Tick(5.0);
  ASSERT_TRUE(j.server->first_failure());
  EXPECT_EQ(j.server->first_failure()->node, 1u);
  EXPECT_NE(j.server->first_failure()->cause.find("after its connection dropped"), std::string::npos);
  EXPECT_FALSE(j.server->AllSaidBye());
  j.Send(a, Bye{});
  EXPECT_TRUE(j.server->AllSaidBye());
}

TEST(PlaneServer, StrangersAreRefused) {
  Job j(8);
  // A wrong secret.
  const ConnId w = j.Connect(1, 1, "not-the-job-secret-at-all");
  ASSERT_TRUE(j.Has(w, K::kRejected));
  EXPECT_EQ(j.Last(w, K::kRejected)->text,
            "refused by the job's plane: authentication failed: hello from host1 not signed with the job's key");
  // Another job's node on this port: it moves on by itself.
  const ConnId o = j.Connect(1, 1, kSecret, "job.2");
  EXPECT_TRUE(j.Has(o, K::kWrongServer));
  // An insecure node against a secret plane.
  const ConnId i = j.Connect(1, 1, "", "job.1", AuthMode::kInsecure);
  EXPECT_EQ(j.Last(i, K::kRejected)->text, "the job's plane authenticates with secret, this node with insecure");
  // Junk.
  const ConnId junk = j.next++;
  j.peers[junk].core = std::make_unique<ClientCore>(ClientOptions{}, N(1), "");
  Outbox out;
  j.server->OnConnect(junk, N(junk), 0, out);
  j.Apply(out);
  j.Raw(junk, LengthPrefix(12) + "GET / HTTP/1");
  EXPECT_TRUE(j.peers[junk].closed);
  EXPECT_EQ(j.notices.back(), "refused a connection: malformed message: version 71, this rankwrap speaks 1");
  // A connection that never says hello.
  const ConnId mute = j.next++;
  j.peers[mute].core = std::make_unique<ClientCore>(ClientOptions{}, N(1), "");
  Outbox o2;
  j.server->OnConnect(mute, N(mute), 0, o2);
  j.Apply(o2);
  j.Tick(5);
  EXPECT_TRUE(j.peers[mute].closed);
  EXPECT_EQ(j.server->connections(), 0u);
  EXPECT_EQ(j.server->Missing().size(), 8u);
}

TEST(PlaneServer, ReplayedHelloAndMessagesAreRefused) {
  Job j(8);
  const ConnId a = j.Connect(1, 1);
  ASSERT_TRUE(j.Has(a, K::kWelcome));
  // Capture node 1's hello: it is the first frame its core produced; rebuild
  // it by re-running the same client against the same challenge.
  ClientCore copy(ClientOptions{"job.1", 1, 8, "host1", 1, AuthMode::kSecret, kSecret}, N(1000 + a),
                  std::string(32, 'm'));
  ClientOut co;
  copy.OnFrame(Body(j.peers[a].received[0]), co);
  ASSERT_EQ(co.sends.size(), 1u);
  const std::string hello = co.sends[0];
  // Replayed into a new connection (new server nonce): refused.
  const ConnId r = j.next++;
  j.peers[r].core = std::make_unique<ClientCore>(ClientOptions{}, N(1), "");
  Outbox out;
  j.server->OnConnect(r, N(r), 0, out);
  j.Apply(out);
  j.Raw(r, hello);
  EXPECT_TRUE(j.peers[r].closed);
  EXPECT_EQ(j.notices.back(),
            "refused a connection: authentication failed: hello from host1 not signed with the job's key");
  // A captured failure replayed on the node's own connection: stale number, connection dropped.
  const std::string fail = j.peers[a].core->Seal(Heartbeat{});
  j.Raw(a, fail);
  j.Raw(a, fail);
  EXPECT_EQ(
      j.notices.back(),
      "closed the connection of node 1 (host1): heartbeat: sequence number 1, expected 2 (a replayed or lost message)");
  EXPECT_FALSE(j.server->first_failure());
}

TEST(PlaneServer, ShutdownReachesEveryNode) {
  Job j(2);
  const ConnId a = j.Connect(0, 0), b = j.Connect(1, 1);
  Outbox out;
  j.server->Shutdown("job done", out);
  j.Apply(out);
  EXPECT_EQ(j.Last(a, K::kShutdown)->text, "job done");
  EXPECT_TRUE(j.Has(b, K::kShutdown));
  EXPECT_EQ(j.server->connections(), 0u);
}

TEST(PlaneServer, InsecureModeWorksWithoutKeys) {
  Job j(2, AuthMode::kInsecure);
  const ConnId a = j.Connect(0, 0, "", "job.1", AuthMode::kInsecure);
  const ConnId b = j.Connect(1, 1, "", "job.1", AuthMode::kInsecure);
  j.Send(a, Announce{{"h", 5, ""}});
  EXPECT_TRUE(j.Has(b, K::kRendezvous));
}

TEST(PlaneClient, AFakeServerCannotWelcome) {
  // A squatter on the job's port answers with the right job id but cannot
  // compute the session key: the client accepts nothing from it.
  ClientCore c(ClientOptions{"job.1", 1, 8, "host1", 1, AuthMode::kSecret, kSecret}, N(5), "");
  ClientOut out;
  c.OnFrame(Body(Seal(Challenge{AuthMode::kSecret, "job.1", N(6)}, 0, AuthMode::kSecret, "", Direction::kToClient)),
            out);
  ASSERT_EQ(out.sends.size(), 1u);
  ClientOut out2;
  c.OnFrame(Body(Seal(RendezvousDone{{"evil", 1, ""}}, 1, AuthMode::kSecret, "guessed-key", Direction::kToClient)),
            out2);
  ASSERT_EQ(out2.events.size(), 1u);
  EXPECT_EQ(out2.events[0].kind, K::kRejected);
  EXPECT_EQ(out2.events[0].text,
            "the server failed authentication: rendezvous: wrong tag (not signed with this connection's key)");
  EXPECT_TRUE(out2.close);
  EXPECT_FALSE(c.ready());
}

TEST(PlaneServer, MungeModeWithAFakeMunge) {
  // The fake munge: a credential is "CRED:" + payload, decodable once.
  std::set<std::string> used;
  CredentialMaker make = [](std::string_view p) -> Result<std::string, Refusal> { return "CRED:" + std::string(p); };
  CredentialCheck check = [&used](std::string_view c) -> Result<std::string, Refusal> {
    if (c.substr(0, 5) != "CRED:") return Refusal{"Invalid credential format"};
    if (!used.insert(std::string(c)).second) return Refusal{"Replayed credential"};
    return std::string(c.substr(5));
  };
  ServerOptions o;
  o.job_id = "job.1";
  o.node_count = 2;
  o.mode = AuthMode::kMunge;
  o.rendezvous_deadline = 100;
  ServerCore server(o, check);
  auto handshake = [&](ConnId id, std::string_view job, std::string* hello_out) {
    ClientCore c(ClientOptions{std::string(job), 1, 2, "host1", 1, AuthMode::kMunge, ""}, N(id), std::string(32, 'q'),
                 make);
    Outbox out;
    server.OnConnect(id, N(100 + id), 0, out);
    ClientOut co;
    c.OnFrame(Body(out.sends[0].second), co);
    if (co.sends.empty()) return std::string("no hello");
    if (hello_out != nullptr) *hello_out = co.sends[0];
    Outbox o2;
    server.OnFrame(id, Body(co.sends[0]), 0, o2);
    ClientOut co2;
    c.OnFrame(Body(o2.sends[0].second), co2);
    return co2.events.empty()                  ? std::string("no event")
           : co2.events[0].kind == K::kWelcome ? std::string("welcome")
                                               : co2.events[0].text;
  };
  std::string hello;
  EXPECT_EQ(handshake(1, "job.1", &hello), "welcome");
  // The same hello (same credential) into a new connection.
  Outbox out;
  server.OnConnect(9, N(109), 0, out);
  Outbox o2;
  server.OnFrame(9, Body(hello), 0, o2);
  ASSERT_EQ(o2.notices.size(), 1u);
  EXPECT_EQ(o2.notices[0], "refused a connection: authentication failed: MUNGE credential: Replayed credential");
  // A credential made for another connection's nonces.
  ServerOptions o3 = o;
  ServerCore other(o3, [](std::string_view c) -> Result<std::string, Refusal> { return std::string(c.substr(5)); });
  Outbox out3;
  other.OnConnect(1, N(55), 0, out3);
  Outbox o4;
  other.OnFrame(1, Body(hello), 0, o4);
  EXPECT_EQ(o4.notices[0],
            "refused a connection: authentication failed: credential made for another job or connection");
}

}  // namespace
}  // namespace rankwrap::plane
