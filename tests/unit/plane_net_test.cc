// The plane's sockets (adapters/net/asio_plane.h) over loopback, both
// address families (stage: plane): a server on the IPv6 loopback, the
// default dual-stack server reached over IPv4 and IPv6, how peers are named,
// and a broadcast written by several threads reaching every node once.
//
// This machine (and CI, which runs on the same image) has an IPv6 loopback;
// where ::1 cannot be bound the IPv6 tests fail and say so rather than skip.
#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <future>
#include <mutex>
#include <thread>
#include <vector>

#include "adapters/net/asio_plane.h"

namespace rankwrap::net {
namespace {

using K = plane::ClientEvent::Kind;
const char* const kSecret = "net-test-secret-0123456789";

// One server and its node leaders on one loop thread; what every node heard
// and what the server noticed, kept for the test to wait on.
class NetJob {
 public:
  NetJob(std::uint32_t nodes, const std::string& bind_addr, unsigned writers = 1) : nodes_(nodes), heard_(nodes) {
    plane::ServerOptions so;
    so.job_id = "net-test";
    so.node_count = nodes;
    so.secret = kSecret;
    so.rendezvous_deadline = MonoNow() + 60;
    so.heartbeat_timeout = 60;
    auto s = Server::Start(
        loop_, so, 0, 1, {},
        [this](const std::string& n) {
          std::lock_guard<std::mutex> l(mu_);
          notices_.push_back(n);
          cv_.notify_all();
        },
        bind_addr, writers);
    if (s) {
      server_ = *s;
    } else {
      start_error_ = s.error().what + ": " + s.error().why;
    }
    thread_ = std::thread([this] { loop_.Run(); });
  }

  ~NetJob() {
    for (auto& c : clients_) c->Close();
    if (server_) {
      auto done = std::make_shared<std::promise<void>>();
      server_->Finish(0, [done] { done->set_value(); });
      done->get_future().wait_for(std::chrono::seconds(5));
    }
    loop_.Stop();
    thread_.join();
  }

  const std::string& start_error() const { return start_error_; }
  std::uint16_t port() const { return server_ ? server_->port() : 0; }

  // Node `node` connects to `host`:port() with `secret`, giving up after `give_up` s.
  std::shared_ptr<Client> Join(std::uint32_t node, const std::string& host, const std::string& secret = kSecret,
                               double give_up = 5) {
    plane::ClientOptions co{"net-test", node, nodes_, "node" + std::to_string(node), node, plane::AuthMode::kSecret,
                            secret};
    ClientTarget t{host, port(), 1, MonoNow() + give_up, 60};
    auto c = Client::Start(loop_, co, t, {}, [this, node](const plane::ClientEvent& e) {
      std::lock_guard<std::mutex> l(mu_);
      heard_[node].push_back(e);
      cv_.notify_all();
    });
    clients_.push_back(c);
    return c;
  }

  // True once `pred` holds (false after 10 s). The accessors below are for
  // `pred` and for Locked's `f`: both run under the lock.
  template <typename Pred>
  bool WaitUntil(Pred pred) {
    std::unique_lock<std::mutex> l(mu_);
    return cv_.wait_for(l, std::chrono::seconds(10), [&] { return pred(); });
  }
  template <typename F>
  auto Locked(F f) {
    std::lock_guard<std::mutex> l(mu_);
    return f();
  }
  // How many events of kind `k` node `node` heard.
  std::size_t Count(std::uint32_t node, K k) const {
    std::size_t n = 0;
    for (const auto& e : heard_[node]) n += e.kind == k;
    return n;
  }
  std::size_t AllHeard(K k) const {
    std::size_t n = 0;
    for (std::uint32_t i = 0; i < nodes_; ++i) n += Count(i, k) > 0;
    return n;
  }
  const plane::ClientEvent* Last(std::uint32_t node, K k) const {
    for (auto it = heard_[node].rbegin(); it != heard_[node].rend(); ++it) {
      if (it->kind == k) return &*it;
    }
    return nullptr;
  }
  const std::vector<std::string>& notices() const { return notices_; }
  BroadcastTiming LastBroadcast() {
    std::promise<BroadcastTiming> p;
    loop_.Post([&] { p.set_value(server_->last_broadcast()); });
    return p.get_future().get();
  }

