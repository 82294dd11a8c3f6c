#include "app/plane.h"

#include <sys/eventfd.h>
#include <sys/resource.h>
#include <unistd.h>

#include <chrono>

#include "adapters/net/asio_plane.h"
#include "adapters/net/local_relay.h"
#include "adapters/net/munge.h"
#include "core/preflight/report.h"

namespace rankwrap::app {
namespace {

static_assert(preflight::kMaxEncoded <= plane::kMaxReport, "a node's report must fit one plane message");

// Seconds after the rendezvous the server waits for every node's pre-flight
// report: each node's checks take at most the connect and command timeouts
// (3 s + 30 s, app/preflight.h); twice that covers a slow start.
constexpr double kPreflightTimeout = 60;

// Node 0's server: every node's pre-flight report in, the job's table out
// (to `table`), and the verdict; the first bad nodes are named in the
// failure every node prints.
plane::PreflightVerdict Judge(const std::vector<std::string>& blobs, const std::string& launcher,
                              const std::string& server_host, std::string* table) {
  std::vector<preflight::NodeReport> reports;
  for (std::size_t i = 0; i < blobs.size(); ++i) {
    auto r = preflight::Decode(blobs[i]);
    if (!r) {
      r = preflight::NodeReport{static_cast<std::uint32_t>(i), "node" + std::to_string(i), "?", "?", {}};
      r->checks.push_back({"report", false, "its pre-flight report does not decode (another rankwrap version?)",
                           "use the same rankwrap on every node"});
    }
    r->node = static_cast<std::uint32_t>(i);  // what the plane authenticated, not what the report says
    reports.push_back(std::move(*r));
  }
  *table = preflight::Table(reports, launcher);
  const std::vector<preflight::BadNode> bad = preflight::BadNodes(reports);
  plane::PreflightVerdict v;
  v.ok = bad.empty();
  if (v.ok) return v;
  v.failure.node = bad.front().node;
  v.failure.host = bad.front().host;
  v.failure.code = kExitPreflight;
  v.failure.time_ms = net::WallMs();
  std::string cause = "failed on " + std::to_string(bad.size()) + " of " + std::to_string(reports.size()) + " nodes: ";
  for (std::size_t i = 0; i < bad.size() && i < 3; ++i) {
    cause += (i ? "; " : "") + std::string("node ") + std::to_string(bad[i].node) + " (" + bad[i].host +
             "): " + bad[i].problem;
  }
  if (bad.size() > 3) cause += "; ...";
  const std::string where = " (the job's table is in node 0's log, on " + server_host + ")";
  if (cause.size() + where.size() > plane::kMaxText) cause.resize(plane::kMaxText - where.size() - 3), cause += "...";
  v.failure.cause = cause + where;
  return v;
}

}  // namespace

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
  if (!cfg.leader()) {
    p->StartMember();
    return p;
  }
  if (cfg.local_count > 1) {
    if (auto s = p->StartRelay(); !s) return s.error();
  }
  if (cfg.runs_server()) {
    if (auto s = p->StartServer(); !s) return s.error();
  }
  p->StartClient();
  return p;
}

// A member reaches the plane through the node's leader only.
void Plane::StartMember() {
  Plane* self = this;
  relay_client_ = net::RelayClient::Start(
      cfg_.relay_name, deadline_, [self](const plane::Message& m) { self->OnRelayMessage(m); },
      [self](const std::string& why) { self->OnRelayLost(why); });
}

Status Plane::StartRelay() {
  Plane* self = this;
  auto r = net::RelayServer::Start(
      cfg_.relay_name, [self](const plane::Message& m) { self->OnMemberMessage(m); },
      [self](const std::string& n) { self->Notice(n); });
  if (!r) return r.error();
  relay_server_ = *r;
  return Ok{};
}

void Plane::Notice(const std::string& n) {
  std::lock_guard<std::mutex> l(mu_);
  // Bounded: a flood of junk connections must not grow the keeper.
  if (notices_.size() < kMaxNotices) {
    notices_.push_back(n);
  } else {
    ++notices_dropped_;
  }
}

