// The job control plane at scale, over loopback (bench/run row 9): one
// server process (as node 0's keeper would run it) and N simulated node
// leaders, each its own authenticated TCP connection, spread over a few Asio
// loops in this process. Measures: time until every node has the rank-0
// announcement; the failure fan-out (one node reports, the last node hears)
// and the server's part of it (state machine, sends); the CPU time of the
// server and of the node leaders during the fan-out; the server's resident
// memory per connected node.
//
//   rankwrap_plane_bench --nodes N [--loops T] [--writers W]    -> one JSON line
//
// --writers: the server's threads for a broadcast (default: as a keeper
// would choose, net::AutoWriters).
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include "adapters/net/asio_plane.h"

using namespace rankwrap;

namespace {

long RssKib() {
  std::ifstream f("/proc/self/statm");
  long pages = 0, rss = 0;
  f >> pages >> rss;
  return rss * (sysconf(_SC_PAGESIZE) / 1024);
}

void RaiseFileLimit(rlim_t want) {
  rlimit r{};
  getrlimit(RLIMIT_NOFILE, &r);
  if (r.rlim_cur >= want) return;
  rlimit n{want, std::max(want, r.rlim_max)};
  if (setrlimit(RLIMIT_NOFILE, &n) != 0) {
    n.rlim_cur = r.rlim_max;  // not root: as far as allowed
    n.rlim_max = r.rlim_max;
    setrlimit(RLIMIT_NOFILE, &n);
  }
}

long CpuUs() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000L + ru.ru_utime.tv_usec + ru.ru_stime.tv_usec;
}

const char* kSecret = "bench-secret-0123456789abcdef";

// What the server process reports when asked: its memory, its CPU time and
// its last broadcast's two parts (net::BroadcastTiming), in microseconds.
struct ServerReport {
  long rss_base_kib = 0, rss_kib = 0, cpu_us = 0, core_us = 0, send_us = 0;
};

// The server process: reports its port, then a ServerReport whenever asked.
[[noreturn]] void ServeChild(std::uint32_t nodes, unsigned writers, int to_parent, int from_parent) {
  net::Loop loop;
  const long base = RssKib();
  plane::ServerOptions so;
  so.job_id = "bench.0";
  so.node_count = nodes;
  so.mode = plane::AuthMode::kSecret;
  so.secret = kSecret;
  so.rendezvous_deadline = net::MonoNow() + 600;
  so.heartbeat_interval = 1;
  so.heartbeat_timeout = 60;
  so.handshake_timeout = 60;
  auto s = net::Server::Start(loop, so, 0, 1, {}, {}, "127.0.0.1", writers);
  if (!s) _exit(2);
  std::thread t([&] { loop.Run(); });
  const std::uint16_t port = (*s)->port();
  if (write(to_parent, &port, sizeof port) != sizeof port) _exit(2);
  char c;
  while (read(from_parent, &c, 1) == 1) {
    std::promise<net::BroadcastTiming> last;
    loop.Post([&] { last.set_value((*s)->last_broadcast()); });
    const net::BroadcastTiming b = last.get_future().get();
    const ServerReport r{base, RssKib(), CpuUs(), static_cast<long>(b.core_s * 1e6), static_cast<long>(b.send_s * 1e6)};
    if (write(to_parent, &r, sizeof r) != sizeof r) break;
  }
  _exit(0);
}

}  // namespace

