// Who may talk on the control plane, pure (stage: plane).
//
// Every connection gets a session key bound to the job id and to two fresh
// nonces (the server's, in its Challenge, and the client's, in its Hello):
//   key = HMAC-SHA256(base, "rankwrap-plane-v1" 0 job_id 0 server_nonce client_nonce)
// where base is the job secret (secret mode) or 32 random bytes the client
// sends inside its MUNGE credential (munge mode; the credential's payload
// binds the same job id and nonces, and only the job's uid can decode it).
// Each tagged message carries HMAC-SHA256(key, direction | body) and a
// sequence number that must be exactly the next one: a message replayed in
// the same connection has a stale number, one replayed into another
// connection was tagged under another key, and a server's message cannot be
// reflected back to it (the direction byte differs).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "core/error.h"
#include "core/plane/message.h"
#include "core/plane/sha256.h"

namespace rankwrap::plane {

enum class Direction : char { kToServer = 'C', kToClient = 'S' };

std::string SessionKey(std::string_view base, std::string_view job_id, const Nonce& server, const Nonce& client);

// MUNGE mode: what the client's credential carries, and its check.
std::string MungePayload(std::string_view job_id, const Nonce& server, const Nonce& client, std::string_view key);
// The key inside `payload`, or why the payload is not for this job and
// connection.
Result<std::string, Refusal> MungePayloadKey(std::string_view payload, std::string_view job_id, const Nonce& server,
                                             const Nonce& client);

// The whole frame (length prefix, body, tag when the mode and type want one).
std::string Seal(const Message& m, std::uint64_t seq, AuthMode mode, const HmacKey& key, Direction dir);
inline std::string Seal(const Message& m, std::uint64_t seq, AuthMode mode, std::string_view key, Direction dir) {
  return Seal(m, seq, mode, HmacKey(key), dir);
}
// One message encoded once, sealed for many connections: each copy differs
// only in its sequence number and its tag (the server's broadcasts: one
// encode per broadcast, one HMAC per connection). Seal(seq, ...) returns the
// same bytes as Seal(message, seq, ...).
class Prepared {
 public:
  explicit Prepared(const Message& m);
  std::string Seal(std::uint64_t seq, AuthMode mode, const HmacKey& key, Direction dir) const;

 private:
  std::string body_;  // seq 0; patched per copy
  std::uint8_t type_ = 0;
};

// True when the decoded message's tag is right (or it carries none by design).
bool TagValid(const Decoded& d, AuthMode mode, const HmacKey& key, Direction dir);

// Decode + tag + sequence in one: what each side does with every message
// after the handshake. The error says which check failed.
Parsed<Message> Open(std::string_view body, AuthMode mode, const HmacKey& key, Direction dir,
                     std::uint64_t expected_seq);
inline Parsed<Message> Open(std::string_view body, AuthMode mode, std::string_view key, Direction dir,
                            std::uint64_t expected_seq) {
  return Open(body, mode, HmacKey(key), dir, expected_seq);
}

}  // namespace rankwrap::plane
