#include "adapters/net/asio_plane.h"

#include <sched.h>
#include <sys/random.h>

#include <algorithm>
#include <atomic>
#include <boost/asio.hpp>
#include <chrono>
#include <cstring>
#include <latch>
#include <optional>
#include <random>
#include <unordered_map>
#include <vector>

namespace rankwrap::net {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using boost::system::error_code;

void RandomBytes(void* p, std::size_t n) {
  auto* b = static_cast<char*>(p);
  while (n > 0) {
    const ssize_t r = getrandom(b, n, 0);
    if (r > 0) {
      b += r;
      n -= static_cast<std::size_t>(r);
    }
  }
}

double MonoNow() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }

std::int64_t WallMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

struct Loop::Impl {
  asio::io_context io{1};
  asio::executor_work_guard<asio::io_context::executor_type> work = asio::make_work_guard(io);
};

Loop::Loop() : impl_(std::make_unique<Impl>()) {}
Loop::~Loop() = default;
void Loop::Run() { impl_->io.run(); }
void Loop::Stop() { impl_->io.stop(); }
void Loop::Post(std::function<void()> f) { asio::post(impl_->io, std::move(f)); }

namespace {

plane::Nonce RandomNonce() {
  plane::Nonce n;
  RandomBytes(n.data(), n.size());
  return n;
}

auto Ms(double s) { return std::chrono::milliseconds(static_cast<std::int64_t>(s * 1000)); }

// Bytes read from a stream socket, cut into frames. One read takes whatever
// the socket holds (often several frames), instead of one read for each
// length prefix and one for each body. Holds `size` bytes, more only while a
// longer frame comes in.
class FrameBuffer {
 public:
  explicit FrameBuffer(std::size_t size) : size_(size) {}
  // Where the next read goes.
  asio::mutable_buffer Space() {
    if (buf_.size() < size_) buf_.resize(size_);
    return asio::buffer(buf_.data() + end_, buf_.size() - end_);
  }
  void Commit(std::size_t n) { end_ += n; }
  // The next whole frame's body, valid until the next call; an empty view
  // when none is complete yet; an error when the stream is not frames.
  Parsed<std::string_view> Next() {
    if (end_ - begin_ >= 4) {
      auto n = plane::FrameLength(reinterpret_cast<const std::uint8_t*>(buf_.data() + begin_));
      if (!n) return n.error();
      if (end_ - begin_ >= 4 + *n) {
        const std::string_view body(buf_.data() + begin_ + 4, *n);
        begin_ += 4 + *n;
        return body;
      }
      Compact();
      if (buf_.size() < 4 + *n) buf_.resize(4 + *n);
      return std::string_view();
    }
    Compact();
    if (end_ == 0 && buf_.size() > size_) {  // a long frame has gone: back to the usual size
      buf_.resize(size_);
      buf_.shrink_to_fit();
    }
    return std::string_view();
  }

 private:
  void Compact() {
    if (begin_ == 0) return;
    std::memmove(buf_.data(), buf_.data() + begin_, end_ - begin_);
    end_ -= begin_;
    begin_ = 0;
  }
  std::size_t size_;
  std::vector<char> buf_;
  std::size_t begin_ = 0, end_ = 0;
};

// "127.0.0.1:5000", "[fd00::2]:5000"; an IPv4 peer of a dual-stack socket
// (::ffff:127.0.0.1) as the IPv4 address it is.
std::string EndpointText(const tcp::endpoint& ep) {
  asio::ip::address a = ep.address();
  if (a.is_v6() && a.to_v6().is_v4_mapped()) a = asio::ip::make_address_v4(asio::ip::v4_mapped, a.to_v6());
  const std::string host = a.to_string();
  return (a.is_v6() ? "[" + host + "]" : host) + ":" + std::to_string(ep.port());
}

// ---------------------------------------------------------------- server

class ServerImpl : public Server, public std::enable_shared_from_this<ServerImpl> {
 public:
  struct Conn {
    explicit Conn(asio::io_context& io) : sock(io) {}
    tcp::socket sock;
    plane::ConnId id = 0;
    FrameBuffer in{256};  // a node's frames are short (a Hello with a MUNGE credential is the longest)
    std::string queued, writing;
    bool closing = false;   // close once `queued` and `writing` are out
    bool in_burst = false;  // SendBurst: this connection's first frame is in the burst
  };

