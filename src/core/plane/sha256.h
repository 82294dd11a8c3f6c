// SHA-256 and HMAC-SHA256 (FIPS 180-4, RFC 2104), pure (stage: plane).
// Small on purpose: the control plane tags each message with a keyed MAC and
// the core stays free of vendor headers. Checked against the FIPS/RFC 4231
// vectors and against OpenSSL in tests/unit/plane_auth_test.cc.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace rankwrap::plane {

using Digest = std::array<std::uint8_t, 32>;

class Sha256 {
 public:
  Sha256();
  void Update(std::string_view data);
  Digest Final();  // the object must not be used afterwards

 private:
  void Block(const std::uint8_t* p);
  std::array<std::uint32_t, 8> h_;
  std::array<std::uint8_t, 64> buf_{};
  std::size_t fill_ = 0;
  std::uint64_t bytes_ = 0;
};

Digest Sha256Of(std::string_view data);

// HMAC-SHA256 of the concatenation of `parts` under `key`.
Digest HmacSha256(std::string_view key, std::initializer_list<std::string_view> parts);

// An HMAC-SHA256 key with its padded blocks hashed once: each MAC then
// costs two compressions fewer (the server tags one frame per node on every
// broadcast).
class HmacKey {
 public:
  HmacKey() : HmacKey(std::string_view()) {}
  explicit HmacKey(std::string_view key);
  Digest Mac(std::initializer_list<std::string_view> parts) const;

 private:
  Sha256 inner_, outer_;
};

// Equality of two byte strings in time that depends on their length only.
bool ConstantTimeEqual(std::string_view a, std::string_view b);

inline std::string_view View(const Digest& d) { return {reinterpret_cast<const char*>(d.data()), d.size()}; }
std::string Hex(std::string_view bytes);

}  // namespace rankwrap::plane
