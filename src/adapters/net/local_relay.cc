#include "adapters/net/local_relay.h"

#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <boost/asio.hpp>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <future>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "adapters/net/asio_plane.h"

namespace rankwrap::net {
namespace {

namespace asio = boost::asio;
using Local = asio::local::stream_protocol;
using boost::system::error_code;

Local::endpoint AbstractEndpoint(const std::string& name) { return Local::endpoint(std::string(1, '\0') + name); }

std::string Frame(const plane::Message& m) {
  const std::string body = plane::EncodeBody(m, 0);
  return plane::LengthPrefix(body.size()) + body;
}

// The peer runs as this process's user (SO_PEERCRED), else an empty string.
std::string PeerProblem(int fd) {
  ucred cred{};
  socklen_t len = sizeof cred;
  if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) return "its credentials cannot be read";
  if (cred.uid != getuid()) return "pid " + std::to_string(cred.pid) + " runs as uid " + std::to_string(cred.uid);
  return {};
}

// One stream of frames: reads them one by one, writes them in order.
struct Stream : std::enable_shared_from_this<Stream> {
  explicit Stream(asio::io_context& io) : sock(io) {}
  Local::socket sock;
  std::array<std::uint8_t, 4> head{};
  std::string body;
  std::deque<std::string> out;
  bool closed = false;

  void Write(std::string frame) {
    if (closed) return;
    out.push_back(std::move(frame));
    if (out.size() == 1) Flush();
  }
  void Flush() {
    auto self = shared_from_this();
    asio::async_write(sock, asio::buffer(out.front()), [self](const error_code& ec, std::size_t) {
      if (ec) return;
      self->out.pop_front();
      if (!self->out.empty()) self->Flush();
    });
  }
  // Reads frames until EOF or a malformed one; `done` gets why it ended.
  void Read(std::function<void(const plane::Message&)> on_message, std::function<void(const std::string&)> done) {
    auto self = shared_from_this();
    asio::async_read(sock, asio::buffer(head), [self, on_message, done](const error_code& ec, std::size_t) {
      if (ec) return done(ec == asio::error::eof ? "closed" : ec.message());
      auto n = plane::FrameLength(self->head.data());
      if (!n) return done("a bad frame: " + n.error().message);
      self->body.assign(*n, '\0');
      asio::async_read(self->sock, asio::buffer(self->body),
                       [self, on_message, done](const error_code& ec2, std::size_t) {
                         if (ec2) return done(ec2.message());
                         auto d = plane::DecodeBody(self->body, plane::AuthMode::kInsecure);
                         if (!d) return done("a bad frame: " + d.error().message);
                         on_message(d->message);
                         self->Read(on_message, done);
                       });
    });
  }
  void Close() {
    closed = true;
    error_code ec;
    sock.close(ec);
  }
};

class Runner {
 public:
  Runner() : work_(asio::make_work_guard(io_)) {}
  void Begin() {
    thread_ = std::thread([this] { io_.run(); });
  }
  void End() {
    work_.reset();
    io_.stop();
    if (thread_.joinable() && thread_.get_id() != std::this_thread::get_id()) thread_.join();
  }
  // After End and closing the sockets: runs what is left (aborted
  // operations), so no handler keeps its owner alive.
  void Drain() {
    io_.restart();
    io_.poll();
  }
  asio::io_context& io() { return io_; }

 private:
  asio::io_context io_{1};
  asio::executor_work_guard<asio::io_context::executor_type> work_;
  std::thread thread_;
};

class RelayServerImpl : public RelayServer, public std::enable_shared_from_this<RelayServerImpl> {
 public:
  RelayServerImpl(std::function<void(const plane::Message&)> on_message, std::function<void(const std::string&)> notice)
      : acceptor_(run_.io()), on_message_(std::move(on_message)), notice_(std::move(notice)) {}
  ~RelayServerImpl() override { RelayServerImpl::Stop(); }

  Status Listen(const std::string& name) {
    error_code ec;
    acceptor_.open(Local(), ec);
    if (!ec) acceptor_.bind(AbstractEndpoint(name), ec);
    if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) {
      return Error{kExitBootstrap, "plane", "the node's relay socket @" + name,
                   "cannot listen: " + ec.message() + " (another rankwrap of this job and node holds it)",
                   "check that the launcher started one local rank 0 per node"};
    }
    Accept();
    run_.Begin();
    return Ok{};
  }

  void Broadcast(const plane::Message& m) override {
    const std::string frame = Frame(m);
    auto self = shared_from_this();
    asio::post(run_.io(), [self, frame] {
      self->kept_.push_back(frame);
      for (const auto& s : self->members_) s->Write(frame);
    });
  }

  void WaitMembersGone(std::uint32_t expected, double join_wait) override {
    std::unique_lock<std::mutex> l(mu_);
    const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(static_cast<int>(join_wait * 1000));
    while (!(live_ == 0 && (joined_ >= expected || std::chrono::steady_clock::now() >= until))) {
      cv_.wait_until(l, live_ == 0 ? until : std::chrono::steady_clock::now() + std::chrono::seconds(1));
    }
  }

  void Stop() override {
    if (stopped_) return;
    stopped_ = true;
    run_.End();
    error_code ec;
    acceptor_.close(ec);
    for (const auto& s : members_) s->Close();
    members_.clear();
    run_.Drain();
  }