  ServerImpl(Loop& loop, plane::ServerOptions o, plane::CredentialCheck check,
             std::function<void(const std::string&)> notice, unsigned writers)
      : io_(loop.impl().io),
        acceptor_(io_),
        timer_(io_),
        core_(std::move(o), std::move(check)),
        notice_(std::move(notice)),
        writers_(std::max(1u, writers)) {
    if (writers_ > 1) pool_.emplace(writers_ - 1);
  }

  // `addr` empty: every address of both families (one dual-stack socket;
  // IPv4 alone where the host has no IPv6).
  Status Bind(const std::string& addr, std::uint16_t port, std::uint16_t range) {
    error_code ec;
    const bool any = addr.empty();
    asio::ip::address ip = any ? asio::ip::address(asio::ip::address_v6::any()) : asio::ip::make_address(addr, ec);
    if (ec) {
      return Error{kExitBootstrap, "plane", "bind address " + addr, ec.message(),
                   "use an IPv4 or IPv6 address (or none: every address)"};
    }
    error_code ignore;
    if (any) {
      acceptor_.open(tcp::v6(), ec);
      if (ec) ip = asio::ip::address_v4::any();  // IPv6 disabled on this host
      acceptor_.close(ignore);
    }
    std::string last;
    for (std::uint16_t i = 0; i < range; ++i) {
      const tcp::endpoint ep(ip, static_cast<std::uint16_t>(port + i));
      acceptor_.open(ep.protocol(), ec);
      if (!ec && ip.is_v6()) acceptor_.set_option(asio::ip::v6_only(!any), ec);
      if (!ec) acceptor_.set_option(tcp::acceptor::reuse_address(true), ec);
      if (!ec) acceptor_.bind(ep, ec);
      if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
      if (!ec) {
        port_ = acceptor_.local_endpoint(ec).port();  // port 0: the one the kernel chose
        return Ok{};
      }
      last = ec.message();
      acceptor_.close(ignore);
    }
    return Error{
        kExitBootstrap, "plane",
        "no free port for the job's control plane in " + std::to_string(port) + "-" + std::to_string(port + range - 1),
        last, "another job holds them: set the plane port of this job explicitly"};
  }

  void Begin() {
    Accept();
    Tick();
  }

  std::uint16_t port() const override { return port_; }
  std::size_t connections() const override { return conns_.size(); }
  BroadcastTiming last_broadcast() const override { return last_; }

  void Finish(double linger, std::function<void()> done) override {
    auto self = shared_from_this();
    asio::post(io_, [self, linger, done = std::move(done)]() mutable {
      self->finish_at_ = MonoNow() + linger;
      self->finish_done_ = std::move(done);
      self->finishing_ = true;
      self->MaybeFinish();
    });
  }

 private:
  void Accept() {
    auto conn = std::make_shared<Conn>(io_);
    auto self = shared_from_this();
    acceptor_.async_accept(conn->sock, [self, conn](const error_code& ec) {
      if (self->stopped_) return;
      if (!ec) {
        error_code ignore;
        conn->sock.set_option(tcp::no_delay(true), ignore);
        conn->sock.non_blocking(true, ignore);  // Send's first try must not block the loop
        conn->id = self->next_id_++;
        self->conns_[conn->id] = conn;
        plane::Outbox out;
        self->core_.OnConnect(conn->id, RandomNonce(), MonoNow(), out);
        self->Apply(out, conn.get());
        self->Read(conn);
      } else if (ec == asio::error::no_descriptors) {
        self->Notice("cannot accept a connection: " + ec.message() + " (raise the open-file limit)");
      }
      self->Accept();
    });
  }

