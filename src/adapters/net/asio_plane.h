// The control plane on the network: Boost.Asio sockets around the pure
// state machines of core/plane (stage: plane). No Asio type in this header:
// the keeper (app/plane.h) and the bench see a Loop, a Server and a Client.
//
// Threading: a Loop runs on one thread (Loop::Run); every method of Server
// and Client may be called from any thread (it posts to the loop), and their
// callbacks run on the loop's thread. A server of a large job also writes
// each broadcast from a few threads of its own while its loop waits.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "core/error.h"
#include "core/plane/client.h"
#include "core/plane/server.h"

namespace rankwrap::net {

// Fresh random bytes (getrandom).
void RandomBytes(void* p, std::size_t n);
// Monotonic seconds; Unix milliseconds.
double MonoNow();
std::int64_t WallMs();

class Loop {
 public:
  Loop();
  ~Loop();
  Loop(const Loop&) = delete;
  Loop& operator=(const Loop&) = delete;
  void Run();  // until Stop
  void Stop();
  void Post(std::function<void()> f);
  struct Impl;
  Impl& impl() { return *impl_; }

 private:
  std::unique_ptr<Impl> impl_;
};

// How many threads write a broadcast to `nodes` connections: 1 (the loop's)
// below 1,024 nodes; else one per CPU this process may run on, at most 4.
unsigned AutoWriters(std::uint32_t nodes);

// Where the time of a server's broadcast (one frame to every node: the
// rendezvous, a failure) went: the state machine (the message encoded once,
// a tag per node) and handing the frames to the kernel.
struct BroadcastTiming {
  std::size_t frames = 0;
  double core_s = 0;  // the event that caused it, until its Outbox
  double send_s = 0;  // every frame sent (or queued where a socket was full)
};

class Server {
 public:
  // Binds the first port of [port, port + range) that is free and serves.
  // `bind_addr`: empty (the default) for every address of both families (one
  // dual-stack socket; IPv4 only where the host has no IPv6), or one IPv4 or
  // IPv6 address ("0.0.0.0": every IPv4 address only, "::1", ...). The error
  // names the ports tried.
  // `writers`: threads that write a broadcast (the loop's own and writers - 1
  // more, idle between broadcasts); 0: AutoWriters(o.node_count). Everything
  // else happens on the loop's thread.
  static Result<std::shared_ptr<Server>> Start(Loop& loop, plane::ServerOptions o, std::uint16_t port,
                                               std::uint16_t range, plane::CredentialCheck check,
                                               std::function<void(const std::string&)> notice,
                                               const std::string& bind_addr = "", unsigned writers = 0);
  virtual ~Server() = default;
  virtual std::uint16_t port() const = 0;
  // Waits (on the loop) until every node said Bye or `linger` seconds passed,
  // then sends Shutdown to the rest and closes everything; `done` runs after.
  virtual void Finish(double linger, std::function<void()> done) = 0;
  virtual std::size_t connections() const = 0;         // loop thread
  virtual BroadcastTiming last_broadcast() const = 0;  // loop thread
};

struct ClientTarget {
  std::string host;  // a name (its IPv4 and IPv6 addresses are tried in turn) or an address of either family
  std::uint16_t port = 0;
  std::uint16_t range = 1;
  double give_up_at = 0;  // monotonic: stop trying to reach the server
  double heartbeat_timeout = 10;
};

class Client {
 public:
  // Connects (retrying the port range until `give_up_at`), authenticates and
  // reports every ClientEvent to `on_event`. A lost server (EOF without
  // Shutdown, or silence past heartbeat_timeout) is a kBroken event; not
  // reaching it in time is kRejected.
  static std::shared_ptr<Client> Start(Loop& loop, plane::ClientOptions o, ClientTarget t, plane::CredentialMaker make,
                                       std::function<void(const plane::ClientEvent&)> on_event);
  virtual ~Client() = default;
  // Queued until the handshake is done.
  virtual void Send(plane::Message m) = 0;
  // Says Bye (when connected), closes; no event after.
  virtual void Close() = 0;
};

}  // namespace rankwrap::net
