#include "core/plane/server.h"

#include <algorithm>
#include <cstdio>

namespace rankwrap::plane {

std::string FormatIndices(const std::vector<std::uint32_t>& v, std::size_t max_chars) {
  std::string s;
  std::size_t i = 0;
  while (i < v.size()) {
    std::size_t j = i;
    while (j + 1 < v.size() && v[j + 1] == v[j] + 1) ++j;
    std::string part = std::to_string(v[i]);
    if (j > i) part += "-" + std::to_string(v[j]);
    if (!s.empty() && s.size() + 1 + part.size() > max_chars) {
      std::size_t rest = 0;
      for (std::size_t k = i; k < v.size(); ++k) ++rest;
      return s + ",... (" + std::to_string(rest) + " more)";
    }
    if (!s.empty()) s += ',';
    s += part;
    i = j + 1;
  }
  return s;
}

ServerCore::ServerCore(ServerOptions o, CredentialCheck check)
    : o_(std::move(o)), check_(std::move(check)), nodes_(o_.node_count) {
  if (o_.preflight) {
    reports_.resize(o_.node_count);
    reported_.resize(o_.node_count, false);
  }
}

std::string ServerCore::NodeName(std::uint32_t i) const {
  std::string s = "node " + std::to_string(i);
  if (!nodes_[i].host.empty()) s += " (" + nodes_[i].host + ")";
  return s;
}

void ServerCore::Send(ConnId c, Conn& conn, const Message& m, Outbox& out) {
  out.sends.emplace_back(c, Seal(m, conn.sseq++, o_.mode, conn.key, Direction::kToClient));
}

void ServerCore::Broadcast(const Message& m, Outbox& out) {
  // Encoded once; each connection's copy gets its own sequence number and tag.
  const Prepared p(m);
  out.broadcast = true;
  out.sends.reserve(out.sends.size() + conns_.size());
  for (auto& [id, conn] : conns_) {
    if (conn.node >= 0) out.sends.emplace_back(id, p.Seal(conn.sseq++, o_.mode, conn.key, Direction::kToClient));
  }
}

void ServerCore::Refuse(ConnId c, const std::string& reason, Outbox& out) {
  out.sends.emplace_back(c, Seal(Reject{reason}, 0, o_.mode, "", Direction::kToClient));
  out.notices.push_back("refused a connection: " + reason);
  DropConn(c, out);
}

void ServerCore::DropConn(ConnId c, Outbox& out) {
  auto it = conns_.find(c);
  if (it == conns_.end()) return;
  if (it->second.node >= 0) {
    Node& n = nodes_[static_cast<std::size_t>(it->second.node)];
    if (n.conn == c) n.conn = 0;
  }
  conns_.erase(it);
  out.closes.push_back(c);
}

void ServerCore::OnConnect(ConnId c, const Nonce& nonce, double now, Outbox& out) {
  Conn& conn = conns_[c];
  conn.opened = now;
  conn.nonce = nonce;
  out.sends.emplace_back(c, Seal(Challenge{o_.mode, o_.job_id, nonce}, 0, o_.mode, "", Direction::kToClient));
  conn.sseq = 1;
}

void ServerCore::Hello(ConnId c, Conn& conn, std::string_view body, double now, Outbox& out) {
  auto d = DecodeBody(body, o_.mode);
  if (!d) return Refuse(c, "malformed message: " + d.error().message, out);
  const auto* h = std::get_if<plane::Hello>(&d->message);
  if (h == nullptr) return Refuse(c, std::string("expected hello, got ") + TypeName(TypeOf(d->message)), out);
  if (h->job_id != o_.job_id)
    return Refuse(c, "hello for job " + h->job_id + ", this plane serves job " + o_.job_id, out);
  std::string base;
  if (o_.mode == AuthMode::kSecret) {
    base = o_.secret;
  } else if (o_.mode == AuthMode::kMunge) {
    if (!check_) return Refuse(c, "authentication failed: no MUNGE on the server", out);
    auto payload = check_(h->credential);
    if (!payload) return Refuse(c, "authentication failed: MUNGE credential: " + payload.error().why, out);
    auto key = MungePayloadKey(*payload, o_.job_id, conn.nonce, h->nonce);
    if (!key) return Refuse(c, "authentication failed: " + key.error().why, out);
    base = *key;
  }
  if (o_.mode != AuthMode::kInsecure) conn.key = HmacKey(SessionKey(base, o_.job_id, conn.nonce, h->nonce));
  if (!TagValid(*d, o_.mode, conn.key, Direction::kToServer)) {
    return Refuse(c, "authentication failed: hello from " + h->host + " not signed with the job's key", out);
  }
  if (d->seq != 0) return Refuse(c, "hello with sequence number " + std::to_string(d->seq), out);
  if (h->node_count != o_.node_count) {
    return Refuse(c,
                  "node " + std::to_string(h->node) + " (" + h->host + ") says the job has " +
                      std::to_string(h->node_count) + " nodes, this plane expects " + std::to_string(o_.node_count),
                  out);
  }
  Node& n = nodes_[h->node];
  if (n.conn != 0) {
    return Refuse(
        c, "node index " + std::to_string(h->node) + " already joined from " + n.host + ", now again from " + h->host,
        out);
  }
  if (!n.joined) ++joined_;
  n.joined = true;
  n.conn = c;
  n.host = h->host;
  n.lowest_rank = h->lowest_rank;
  n.last_heard = now;
  conn.node = h->node;
  conn.rseq = 1;
  // The first heartbeat within one interval, spread by node index: nodes
  // that join together (thousands within a second) are then not all due in
  // the same tick, where their heartbeats would hold up a failure's broadcast.
  conn.heartbeat_due = now + o_.heartbeat_interval * (0.5 + static_cast<double>(h->node % 32) / 64);
  Send(c, conn, Welcome{static_cast<std::uint32_t>(o_.heartbeat_interval * 1000)}, out);
  if (done_) Send(c, conn, RendezvousDone{*master_}, out);
  if (preflight_over_ && !first_failure_) Send(c, conn, PreflightDone{o_.node_count}, out);
  if (failed_) Send(c, conn, FailedMessage(), out);
  if (first_failure_) Send(c, conn, *first_failure_, out);
  MaybeComplete(now, out);
}

void ServerCore::OnFrame(ConnId c, std::string_view body, double now, Outbox& out) {
  auto it = conns_.find(c);
  if (it == conns_.end()) return;
  Conn& conn = it->second;
  if (conn.node < 0) return Hello(c, conn, body, now, out);
  const auto idx = static_cast<std::uint32_t>(conn.node);
  auto m = Open(body, o_.mode, conn.key, Direction::kToServer, conn.rseq);
  if (!m) {
    out.notices.push_back("closed the connection of " + NodeName(idx) + ": " + m.error().message);
    return DropConn(c, out);
  }
  ++conn.rseq;
  Node& n = nodes_[idx];
  n.last_heard = now;
  if (auto* a = std::get_if<Announce>(&*m)) {
    if (n.lowest_rank != 0) {
      out.notices.push_back("ignored an announcement from " + NodeName(idx) + ": it does not run rank 0");
    } else if (!master_) {
      master_ = a->master;
      master_node_ = idx;
      MaybeComplete(now, out);
    }
  } else if (auto* f = std::get_if<Failure>(&*m)) {
    Failure fail = *f;
    fail.node = idx;  // a node reports its own failures only
    TakeFailure(std::move(fail), out);
  } else if (auto* st = std::get_if<Stopped>(&*m)) {
    OnStopped(idx, *st, out);
  } else if (auto* pr = std::get_if<PreflightReport>(&*m)) {
    OnPreflight(idx, std::move(pr->report), out);
  } else if (std::holds_alternative<Bye>(*m)) {
    n.bye = true;
    DropConn(c, out);
    if (o_.max_restarts > 0 && !restarts_over_) {
      // Gone before the job's restarts were over (stopped from outside in
      // a back-off): no further attempt can have it, and this attempt's
      // barrier must not wait for it.
      lost_any_ = true;
      if (!first_failure_) {
        TakeFailure(Failure{kNoRank, idx, n.host, 0, 0, 0, NodeName(idx) + " left the job during its restarts"}, out);
      }
      if (!n.stopped) OnStopped(idx, Stopped{attempt_, true, ""}, out);
    }
  } else if (!std::holds_alternative<Heartbeat>(*m)) {
    out.notices.push_back("closed the connection of " + NodeName(idx) + ": unexpected " + TypeName(TypeOf(*m)));
    DropConn(c, out);
  }
}

void ServerCore::OnDisconnect(ConnId c, double /*now*/, Outbox& /*out*/) {
  auto it = conns_.find(c);
  if (it == conns_.end()) return;
  if (it->second.node >= 0) {
    Node& n = nodes_[static_cast<std::size_t>(it->second.node)];
    if (n.conn == c) n.conn = 0;  // lost only if it stays away past the heartbeat timeout
  }
  conns_.erase(it);
}

void ServerCore::TakeFailure(Failure f, Outbox& out) {
  if (first_failure_) return;
  first_failure_ = f;
  Broadcast(f, out);
}

void ServerCore::OnStopped(std::uint32_t idx, const Stopped& st, Outbox& out) {
  Node& n = nodes_[idx];
  if (st.attempt != attempt_ || n.stopped) {
    out.notices.push_back("ignored a stop of attempt " + std::to_string(st.attempt) + " from " + NodeName(idx) +
                          " (the job is at attempt " + std::to_string(attempt_) + ")");
    return;
  }
  n.stopped = true;
  ++stopped_;
  attempt_failed_ = attempt_failed_ || st.failed;
  if (n.lowest_rank == 0) next_blob_ = st.blob;
  if (stopped_ < o_.node_count) return;
  // Every node's ranks of this attempt have ended: the barrier is passed.
  const bool again = (attempt_failed_ || first_failure_) && attempt_ < o_.max_restarts && !lost_any_;
  Restart r{again ? attempt_ + 1 : kNoMoreAttempts, again ? next_blob_ : std::string()};
  restarts_over_ = !again;
  if (again) {
    ++attempt_;
    stopped_ = 0;
    attempt_failed_ = false;
    first_failure_.reset();
    for (Node& each : nodes_) each.stopped = false;
  }
  Broadcast(r, out);
}

void ServerCore::OnPreflight(std::uint32_t idx, std::string report, Outbox& out) {
  if (!o_.preflight || !o_.judge) {
    // Options differ between nodes: a usage error, for the whole job.
    TakeFailure(Failure{kNoRank, idx, nodes_[idx].host, kExitUsage, 0, 0,
                        NodeName(idx) + " ran a pre-flight check that node 0 did not: give --preflight (or "
                                        "--preflight-cmd) on every node or on none"},
                out);
    return;
  }
  if (reported_[idx] || preflight_over_) {
    out.notices.push_back(std::string("ignored a ") + (reported_[idx] ? "second" : "late") +
                          " pre-flight report from " + NodeName(idx));
    return;
  }
  reported_[idx] = true;
  reports_[idx] = std::move(report);
  if (++report_count_ < o_.node_count) return;
  preflight_over_ = true;
  PreflightVerdict v = o_.judge(reports_);
  reports_ = {};  // up to 3 KiB per node: not kept past the verdict
  if (v.ok) {
    Broadcast(PreflightDone{o_.node_count}, out);
  } else {
    v.failure.rank = kNoRank;
    TakeFailure(std::move(v.failure), out);
  }
}

void ServerCore::PreflightMissing(std::int64_t wall_ms, Outbox& out) {
  preflight_over_ = true;
  std::vector<std::uint32_t> missing;
  for (std::uint32_t i = 0; i < o_.node_count; ++i) {
    if (!reported_[i]) missing.push_back(i);
  }
  Failure f;
  f.node = missing.empty() ? 0 : missing.front();
  f.host = nodes_[f.node].host;
  f.code = kExitPreflight;
  f.time_ms = wall_ms;
  f.cause = "no pre-flight report from " + std::to_string(missing.size()) + " of " + std::to_string(o_.node_count) +
            " nodes within " + std::to_string(static_cast<int>(o_.preflight_timeout)) +
            " s of the rendezvous: node indices " + FormatIndices(missing) +
            " (their check hangs, or they run without --preflight)";
  out.notices.push_back(f.cause);
  TakeFailure(std::move(f), out);
}

void ServerCore::MaybeComplete(double now, Outbox& out) {
  if (done_ || failed_ || !master_ || joined_ != o_.node_count) return;
  done_ = true;
  done_at_ = now;
  Broadcast(RendezvousDone{*master_}, out);
}

std::vector<std::uint32_t> ServerCore::Missing() const {
  std::vector<std::uint32_t> v;
  for (std::uint32_t i = 0; i < o_.node_count; ++i) {
    if (!nodes_[i].joined) v.push_back(i);
  }
  return v;
}

RendezvousFailed ServerCore::FailedMessage() const {
  RendezvousFailed f;
  const auto missing = Missing();
  f.missing_count = static_cast<std::uint32_t>(missing.size());
  f.missing = FormatIndices(missing);
  if (!missing.empty()) {
    f.reason = std::to_string(missing.size()) + " of " + std::to_string(o_.node_count) +
               " nodes did not join: node indices " + f.missing;
  } else {
    f.reason = "every node joined but the node of rank 0 did not announce its MASTER_ADDR/MASTER_PORT";
  }
  return f;
}

void ServerCore::OnTick(double now, std::int64_t wall_ms, Outbox& out) {
  std::vector<ConnId> stale;
  for (auto& [id, conn] : conns_) {
    if (conn.node < 0 && now - conn.opened >= o_.handshake_timeout) stale.push_back(id);
  }
  for (ConnId id : stale) Refuse(id, "no valid hello within the handshake timeout", out);
  if (!done_ && !failed_ && now >= o_.rendezvous_deadline) {
    failed_ = true;
    const RendezvousFailed f = FailedMessage();
    out.notices.push_back("rendezvous failed: " + f.reason);
    Broadcast(f, out);
  }
  if (o_.preflight && done_ && !preflight_over_ && now >= done_at_ + o_.preflight_timeout) {
    PreflightMissing(wall_ms, out);
  }
  for (std::uint32_t i = 0; i < o_.node_count; ++i) {
    Node& n = nodes_[i];
    if (!n.joined || n.bye || n.lost || now - n.last_heard < o_.heartbeat_timeout) continue;
    n.lost = true;
    char secs[32];
    std::snprintf(secs, sizeof secs, "%.1f", now - n.last_heard);
    Failure f;
    f.node = i;
    f.host = n.host;
    f.time_ms = wall_ms;
    f.cause = NodeName(i) + " lost: no word from its rankwrap for " + secs + " s" +
              (n.conn == 0 ? " after its connection dropped" : "") + " (killed, or its host is down)";
    out.notices.push_back(f.cause);
    if (n.conn != 0) DropConn(n.conn, out);
    TakeFailure(std::move(f), out);
    // A lost node cannot take part in another attempt; the others hear so
    // once they have stopped.
    lost_any_ = true;
    if (!n.stopped) OnStopped(i, Stopped{attempt_, true, ""}, out);
  }
  // Each node's heartbeat is due one interval after its last, so nodes that
  // joined at different times are not all tagged and written in one turn
  // (which would delay a failure's fan-out behind them).
  for (auto& [id, conn] : conns_) {
    if (conn.node >= 0 && now >= conn.heartbeat_due) {
      conn.heartbeat_due = now + o_.heartbeat_interval;
      Send(id, conn, Heartbeat{}, out);
    }
  }
}

double ServerCore::NextDeadline(double now) const {
  double d = o_.heartbeat_interval;
  if (!done_ && !failed_) d = std::min(d, std::max(0.0, o_.rendezvous_deadline - now));
  if (o_.preflight && done_ && !preflight_over_) d = std::min(d, std::max(0.0, done_at_ + o_.preflight_timeout - now));
  return d;
}

void ServerCore::Shutdown(const std::string& reason, Outbox& out) {
  Broadcast(plane::Shutdown{reason}, out);
  std::vector<ConnId> ids;
  for (auto& kv : conns_) ids.push_back(kv.first);
  for (ConnId id : ids) DropConn(id, out);
}

bool ServerCore::AllSaidBye() const {
  return std::all_of(nodes_.begin(), nodes_.end(), [](const Node& n) { return n.joined && (n.bye || n.lost); });
}

}  // namespace rankwrap::plane