  void Read(const std::shared_ptr<Conn>& conn) {
    auto self = shared_from_this();
    conn->sock.async_read_some(conn->in.Space(), [self, conn](const error_code& ec, std::size_t n) {
      if (ec) return self->Gone(conn);
      conn->in.Commit(n);
      for (;;) {
        auto body = conn->in.Next();
        if (!body) {
          self->Notice("refused a connection from " + self->Peer(*conn) + ": " + body.error().message);
          return self->Gone(conn);
        }
        if (body->empty()) break;
        self->Step(conn.get(), [&](plane::Outbox& out) { self->core_.OnFrame(conn->id, *body, MonoNow(), out); });
        if (conn->closing) return;
        if (!conn->sock.is_open()) return self->Gone(conn);  // a send to it failed
      }
      self->Read(conn);
    });
  }

  // The peer went away (or sent an unframeable stream).
  void Gone(const std::shared_ptr<Conn>& conn) {
    if (conns_.erase(conn->id) == 0) return;
    error_code ignore;
    conn->sock.close(ignore);
    plane::Outbox out;
    core_.OnDisconnect(conn->id, MonoNow(), out);
    Apply(out, nullptr);
  }

  std::string Peer(const Conn& c) const {
    error_code ec;
    const auto ep = c.sock.remote_endpoint(ec);
    return ec ? std::string("?") : EndpointText(ep);
  }

  void Notice(const std::string& s) {
    if (notice_) notice_(s);
  }

  // One event of the state machine, then its Outbox carried out; a
  // broadcast's two parts are timed (last_broadcast).
  template <typename Event>
  void Step(const Conn* about, Event&& event) {
    plane::Outbox out;
    const double t0 = MonoNow();
    event(out);
    const double t1 = MonoNow();
    const std::size_t frames = out.sends.size();
    const bool broadcast = out.broadcast;
    Apply(out, about);
    if (broadcast) last_ = BroadcastTiming{frames, t1 - t0, MonoNow() - t1};
  }

  void Apply(plane::Outbox& out, const Conn* about) {
    for (auto& n : out.notices) {
      const std::string prefix = "refused a connection:";
      if (about != nullptr && n.compare(0, prefix.size(), prefix) == 0) {
        n = "refused a connection from " + Peer(*about) + ":" + n.substr(prefix.size());
      }
      Notice(n);
    }
    if (pool_ && out.sends.size() >= kBurstMin) {
      SendBurst(out.sends);
    } else {
      for (auto& [id, frame] : out.sends) {
        auto it = conns_.find(id);
        if (it != conns_.end()) Send(it->second, frame);
      }
    }
    for (plane::ConnId id : out.closes) {
      auto it = conns_.find(id);
      if (it == conns_.end()) continue;
      it->second->closing = true;
      Flush(it->second);
    }
    MaybeFinish();
  }

  // A frame to one connection. With nothing queued, written at once with
  // one non-blocking send (a broadcast is one send per node, no completion
  // handler each); what the socket does not take waits for async_write.
  void Send(const std::shared_ptr<Conn>& conn, const std::string& frame) {
    if (conn->closing || !conn->sock.is_open()) return;
    if (!conn->writing.empty() || !conn->queued.empty()) {
      conn->queued += frame;
      return;  // the write in flight flushes it
    }
    error_code ec;
    const std::size_t n = conn->sock.write_some(asio::buffer(frame), ec);
    if (ec && ec != asio::error::would_block && ec != asio::error::try_again) {
      // The connection's read fails on the closed socket and reports it gone.
      conn->sock.close(ec);
      return;
    }
    if (n == frame.size()) return;
    conn->queued.assign(frame, n, std::string::npos);
    Flush(conn);
  }