Status Plane::StartServer() {
  // One descriptor per node: a job of 10,000 nodes needs more than the
  // usual soft limit of 1024. Raised up to the hard limit; beyond it, an
  // error now rather than refused nodes later.
  const rlim_t need = static_cast<rlim_t>(cfg_.node_count) + 256;
  rlimit r{};
  if (getrlimit(RLIMIT_NOFILE, &r) == 0 && r.rlim_cur != RLIM_INFINITY && r.rlim_cur < need) {
    if (r.rlim_max != RLIM_INFINITY && r.rlim_max < need) {
      return Error{kExitSystem, "plane", "open-file limit " + std::to_string(r.rlim_max) + " (hard) on node 0",
                   "the job's control plane needs one per node: " + std::to_string(need) + " for " +
                       std::to_string(cfg_.node_count) + " nodes",
                   "raise the hard limit (ulimit -Hn, or the launcher's/slurm.conf's PropagateResourceLimits)"};
    }
    saved_nofile_ = static_cast<std::uint64_t>(r.rlim_cur);
    r.rlim_cur = need;
    setrlimit(RLIMIT_NOFILE, &r);
  }
  plane::ServerOptions so;
  so.job_id = cfg_.job_id;
  so.node_count = cfg_.node_count;
  so.mode = cfg_.mode;
  so.secret = cfg_.secret;
  so.rendezvous_deadline = deadline_;
  so.heartbeat_interval = cfg_.heartbeat_interval;
  so.heartbeat_timeout = cfg_.heartbeat_timeout;
  so.handshake_timeout = std::min(10.0, cfg_.rendezvous_timeout);
  so.max_restarts = cfg_.max_restarts;
  so.preflight = cfg_.preflight;
  so.preflight_timeout = kPreflightTimeout;
  Plane* judge_self = this;
  so.judge = [judge_self](const std::vector<std::string>& blobs) {
    std::string table;
    plane::PreflightVerdict v = Judge(blobs, judge_self->cfg_.launcher, judge_self->cfg_.host, &table);
    std::lock_guard<std::mutex> l(judge_self->mu_);
    judge_self->preflight_table_ = std::move(table);
    return v;
  };
  const std::string sock = cfg_.munge_socket;
  plane::CredentialCheck check;
  if (cfg_.mode == plane::AuthMode::kMunge) check = [sock](std::string_view c) { return net::MungeDecode(sock, c); };
  Plane* self = this;
  auto s = net::Server::Start(*loop_, so, cfg_.port, cfg_.port_range, check,
                              [self](const std::string& n) { self->Notice(n); });
  if (!s) return s.error();
  server_ = *s;
  server_port_ = server_->port();
  return Ok{};
}

void Plane::StartClient() {
  plane::ClientOptions co{cfg_.job_id,      cfg_.node_index, cfg_.node_count, cfg_.host,
                          cfg_.lowest_rank, cfg_.mode,       cfg_.secret};
  net::ClientTarget t;
  // Node 0 talks to its own server over loopback: the same path as everyone.
  t.host = cfg_.runs_server() ? "127.0.0.1" : cfg_.server_host;
  t.port = cfg_.runs_server() ? server_port_ : cfg_.port;
  t.range = cfg_.runs_server() ? 1 : cfg_.port_range;
  t.give_up_at = deadline_;
  t.heartbeat_timeout = cfg_.heartbeat_timeout;
  const std::string sock = cfg_.munge_socket;
  plane::CredentialMaker make;
  if (cfg_.mode == plane::AuthMode::kMunge)
    make = [sock](std::string_view payload) { return net::MungeEncode(sock, payload); };
  Plane* self = this;
  client_ = net::Client::Start(*loop_, co, t, make, [self](const plane::ClientEvent& e) { self->OnEvent(e); });
  thread_ = std::thread([self] { self->loop_->Run(); });
}

// Leader: a member's word goes to the plane as this node's.
void Plane::OnMemberMessage(const plane::Message& m) {
  if (const auto* a = std::get_if<plane::Announce>(&m)) {
    client_->Send(*a);
  } else if (const auto* f = std::get_if<plane::Failure>(&m)) {
    ReportFailure(*f);
  } else if (const auto* st = std::get_if<plane::Stopped>(&m)) {
    std::lock_guard<std::mutex> l(mu_);
    if (st->attempt != tally_.attempt) return;
    ++tally_.members;
    tally_.failed = tally_.failed || st->failed;
    if (!st->blob.empty()) tally_.blob = st->blob;
    MaybeSendStopped();
  }
}

void Plane::MaybeSendStopped() {
  if (tally_.sent || !tally_.mine || tally_.members + 1 < cfg_.local_count) return;
  tally_.sent = true;
  client_->Send(plane::Stopped{tally_.attempt, tally_.failed, tally_.blob});
}

