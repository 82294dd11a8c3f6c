// The node's share of the job control plane (stage: plane): the rankwraps
// of one node talk to the plane through one of them, the node's leader
// (local rank 0's keeper), so a job of 100,000 ranks on 10,000 nodes holds
// 10,000 connections to the server, not 100,000.
//
//   leader:  RelayServer on a Unix stream socket in the abstract namespace
//   members: RelayClient, one per other rankwrap of the node
//
// Frames are the plane's (core/plane/message.h), untagged: the kernel
// vouches for the peer. Both sides check the other's uid (SO_PEERCRED)
// against their own, so another user on the node can neither join nor pose
// as the leader (docs/control-plane.md, "Who may talk"). Boost.Asio, one
// thread of its own per side; callbacks run on that thread.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "core/error.h"
#include "core/plane/message.h"

namespace rankwrap::net {

class RelayServer {
 public:
  // Listens on the abstract socket `name` (refused when another process
  // holds it: the error names it). `on_message` gets every member's
  // message (Announce, Failure, Bye).
  static Result<std::shared_ptr<RelayServer>> Start(const std::string& name,
                                                    std::function<void(const plane::Message&)> on_message,
                                                    std::function<void(const std::string&)> notice);
  virtual ~RelayServer() = default;
  // To every member now, and to every member that joins later.
  virtual void Broadcast(const plane::Message& m) = 0;
  // Blocks until `expected` members joined and every one of them left, or
  // no member is connected and `join_wait` seconds passed since the call.
  virtual void WaitMembersGone(std::uint32_t expected, double join_wait) = 0;
  virtual void Stop() = 0;  // closes everything; no callback after
};

class RelayClient {
 public:
  // Connects to the leader's socket `name`, retrying until `give_up_at`
  // (monotonic seconds); then `on_lost` tells why. `on_lost` also runs when
  // the leader goes away without a Shutdown (its keeper died).
  static std::shared_ptr<RelayClient> Start(const std::string& name, double give_up_at,
                                            std::function<void(const plane::Message&)> on_message,
                                            std::function<void(const std::string&)> on_lost);
  virtual ~RelayClient() = default;
  virtual void Send(const plane::Message& m) = 0;  // queued until connected
  virtual void Close() = 0;                        // says Bye, closes; no callback after
};

}  // namespace rankwrap::net