  // Many frames at once (a broadcast to every node). The sends are most of
  // its cost (each send does the TCP work), so they are spread over
  // `writers_` threads: the loop's thread and the pool's take the idle
  // connections' first frames in chunks from a shared counter until none is
  // left, and the loop waits for the chunks in flight. (Chunks, not fixed
  // slices: on a busy node a writer that gets no CPU for a while leaves its
  // share to the others instead of holding up the whole broadcast.) Every
  // other frame (a connection's second one, a busy connection's, what a
  // socket did not take) then goes through Send in order. No lock: each
  // chunk belongs to one thread, and the loop, the sockets' only other user,
  // is inside this call.
  void SendBurst(std::vector<std::pair<plane::ConnId, std::string>>& sends) {
    struct Item {
      std::shared_ptr<Conn> conn;
      const std::string* frame;
      std::size_t wrote = 0;
      error_code ec;
    };
    std::vector<Item> burst;
    std::vector<std::pair<std::shared_ptr<Conn>, const std::string*>> rest;
    burst.reserve(sends.size());
    for (const auto& [id, frame] : sends) {
      auto it = conns_.find(id);
      if (it == conns_.end()) continue;
      Conn& c = *it->second;
      const bool idle = !c.closing && c.sock.is_open() && c.writing.empty() && c.queued.empty();
      if (idle && !c.in_burst) {
        c.in_burst = true;
        burst.push_back({it->second, &frame, 0, {}});
      } else {
        rest.emplace_back(it->second, &frame);
      }
    }
    constexpr std::size_t kChunk = 32;
    std::atomic<std::size_t> next{0};
    auto write = [&burst, &next] {
      for (std::size_t from; (from = next.fetch_add(kChunk)) < burst.size();) {
        for (std::size_t i = from; i < std::min(from + kChunk, burst.size()); ++i) {
          Item& b = burst[i];
          b.wrote = b.conn->sock.write_some(asio::buffer(*b.frame), b.ec);
        }
      }
    };
    std::latch done(static_cast<std::ptrdiff_t>(writers_ - 1));
    for (unsigned w = 1; w < writers_; ++w) {
      asio::post(*pool_, [&write, &done] {
        write();
        done.count_down();
      });
    }
    write();
    done.wait();
    for (Item& b : burst) {
      b.conn->in_burst = false;
      if (b.ec && b.ec != asio::error::would_block && b.ec != asio::error::try_again) {
        b.conn->sock.close(b.ec);  // its read fails and reports it gone
      } else if (b.wrote < b.frame->size()) {
        b.conn->queued.assign(*b.frame, b.wrote, std::string::npos);
        Flush(b.conn);
      }
    }
    for (auto& [conn, frame] : rest) Send(conn, *frame);
  }

  // By value: closing erases the map's copy while this one is still in use.
  void Flush(std::shared_ptr<Conn> conn) {
    if (!conn->writing.empty()) return;
    if (conn->queued.empty()) {
      if (conn->closing) {
        conns_.erase(conn->id);
        error_code ignore;
        conn->sock.shutdown(tcp::socket::shutdown_both, ignore);
        conn->sock.close(ignore);
      }
      return;
    }
    conn->writing.swap(conn->queued);
    auto self = shared_from_this();
    asio::async_write(conn->sock, asio::buffer(conn->writing), [self, conn](const error_code& ec, std::size_t) {
      conn->writing.clear();
      conn->writing.shrink_to_fit();
      if (ec) return self->Gone(conn);
      self->Flush(conn);
    });
  }

  void Tick() {
    if (stopped_) return;
    Step(nullptr, [&](plane::Outbox& out) { core_.OnTick(MonoNow(), WallMs(), out); });
    if (stopped_) return;
    timer_.expires_after(std::chrono::milliseconds(50));
    auto self = shared_from_this();
    timer_.async_wait([self](const error_code& ec) {
      if (!ec) self->Tick();
    });
  }

  void MaybeFinish() {
    if (!finishing_ || stopped_) return;
    if (!core_.AllSaidBye() && MonoNow() < finish_at_) return;
    stopped_ = true;
    plane::Outbox out;
    core_.Shutdown("the job ended", out);
    Apply(out, nullptr);
    error_code ignore;
    acceptor_.close(ignore);
    timer_.cancel();
    // Give the Shutdown frames a moment to leave before the caller tears the loop down.
    auto t = std::make_shared<asio::steady_timer>(io_, std::chrono::milliseconds(20));
    auto self = shared_from_this();
    t->async_wait([self, t](const error_code&) {
      for (auto& kv : self->conns_) {
        error_code ig;
        kv.second->sock.close(ig);
      }
      self->conns_.clear();
      if (self->finish_done_) self->finish_done_();
    });
  }

