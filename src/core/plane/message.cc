#include "core/plane/message.h"

#include <cstring>
#include <type_traits>

namespace rankwrap::plane {
namespace {

class Writer {
 public:
  explicit Writer(std::string& out) : out_(out) {}
  void U8(std::uint8_t v) { out_ += static_cast<char>(v); }
  void U16(std::uint16_t v) { Int(v, 2); }
  void U32(std::uint32_t v) { Int(v, 4); }
  void U64(std::uint64_t v) { Int(v, 8); }
  void Str(std::string_view s, std::size_t max) {
    // Encoders are given checked values; cut rather than emit an undecodable frame.
    if (s.size() > max) s = s.substr(0, max);
    U16(static_cast<std::uint16_t>(s.size()));
    out_.append(s);
  }
  void Raw(const Nonce& n) { out_.append(reinterpret_cast<const char*>(n.data()), n.size()); }

 private:
  void Int(std::uint64_t v, int n) {
    for (int i = n - 1; i >= 0; --i) out_ += static_cast<char>((v >> (8 * i)) & 0xff);
  }
  std::string& out_;
};

class Reader {
 public:
  explicit Reader(std::string_view in) : in_(in) {}
  bool failed() const { return !error_.empty(); }
  std::size_t pos() const { return pos_; }
  const std::string& error() const { return error_; }
  std::size_t left() const { return in_.size() - pos_; }
  void Fail(std::string why) {
    if (error_.empty()) error_ = std::move(why);
  }
  std::uint64_t Int(int n, const char* what) {
    if (failed()) return 0;
    if (left() < static_cast<std::size_t>(n)) {
      Fail(std::string("truncated ") + what);
      return 0;
    }
    std::uint64_t v = 0;
    for (int i = 0; i < n; ++i) v = (v << 8) | static_cast<unsigned char>(in_[pos_++]);
    return v;
  }
  std::uint8_t U8(const char* w) { return static_cast<std::uint8_t>(Int(1, w)); }
  std::uint16_t U16(const char* w) { return static_cast<std::uint16_t>(Int(2, w)); }
  std::uint32_t U32(const char* w) { return static_cast<std::uint32_t>(Int(4, w)); }
  std::uint64_t U64(const char* w) { return Int(8, w); }
  std::string Str(std::size_t max, const char* what) {
    const std::size_t n = U16(what);
    if (failed()) return {};
    if (n > max) {
      Fail(std::string(what) + " of " + std::to_string(n) + " bytes, at most " + std::to_string(max));
      return {};
    }
    if (left() < n) {
      Fail(std::string("truncated ") + what);
      return {};
    }
    std::string s(in_.substr(pos_, n));
    pos_ += n;
    return s;
  }
  // A host name or job id: printable, no spaces (they end up in messages).
  std::string Name(std::size_t max, const char* what) {
    std::string s = Str(max, what);
    for (char c : s) {
      if (c <= ' ' || c > '~') {
        Fail(std::string(what) + " has a byte outside printable ASCII");
        return {};
      }
    }
    return s;
  }
  Nonce Raw(const char* what) {
    Nonce n{};
    if (failed()) return n;
    if (left() < n.size()) {
      Fail(std::string("truncated ") + what);
      return n;
    }
    std::memcpy(n.data(), in_.data() + pos_, n.size());
    pos_ += n.size();
    return n;
  }

