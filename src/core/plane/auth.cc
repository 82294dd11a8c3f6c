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

Prepared::Prepared(const Message& m) : body_(EncodeBody(m, 0)), type_(TypeOf(m)) {}

std::string Prepared::Seal(std::uint64_t seq, AuthMode mode, const HmacKey& key, Direction dir) const {
  const bool tagged = Tagged(type_, mode);
  const std::size_t n = body_.size() + (tagged ? kTagSize : 0);
  std::string frame = LengthPrefix(n);
  frame.reserve(4 + n);
  frame += body_;
  // The sequence number: the 8 bytes after version and type, big-endian.
  for (std::size_t i = 0; i < 8; ++i) frame[4 + 2 + i] = static_cast<char>((seq >> (8 * (7 - i))) & 0xff);
  if (tagged) {
    const char d = static_cast<char>(dir);
    frame += View(key.Mac({std::string_view(&d, 1), std::string_view(frame).substr(4)}));
  }
  return frame;
}

std::string Seal(const Message& m, std::uint64_t seq, AuthMode mode, const HmacKey& key, Direction dir) {
  return Prepared(m).Seal(seq, mode, key, dir);
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