  asio::io_context& io_;
  tcp::acceptor acceptor_;
  asio::steady_timer timer_;
  plane::ServerCore core_;
  std::function<void(const std::string&)> notice_;
  static constexpr std::size_t kBurstMin = 256;  // fewer frames: sent from the loop alone
  unsigned writers_ = 1;
  std::optional<asio::thread_pool> pool_;  // writers_ - 1 threads, for SendBurst
  BroadcastTiming last_;
  std::unordered_map<plane::ConnId, std::shared_ptr<Conn>> conns_;
  plane::ConnId next_id_ = 1;
  std::uint16_t port_ = 0;
  bool finishing_ = false, stopped_ = false;
  double finish_at_ = 0;
  std::function<void()> finish_done_;
};

// ---------------------------------------------------------------- client

class ClientImpl : public Client, public std::enable_shared_from_this<ClientImpl> {
 public:
  ClientImpl(Loop& loop, plane::ClientOptions o, ClientTarget t, plane::CredentialMaker make,
             std::function<void(const plane::ClientEvent&)> on_event)
      : io_(loop.impl().io),
        sock_(io_),
        timer_(io_),
        o_(std::move(o)),
        t_(std::move(t)),
        make_(std::move(make)),
        on_event_(std::move(on_event)),
        rng_(static_cast<std::uint32_t>(RandomNonce()[0]) * 7919u + o_.node) {}

  // The host's addresses of both families, in the resolver's order (which
  // follows the system's preference, RFC 6724): each is tried on each port.
  void Begin() {
    error_code ec;
    tcp::resolver resolver(io_);
    auto r = resolver.resolve(t_.host, "0", ec);
    for (const auto& e : r) {
      if (std::find(addrs_.begin(), addrs_.end(), e.endpoint().address()) == addrs_.end()) {
        addrs_.push_back(e.endpoint().address());
      }
    }
    if (ec || addrs_.empty()) {
      return Fatal(plane::ClientEvent::Kind::kRejected,
                   "cannot resolve the job's plane host " + t_.host + ": " + (ec ? ec.message() : "no address"));
    }
    Connect();
  }

  void Send(plane::Message m) override {
    auto self = shared_from_this();
    asio::post(io_, [self, m = std::move(m)]() mutable {
      if (self->done_) return;
      if (self->core_ && self->core_->ready()) {
        self->Write(self->core_->Seal(m));
      } else {
        self->pending_.push_back(std::move(m));
      }
    });
  }

  void Close() override {
    auto self = shared_from_this();
    asio::post(io_, [self] {
      if (self->done_) return;
      self->done_ = true;
      self->timer_.cancel();
      if (self->core_ && self->core_->ready()) {
        self->closing_ = true;
        self->Write(self->core_->Seal(plane::Bye{}));
      } else {
        error_code ignore;
        self->sock_.close(ignore);
      }
    });
  }

 private:
  using K = plane::ClientEvent::Kind;

  void Emit(plane::ClientEvent e) {
    if (on_event_) on_event_(e);
  }

  void Fatal(K kind, std::string text) {
    if (done_) return;
    done_ = true;
    timer_.cancel();
    error_code ignore;
    sock_.close(ignore);
    plane::ClientEvent e;
    e.kind = kind;
    e.text = std::move(text);
    Emit(std::move(e));
  }

  std::string Where() const {
    const bool v6 = t_.host.find(':') != std::string::npos;
    return (v6 ? "[" + t_.host + "]" : t_.host) + ":" + std::to_string(t_.port) +
           (t_.range > 1 ? "-" + std::to_string(t_.port + t_.range - 1) : std::string());
  }

  void Connect() {
    if (done_) return;
    error_code ignore;
    sock_.close(ignore);
    plane::Nonce nonce = RandomNonce();
    std::string key(32, '\0');
    RandomBytes(key.data(), key.size());
    core_ = std::make_unique<plane::ClientCore>(o_, nonce, std::move(key), make_);
    queued_.clear();  // the last attempt's handshake, never to be sent
    in_ = FrameBuffer(kReadSize);
    // Handlers of earlier attempts (their socket closed under them) see a
    // stale number and do nothing.
    const std::uint64_t attempt = ++attempt_;
    const tcp::endpoint ep(addrs_[addr_index_], static_cast<std::uint16_t>(t_.port + port_index_));
    auto self = shared_from_this();
    sock_.async_connect(ep, [self, attempt](const error_code& ec) {
      if (self->done_ || attempt != self->attempt_) return;
      if (ec) {
        self->last_error_ = ec.message();
        return self->NextPort();
      }
      error_code nd;
      self->sock_.set_option(tcp::no_delay(true), nd);
      self->last_heard_ = MonoNow();
      self->HandshakeDeadline();
      self->Read();
    });
  }

