// The control plane's messages and their wire form, pure (stage: plane).
//
//   frame = u32 length (big-endian, of what follows) | body
//   body  = u8 version | u8 type | u64 seq | payload | tag (32 bytes, or none)
//
// Integers are big-endian; strings are u16 length + bytes, each with its own
// limit. The tag (auth.h) covers the direction and everything before it.
// Challenge and Reject are never tagged (they come before a session key);
// every other message is tagged unless the plane runs insecure. A decoder
// refuses anything malformed, oversized, of an unknown version or type, or
// with bytes left over, and says where and why (docs/control-plane.md).
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>

#include "core/error.h"

namespace rankwrap::plane {

inline constexpr std::uint8_t kVersion = 1;
inline constexpr std::size_t kMaxBody = 4096;  // a frame longer than this is refused unread
inline constexpr std::size_t kTagSize = 32;
inline constexpr std::size_t kHeaderSize = 10;  // version, type, seq
inline constexpr std::size_t kMaxHost = 255;
inline constexpr std::size_t kMaxJobId = 128;
inline constexpr std::size_t kMaxBlob = 1024;  // the announcement's opaque bytes (an NCCL id is 128)
inline constexpr std::size_t kMaxText = 1024;  // causes, reasons
inline constexpr std::size_t kMaxCredential = 2048;

using Nonce = std::array<std::uint8_t, 16>;

// Why a credential or key was refused.
struct Refusal {
  std::string why;
};

enum class AuthMode : std::uint8_t { kInsecure = 0, kSecret = 1, kMunge = 2 };
const char* AuthModeName(AuthMode m);

// Server -> client, first: who the server is and its fresh nonce.
struct Challenge {
  AuthMode mode = AuthMode::kSecret;
  std::string job_id;
  Nonce nonce{};
};
// Server -> client: refused, then closed. Untagged: the client may not trust it.
struct Reject {
  std::string reason;
};
// Client -> server: a node leader joins.
struct Hello {
  std::string job_id;
  std::uint32_t node = 0;
  std::uint32_t node_count = 0;
  std::string host;
  std::uint64_t lowest_rank = 0;
  Nonce nonce{};
  std::string credential;  // MUNGE mode: the credential; empty otherwise
};
// Server -> client: accepted; the server proves it holds the key.
struct Welcome {
  std::uint32_t heartbeat_ms = 0;
};
// The rank-0 node's announcement (client -> server), and the rendezvous
// result the server sends to every node (same fields).
struct Master {
  std::string host;
  std::uint16_t port = 0;
  std::string blob;  // opaque, up to kMaxBlob bytes (e.g. an NCCL unique id)
  bool operator==(const Master& o) const { return host == o.host && port == o.port && blob == o.blob; }
};
struct Announce {
  Master master;
};
struct RendezvousDone {
  Master master;
};
// Server -> every node: the rendezvous deadline passed.
struct RendezvousFailed {
  std::uint32_t missing_count = 0;
  std::string missing;  // "3,5-7" (node indices), possibly shortened
  std::string reason;
};
inline constexpr std::uint64_t kNoRank = ~std::uint64_t{0};
// A failure: a node reports its first local failure; the server sends the
// job's first one to every node.
struct Failure {
  std::uint64_t rank = kNoRank;
  std::uint32_t node = 0;
  std::string host;
  std::int32_t code = 0;
  std::int32_t signal = 0;
  std::int64_t time_ms = 0;  // Unix time, milliseconds
  std::string cause;
  bool operator==(const Failure& o) const {
    return rank == o.rank && node == o.node && host == o.host && code == o.code && signal == o.signal &&
           time_ms == o.time_ms && cause == o.cause;
  }
};
struct Heartbeat {};
// With job-wide restarts (--max-restarts): a node's ranks of `attempt` have
// all ended (`failed`: one of them failed on its own); the node of rank 0
// adds the next attempt's announcement blob (a fresh NCCL id).
struct Stopped {
  std::uint32_t attempt = 0;
  bool failed = false;
  std::string blob;
  bool operator==(const Stopped& o) const { return attempt == o.attempt && failed == o.failed && blob == o.blob; }
};
// Server -> every node, once every node stopped `attempt - 1`: start
// `attempt` (with rank 0's new blob), or kNoMoreAttempts: the job is over
// (it succeeded everywhere, or the restarts are spent).
inline constexpr std::uint32_t kNoMoreAttempts = ~std::uint32_t{0};
struct Restart {
  std::uint32_t attempt = kNoMoreAttempts;
  std::string blob;
  bool operator==(const Restart& o) const { return attempt == o.attempt && blob == o.blob; }
};
// Pre-flight (--preflight, docs/preflight.md): once the rendezvous is done,
// each node's leader sends its report (opaque here: preflight::Encode, at
// most kMaxReport bytes); once every node's is in, the server sends
// PreflightDone to every node when all passed, or the job's Failure (exit
// code 8, naming the first bad node) when not.
inline constexpr std::size_t kMaxReport = 3072;
struct PreflightReport {
  std::string report;
  bool operator==(const PreflightReport& o) const { return report == o.report; }
};
struct PreflightDone {
  std::uint32_t nodes = 0;  // how many nodes were checked
  bool operator==(const PreflightDone& o) const { return nodes == o.nodes; }
};
struct Bye {};     // client -> server: this node is done; its going away is no failure
struct Shutdown {  // server -> client: the plane ends; no failure
  std::string reason;
};

using Message = std::variant<Challenge, Reject, Hello, Welcome, Announce, RendezvousDone, RendezvousFailed, Failure,
                             Heartbeat, Bye, Shutdown, Stopped, Restart, PreflightReport, PreflightDone>;

// The type byte of each alternative is its index + 1.
std::uint8_t TypeOf(const Message& m);
const char* TypeName(std::uint8_t type);
// Challenge and Reject carry no tag.
bool Tagged(std::uint8_t type, AuthMode mode);

// The body without its tag: version, type, seq, payload.
std::string EncodeBody(const Message& m, std::uint64_t seq);

struct Decoded {
  Message message;
  std::uint64_t seq = 0;
  std::string_view signed_part;  // what the tag covers (into the input)
  std::string_view tag;          // empty when untagged
};
// Decodes one body (the bytes after the length prefix).
Parsed<Decoded> DecodeBody(std::string_view body, AuthMode mode);

// The frame length from its 4-byte prefix, refused when 0 or over kMaxBody.
Parsed<std::uint32_t> FrameLength(const std::uint8_t prefix[4]);
std::string LengthPrefix(std::size_t n);

}  // namespace rankwrap::plane