int main(int argc, char** argv) {
  std::uint32_t nodes = 1000;
  unsigned loops = 4, writers = 0;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--nodes") == 0) nodes = static_cast<std::uint32_t>(std::atoi(argv[i + 1]));
    if (std::strcmp(argv[i], "--loops") == 0) loops = static_cast<unsigned>(std::atoi(argv[i + 1]));
    if (std::strcmp(argv[i], "--writers") == 0) writers = static_cast<unsigned>(std::atoi(argv[i + 1]));
  }
  if (writers == 0) writers = net::AutoWriters(nodes);
  RaiseFileLimit(static_cast<rlim_t>(nodes) * 2 + 1024);
  int up[2], down[2];
  if (pipe(up) != 0 || pipe(down) != 0) return 2;
  const pid_t child = fork();
  if (child == 0) {
    close(up[0]);
    close(down[1]);
    ServeChild(nodes, writers, up[1], down[0]);
  }
  close(up[1]);
  close(down[0]);
  std::uint16_t port = 0;
  if (read(up[0], &port, sizeof port) != sizeof port) return 2;

  std::vector<std::unique_ptr<net::Loop>> ls;
  for (unsigned i = 0; i < loops; ++i) ls.push_back(std::make_unique<net::Loop>());
  std::atomic<std::uint32_t> rendezvous{0}, failures{0}, errors{0};
  std::atomic<bool> finished{false};
  std::atomic<double> last_rdv{0}, last_fail{0};
  std::vector<std::shared_ptr<net::Client>> clients(nodes);
  const double t0 = net::MonoNow();
  auto bump = [](std::atomic<double>& a, double v) {
    double cur = a.load();
    while (v > cur && !a.compare_exchange_weak(cur, v)) {
    }
  };
  for (std::uint32_t i = 0; i < nodes; ++i) {
    plane::ClientOptions co{"bench.0", i, nodes, "node" + std::to_string(i), i, plane::AuthMode::kSecret, kSecret};
    net::ClientTarget t{"127.0.0.1", port, 1, t0 + 300, 60};
    clients[i] = net::Client::Start(*ls[i % loops], co, t, {}, [&](const plane::ClientEvent& e) {
      using K = plane::ClientEvent::Kind;
      if (e.kind == K::kRendezvous) {
        bump(last_rdv, net::MonoNow());
        rendezvous++;
      } else if (e.kind == K::kFailure) {
        bump(last_fail, net::MonoNow());
        failures++;
      } else if (e.kind != K::kWelcome && !finished.load()) {
        if (errors++ < 3) std::fprintf(stderr, "node event: %s\n", e.text.c_str());
      }
    });
  }
  clients[0]->Send(plane::Announce{{"node0", 29500, std::string(128, 'x')}});
  std::vector<std::thread> ths;
  for (auto& l : ls) ths.emplace_back([&l] { l->Run(); });
  while (rendezvous.load() + errors.load() < nodes && net::MonoNow() - t0 < 300) usleep(2000);
  const double rdv_s = last_rdv.load() - t0;
  // The server's memory with every node connected.
  ServerReport rss, after;
  if (write(down[1], "m", 1) != 1 || read(up[0], &rss, sizeof rss) != sizeof rss) return 2;
  // Failure fan-out: node nodes/2 reports; the time until the last node hears.
  const long clients_cpu0 = CpuUs();
  const double tf = net::MonoNow();
  plane::Failure f;
  f.rank = nodes / 2;
  f.host = "node" + std::to_string(nodes / 2);
  f.code = 1;
  f.time_ms = net::WallMs();
  clients[nodes / 2]->Send(f);
  while (failures.load() < rendezvous.load() && net::MonoNow() - tf < 30) usleep(500);
  const double fan_ms = (last_fail.load() - tf) * 1000;
  const long clients_cpu = CpuUs() - clients_cpu0;
  // The server's CPU time for it (all its threads: the fan-out, and the
  // heartbeats that fell in the same interval) and where its own part went.
  if (write(down[1], "m", 1) != 1 || read(up[0], &after, sizeof after) != sizeof after) return 2;
  std::printf(
      "{\"nodes\": %u, \"writers\": %u, \"rendezvous_ok\": %u, \"errors\": %u, \"rendezvous_s\": %.3f, "
      "\"failure_heard\": %u, \"fanout_ms\": %.1f, \"server_core_ms\": %.1f, \"server_send_ms\": %.1f, "
      "\"server_fanout_cpu_ms\": %.1f, \"clients_fanout_cpu_ms\": %.1f, \"server_rss_base_kib\": %ld, "
      "\"server_rss_kib\": %ld, \"bytes_per_node\": %.0f}\n",
      nodes, writers, rendezvous.load(), errors.load(), rdv_s, failures.load(), fan_ms,
      static_cast<double>(after.core_us) / 1000.0, static_cast<double>(after.send_us) / 1000.0,
      static_cast<double>(after.cpu_us - rss.cpu_us) / 1000.0, static_cast<double>(clients_cpu) / 1000.0,
      rss.rss_base_kib, rss.rss_kib, static_cast<double>(rss.rss_kib - rss.rss_base_kib) * 1024.0 / nodes);
  std::fflush(stdout);
  finished = true;
  kill(child, SIGKILL);
  waitpid(child, nullptr, 0);
  _exit(0);  // tearing down 10,000 sockets is not what is measured
}