  // Something that accepts connections but never speaks our protocol (a
  // service that waits for its client to talk first) must not hold this node:
  // no Welcome within 5 s and the next port is tried.
  void HandshakeDeadline() {
    const std::uint64_t attempt = attempt_;
    timer_.expires_after(std::chrono::seconds(5));
    auto self = shared_from_this();
    timer_.async_wait([self, attempt](const error_code& ec) {
      if (ec || self->done_ || attempt != self->attempt_ || (self->core_ && self->core_->ready())) return;
      self->last_error_ = "no rankwrap plane answered within 5 s";
      self->NextPort();
    });
  }

  // This address and port had no plane of this job: the host's next address,
  // then the next port; after the last, wait a little (servers start when
  // their node's keeper does) and start over.
  void NextPort() {
    if (done_) return;
    error_code ignore;
    sock_.close(ignore);
    if (++addr_index_ < addrs_.size()) return Connect();
    addr_index_ = 0;
    if (++port_index_ < t_.range) return Connect();
    port_index_ = 0;
    const double now = MonoNow();
    if (now >= t_.give_up_at) {
      return Fatal(K::kRejected, "cannot reach the job's control plane at " + Where() + ": " + last_error_);
    }
    // 50-250 ms with jitter: 10,000 nodes starting together do not retry in step.
    const double wait = std::min(t_.give_up_at - now, 0.05 + 0.2 * std::uniform_real_distribution<double>(0, 1)(rng_));
    timer_.expires_after(Ms(wait));
    auto self = shared_from_this();
    timer_.async_wait([self](const error_code& ec) {
      if (!ec) self->Connect();
    });
  }

  void Read() {
    auto self = shared_from_this();
    const std::uint64_t attempt = attempt_;
    sock_.async_read_some(in_.Space(), [self, attempt](const error_code& ec, std::size_t n) {
      if (self->done_ || attempt != self->attempt_) return;
      if (ec) return self->Lost(ec.message());
      self->in_.Commit(n);
      for (;;) {
        auto body = self->in_.Next();
        if (!body) {
          if (!self->core_->ready()) {
            self->last_error_ = "not a rankwrap plane: " + body.error().message;
            return self->NextPort();
          }
          return self->Fatal(K::kBroken,
                             "invalid frame from the job's plane at " + self->Where() + ": " + body.error().message);
        }
        if (body->empty()) break;
        if (!self->OnBody(*body)) return;
      }
      self->Read();
    });
  }

  // False when this connection is over (or moved on to the next port).
  bool OnBody(std::string_view body) {
    last_heard_ = MonoNow();
    const bool was_ready = core_->ready();
    plane::ClientOut out;
    core_->OnFrame(body, out);
    for (auto& s : out.sends) Write(std::move(s));
    for (auto& e : out.events) {
      if (e.kind == K::kWrongServer) {
        last_error_ = e.text;
        NextPort();
        return false;
      }
      if (e.kind == K::kRejected || e.kind == K::kBroken) {
        Fatal(e.kind, e.text);
        return false;
      }
      if (e.kind == K::kShutdown) {
        done_ = true;
        timer_.cancel();
        Emit(e);
        error_code ignore;
        sock_.close(ignore);
        return false;
      }
      if (e.kind == K::kWelcome) {
        heartbeat_ = e.heartbeat_ms > 0 ? e.heartbeat_ms / 1000.0 : 1.0;
        for (auto& m : pending_) Write(core_->Seal(m));
        pending_.clear();
        pending_.shrink_to_fit();
      }
      Emit(e);
    }
    if (done_) return false;
    // The first heartbeat after 0.5-1 interval, at random: the nodes of a
    // job join within a second or so and would otherwise send theirs in step.
    if (!was_ready && core_->ready()) {
      NextHeartbeat(heartbeat_ * std::uniform_real_distribution<double>(0.5, 1)(rng_));
    }
    return !done_;
  }

