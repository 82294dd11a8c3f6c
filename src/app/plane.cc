#include "app/plane.h"

#include <sys/eventfd.h>
#include <sys/resource.h>
#include <unistd.h>

#include <chrono>

#include "adapters/net/asio_plane.h"
#include "adapters/net/munge.h"

namespace rankwrap::app {

bool MungeAvailable(const std::string& munge_socket) { return net::MungeAvailable(munge_socket); }

Plane::Plane(plane::PlaneConfig cfg) : cfg_(std::move(cfg)), loop_(std::make_unique<net::Loop>()) {}

Result<std::unique_ptr<Plane>> Plane::Start(const plane::PlaneConfig& cfg) {
  std::unique_ptr<Plane> p(new Plane(cfg));
  p->efd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (p->efd_ < 0) {
    return Error{kExitSystem, "plane", "eventfd for the control plane", "cannot create one",
                 "raise the open-file limit"};
  }
  p->deadline_ = net::MonoNow() + cfg.rendezvous_timeout;
  const std::string sock = cfg.munge_socket;
  Plane* self = p.get();
  if (cfg.runs_server()) {
    // One descriptor per node: a job of 10,000 nodes needs more than the
    // usual soft limit of 1024. Raised up to the hard limit; beyond it, an
    // error now rather than refused nodes later.
    const rlim_t need = static_cast<rlim_t>(cfg.node_count) + 256;
    rlimit r{};
    if (getrlimit(RLIMIT_NOFILE, &r) == 0 && r.rlim_cur != RLIM_INFINITY && r.rlim_cur < need) {
      if (r.rlim_max != RLIM_INFINITY && r.rlim_max < need) {
        return Error{kExitSystem, "plane", "open-file limit " + std::to_string(r.rlim_max) + " (hard) on node 0",
                     "the job's control plane needs one per node: " + std::to_string(need) + " for " +
                         std::to_string(cfg.node_count) + " nodes",
                     "raise the hard limit (ulimit -Hn, or the launcher's/slurm.conf's PropagateResourceLimits)"};
      }
      p->saved_nofile_ = static_cast<std::uint64_t>(r.rlim_cur);
      r.rlim_cur = need;
      setrlimit(RLIMIT_NOFILE, &r);
    }
    plane::ServerOptions so;
    so.job_id = cfg.job_id;
    so.node_count = cfg.node_count;
    so.mode = cfg.mode;
    so.secret = cfg.secret;
    so.rendezvous_deadline = p->deadline_;
    so.heartbeat_interval = cfg.heartbeat_interval;
    so.heartbeat_timeout = cfg.heartbeat_timeout;
    so.handshake_timeout = std::min(10.0, cfg.rendezvous_timeout);
    plane::CredentialCheck check;
    if (cfg.mode == plane::AuthMode::kMunge) check = [sock](std::string_view c) { return net::MungeDecode(sock, c); };
    auto s = net::Server::Start(*p->loop_, so, cfg.port, cfg.port_range, check, [self](const std::string& n) {
      std::lock_guard<std::mutex> l(self->mu_);
      // Bounded: a flood of junk connections must not grow the keeper.
      if (self->notices_.size() < kMaxNotices) {
        self->notices_.push_back(n);
      } else {
        ++self->notices_dropped_;
      }
    });
    if (!s) return s.error();
    p->server_ = *s;
    p->server_port_ = p->server_->port();
  }
  plane::ClientOptions co{cfg.job_id, cfg.node_index, cfg.node_count, cfg.host, cfg.lowest_rank, cfg.mode, cfg.secret};
  net::ClientTarget t;
  // Node 0 talks to its own server over loopback: the same path as everyone.
  t.host = cfg.runs_server() ? "127.0.0.1" : cfg.server_host;
  t.port = cfg.runs_server() ? p->server_port_ : cfg.port;
  t.range = cfg.runs_server() ? 1 : cfg.port_range;
  t.give_up_at = p->deadline_;
  t.heartbeat_timeout = cfg.heartbeat_timeout;
  plane::CredentialMaker make;
  if (cfg.mode == plane::AuthMode::kMunge)
    make = [sock](std::string_view payload) { return net::MungeEncode(sock, payload); };
  p->client_ = net::Client::Start(*p->loop_, co, t, make, [self](const plane::ClientEvent& e) { self->OnEvent(e); });
  p->thread_ = std::thread([self] { self->loop_->Run(); });
  return p;
}

Plane::~Plane() {
  Shutdown(0);
  if (efd_ >= 0) close(efd_);
}

void Plane::SetFailure(plane::Failure f) {
  // Caller holds mu_.
  if (failure_) return;
  failure_ = std::move(f);
  const std::uint64_t one = 1;
  [[maybe_unused]] const ssize_t n = write(efd_, &one, sizeof one);
}

void Plane::OnEvent(const plane::ClientEvent& e) {
  using K = plane::ClientEvent::Kind;
  std::lock_guard<std::mutex> l(mu_);
  switch (e.kind) {
    case K::kWelcome:
      break;
    case K::kRendezvous:
      master_ = e.master;
      break;
    case K::kRendezvousFailed:
      error_ = Error{kExitBootstrapTimeout, "plane",
                     "rendezvous of job " + cfg_.job_id + " timed out after " +
                         std::to_string(static_cast<int>(cfg_.rendezvous_timeout)) + " s",
                     e.failed.reason,
                     e.failed.missing_count > 0
                         ? "check that rankwrap started on those nodes (the node list, the launcher's log)"
                         : "rank 0's node must announce: check its log"};
      break;
    case K::kFailure:
      SetFailure(e.failure);
      break;
    case K::kShutdown:
      if (!master_ && !error_) {
        error_ = Error{kExitBootstrap, "plane", "the job's control plane on " + cfg_.server_host,
                       "ended before the rendezvous: " + e.text, "see node 0's log"};
      }
      break;
    case K::kRejected:
    case K::kWrongServer:
      error_ = Error{kExitBootstrap, "plane", "node " + std::to_string(cfg_.node_index) + " of job " + cfg_.job_id,
                     e.text, "every node of the job must use the same --plane and RANKWRAP_JOB_SECRET"};
      if (master_) {  // the job runs: this node has lost the plane
        plane::Failure f;
        f.node = 0;
        f.host = cfg_.server_host;
        f.time_ms = net::WallMs();
        f.cause = e.text;
        SetFailure(f);
      }
      break;
    case K::kBroken: {
      if (!error_) error_ = Error{kExitBootstrap, "plane", "the job's control plane", e.text, "see node 0's log"};
      plane::Failure f;
      f.node = 0;
      f.host = cfg_.server_host;
      f.time_ms = net::WallMs();
      f.cause = e.text + " (node 0's rankwrap is gone)";
      SetFailure(f);
      break;
    }
  }
  cv_.notify_all();
}

Result<plane::Master> Plane::Rendezvous(const std::optional<plane::Master>& announce) {
  if (shut_)
    return Error{kExitBootstrap, "plane", "rendezvous after shutdown", "the plane has ended", "call Rendezvous first"};
  if (announce) {
    // What the decoder would refuse is refused here, with its reason, rather
    // than costing this node its connection.
    bool host_ok = !announce->host.empty() && announce->host.size() <= plane::kMaxHost;
    for (char c : announce->host) host_ok = host_ok && c > ' ' && c <= '~';
    if (!host_ok || announce->port == 0 || announce->blob.size() > plane::kMaxBlob) {
      return Error{kExitBootstrap, "plane",
                   "announcement " + announce->host + ":" + std::to_string(announce->port) + " with " +
                       std::to_string(announce->blob.size()) + " bytes",
                   "a printable host of at most 255 bytes, a port other than 0, at most " +
                       std::to_string(plane::kMaxBlob) + " bytes of blob",
                   "this is a bug in the caller"};
    }
    client_->Send(plane::Announce{*announce});
  }
  std::unique_lock<std::mutex> l(mu_);
  // The server declares the failure at the deadline; this side waits a little
  // longer for that message, then says so itself.
  const auto until = std::chrono::steady_clock::now() +
                     std::chrono::milliseconds(static_cast<std::int64_t>((deadline_ - net::MonoNow() + 2) * 1000));
  cv_.wait_until(l, until, [&] { return master_.has_value() || error_.has_value(); });
  if (master_) return *master_;
  if (error_) return *error_;
  return Error{kExitBootstrapTimeout, "plane",
               "rendezvous of job " + cfg_.job_id + " timed out after " +
                   std::to_string(static_cast<int>(cfg_.rendezvous_timeout)) + " s",
               "no answer from the job's control plane on " + cfg_.server_host + " port " + std::to_string(cfg_.port),
               "check that node 0 (" + cfg_.server_host + ") started rankwrap"};
}

void Plane::ReportFailure(plane::Failure f) {
  if (shut_) return;
  {
    std::lock_guard<std::mutex> l(mu_);
    if (reported_) return;
    reported_ = true;
  }
  f.node = cfg_.node_index;
  client_->Send(std::move(f));
}

std::optional<plane::Failure> Plane::TakeFailure() {
  std::lock_guard<std::mutex> l(mu_);
  if (!failure_ || failure_taken_) return std::nullopt;
  failure_taken_ = true;
  return failure_;
}

std::vector<std::string> Plane::TakeNotices() {
  std::lock_guard<std::mutex> l(mu_);
  if (notices_dropped_ > 0) {
    notices_.push_back(std::to_string(notices_dropped_) + " more notices not kept");
    notices_dropped_ = 0;
  }
  return std::exchange(notices_, {});
}

void Plane::Shutdown(double linger) {
  if (shut_) return;
  shut_ = true;
  if (!client_) return;  // Start failed before anything ran
  client_->Close();
  if (server_) {
    server_->Finish(linger, [this] {
      std::lock_guard<std::mutex> l(mu_);
      server_done_ = true;
      cv_.notify_all();
    });
    std::unique_lock<std::mutex> l(mu_);
    cv_.wait_for(l, std::chrono::milliseconds(static_cast<std::int64_t>(linger * 1000) + 1000),
                 [&] { return server_done_; });
  } else {
    // Let the Bye leave.
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  loop_->Stop();
  if (thread_.joinable()) thread_.join();
  client_.reset();
  server_.reset();
  loop_.reset();
}

}  // namespace rankwrap::app
