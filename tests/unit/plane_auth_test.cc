// SHA-256 / HMAC-SHA256 against FIPS 180-4 and RFC 4231 vectors and against
// OpenSSL; session keys, tags, replays and reflections (stage: plane).
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <random>

#include "core/plane/auth.h"
#include "core/plane/sha256.h"

namespace rankwrap::plane {
namespace {

std::string Unhex(std::string_view h) {
  std::string s;
  for (std::size_t i = 0; i + 1 < h.size(); i += 2)
    s += static_cast<char>(std::stoi(std::string(h.substr(i, 2)), nullptr, 16));
  return s;
}

TEST(PlaneSha256, FipsVectors) {
  EXPECT_EQ(Hex(View(Sha256Of(""))), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(Hex(View(Sha256Of("abc"))), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(Hex(View(Sha256Of("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"))),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  Sha256 s;
  const std::string a(1000, 'a');
  for (int i = 0; i < 1000; ++i) s.Update(a);
  EXPECT_EQ(Hex(View(s.Final())), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST(PlaneSha256, Rfc4231HmacVectors) {
  // Test case 1, 2, 6 (a key longer than the block), 7.
  EXPECT_EQ(Hex(View(HmacSha256(std::string(20, '\x0b'), {"Hi There"}))),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
  EXPECT_EQ(Hex(View(HmacSha256("Jefe", {"what do ya want ", "for nothing?"}))),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  EXPECT_EQ(Hex(View(HmacSha256(std::string(131, '\xaa'), {"Test Using Larger Than Block-Size Key - Hash Key First"}))),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
  EXPECT_EQ(Hex(View(HmacSha256(
                std::string(131, '\xaa'),
                {Unhex("5468697320697320612074657374207573696e672061206c6172676572207468616e20626c6f636b2d73697a"
                       "65206b657920616e642061206c6172676572207468616e20626c6f636b2d73697a6520646174612e20546865"
                       "206b6579206e6565647320746f20626520686173686564206265666f7265206265696e672075736564206279"
                       "2074686520484d414320616c676f726974686d2e")}))),
            "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2");
}

TEST(PlaneSha256, AgreesWithOpenSslOnRandomInputs) {
  std::mt19937 rng(7);
  for (int i = 0; i < 300; ++i) {
    std::string key(rng() % 100, '\0'), msg(rng() % 300, '\0');
    for (char& c : key) c = static_cast<char>(rng());
    for (char& c : msg) c = static_cast<char>(rng());
    unsigned char out[32];
    unsigned int len = 0;
    HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(msg.data()),
         msg.size(), out, &len);
    // Split the message to exercise the parts.
    const std::size_t cut = msg.empty() ? 0 : rng() % msg.size();
    EXPECT_EQ(Hex(View(HmacSha256(key, {std::string_view(msg).substr(0, cut), std::string_view(msg).substr(cut)}))),
              Hex(std::string_view(reinterpret_cast<char*>(out), len)));
  }
}

Nonce N(std::uint8_t b) {
  Nonce n;
  n.fill(b);
  return n;
}

TEST(PlaneAuth, SessionKeysDependOnSecretJobAndBothNonces) {
  const std::string k = SessionKey("secret-secret-secret", "1.0", N(1), N(2));
  EXPECT_EQ(k.size(), 32u);
  EXPECT_NE(k, SessionKey("secret-secret-secreT", "1.0", N(1), N(2)));
  EXPECT_NE(k, SessionKey("secret-secret-secret", "1.1", N(1), N(2)));
  EXPECT_NE(k, SessionKey("secret-secret-secret", "1.0", N(3), N(2)));
  EXPECT_NE(k, SessionKey("secret-secret-secret", "1.0", N(1), N(3)));
  EXPECT_EQ(k, SessionKey("secret-secret-secret", "1.0", N(1), N(2)));
}

TEST(PlaneAuth, OpenChecksTagSequenceAndDirection) {
  const std::string key = SessionKey("s", "j", N(1), N(2));
  const Failure f{3, 1, "h", 1, 0, 5, "x"};
  const std::string frame = Seal(f, 4, AuthMode::kSecret, key, Direction::kToServer);
  const std::string_view body = std::string_view(frame).substr(4);
  auto ok = Open(body, AuthMode::kSecret, key, Direction::kToServer, 4);
  ASSERT_TRUE(ok) << ok.error().message;
  EXPECT_EQ(std::get<Failure>(*ok), f);
  // A replay: the same frame when the next number is expected.
  EXPECT_EQ(Open(body, AuthMode::kSecret, key, Direction::kToServer, 5).error().message,
            "failure: sequence number 4, expected 5 (a replayed or lost message)");
  // Reflected back to its sender.
  EXPECT_EQ(Open(body, AuthMode::kSecret, key, Direction::kToClient, 4).error().message,
            "failure: wrong tag (not signed with this connection's key)");
  // Replayed into another connection (another key).
  EXPECT_FALSE(Open(body, AuthMode::kSecret, SessionKey("s", "j", N(1), N(9)), Direction::kToServer, 4));
  // Any flipped bit.
  for (std::size_t i = 0; i < body.size(); ++i) {
    std::string b(body);
    b[i] = static_cast<char>(b[i] ^ 0x10);
    EXPECT_FALSE(Open(b, AuthMode::kSecret, key, Direction::kToServer, 4)) << i;
  }
}

// A broadcast is encoded once and sealed per connection: each copy must be
// exactly the frame built the plain way (its own sequence number, the body
// tagged under its own key, checked here with OpenSSL's HMAC), and open only
// under its own key and number.
TEST(PlaneAuth, PreparedCopiesCarryTheirOwnSequenceAndTag) {
  const Message m = Failure{7, 2, "node-02", 1, 0, 1700000000000, "exit code 1"};
  const Prepared p(m);
  for (std::uint64_t seq : {0ull, 1ull, 255ull, 256ull, 0x0102030405060708ull}) {
    const std::string key = SessionKey("s", "j", N(1), N(static_cast<std::uint8_t>(seq)));
    const std::string frame = p.Seal(seq, AuthMode::kSecret, HmacKey(key), Direction::kToClient);
    const std::string body = EncodeBody(m, seq);
    const std::string signed_part = "S" + body;
    unsigned char tag[32];
    unsigned int len = 0;
    HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
         reinterpret_cast<const unsigned char*>(signed_part.data()), signed_part.size(), tag, &len);
    EXPECT_EQ(Hex(frame), Hex(LengthPrefix(body.size() + 32) + body + std::string(reinterpret_cast<char*>(tag), len)))
        << seq;
    const std::string_view b = std::string_view(frame).substr(4);
    ASSERT_TRUE(Open(b, AuthMode::kSecret, key, Direction::kToClient, seq)) << seq;
    EXPECT_FALSE(Open(b, AuthMode::kSecret, key, Direction::kToClient, seq + 1)) << seq;
    EXPECT_FALSE(Open(b, AuthMode::kSecret, SessionKey("s", "j", N(1), N(99)), Direction::kToClient, seq)) << seq;
  }
  // Untagged when insecure, and for the two messages before a key exists.
  EXPECT_EQ(p.Seal(3, AuthMode::kInsecure, HmacKey("k"), Direction::kToClient),
            LengthPrefix(EncodeBody(m, 3).size()) + EncodeBody(m, 3));
  const Prepared r(Reject{"no"});
  EXPECT_EQ(r.Seal(0, AuthMode::kSecret, HmacKey("k"), Direction::kToClient),
            LengthPrefix(EncodeBody(Reject{"no"}, 0).size()) + EncodeBody(Reject{"no"}, 0));
}

TEST(PlaneAuth, MungePayloadBindsJobAndNonces) {
  const std::string key(32, 'k');
  const std::string p = MungePayload("77", N(1), N(2), key);
  EXPECT_EQ(*MungePayloadKey(p, "77", N(1), N(2)), key);
  EXPECT_EQ(MungePayloadKey(p, "778", N(1), N(2)).error().why, "credential payload of the wrong size");
  EXPECT_EQ(MungePayloadKey(p, "78", N(1), N(2)).error().why, "credential made for another job or connection");
  EXPECT_EQ(MungePayloadKey(p, "77", N(3), N(2)).error().why, "credential made for another job or connection");
  EXPECT_EQ(MungePayloadKey(p, "77", N(1), N(3)).error().why, "credential made for another job or connection");
}

}  // namespace
}  // namespace rankwrap::plane
