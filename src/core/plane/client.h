// A node leader's side of the control plane as a pure state machine
// (stage: plane): the handshake, the sequence numbers, the tags. The
// network adapter feeds it the server's frames and sends what it returns.
//
//   await challenge --Challenge--> (Hello sent) await welcome --Welcome--> ready
//
// A Challenge from another job's server (a port collision) is kWrongServer:
// the adapter tries the next port of the range. A server that cannot tag its
// Welcome with the session key does not hold the job's secret: kRejected.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/plane/auth.h"
#include "core/plane/message.h"

namespace rankwrap::plane {

struct ClientOptions {
  std::string job_id;
  std::uint32_t node = 0;
  std::uint32_t node_count = 1;
  std::string host;
  std::uint64_t lowest_rank = 0;
  AuthMode mode = AuthMode::kSecret;
  std::string secret;
};

struct ClientEvent {
  enum class Kind {
    kWelcome,           // authenticated both ways; `heartbeat_ms`
    kRendezvous,        // `master`
    kRendezvousFailed,  // `failed`
    kFailure,           // `failure`: the job's first failure
    kShutdown,          // the plane ends normally; `text`
    kRejected,          // the server refused us, or failed to prove itself; `text`; fatal
    kWrongServer,       // another job's (or no) plane on this port; `text`; try the next port
    kBroken,            // an invalid frame from the authenticated server; `text`
    kRestart,           // `restart`: every node stopped; the next attempt, or none
    kPreflightDone,     // every node passed the pre-flight check; `preflight_nodes`
  } kind = Kind::kWelcome;
  std::uint32_t heartbeat_ms = 0;
  Master master;
  RendezvousFailed failed;
  Failure failure;
  Restart restart;
  std::uint32_t preflight_nodes = 0;
  std::string text;
};

struct ClientOut {
  std::vector<std::string> sends;  // whole frames
  std::vector<ClientEvent> events;
  bool close = false;  // after the sends
};

// MUNGE mode: makes a credential carrying `payload`, decodable by this uid only.
using CredentialMaker = std::function<Result<std::string, Refusal>(std::string_view payload)>;

class ClientCore {
 public:
  // `nonce` and `munge_key` (32 bytes, MUNGE mode) must be fresh random bytes
  // for each connection.
  ClientCore(ClientOptions o, const Nonce& nonce, std::string munge_key, CredentialMaker make = {});

  void OnFrame(std::string_view body, ClientOut& out);
  bool ready() const { return state_ == State::kReady; }

  // Frames to send once ready.
  std::string Seal(const Message& m);

 private:
  enum class State { kChallenge, kWelcome, kReady, kClosed };
  void Fail(ClientEvent::Kind k, std::string text, ClientOut& out);
  void OnChallenge(std::string_view body, ClientOut& out);
  void OnReady(Message m, ClientOut& out);
  ClientOptions o_;
  Nonce nonce_;
  std::string munge_key_;
  CredentialMaker make_;
  State state_ = State::kChallenge;
  HmacKey key_;
  std::uint64_t rseq_ = 0, sseq_ = 0;
};

}  // namespace rankwrap::plane
