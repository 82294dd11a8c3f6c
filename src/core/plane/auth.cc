#include "core/plane/auth.h"

#include "core/plane/sha256.h"

namespace rankwrap::plane {
namespace {

constexpr std::string_view kLabel{"rankwrap-plane-v1\0", 18};

std::string_view NonceView(const Nonce& n) { return {reinterpret_cast<const char*>(n.data()), n.size()}; }

}  // namespace

std::string SessionKey(std::string_view base, std::string_view job_id, const Nonce& server, const Nonce& client) {
  const std::string_view zero("\0", 1);
  return std::string(View(HmacSha256(base, {kLabel, job_id, zero, NonceView(server), NonceView(client)})));
}

std::string MungePayload(std::string_view job_id, const Nonce& server, const Nonce& client, std::string_view key) {
  std::string p(kLabel);
  p += job_id;
  p += '\0';
  p += NonceView(server);
  p += NonceView(client);
  p += key;
  return p;
}

Result<std::string, Refusal> MungePayloadKey(std::string_view payload, std::string_view job_id, const Nonce& server,
                                             const Nonce& client) {
  const std::string expected = MungePayload(job_id, server, client, "");
  if (payload.size() != expected.size() + 32) return Refusal{"credential payload of the wrong size"};
  if (!ConstantTimeEqual(payload.substr(0, expected.size()), expected)) {
    return Refusal{"credential made for another job or connection"};
  }
  return std::string(payload.substr(expected.size()));
}

std::string Seal(const Message& m, std::uint64_t seq, AuthMode mode, const HmacKey& key, Direction dir) {
  std::string body = EncodeBody(m, seq);
  if (Tagged(TypeOf(m), mode)) {
    const char d = static_cast<char>(dir);
    body += View(key.Mac({std::string_view(&d, 1), body}));
  }
  return LengthPrefix(body.size()) + body;
}

bool TagValid(const Decoded& dec, AuthMode mode, const HmacKey& key, Direction dir) {
  if (!Tagged(TypeOf(dec.message), mode)) return true;
  const char d = static_cast<char>(dir);
  return ConstantTimeEqual(View(key.Mac({std::string_view(&d, 1), dec.signed_part})), dec.tag);
}

Parsed<Message> Open(std::string_view body, AuthMode mode, const HmacKey& key, Direction dir,
                     std::uint64_t expected_seq) {
  auto d = DecodeBody(body, mode);
  if (!d) return d.error();
  if (!TagValid(*d, mode, key, dir))
    return ParseError{
        body.size(), std::string(TypeName(TypeOf(d->message))) + ": wrong tag (not signed with this connection's key)"};
  if (d->seq != expected_seq) {
    return ParseError{2, std::string(TypeName(TypeOf(d->message))) + ": sequence number " + std::to_string(d->seq) +
                             ", expected " + std::to_string(expected_seq) + " (a replayed or lost message)"};
  }
  return std::move(d->message);
}

}  // namespace rankwrap::plane