// Every node stopped: the next attempt starts with a failure state of its own.
void Plane::OnRestart(const plane::Restart& r) {
  // Caller holds mu_.
  restart_ = r;
  if (r.attempt != plane::kNoMoreAttempts) {
    failure_.reset();
    failure_taken_ = false;
    reported_ = false;
    std::uint64_t drain = 0;
    [[maybe_unused]] const ssize_t n = read(efd_, &drain, sizeof drain);
    tally_ = StopTally{};
    tally_.attempt = r.attempt;
  }
  if (relay_server_) relay_server_->Broadcast(r);
}

Result<std::optional<plane::Restart>> Plane::EndAttempt(std::uint32_t attempt, bool failed, const std::string& blob) {
  std::unique_lock<std::mutex> l(mu_);
  if (relay_client_) {
    l.unlock();
    relay_client_->Send(plane::Stopped{attempt, failed, blob});
    l.lock();
  } else {
    tally_.attempt = attempt;
    tally_.mine = true;
    tally_.failed = tally_.failed || failed;
    if (!blob.empty()) tally_.blob = blob;
    MaybeSendStopped();
  }
  auto answered = [&] {
    return restart_ && (restart_->attempt == plane::kNoMoreAttempts || restart_->attempt > attempt);
  };
  while (!answered() && !lost_) cv_.wait_for(l, std::chrono::seconds(1));
  if (answered()) {
    if (restart_->attempt == plane::kNoMoreAttempts) return std::optional<plane::Restart>{};
    return std::optional<plane::Restart>{*restart_};
  }
  return Error{
      kExitBootstrap, "plane", "the job-wide restart after attempt " + std::to_string(attempt),
      "the job's control plane was lost while the nodes stopped" + (error_ ? ": " + error_->why : std::string()),
      "see node 0's log"};
}

// Member: what the leader heard from the plane.
void Plane::OnRelayMessage(const plane::Message& m) {
  std::lock_guard<std::mutex> l(mu_);
  if (const auto* d = std::get_if<plane::RendezvousDone>(&m)) {
    master_ = d->master;
  } else if (const auto* rf = std::get_if<plane::RendezvousFailed>(&m)) {
    error_ = RendezvousError(rf->missing_count, rf->reason);
  } else if (const auto* f = std::get_if<plane::Failure>(&m)) {
    SetFailure(*f);
  } else if (const auto* rs = std::get_if<plane::Restart>(&m)) {
    OnRestart(*rs);
  } else if (std::holds_alternative<plane::PreflightDone>(m)) {
    preflight_done_ = true;
  } else if (const auto* s = std::get_if<plane::Shutdown>(&m)) {
    // Before the rendezvous: the leader's error. After it: no more news.
    if (!master_ && !error_) {
      error_ = Error{kExitBootstrap, "plane", "this node's leader (local rank 0's rankwrap)", s->reason,
                     "see local rank 0's message"};
    }
  }
  cv_.notify_all();
}

void Plane::OnRelayLost(const std::string& why) {
  std::lock_guard<std::mutex> l(mu_);
  if (!error_ && !master_) {
    error_ = Error{kExitBootstrap, "plane", "local rank " + std::to_string(cfg_.local_index) + " on " + cfg_.host, why,
                   "see local rank 0's message on this node"};
  }
  plane::Failure f;
  f.node = cfg_.node_index;
  f.host = cfg_.host;
  f.time_ms = net::WallMs();
  f.cause = why;
  SetFailure(f);
  lost_ = true;
  cv_.notify_all();
}

Error Plane::RendezvousError(std::uint32_t missing_count, const std::string& reason) const {
  return Error{kExitBootstrapTimeout, "plane",
               "rendezvous of job " + cfg_.job_id + " timed out after " +
                   std::to_string(static_cast<int>(cfg_.rendezvous_timeout)) + " s",
               reason,
               missing_count > 0 ? "check that rankwrap started on those nodes (the node list, the launcher's log)"
                                 : "rank 0's node must announce: check its log"};
}

Plane::~Plane() {
  Shutdown(0);
  if (efd_ >= 0) close(efd_);
}