 private:
  std::uint32_t nodes_;
  Loop loop_;
  std::thread thread_;
  std::shared_ptr<Server> server_;
  std::string start_error_;
  std::vector<std::shared_ptr<Client>> clients_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::vector<plane::ClientEvent>> heard_;
  std::vector<std::string> notices_;
};

// Joins `hosts.size()` nodes (node i through hosts[i]); node 0 announces;
// checks every node got the announcement. The nodes' clients.
std::vector<std::shared_ptr<Client>> Rendezvous(NetJob& job, const std::vector<std::string>& hosts) {
  std::vector<std::shared_ptr<Client>> cs;
  for (std::uint32_t i = 0; i < hosts.size(); ++i) cs.push_back(job.Join(i, hosts[i]));
  cs[0]->Send(plane::Announce{{"node0", 29500, "blob"}});
  EXPECT_TRUE(job.WaitUntil([&] { return job.AllHeard(K::kRendezvous) == hosts.size(); }));
  job.Locked([&] {
    for (std::uint32_t i = 0; i < hosts.size(); ++i) {
      const auto* e = job.Last(i, K::kRendezvous);
      EXPECT_TRUE(e != nullptr && e->master == (plane::Master{"node0", 29500, "blob"}))
          << "node " << i << " via " << hosts[i];
    }
  });
  return cs;
}

// A connection with the wrong secret from `host`: the server's notice for it.
std::string StrangerNotice(NetJob& job, const std::string& host) {
  job.Join(0, host, "not-the-job-secret-at-all");
  job.WaitUntil([&] { return !job.notices().empty(); });
  return job.Locked([&] { return job.notices().empty() ? std::string("(none)") : job.notices().front(); });
}

// "refused a connection from PEER:PORT: REST" with this PEER, a port number
// and REST starting with `rest`.
bool RefusedFrom(const std::string& n, const std::string& peer, const std::string& rest) {
  const std::string head = "refused a connection from " + peer + ":";
  if (n.rfind(head, 0) != 0) return false;
  std::size_t i = head.size();
  const std::size_t digits = i;
  while (i < n.size() && n[i] >= '0' && n[i] <= '9') ++i;
  return i > digits && n.compare(i, 2 + rest.size(), ": " + rest) == 0;
}

TEST(PlaneNet, ServerOnTheIpv6LoopbackServesIpv6Nodes) {
  NetJob job(2, "::1");
  ASSERT_EQ(job.start_error(), "") << "this machine has no usable IPv6 loopback (::1), which this test needs: enable "
                                      "IPv6 on lo (sysctl net.ipv6.conf.lo.disable_ipv6=0)";
  Rendezvous(job, {"::1", "::1"});
  const std::string n = StrangerNotice(job, "::1");
  EXPECT_TRUE(RefusedFrom(n, "[::1]", "authentication failed")) << n;
}

TEST(PlaneNet, DefaultServerIsDualStack) {
  NetJob job(3, "");
  ASSERT_EQ(job.start_error(), "");
  Rendezvous(job, {"127.0.0.1", "::1", "localhost"});
  // An IPv4 peer of the dual-stack socket is named by its IPv4 address.
  const std::string n = StrangerNotice(job, "127.0.0.1");
  EXPECT_TRUE(RefusedFrom(n, "127.0.0.1", "authentication")) << n;
}

TEST(PlaneNet, AnIpv4OnlyServerIsNotReachedOverIpv6AndTheErrorSaysWhere) {
  NetJob job(1, "0.0.0.0");
  ASSERT_EQ(job.start_error(), "");
  job.Join(0, "::1", kSecret, 0.3);
  ASSERT_TRUE(job.WaitUntil([&] { return job.Count(0, K::kRejected) == 1; }));
  const std::string want = "cannot reach the job's control plane at [::1]:" + std::to_string(job.port()) + ": ";
  EXPECT_EQ(job.Locked([&] { return job.Last(0, K::kRejected)->text.substr(0, want.size()); }), want);
}

TEST(PlaneNet, BindAddressMustBeAnAddress) {
  Loop loop;
  plane::ServerOptions so;
  auto s = Server::Start(loop, so, 0, 1, {}, {}, "node-07");
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().what, "bind address node-07");
  EXPECT_EQ(s.error().hint, "use an IPv4 or IPv6 address (or none: every address)");
}

// Enough nodes for the server to write the broadcast from 3 threads: every
// node hears the failure exactly once, intact (each frame opened under its
// own connection's key and sequence number by the client).
TEST(PlaneNet, ABroadcastFromSeveralWritersReachesEveryNodeOnce) {
  const std::uint32_t n = 300;
  NetJob job(n, "127.0.0.1", 3);
  ASSERT_EQ(job.start_error(), "");
  auto cs = Rendezvous(job, std::vector<std::string>(n, "127.0.0.1"));
  plane::Failure f;
  f.rank = 7;
  f.host = "node7";
  f.code = 3;
  f.cause = "exit code 3";
  cs[7]->Send(f);
  ASSERT_TRUE(job.WaitUntil([&] { return job.AllHeard(K::kFailure) == n; }));
  std::this_thread::sleep_for(std::chrono::milliseconds(100));  // room for a duplicate to show
  job.Locked([&] {
    for (std::uint32_t i = 0; i < n; ++i) {
      EXPECT_EQ(job.Count(i, K::kFailure), 1u) << i;
      EXPECT_EQ(job.Count(i, K::kBroken), 0u) << i;
      const auto& got = job.Last(i, K::kFailure)->failure;
      EXPECT_TRUE(got.node == 7 && got.rank == 7 && got.code == 3 && got.cause == "exit code 3") << i;
    }
  });
  EXPECT_EQ(job.LastBroadcast().frames, n);
}

}  // namespace
}  // namespace rankwrap::net