 private:
  std::string_view in_;
  std::size_t pos_ = 0;
  std::string error_;
};

void EncodeMaster(Writer& w, const Master& m) {
  w.Str(m.host, kMaxHost);
  w.U16(m.port);
  w.Str(m.blob, kMaxBlob);
}
Master DecodeMaster(Reader& r) {
  Master m;
  m.host = r.Name(kMaxHost, "host");
  m.port = r.U16("port");
  if (!r.failed() && m.port == 0) r.Fail("port 0");
  m.blob = r.Str(kMaxBlob, "blob");
  return m;
}

void EncodePayload(Writer& w, const Message& msg) {
  std::visit(
      [&](const auto& m) {
        using T = std::decay_t<decltype(m)>;
        if constexpr (std::is_same_v<T, Challenge>) {
          w.U8(static_cast<std::uint8_t>(m.mode));
          w.Str(m.job_id, kMaxJobId);
          w.Raw(m.nonce);
        } else if constexpr (std::is_same_v<T, Reject> || std::is_same_v<T, Shutdown>) {
          w.Str(m.reason, kMaxText);
        } else if constexpr (std::is_same_v<T, Hello>) {
          w.Str(m.job_id, kMaxJobId);
          w.U32(m.node);
          w.U32(m.node_count);
          w.Str(m.host, kMaxHost);
          w.U64(m.lowest_rank);
          w.Raw(m.nonce);
          w.Str(m.credential, kMaxCredential);
        } else if constexpr (std::is_same_v<T, Welcome>) {
          w.U32(m.heartbeat_ms);
        } else if constexpr (std::is_same_v<T, Announce> || std::is_same_v<T, RendezvousDone>) {
          EncodeMaster(w, m.master);
        } else if constexpr (std::is_same_v<T, RendezvousFailed>) {
          w.U32(m.missing_count);
          w.Str(m.missing, kMaxText);
          w.Str(m.reason, kMaxText);
        } else if constexpr (std::is_same_v<T, Failure>) {
          w.U64(m.rank);
          w.U32(m.node);
          w.Str(m.host, kMaxHost);
          w.U32(static_cast<std::uint32_t>(m.code));
          w.U32(static_cast<std::uint32_t>(m.signal));
          w.U64(static_cast<std::uint64_t>(m.time_ms));
          w.Str(m.cause, kMaxText);
        } else if constexpr (std::is_same_v<T, Stopped>) {
          w.U32(m.attempt);
          w.U8(m.failed ? 1 : 0);
          w.Str(m.blob, kMaxBlob);
        } else if constexpr (std::is_same_v<T, Restart>) {
          w.U32(m.attempt);
          w.Str(m.blob, kMaxBlob);
        } else if constexpr (std::is_same_v<T, PreflightReport>) {
          w.Str(m.report, kMaxReport);
        } else if constexpr (std::is_same_v<T, PreflightDone>) {
          w.U32(m.nodes);
        }
        // Heartbeat, Bye: no payload.
      },
      msg);
}

// The messages added with restarts (12, 13) and the pre-flight round (14, 15).
Message DecodeLater(Reader& r, std::uint8_t type) {
  switch (type) {
    case 12: {
      Stopped m;
      m.attempt = r.U32("attempt");
      const std::uint8_t failed = r.U8("failed");
      if (!r.failed() && failed > 1) r.Fail("failed flag " + std::to_string(failed));
      m.failed = failed == 1;
      m.blob = r.Str(kMaxBlob, "blob");
      return m;
    }
    case 13: {
      Restart m;
      m.attempt = r.U32("attempt");
      m.blob = r.Str(kMaxBlob, "blob");
      return m;
    }
    case 14:
      return PreflightReport{r.Str(kMaxReport, "pre-flight report")};
    case 15:
      return PreflightDone{r.U32("nodes checked")};
    default:
      r.Fail("unknown message type " + std::to_string(type));
      return Heartbeat{};
  }
}

Message DecodePayload(Reader& r, std::uint8_t type) {
  switch (type) {
    case 1: {
      Challenge m;
      const std::uint8_t mode = r.U8("auth mode");
      if (!r.failed() && mode > 2) r.Fail("unknown auth mode " + std::to_string(mode));
      m.mode = static_cast<AuthMode>(mode);
      m.job_id = r.Name(kMaxJobId, "job id");
      m.nonce = r.Raw("nonce");
      return m;
    }
    case 2:
      return Reject{r.Str(kMaxText, "reason")};
    case 3: {
      Hello m;
      m.job_id = r.Name(kMaxJobId, "job id");
      m.node = r.U32("node index");
      m.node_count = r.U32("node count");
      if (!r.failed() && (m.node_count == 0 || m.node >= m.node_count)) {
        r.Fail("node index " + std::to_string(m.node) + " outside 0.." + std::to_string(m.node_count) + "-1");
      }
      m.host = r.Name(kMaxHost, "host");
      m.lowest_rank = r.U64("lowest rank");
      m.nonce = r.Raw("nonce");
      m.credential = r.Str(kMaxCredential, "credential");
      return m;
    }
    case 4:
      return Welcome{r.U32("heartbeat")};
    case 5:
      return Announce{DecodeMaster(r)};
    case 6:
      return RendezvousDone{DecodeMaster(r)};
    case 7: {
      RendezvousFailed m;
      m.missing_count = r.U32("missing count");
      m.missing = r.Str(kMaxText, "missing");
      m.reason = r.Str(kMaxText, "reason");
      return m;
    }
    case 8: {
      Failure m;
      m.rank = r.U64("rank");
      m.node = r.U32("node index");
      m.host = r.Name(kMaxHost, "host");
      m.code = static_cast<std::int32_t>(r.U32("exit code"));
      m.signal = static_cast<std::int32_t>(r.U32("signal"));
      if (!r.failed() && (m.signal < 0 || m.signal > 128)) r.Fail("signal " + std::to_string(m.signal));
      m.time_ms = static_cast<std::int64_t>(r.U64("time"));
      m.cause = r.Str(kMaxText, "cause");
      return m;
    }
    case 9:
      return Heartbeat{};
    case 10:
      return Bye{};
    case 11:
      return Shutdown{r.Str(kMaxText, "reason")};
    default:
      return DecodeLater(r, type);
  }
}

}  // namespace

const char* AuthModeName(AuthMode m) {
  switch (m) {
    case AuthMode::kInsecure:
      return "insecure";
    case AuthMode::kSecret:
      return "secret";
    case AuthMode::kMunge:
      return "munge";
  }
  return "?";
}

std::uint8_t TypeOf(const Message& m) { return static_cast<std::uint8_t>(m.index() + 1); }

const char* TypeName(std::uint8_t type) {
  static const char* names[] = {
      "challenge", "reject", "hello",    "welcome", "announce", "rendezvous",       "rendezvous-failed", "failure",
      "heartbeat", "bye",    "shutdown", "stopped", "restart",  "preflight-report", "preflight-done"};
  static_assert(sizeof names / sizeof names[0] == std::variant_size_v<Message>, "a name per message type");
  return type >= 1 && type <= std::variant_size_v<Message> ? names[type - 1] : "unknown";
}

bool Tagged(std::uint8_t type, AuthMode mode) { return mode != AuthMode::kInsecure && type != 1 && type != 2; }

std::string EncodeBody(const Message& m, std::uint64_t seq) {
  std::string out;
  out.reserve(64);
  Writer w(out);
  w.U8(kVersion);
  w.U8(TypeOf(m));
  w.U64(seq);
  EncodePayload(w, m);
  return out;
}

Parsed<Decoded> DecodeBody(std::string_view body, AuthMode mode) {
  if (body.size() > kMaxBody)
    return ParseError{kMaxBody,
                      "message of " + std::to_string(body.size()) + " bytes, at most " + std::to_string(kMaxBody)};
  Reader head(body);
  const std::uint8_t version = head.U8("version");
  if (!head.failed() && version != kVersion) {
    return ParseError{0, "version " + std::to_string(version) + ", this rankwrap speaks " + std::to_string(kVersion)};
  }
  const std::uint8_t type = head.U8("type");
  const std::uint64_t seq = head.U64("sequence number");
  if (head.failed()) return ParseError{head.pos(), head.error()};
  if (type < 1 || type > std::variant_size_v<Message>)
    return ParseError{1, "unknown message type " + std::to_string(type)};
  const std::size_t tag = Tagged(type, mode) ? kTagSize : 0;
  if (body.size() < kHeaderSize + tag)
    return ParseError{body.size(), std::string("truncated ") + TypeName(type) + " (no tag)"};
  const std::string_view signed_part = body.substr(0, body.size() - tag);
  Reader r(signed_part);
  r.Int(static_cast<int>(kHeaderSize) - 8, "header");
  r.U64("sequence number");
  Message m = DecodePayload(r, type);
  if (r.failed()) return ParseError{r.pos(), std::string(TypeName(type)) + ": " + r.error()};
  if (r.left() != 0) {
    return ParseError{r.pos(), std::string(TypeName(type)) + ": " + std::to_string(r.left()) + " bytes left over"};
  }
  return Decoded{std::move(m), seq, signed_part, body.substr(body.size() - tag)};
}

Parsed<std::uint32_t> FrameLength(const std::uint8_t p[4]) {
  const std::uint32_t n = (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) | p[3];
  if (n < kHeaderSize)
    return ParseError{0, "frame of " + std::to_string(n) + " bytes, at least " + std::to_string(kHeaderSize)};
  if (n > kMaxBody)
    return ParseError{0, "frame of " + std::to_string(n) + " bytes, at most " + std::to_string(kMaxBody)};
  return n;
}

std::string LengthPrefix(std::size_t n) {
  std::string s(4, '\0');
  for (int i = 0; i < 4; ++i) s[static_cast<std::size_t>(i)] = static_cast<char>((n >> (24 - 8 * i)) & 0xff);
  return s;
}

}  // namespace rankwrap::plane