  void Lost(const std::string& why) {
    if (core_ && core_->ready()) {
      return Fatal(K::kBroken, "lost the connection to the job's control plane at " + Where() + ": " + why);
    }
    last_error_ = why;
    NextPort();
  }

  void Heartbeat() {
    if (done_) return;
    const double silent = MonoNow() - last_heard_;
    if (silent > t_.heartbeat_timeout) {
      return Fatal(K::kBroken, "no word from the job's control plane at " + Where() + " for " +
                                   std::to_string(static_cast<int>(silent)) + " s");
    }
    Write(core_->Seal(plane::Heartbeat{}));
    NextHeartbeat(heartbeat_);
  }

  void NextHeartbeat(double after) {
    timer_.expires_after(Ms(after));
    auto self = shared_from_this();
    timer_.async_wait([self](const error_code& ec) {
      if (!ec) self->Heartbeat();
    });
  }

  void Write(std::string frame) {
    queued_ += frame;
    Flush();
  }

  void Flush() {
    if (!writing_.empty()) return;
    if (queued_.empty()) {
      if (closing_) {
        error_code ignore;
        sock_.shutdown(tcp::socket::shutdown_both, ignore);
        sock_.close(ignore);
      }
      return;
    }
    writing_.swap(queued_);
    auto self = shared_from_this();
    const std::uint64_t attempt = attempt_;
    asio::async_write(sock_, asio::buffer(writing_), [self, attempt](const error_code& ec, std::size_t) {
      self->writing_.clear();
      if (attempt != self->attempt_) return self->Flush();  // the new attempt's frames wait for this buffer
      if (ec) {
        if (!self->closing_) self->Lost(ec.message());
        return;
      }
      self->Flush();
    });
  }

  asio::io_context& io_;
  tcp::socket sock_;
  asio::steady_timer timer_;
  plane::ClientOptions o_;
  ClientTarget t_;
  plane::CredentialMaker make_;
  std::function<void(const plane::ClientEvent&)> on_event_;
  std::minstd_rand rng_;
  static constexpr std::size_t kReadSize = 1024;
  std::vector<asio::ip::address> addrs_;
  std::size_t addr_index_ = 0;
  std::uint16_t port_index_ = 0;
  std::unique_ptr<plane::ClientCore> core_;
  FrameBuffer in_{kReadSize};
  std::string queued_, writing_;
  std::vector<plane::Message> pending_;
  std::string last_error_ = "no answer";
  double last_heard_ = 0, heartbeat_ = 1;
  std::uint64_t attempt_ = 0;
  bool done_ = false, closing_ = false;
};

}  // namespace

unsigned AutoWriters(std::uint32_t nodes) {
  if (nodes < 1024) return 1;
  // The CPUs this process may run on (a keeper bound to a few of the node's
  // CPUs gets no more writers than it has CPUs).
  cpu_set_t set;
  CPU_ZERO(&set);
  const int cpus = sched_getaffinity(0, sizeof set, &set) == 0 ? CPU_COUNT(&set) : 1;
  return std::clamp(static_cast<unsigned>(cpus), 1u, 4u);
}

Result<std::shared_ptr<Server>> Server::Start(Loop& loop, plane::ServerOptions o, std::uint16_t port,
                                              std::uint16_t range, plane::CredentialCheck check,
                                              std::function<void(const std::string&)> notice,
                                              const std::string& bind_addr, unsigned writers) {
  if (writers == 0) writers = AutoWriters(o.node_count);
  auto s = std::make_shared<ServerImpl>(loop, std::move(o), std::move(check), std::move(notice), writers);
  auto st = s->Bind(bind_addr, port, range);
  if (!st) return st.error();
  asio::post(loop.impl().io, [s] { s->Begin(); });
  return std::shared_ptr<Server>(s);
}

std::shared_ptr<Client> Client::Start(Loop& loop, plane::ClientOptions o, ClientTarget t, plane::CredentialMaker make,
                                      std::function<void(const plane::ClientEvent&)> on_event) {
  auto c = std::make_shared<ClientImpl>(loop, std::move(o), std::move(t), std::move(make), std::move(on_event));
  asio::post(loop.impl().io, [c] { c->Begin(); });
  return c;
}

}  // namespace rankwrap::net
