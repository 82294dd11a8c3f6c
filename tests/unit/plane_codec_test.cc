// The control plane's wire form: every message round-trips; the decoder
// refuses malformed input with a reason (stage: plane).
#include <gtest/gtest.h>

#include "core/plane/auth.h"
#include "core/plane/config.h"
#include "core/plane/message.h"
#include "core/plane/server.h"

namespace rankwrap::plane {
namespace {

Nonce N(std::uint8_t b) {
  Nonce n;
  n.fill(b);
  return n;
}

std::vector<Message> Samples() {
  return {Challenge{AuthMode::kMunge, "1234.0", N(7)},
          Reject{"no"},
          Hello{"1234.0", 3, 8, "node-03", 24, N(9), "MUNGE:abc"},
          Welcome{1000},
          Announce{{"node-00", 29500, std::string(128, '\x01')}},
          RendezvousDone{{"node-00", 29500, ""}},
          RendezvousFailed{2, "3,5", "2 of 8 nodes did not join"},
          Failure{17, 5, "node-05", 3, 0, 1700000000123, "exit code 3"},
          Failure{kNoRank, 5, "node-05", 0, 9, -1, ""},
          Heartbeat{},
          Bye{},
          Shutdown{"job done"},
          Stopped{2, true, std::string(136, '\x07')},
          Stopped{0, false, ""},
          Restart{3, "id"},
          Restart{kNoMoreAttempts, ""},
          PreflightReport{std::string(kMaxReport, 'r')},
          PreflightReport{""},
          PreflightDone{12}};
}

TEST(PlaneCodec, EveryMessageRoundTripsInEveryMode) {
  for (AuthMode mode : {AuthMode::kInsecure, AuthMode::kSecret, AuthMode::kMunge}) {
    std::uint64_t seq = 5;
    for (const Message& m : Samples()) {
      const std::string frame = Seal(m, seq, mode, "k", Direction::kToClient);
      const auto* p = reinterpret_cast<const std::uint8_t*>(frame.data());
      auto len = FrameLength(p);
      ASSERT_TRUE(len) << len.error().message;
      ASSERT_EQ(*len + 4, frame.size());
      auto d = DecodeBody(std::string_view(frame).substr(4), mode);
      ASSERT_TRUE(d) << TypeName(TypeOf(m)) << ": " << d.error().message;
      EXPECT_EQ(d->message.index(), m.index());
      EXPECT_EQ(EncodeBody(d->message, seq), EncodeBody(m, seq));
      EXPECT_EQ(d->seq, seq);
      EXPECT_EQ(d->tag.size(), Tagged(TypeOf(m), mode) ? kTagSize : 0u);
      ++seq;
    }
  }
}

TEST(PlaneCodec, ChallengeAndRejectAreNeverTagged) {
  EXPECT_FALSE(Tagged(TypeOf(Challenge{}), AuthMode::kSecret));
  EXPECT_FALSE(Tagged(TypeOf(Reject{}), AuthMode::kMunge));
  EXPECT_TRUE(Tagged(TypeOf(Hello{}), AuthMode::kSecret));
  EXPECT_FALSE(Tagged(TypeOf(Hello{}), AuthMode::kInsecure));
}

struct Bad {
  std::string body;
  std::string reason;
};

TEST(PlaneCodec, MalformedBodiesAreRefusedWithAReason) {
  const std::string hello = EncodeBody(Hello{"j", 1, 2, "h", 0, N(1), ""}, 0);
  std::string bad_node = EncodeBody(Hello{"j", 1, 2, "h", 0, N(1), ""}, 0);
  bad_node[10 + 2 + 1 + 3] = 5;  // node index 5 of 2
  std::string bad_host = hello;
  bad_host[10 + 2 + 1 + 8 + 2] = ' ';
  const std::vector<Bad> cases = {
      {"", "truncated version"},
      {std::string("\x02\x03", 2) + std::string(8, '\0'), "version 2, this rankwrap speaks 1"},
      {std::string("\x01\x00", 2) + std::string(8, '\0'), "unknown message type 0"},
      {std::string("\x01\x10", 2) + std::string(8, '\0'), "unknown message type 16"},
      {std::string("\x01\x0c", 2) + std::string(8, '\0') + std::string("\0\0\0\1\2\0\0", 7), "stopped: failed flag 2"},
      {std::string("\x01\x09", 2) + std::string(4, '\0'), "truncated sequence number"},
      {hello.substr(0, hello.size() - 1), "hello: truncated credential"},
      {hello + "x", "hello: 1 bytes left over"},
      {bad_node, "hello: node index 5 outside 0..2-1"},
      {bad_host, "hello: host has a byte outside printable ASCII"},
      {EncodeBody(Heartbeat{}, 0), "truncated heartbeat (no tag)"},
      {std::string("\x01\x01", 2) + std::string(8, '\0') + "\x07", "challenge: unknown auth mode 7"},
      {EncodeBody(Announce{{"h", 0, ""}}, 0), "announce: port 0"},
      {std::string(kMaxBody + 1, '\x01'), "message of 4097 bytes, at most 4096"},
  };
  for (const Bad& b : cases) {
    // Heartbeat is tagged in secret mode; the rest are judged untagged.
    const AuthMode mode = b.reason.find("no tag") != std::string::npos ? AuthMode::kSecret : AuthMode::kInsecure;
    auto d = DecodeBody(b.body, mode);
    ASSERT_FALSE(d) << b.reason;
    EXPECT_EQ(d.error().message, b.reason);
  }
}

TEST(PlaneCodec, OversizedStringFieldsAreRefused) {
  std::string body = EncodeBody(Reject{"x"}, 0);
  body[10] = static_cast<char>(0xff);  // reason length 0xff01
  auto d = DecodeBody(body, AuthMode::kSecret);
  ASSERT_FALSE(d);
  EXPECT_EQ(d.error().message, "reject: reason of 65281 bytes, at most 1024");
}

TEST(PlaneCodec, FrameLengthBounds) {
  const std::uint8_t zero[4] = {0, 0, 0, 0}, big[4] = {0, 0, 0x10, 0x01}, ok[4] = {0, 0, 0, 10};
  EXPECT_FALSE(FrameLength(zero));
  EXPECT_EQ(FrameLength(big).error().message, "frame of 4097 bytes, at most 4096");
  EXPECT_EQ(*FrameLength(ok), 10u);
}

TEST(PlaneCodec, FormatIndices) {
  EXPECT_EQ(FormatIndices({}), "");
  EXPECT_EQ(FormatIndices({3}), "3");
  EXPECT_EQ(FormatIndices({0, 3, 5, 6, 7, 9}), "0,3,5-7,9");
  std::vector<std::uint32_t> many;
  for (std::uint32_t i = 0; i < 1000; i += 2) many.push_back(i);
  const std::string s = FormatIndices(many, 20);
  EXPECT_EQ(s, "0,2,4,6,8,10,12,14,... (492 more)");
}

TEST(PlaneConfig, PortAndAuthModes) {
  PlaneInputs in;
  in.job_id = "4242.0";
  in.node_count = 4;
  in.node_index = 2;
  in.host = "n2";
  in.server_host = "n0";
  in.secret = "0123456789abcdef0123";
  auto c = MakePlaneConfig(in);
  ASSERT_TRUE(c) << c.error().what;
  EXPECT_EQ(c->mode, AuthMode::kSecret);
  EXPECT_EQ(c->port, PlanePort("4242.0"));
  EXPECT_GE(c->port, kPlanePortBase);
  EXPECT_LT(c->port + kPlanePortRange, 20000);
  EXPECT_FALSE(c->runs_server());
  in.munge_available = true;
  EXPECT_EQ(MakePlaneConfig(in)->mode, AuthMode::kMunge);
  in.auth = "secret";
  EXPECT_EQ(MakePlaneConfig(in)->mode, AuthMode::kSecret);
  in.auth = "insecure";
  EXPECT_EQ(MakePlaneConfig(in)->mode, AuthMode::kInsecure);
  in.auth = "auto";
  in.munge_available = false;
  in.secret = "";
  auto e = MakePlaneConfig(in);
  ASSERT_FALSE(e);
  EXPECT_EQ(e.error().what, "RANKWRAP_JOB_SECRET is not set and munged did not answer");
  in.secret = "short";
  EXPECT_EQ(MakePlaneConfig(in).error().what, "RANKWRAP_JOB_SECRET of 5 bytes");
  in.auth = "munge";
  EXPECT_EQ(MakePlaneConfig(in).error().what, "--plane=munge");
  in.auth = "none";
  EXPECT_EQ(MakePlaneConfig(in).error().exit_code, kExitUsage);
  in.auth = "insecure";
  in.node_index = 4;
  EXPECT_EQ(MakePlaneConfig(in).error().what, "NODE_RANK=4 with NUM_NODES=4");
}

}  // namespace
}  // namespace rankwrap::plane
