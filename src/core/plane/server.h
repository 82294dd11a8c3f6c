// The control plane's server as a pure state machine (stage: plane).
//
// One per job, run by node 0's keeper (app/plane.h). The network adapter
// (adapters/net/asio_plane.h) numbers connections, hands it every event
// with the clock, and carries out the Outbox: frames to send, connections to
// close, notices for the log. Unit-tested with fake connections
// (tests/unit/plane_server_test.cc).
//
// Rules:
// - A connection must send a Hello, tagged under its session key, within
//   handshake_timeout; anything else (junk, a wrong secret, another job, a
//   node index already held by a live connection) gets a Reject and is closed.
// - Rendezvous completes when every node index 0..node_count-1 has joined and
//   the node of rank 0 has announced its MASTER_ADDR/PORT (+ blob); every node
//   (and any later joiner) gets RendezvousDone. Past the deadline, every node
//   gets RendezvousFailed naming the missing node indices.
// - The first Failure reported anywhere is the job's; it goes to every node
//   at once; later ones are ignored.
// - With restarts: once every node said Stopped for the current attempt, the
//   server sends Restart{attempt + 1} (with rank 0's node's new blob) when
//   the attempt failed and restarts are left, else Restart{kNoMoreAttempts};
//   the next attempt has a first failure of its own.
// - Pre-flight (options.preflight): once the rendezvous is done, every node
//   sends one PreflightReport; with every node's in, options.judge reads
//   them all: PreflightDone to every node when they pass, else the judge's
//   Failure. Reports missing preflight_timeout seconds after the rendezvous
//   are a failure naming those nodes; a report the server did not ask for
//   (the nodes were given different options) is a failure too.
// - A node that said nothing (heartbeat included) for heartbeat_timeout, or
//   whose connection dropped without Bye and stayed away that long, is lost:
//   that is a failure too.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/error.h"
#include "core/plane/auth.h"
#include "core/plane/message.h"

namespace rankwrap::plane {

using ConnId = std::uint64_t;  // never 0

// The job's pre-flight verdict from every node's report (indexed by node).
struct PreflightVerdict {
  bool ok = false;
  Failure failure;  // when not ok: the first bad node, exit code 8 and why
};
using PreflightJudge = std::function<PreflightVerdict(const std::vector<std::string>& reports)>;

struct ServerOptions {
  std::string job_id;
  std::uint32_t node_count = 1;
  AuthMode mode = AuthMode::kSecret;
  std::string secret;              // secret mode: the job secret
  double rendezvous_deadline = 0;  // absolute, on the clock the events carry
  double heartbeat_interval = 1;   // the server sends one to every node this often; nodes do the same
  double heartbeat_timeout = 5;    // silence after which a node is lost
  double handshake_timeout = 5;    // a connection without a valid Hello by then is closed
  // Job-wide restarts (--max-restarts K on node 0): the server owns the
  // count, so no node can exceed it.
  std::uint32_t max_restarts = 0;
  // --preflight on node 0: one round of reports after the rendezvous.
  bool preflight = false;
  double preflight_timeout = 60;  // seconds after the rendezvous
  PreflightJudge judge;           // required when preflight
};

// What the adapter must do after an event, in order: send, then close.
struct Outbox {
  std::vector<std::pair<ConnId, std::string>> sends;  // whole frames
  std::vector<ConnId> closes;
  std::vector<std::string> notices;  // refusals and lost nodes, for the keeper's log
  bool broadcast = false;            // `sends` include one message to every node (for timing it)
};

// MUNGE mode: decodes a credential; the payload when the credential is valid,
// unreplayed and from the job's uid, or why not.
using CredentialCheck = std::function<Result<std::string, Refusal>(std::string_view credential)>;

class ServerCore {
 public:
  explicit ServerCore(ServerOptions o, CredentialCheck check = {});

  void OnConnect(ConnId c, const Nonce& nonce, double now, Outbox& out);
  void OnFrame(ConnId c, std::string_view body, double now, Outbox& out);
  // The connection is gone (EOF, reset, or closed by us).
  void OnDisconnect(ConnId c, double now, Outbox& out);
  // Deadlines: handshakes, rendezvous, heartbeats. `wall_ms`: Unix time for
  // the failures the server itself declares.
  void OnTick(double now, std::int64_t wall_ms, Outbox& out);
  // The plane ends: every node gets Shutdown, every connection is closed.
  void Shutdown(const std::string& reason, Outbox& out);
  // Seconds until the next deadline OnTick acts on (never more than the
  // heartbeat interval).
  double NextDeadline(double now) const;

  bool rendezvous_done() const { return done_; }
  bool rendezvous_failed() const { return failed_; }
  const std::optional<Failure>& first_failure() const { return first_failure_; }
  std::uint32_t attempt() const { return attempt_; }
  // Node indices that have not joined, in order.
  std::vector<std::uint32_t> Missing() const;
  // Every node that joined said Bye (and every node joined).
  bool AllSaidBye() const;
  std::size_t connections() const { return conns_.size(); }

 private:
  struct Conn {
    double opened = 0;
    Nonce nonce{};
    HmacKey key;
    std::uint64_t rseq = 0, sseq = 0;
    std::int64_t node = -1;  // -1: not authenticated yet
    double heartbeat_due = 0;
  };
  struct Node {
    ConnId conn = 0;
    bool joined = false, bye = false, lost = false;
    double last_heard = 0;
    std::string host;
    std::uint64_t lowest_rank = 0;
    bool stopped = false;  // said Stopped for the current attempt
  };
  void Refuse(ConnId c, const std::string& reason, Outbox& out);
  void Hello(ConnId c, Conn& conn, std::string_view body, double now, Outbox& out);
  void Send(ConnId c, Conn& conn, const Message& m, Outbox& out);
  void Broadcast(const Message& m, Outbox& out);
  void DropConn(ConnId c, Outbox& out);
  void TakeFailure(Failure f, Outbox& out);
  void MaybeComplete(double now, Outbox& out);
  void OnStopped(std::uint32_t idx, const Stopped& s, Outbox& out);
  void OnPreflight(std::uint32_t idx, std::string report, Outbox& out);
  void PreflightMissing(std::int64_t wall_ms, Outbox& out);
  RendezvousFailed FailedMessage() const;
  std::string NodeName(std::uint32_t i) const;

  ServerOptions o_;
  CredentialCheck check_;
  std::unordered_map<ConnId, Conn> conns_;
  std::vector<Node> nodes_;
  std::uint32_t joined_ = 0;
  std::optional<Master> master_;
  std::optional<std::uint32_t> master_node_;
  bool done_ = false, failed_ = false;
  std::optional<Failure> first_failure_;
  std::uint32_t attempt_ = 0;
  std::uint32_t stopped_ = 0;
  bool attempt_failed_ = false, lost_any_ = false;
  bool restarts_over_ = false;  // Restart{kNoMoreAttempts} was sent
  std::string next_blob_;
  double done_at_ = 0;  // when the rendezvous completed
  std::vector<std::string> reports_;
  std::vector<bool> reported_;
  std::uint32_t report_count_ = 0;
  bool preflight_over_ = false;
};

// "0,3,5-7", at most `max_chars` long ("...", then how many more).
std::string FormatIndices(const std::vector<std::uint32_t>& v, std::size_t max_chars = 200);

}  // namespace rankwrap::plane
