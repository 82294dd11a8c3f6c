// The job control plane as the keeper uses it (stage: plane). See
// docs/control-plane.md.
//
//   auto cfg = plane::MakePlaneConfig(inputs);       // pure: from the contract + env values
//   auto p   = app::Plane::Start(*cfg);              // node 0 also serves
//   auto m   = p->Rendezvous(announce);              // blocks: {rank-0 host, port, blob} or an Error naming missing
//   nodes poll(p->failure_fd()) ... p->TakeFailure();      // the job's first failure, from any node
//   p->ReportFailure(f);                             // this node's first failure, to every node
//   p->Shutdown(linger);                             // the job ended here
//
// The rankwraps of one node share one connection: local rank 0's keeper
// (the node's leader) holds it and relays for the others over a Unix socket
// (adapters/net/local_relay.h); to the caller both look the same.
//
// Node 0's keeper runs the server in the same thread as its own client: one
// Asio loop thread inside the keeper process. Why a thread and not a process
// of its own: the keeper is already the process that outlives the wrapper
// and ends the job; the server must die exactly when node 0's keeper dies
// (the other nodes then see the plane lost, which is node 0's failure), and a
// second process would need supervising of its own.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "core/error.h"
#include "core/plane/client.h"
#include "core/plane/config.h"
#include "core/plane/message.h"

namespace rankwrap::net {
class Loop;
class Server;
class Client;
class RelayServer;
class RelayClient;
}  // namespace rankwrap::net

namespace rankwrap::app {

// True when munged answers on this node (PlaneInputs::munge_available).
bool MungeAvailable(const std::string& munge_socket);

class Plane {
 public:
  // Starts the loop thread; on node 0, binds and serves the job's plane
  // (Error when no port of the range is free); connects to the server
  // (retrying until the rendezvous deadline).
  static Result<std::unique_ptr<Plane>> Start(const plane::PlaneConfig& cfg);
  ~Plane();  // Shutdown(0) if not done
  Plane(const Plane&) = delete;
  Plane& operator=(const Plane&) = delete;

  // Blocks until the job's rendezvous completes. `announce`: given by the
  // node that runs global rank 0 (lowest_rank == 0): its host, the
  // MASTER_PORT it has bound and holds, and up to 1 KiB of opaque bytes (an
  // NCCL unique id). Returns the announcement as every node receives it, or
  // an Error: exit code 6 when the deadline passed (naming the node indices
  // that did not join), 5 when the plane refused this node or was lost.
  Result<plane::Master> Rendezvous(const std::optional<plane::Master>& announce);

  // This node's failure, sent to the server, which keeps the job's first
  // and sends it to every node, this one included (so every node acts on the
  // same first failure). Fields: rank, host, code/signal, time (Unix ms),
  // cause; the node index is filled in. Only the first call counts.
  void ReportFailure(plane::Failure f);

  // Readable (level-triggered: an eventfd) once the job's first failure is
  // known here, from any node, this one included, or the plane was lost.
  int failure_fd() const { return efd_; }
  // The job's first failure, once (nullopt before, and after it was taken).
  // A lost plane (the server's node died) is reported as a failure of node 0.
  std::optional<plane::Failure> TakeFailure();

  // Job-wide restarts: this keeper's ranks of `attempt` have all ended
  // (`failed`: one failed on its own); the node of rank 0 passes the next
  // attempt's announcement blob. A node's leader speaks for the node once
  // its own ranks and every member's have ended. Blocks until every node of
  // the job stopped this attempt: the next attempt (its number and rank 0's
  // blob), nullopt when the job is over (done everywhere, or the restarts
  // are spent), or an Error (exit 5) when the plane was lost meanwhile.
  Result<std::optional<plane::Restart>> EndAttempt(std::uint32_t attempt, bool failed, const std::string& blob);

  // --preflight: this node's leader sends its report (preflight::Encode;
  // members pass nullopt), then every keeper waits for the job's verdict,
  // given once every node's report is in: Ok when every node passed; else an
  // Error (exit 8, the first bad node and why; exit 2 when the nodes were
  // given different options), also when the plane was lost meanwhile.
  Status Preflight(const std::optional<std::string>& report);
  // Node 0: the job's pre-flight table, once every report was read (else "").
  std::string TakePreflightTable();

  // Refusals, lost nodes and the like, for the keeper's log (node 0 mostly).
  std::vector<std::string> TakeNotices();

  // The job ended on this node: says Bye. Node 0 then waits up to `linger`
  // seconds for every node's Bye before ending the plane (nodes still
  // connected get Shutdown, which is no failure, but they hear of no failure
  // after it: node 0's keeper should linger while other nodes may run).
  void Shutdown(double linger = 5);

  std::uint16_t server_port() const { return server_port_; }  // node 0: the port it bound
  // Node 0 raised this process's RLIMIT_NOFILE soft limit (one descriptor per
  // node) from this value; 0 when it did not. Ranks started by the keeper
  // inherit the raised limit unless their child side restores it.
  std::uint64_t saved_nofile() const { return saved_nofile_; }

 private:
  explicit Plane(plane::PlaneConfig cfg);
  void StartMember();
  Status StartRelay();
  Status StartServer();
  void StartClient();
  void Notice(const std::string& n);
  void OnEvent(const plane::ClientEvent& e);
  void OnMemberMessage(const plane::Message& m);
  void OnRelayMessage(const plane::Message& m);
  void OnRelayLost(const std::string& why);
  Error RendezvousError(std::uint32_t missing_count, const std::string& reason) const;
  void SetFailure(plane::Failure f);
  void OnRestart(const plane::Restart& r);
  void MaybeSendStopped();  // leader; caller holds mu_

  plane::PlaneConfig cfg_;
  double deadline_ = 0;
  std::unique_ptr<net::Loop> loop_;
  std::thread thread_;
  std::shared_ptr<net::Server> server_;
  std::shared_ptr<net::Client> client_;
  std::shared_ptr<net::RelayServer> relay_server_;  // the node's leader, with other local rankwraps
  std::shared_ptr<net::RelayClient> relay_client_;  // another local rankwrap: no connection of its own
  double linger_for_members_ = 30;                  // members that never joined: how long to wait for them
  std::uint16_t server_port_ = 0;
  int efd_ = -1;
  bool shut_ = false;
  std::uint64_t saved_nofile_ = 0;

  std::mutex mu_;
  std::condition_variable cv_;
  std::optional<plane::Master> master_;
  std::optional<Error> error_;  // rendezvous failed, refused, unreachable
  std::optional<plane::Failure> failure_;
  bool failure_taken_ = false, reported_ = false, server_done_ = false, lost_ = false;
  static constexpr std::size_t kMaxNotices = 1000;  // kept between two TakeNotices
  std::vector<std::string> notices_;
  // Restarts: this node's stop of the current attempt (the leader's own and
  // its members'), and the server's answer.
  struct StopTally {
    std::uint32_t attempt = 0;
    bool mine = false, failed = false, sent = false;
    std::uint32_t members = 0;
    std::string blob;
  } tally_;
  std::optional<plane::Restart> restart_;
  bool preflight_done_ = false;
  std::string preflight_table_;
  std::size_t notices_dropped_ = 0;
};

}  // namespace rankwrap::app