void Plane::SetFailure(plane::Failure f) {
  // Caller holds mu_.
  if (failure_) return;
  failure_ = std::move(f);
  if (relay_server_) relay_server_->Broadcast(*failure_);
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
      if (relay_server_) relay_server_->Broadcast(plane::RendezvousDone{e.master});
      break;
    case K::kRendezvousFailed:
      error_ = RendezvousError(e.failed.missing_count, e.failed.reason);
      if (relay_server_) relay_server_->Broadcast(e.failed);
      break;
    case K::kFailure:
      SetFailure(e.failure);
      break;
    case K::kRestart:
      OnRestart(e.restart);
      break;
    case K::kPreflightDone:
      preflight_done_ = true;
      if (relay_server_) relay_server_->Broadcast(plane::PreflightDone{e.preflight_nodes});
      break;
    case K::kShutdown:
      if (!master_ && !error_) {
        error_ = Error{kExitBootstrap, "plane", "the job's control plane on " + cfg_.server_host,
                       "ended before the rendezvous: " + e.text, "see node 0's log"};
      }
      if (relay_server_) relay_server_->Broadcast(plane::Shutdown{e.text});
      break;
    case K::kRejected:
    case K::kWrongServer:
      error_ = Error{kExitBootstrap, "plane", "node " + std::to_string(cfg_.node_index) + " of job " + cfg_.job_id,
                     e.text, "every node of the job must use the same --plane and RANKWRAP_JOB_SECRET"};
      if (relay_server_ && !master_) relay_server_->Broadcast(plane::Shutdown{e.text});
      if (master_) {  // the job runs: this node has lost the plane
        plane::Failure f;
        f.node = 0;
        f.host = cfg_.server_host;
        f.time_ms = net::WallMs();
        f.cause = e.text;
        SetFailure(f);
        lost_ = true;
      }
      break;
    case K::kBroken: {
      if (!error_) error_ = Error{kExitBootstrap, "plane", "the job's control plane", e.text, "see node 0's log"};
      if (relay_server_ && !master_) relay_server_->Broadcast(plane::Shutdown{e.text});
      plane::Failure f;
      f.node = 0;
      f.host = cfg_.server_host;
      f.time_ms = net::WallMs();
      f.cause = e.text + " (node 0's rankwrap is gone)";
      SetFailure(f);
      lost_ = true;
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
    if (client_) {
      client_->Send(plane::Announce{*announce});
    } else {
      relay_client_->Send(plane::Announce{*announce});
    }
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
  if (client_) {
    client_->Send(std::move(f));
  } else {
    relay_client_->Send(std::move(f));
  }
}

Status Plane::Preflight(const std::optional<std::string>& report) {
  if (report) {
    if (report->size() > plane::kMaxReport) {
      return Error{kExitPreflight, "preflight", "this node's report of " + std::to_string(report->size()) + " bytes",
                   "at most " + std::to_string(plane::kMaxReport), "this is a bug in the caller"};
    }
    if (!client_) {  // a member: its node's leader reports for the node
      return Error{kExitPreflight, "preflight", "a report from local rank " + std::to_string(cfg_.local_index),
                   "only the node's leader (local rank 0's rankwrap) reports", "this is a bug in the caller"};
    }
    client_->Send(plane::PreflightReport{*report});
  }
  std::unique_lock<std::mutex> l(mu_);
  // The server gives up on missing reports kPreflightTimeout after the rendezvous; a
  // lost plane is a failure too: this wait ends with one of them.
  constexpr double kWait = kPreflightTimeout + 30;
  cv_.wait_for(l, std::chrono::duration<double>(kWait),
               [&] { return preflight_done_ || failure_.has_value() || lost_; });
  if (failure_) {
    const plane::Failure& f = *failure_;
    if (f.code == kExitPreflight) {
      return Error{kExitPreflight, "preflight", "the job's pre-flight check", f.cause,
                   "apply the fix the table gives, or leave the bad nodes out"};
    }
    if (f.code == kExitUsage) {
      return Error{kExitUsage, "preflight", "the job's pre-flight check", f.cause,
                   "give every node the same rankwrap options"};
    }
    // Not the checks' verdict: a node was lost, or the plane, during the round.
    return Error{kExitBootstrap, "plane",
                 "the job's pre-flight round (node " + std::to_string(f.node) + ", " + f.host + ")", f.cause,
                 "see node 0's log"};
  }
  if (preflight_done_) return Ok{};
  return Error{kExitPreflight, "preflight", "the job's pre-flight round",
               "no verdict from the job's control plane on " + cfg_.server_host + " within " +
                   std::to_string(static_cast<int>(kWait)) + " s",
               "see node 0's log"};
}

std::string Plane::TakePreflightTable() {
  std::lock_guard<std::mutex> l(mu_);
  return std::exchange(preflight_table_, {});
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
  if (relay_client_) {
    relay_client_->Close();
    relay_client_.reset();
    return;
  }
  if (relay_server_) {
    // The node's other rankwraps may still run: this node stays in the plane
    // (their failure is still the job's) until they are gone.
    relay_server_->WaitMembersGone(cfg_.local_count - 1, linger_for_members_);
    relay_server_->Stop();
    relay_server_.reset();
  }
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