 private:
  void Accept() {
    auto self = shared_from_this();
    auto s = std::make_shared<Stream>(run_.io());
    acceptor_.async_accept(s->sock, [self, s](const error_code& ec) {
      if (ec) return;
      if (std::string why = PeerProblem(s->sock.native_handle()); !why.empty()) {
        self->notice_("a process of another user tried the node's relay socket (" + why + "): refused");
        s->Close();
      } else {
        self->Join(s);
      }
      self->Accept();
    });
  }

  void Join(const std::shared_ptr<Stream>& s) {
    members_.insert(s);
    {
      std::lock_guard<std::mutex> l(mu_);
      ++joined_;
      ++live_;
    }
    for (const std::string& f : kept_) s->Write(f);
    auto self = shared_from_this();
    s->Read([self](const plane::Message& m) { self->on_message_(m); },
            [self, s](const std::string&) {
              self->members_.erase(s);
              s->Close();
              std::lock_guard<std::mutex> l(self->mu_);
              --self->live_;
              self->cv_.notify_all();
            });
  }

  Runner run_;
  Local::acceptor acceptor_;
  std::function<void(const plane::Message&)> on_message_;
  std::function<void(const std::string&)> notice_;
  std::set<std::shared_ptr<Stream>> members_;  // loop thread
  std::vector<std::string> kept_;              // loop thread: replayed to late joiners
  std::mutex mu_;
  std::condition_variable cv_;
  std::uint32_t joined_ = 0, live_ = 0;
  bool stopped_ = false;
};

class RelayClientImpl : public RelayClient, public std::enable_shared_from_this<RelayClientImpl> {
 public:
  RelayClientImpl(std::string name, double give_up_at, std::function<void(const plane::Message&)> on_message,
                  std::function<void(const std::string&)> on_lost)
      : name_(std::move(name)),
        give_up_at_(give_up_at),
        timer_(run_.io()),
        on_message_(std::move(on_message)),
        on_lost_(std::move(on_lost)) {}
  ~RelayClientImpl() override { RelayClientImpl::Close(); }

  void Begin() {
    Connect();
    run_.Begin();
  }

  void Send(const plane::Message& m) override {
    auto self = shared_from_this();
    const std::string frame = Frame(m);
    asio::post(run_.io(), [self, frame] {
      if (self->stream_) {
        self->stream_->Write(frame);
      } else {
        self->pending_.push_back(frame);
      }
    });
  }

  void Close() override {
    if (closed_) return;
    closed_ = true;
    auto self = shared_from_this();
    auto sent = std::make_shared<std::promise<void>>();
    asio::post(run_.io(), [self, sent] {
      self->quiet_ = true;
      if (self->stream_) self->stream_->Write(Frame(plane::Bye{}));
      sent->set_value();
    });
    sent->get_future().wait_for(std::chrono::seconds(1));
    std::this_thread::sleep_for(std::chrono::milliseconds(20));  // let the Bye leave
    run_.End();
    error_code ec;
    timer_.cancel();
    if (stream_) stream_->Close();
    stream_.reset();
    run_.Drain();
  }

 private:
  void Connect() {
    auto self = shared_from_this();
    auto s = std::make_shared<Stream>(run_.io());
    s->sock.async_connect(AbstractEndpoint(name_), [self, s](const error_code& ec) {
      if (ec) {
        if (MonoNow() >= self->give_up_at_) {
          self->Lost("cannot reach the node's leader (local rank 0's rankwrap) at @" + self->name_ + ": " +
                     ec.message());
          return;
        }
        self->timer_.expires_after(std::chrono::milliseconds(50));
        self->timer_.async_wait([self](const error_code& e) {
          if (!e) self->Connect();
        });
        return;
      }
      if (std::string why = PeerProblem(s->sock.native_handle()); !why.empty()) {
        self->Lost("the node's relay socket @" + self->name_ + " is held by another user (" + why + ")");
        return;
      }
      self->stream_ = s;
      for (std::string& f : self->pending_) s->Write(std::move(f));
      self->pending_.clear();
      s->Read(
          [self](const plane::Message& m) {
            if (std::holds_alternative<plane::Shutdown>(m)) self->quiet_ = true;
            if (!self->closed_) self->on_message_(m);
          },
          [self](const std::string& why) {
            self->Lost("the node's leader (local rank 0's rankwrap) went away (" + why + ")");
          });
    });
  }

  void Lost(const std::string& why) {
    if (quiet_ || closed_) return;
    quiet_ = true;
    on_lost_(why);
  }

  Runner run_;
  std::string name_;
  double give_up_at_;
  asio::steady_timer timer_;
  std::function<void(const plane::Message&)> on_message_;
  std::function<void(const std::string&)> on_lost_;
  std::shared_ptr<Stream> stream_;    // loop thread
  std::vector<std::string> pending_;  // loop thread
  bool quiet_ = false;                // loop thread: a Shutdown came, or Close was called
  std::atomic<bool> closed_{false};
};

}  // namespace

Result<std::shared_ptr<RelayServer>> RelayServer::Start(const std::string& name,
                                                        std::function<void(const plane::Message&)> on_message,
                                                        std::function<void(const std::string&)> notice) {
  auto s = std::make_shared<RelayServerImpl>(std::move(on_message), std::move(notice));
  if (auto st = s->Listen(name); !st) return st.error();
  return std::shared_ptr<RelayServer>(s);
}

std::shared_ptr<RelayClient> RelayClient::Start(const std::string& name, double give_up_at,
                                                std::function<void(const plane::Message&)> on_message,
                                                std::function<void(const std::string&)> on_lost) {
  auto c = std::make_shared<RelayClientImpl>(name, give_up_at, std::move(on_message), std::move(on_lost));
  c->Begin();
  return c;
}

}  // namespace rankwrap::net
