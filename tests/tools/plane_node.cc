// A node leader of a simulated job for tests/integration/plane.sh: runs
// app::Plane as a keeper would (rendezvous, failures, shutdown), or plays an
// attacker (junk bytes, a recording proxy, replays of recorded frames).
//
//   plane_node --job J --nodes N --node I --port P [--server-host H] [--host NAME]
//              [--auth secret|insecure|munge] [--timeout S] [--hb-timeout S]
//              [--fail-after S --code C] [--run S] [--linger S]
//   plane_node --junk --port P                 # sends junk, prints the reply
//   plane_node --proxy LISTEN --port P --record FILE   # forwards one connection, records client frames
//   plane_node --replay FILE --port P          # a new connection, the recorded frames again
// Prints one line per event on stdout: "node I rendezvous HOST PORT blob=N",
// "node I failure node=X rank=R code=C cause=... latency_ms=L", "node I error: ...".
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <string>
#include <thread>

#include "adapters/net/asio_plane.h"
#include "app/plane.h"
#include "core/plane/message.h"

using namespace rankwrap;

namespace {

std::map<std::string, std::string> ParseArgs(int argc, char** argv) {
  std::map<std::string, std::string> a;
  for (int i = 1; i < argc; ++i) {
    std::string k = argv[i];
    if (k.rfind("--", 0) != 0) continue;
    if (i + 1 < argc && std::string(argv[i + 1]).rfind("--", 0) != 0) {
      a[k.substr(2)] = argv[++i];
    } else {
      a[k.substr(2)] = "1";
    }
  }
  return a;
}

// Connects to the loopback port, retrying for up to 10 s (the server may
// start after its clients, as on a real job).
int Dial(int port) {
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(static_cast<std::uint16_t>(port));
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  for (int i = 0; i < 200; ++i) {
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0) return fd;
    close(fd);
    usleep(50000);
  }
  std::perror("connect");
  std::exit(2);
}

bool ReadN(int fd, char* p, std::size_t n) {
  while (n > 0) {
    const ssize_t r = read(fd, p, n);
    if (r <= 0) return false;
    p += r;
    n -= static_cast<std::size_t>(r);
  }
  return true;
}

// Reads one frame; empty at EOF.
std::string ReadFrame(int fd) {
  char head[4];
  if (!ReadN(fd, head, 4)) return {};
  auto n = plane::FrameLength(reinterpret_cast<std::uint8_t*>(head));
  if (!n) return {};
  std::string body(*n, '\0');
  if (!ReadN(fd, body.data(), body.size())) return {};
  return std::string(head, 4) + body;
}

// Prints what the server answered until it closes (Reject reasons decoded).
int Answers(int fd, const char* who) {
  int rejects = 0;
  for (;;) {
    const std::string f = ReadFrame(fd);
    if (f.empty()) break;
    auto d = plane::DecodeBody(std::string_view(f).substr(4), plane::AuthMode::kInsecure);
    if (d && std::holds_alternative<plane::Reject>(d->message)) {
      std::printf("%s: rejected: %s\n", who, std::get<plane::Reject>(d->message).reason.c_str());
      ++rejects;
    } else if (d) {
      std::printf("%s: got %s\n", who, plane::TypeName(plane::TypeOf(d->message)));
    }
  }
  std::printf("%s: closed by the server\n", who);
  return rejects > 0 ? 0 : 1;
}

int Junk(int port) {
  const int fd = Dial(port);
  const char junk[] = "\x00\x00\x00\x20GET / HTTP/1.1\r\nHost: x\r\n\r\n.....";
  [[maybe_unused]] ssize_t w = write(fd, junk, sizeof junk - 1);
  return Answers(fd, "junk");
}

// Forwards one connection to the server, writing each client-to-server frame
// to `record` (what an eavesdropper on the wire sees).
int Proxy(int listen_port, int port, const std::string& record) {
  const int l = socket(AF_INET, SOCK_STREAM, 0);
  const int one = 1;
  setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(static_cast<std::uint16_t>(listen_port));
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(l, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0 || listen(l, 4) != 0) {
    std::perror("proxy bind");
    return 2;
  }
  std::printf("proxy: listening\n");
  std::fflush(stdout);
  const int c = accept(l, nullptr, nullptr);
  const int s = Dial(port);
  std::ofstream out(record, std::ios::binary);
  std::string pending;
  pollfd p[2] = {{c, POLLIN, 0}, {s, POLLIN, 0}};
  char buf[4096];
  for (;;) {
    if (poll(p, 2, -1) < 0) break;
    if (p[0].revents != 0) {
      const ssize_t n = read(c, buf, sizeof buf);
      if (n <= 0) break;
      [[maybe_unused]] ssize_t w = write(s, buf, static_cast<std::size_t>(n));
      out.write(buf, n);
      out.flush();
    }
    if (p[1].revents != 0) {
      const ssize_t n = read(s, buf, sizeof buf);
      if (n <= 0) break;
      [[maybe_unused]] ssize_t w = write(c, buf, static_cast<std::size_t>(n));
    }
  }
  return 0;
}

