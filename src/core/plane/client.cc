#include "core/plane/client.h"

namespace rankwrap::plane {

ClientCore::ClientCore(ClientOptions o, const Nonce& nonce, std::string munge_key, CredentialMaker make)
    : o_(std::move(o)), nonce_(nonce), munge_key_(std::move(munge_key)), make_(std::move(make)) {}

void ClientCore::Fail(ClientEvent::Kind k, std::string text, ClientOut& out) {
  ClientEvent e;
  e.kind = k;
  e.text = std::move(text);
  out.events.push_back(std::move(e));
  out.close = true;
  state_ = State::kClosed;
}

std::string ClientCore::Seal(const Message& m) { return plane::Seal(m, sseq_++, o_.mode, key_, Direction::kToServer); }

void ClientCore::OnChallenge(std::string_view body, ClientOut& out) {
  using K = ClientEvent::Kind;
  auto d = DecodeBody(body, o_.mode);
  if (!d) return Fail(K::kWrongServer, "not a rankwrap plane: " + d.error().message, out);
  const auto* ch = std::get_if<Challenge>(&d->message);
  if (ch == nullptr)
    return Fail(K::kWrongServer, std::string("expected a challenge, got ") + TypeName(TypeOf(d->message)), out);
  if (ch->job_id != o_.job_id) return Fail(K::kWrongServer, "the plane of job " + ch->job_id, out);
  if (ch->mode != o_.mode) {
    return Fail(K::kRejected,
                std::string("the job's plane authenticates with ") + AuthModeName(ch->mode) + ", this node with " +
                    AuthModeName(o_.mode),
                out);
  }
  Hello h{o_.job_id, o_.node, o_.node_count, o_.host, o_.lowest_rank, nonce_, {}};
  std::string base = o_.secret;
  if (o_.mode == AuthMode::kMunge) {
    if (!make_) return Fail(K::kRejected, "no MUNGE on this node", out);
    auto cred = make_(MungePayload(o_.job_id, ch->nonce, nonce_, munge_key_));
    if (!cred) return Fail(K::kRejected, "MUNGE credential: " + cred.error().why, out);
    h.credential = std::move(*cred);
    base = munge_key_;
  }
  if (o_.mode != AuthMode::kInsecure) key_ = HmacKey(SessionKey(base, o_.job_id, ch->nonce, nonce_));
  rseq_ = 1;
  out.sends.push_back(Seal(h));
  state_ = State::kWelcome;
}

// Authenticated both ways: what the server says, as an event.
void ClientCore::OnReady(Message msg, ClientOut& out) {
  using K = ClientEvent::Kind;
  Message* m = &msg;
  ClientEvent e;
  if (auto* r = std::get_if<RendezvousDone>(m)) {
    e.kind = K::kRendezvous;
    e.master = std::move(r->master);
  } else if (auto* f = std::get_if<RendezvousFailed>(m)) {
    e.kind = K::kRendezvousFailed;
    e.failed = std::move(*f);
  } else if (auto* fl = std::get_if<Failure>(m)) {
    e.kind = K::kFailure;
    e.failure = std::move(*fl);
  } else if (auto* rs = std::get_if<Restart>(m)) {
    e.kind = K::kRestart;
    e.restart = std::move(*rs);
  } else if (auto* pd = std::get_if<PreflightDone>(m)) {
    e.kind = K::kPreflightDone;
    e.preflight_nodes = pd->nodes;
  } else if (auto* s = std::get_if<plane::Shutdown>(m)) {
    e.kind = K::kShutdown;
    e.text = s->reason;
    out.close = true;
    state_ = State::kClosed;
  } else if (std::holds_alternative<Heartbeat>(*m)) {
    return;
  } else {
    return Fail(K::kBroken, std::string("unexpected ") + TypeName(TypeOf(*m)) + " from the job's plane", out);
  }
  out.events.push_back(std::move(e));
}

void ClientCore::OnFrame(std::string_view body, ClientOut& out) {
  using K = ClientEvent::Kind;
  if (state_ == State::kClosed) return;
  if (state_ == State::kChallenge) return OnChallenge(body, out);
  if (state_ == State::kWelcome) {
    auto d = DecodeBody(body, o_.mode);
    if (d) {
      if (const auto* r = std::get_if<Reject>(&d->message))
        return Fail(K::kRejected, "refused by the job's plane: " + r->reason, out);
    }
  }
  auto m = Open(body, o_.mode, key_, Direction::kToClient, rseq_);
  if (!m) {
    if (state_ == State::kWelcome)
      return Fail(K::kRejected, "the server failed authentication: " + m.error().message, out);
    return Fail(K::kBroken, "invalid message from the job's plane: " + m.error().message, out);
  }
  ++rseq_;
  ClientEvent e;
  if (state_ == State::kWelcome) {
    const auto* w = std::get_if<Welcome>(&*m);
    if (w == nullptr) return Fail(K::kRejected, std::string("expected welcome, got ") + TypeName(TypeOf(*m)), out);
    state_ = State::kReady;
    e.kind = K::kWelcome;
    e.heartbeat_ms = w->heartbeat_ms;
    out.events.push_back(std::move(e));
    return;
  }
  OnReady(std::move(*m), out);
}

}  // namespace rankwrap::plane