// A new connection; the recorded frames sent again, in order.
int Replay(const std::string& file, int port) {
  std::ifstream in(file, std::ios::binary);
  const std::string rec((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const int fd = Dial(port);
  const std::string challenge = ReadFrame(fd);
  std::size_t frames = 0;
  for (std::size_t i = 0; i + 4 <= rec.size();) {
    auto n = plane::FrameLength(reinterpret_cast<const std::uint8_t*>(rec.data() + i));
    if (!n || i + 4 + *n > rec.size()) break;
    [[maybe_unused]] ssize_t w = write(fd, rec.data() + i, 4 + *n);
    i += 4 + *n;
    ++frames;
  }
  std::printf("replay: sent %zu recorded frames\n", frames);
  return Answers(fd, "replay");
}

double Arg(std::map<std::string, std::string>& a, const char* k, double d) {
  return a.count(k) ? std::atof(a[k].c_str()) : d;
}

}  // namespace

int main(int argc, char** argv) {
  auto a = ParseArgs(argc, argv);
  setvbuf(stdout, nullptr, _IOLBF, 0);
  const int port = static_cast<int>(Arg(a, "port", 0));
  if (a.count("junk")) return Junk(port);
  if (a.count("proxy")) return Proxy(std::atoi(a["proxy"].c_str()), port, a["record"]);
  if (a.count("replay")) return Replay(a["replay"], port);

  plane::PlaneInputs in;
  in.job_id = a.count("job") ? a["job"] : "test.0";
  in.node_count = static_cast<std::uint32_t>(Arg(a, "nodes", 1));
  in.node_index = static_cast<std::uint32_t>(Arg(a, "node", 0));
  in.host = a.count("host") ? a["host"] : "node" + std::to_string(in.node_index);
  in.server_host = a.count("server-host") ? a["server-host"] : "127.0.0.1";
  in.lowest_rank = in.node_index * 4;
  in.auth = a.count("auth") ? a["auth"] : "secret";
  if (const char* s = std::getenv("RANKWRAP_JOB_SECRET")) in.secret = s;
  if (const char* s = std::getenv("MUNGE_SOCKET")) in.munge_socket = s;
  if (in.auth == "munge" || in.auth == "auto") in.munge_available = app::MungeAvailable(in.munge_socket);
  in.port = static_cast<std::uint16_t>(port);
  in.rendezvous_timeout = Arg(a, "timeout", 20);
  in.heartbeat_interval = Arg(a, "hb", 0.5);
  in.heartbeat_timeout = Arg(a, "hb-timeout", 3);
  const unsigned me = in.node_index;
  auto cfg = plane::MakePlaneConfig(in);
  if (!cfg) {
    std::printf("node %u error: %s: %s\n", me, cfg.error().what.c_str(), cfg.error().why.c_str());
    return cfg.error().exit_code;
  }
  cfg->port_range = static_cast<std::uint16_t>(Arg(a, "range", 1));
  auto p = app::Plane::Start(*cfg);
  if (!p) {
    std::printf("node %u error: %s: %s\n", me, p.error().what.c_str(), p.error().why.c_str());
    return p.error().exit_code;
  }
  auto& plane = **p;
  std::optional<plane::Master> announce;
  if (in.lowest_rank == 0) announce = plane::Master{in.host, 29500, std::string(128, '\x5a')};
  auto m = plane.Rendezvous(announce);
  for (auto& n : plane.TakeNotices()) std::fprintf(stderr, "node %u notice: %s\n", me, n.c_str());
  if (!m) {
    std::printf("node %u error: %s: %s\n", me, m.error().what.c_str(), m.error().why.c_str());
    return m.error().exit_code;
  }
  std::printf("node %u rendezvous %s %u blob=%zu\n", me, m->host.c_str(), m->port, m->blob.size());
  const double fail_after = Arg(a, "fail-after", -1);
  const double run = Arg(a, "run", 30);
  const auto start = std::chrono::steady_clock::now();
  bool reported = false;
  int rc = 0;
  for (;;) {
    const double el = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (fail_after >= 0 && !reported && el >= fail_after) {
      plane::Failure f;
      f.rank = in.lowest_rank + 1;
      f.host = in.host;
      f.code = static_cast<std::int32_t>(Arg(a, "code", 1));
      f.time_ms = net::WallMs();
      f.cause = "exit code " + std::to_string(f.code);
      plane.ReportFailure(f);
      reported = true;
    }
    if (el >= run) break;
    pollfd pf{plane.failure_fd(), POLLIN, 0};
    poll(&pf, 1, 20);
    for (auto& n : plane.TakeNotices()) std::fprintf(stderr, "node %u notice: %s\n", me, n.c_str());
    if (auto f = plane.TakeFailure()) {
      std::printf("node %u failure node=%u rank=%lld code=%d cause=%s latency_ms=%lld\n", me, f->node,
                  f->rank == plane::kNoRank ? -1LL : static_cast<long long>(f->rank), f->code, f->cause.c_str(),
                  static_cast<long long>(net::WallMs() - f->time_ms));
      rc = 10;
      break;
    }
  }
  plane.Shutdown(Arg(a, "linger", 2));
  for (auto& n : plane.TakeNotices()) std::fprintf(stderr, "node %u notice: %s\n", me, n.c_str());
  std::printf("node %u done\n", me);
  return rc;
}
