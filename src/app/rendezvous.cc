#include "app/rendezvous.h"

#include <unistd.h>

#include "adapters/nccl/nccl_loader.h"
#include "core/boot/exchange.h"

namespace rankwrap::app {
namespace {

constexpr std::size_t kWorldBytes = 8;  // after the NCCL id in the announcement's blob

Error PlaneError(int code, std::string what, std::string why, std::string hint) {
  return Error{code, "plane", std::move(what), std::move(why), std::move(hint)};
}

// Why this job cannot do without the plane ("" when it can).
std::string Requirement(const Config& c, const Prepared& p) {
  if (c.supervise.plane_given) return "--plane " + c.supervise.plane;
  if (c.bootstrap.mode == BootstrapMode::kTcp) return "--nccl-bootstrap=tcp";
  if (c.supervise.max_restarts > 0) return "--max-restarts (job-wide restarts)";
  if (p.contract.master_addr.empty()) return "rank 0's host (" + p.contract.job.master_addr_from + ")";
  return {};
}

std::string AuthHint() {
  return "export RANKWRAP_JOB_SECRET=$(head -c 32 /dev/urandom | base64) in the job script (srun and mpiexec pass "
         "it on), or run munged";
}

void PutWorld(std::string* blob, std::uint64_t world) {
  for (int i = 7; i >= 0; --i) blob->push_back(static_cast<char>((world >> (8 * i)) & 0xff));
}

std::uint64_t GetWorld(const std::string& blob) {
  std::uint64_t w = 0;
  for (std::size_t i = boot::kIdBytes; i < boot::kIdBytes + kWorldBytes; ++i) {
    w = (w << 8) | static_cast<unsigned char>(blob[i]);
  }
  return w;
}

Result<std::string> NcclIdBytes(const std::string& cuda_home) {
  auto id = nccl::GetUniqueId(nccl::Candidates(cuda_home));
  if (!id) return id.error();
  return std::string(id->begin(), id->end());
}

// Rank 0's keeper: its host, a MASTER_PORT it holds, the NCCL id. With
// --preflight the held port also listens (a fixed one is held for that
// too); what stops it is `*port_problem`, a failed check, not an error.
Result<plane::Master> Announcement(const RendezvousInputs& in, posix::HeldPort* held,
                                   const std::function<void(const std::string&)>& notice, std::string* port_problem) {
  plane::Master m;
  m.host = !in.master_addr.empty() ? in.master_addr : !in.node_host.empty() ? in.node_host : in.host;
  if (in.master_port_fixed) {
    m.port = in.master_port;
    if (in.preflight) {
      auto bound = held->Open(m.port);
      Status listening = bound ? held->Listen() : Status(bound.error());
      if (!listening) *port_problem = listening.error().why;
    }
  } else {
    auto port = held->Open(in.master_port);
    if (!port && in.master_port != 0) {
      notice("MASTER_PORT " + std::to_string(in.master_port) + " is taken on " + m.host + " (" + port.error().why +
             "): announcing a free one instead");
      port = held->Open(0);
    }
    if (!port) return port.error();
    m.port = *port;
    if (in.preflight) {
      if (auto s = held->Listen(); !s) *port_problem = s.error().why;
    }
  }
  if (in.nccl_tcp) {
    auto blob = AnnouncementBlob(in);
    if (!blob) return blob.error();
    m.blob = *blob;
  }
  return m;
}

// --nccl-bootstrap=tcp: every node checks rank 0's view of the job against its own.
Status CheckAnnouncement(const RendezvousInputs& in, const plane::Master& m) {
  if (!in.nccl_tcp) return Ok{};
  if (m.blob.size() != boot::kIdBytes + kWorldBytes) {
    return PlaneError(kExitBootstrap, "the NCCL id announced by rank 0's node (" + m.host + ")",
                      std::to_string(m.blob.size()) + " bytes; expected " +
                          std::to_string(boot::kIdBytes + kWorldBytes) + " (rank 0 runs without --nccl-bootstrap=tcp?)",
                      "give every rank the same rankwrap options");
  }
  if (const std::uint64_t w = GetWorld(m.blob); w != in.world_size) {
    return PlaneError(kExitBootstrap, "WORLD_SIZE " + std::to_string(in.world_size) + " on this node",
                      "rank 0's node (" + m.host + ") has WORLD_SIZE " + std::to_string(w) +
                          ": the ranks would wait for each other in NCCL until its timeout",
                      "fix the launch so every rank sees the same job (docs/nccl-bootstrap.md)");
  }
  return Ok{};
}

}  // namespace

Result<std::string> AnnouncementBlob(const RendezvousInputs& in) {
  auto id = NcclIdBytes(in.cuda_home);
  if (!id) return id.error();
  std::string blob = *id;
  PutWorld(&blob, in.world_size);
  return blob;
}

Result<RendezvousInputs> RendezvousInputsFor(const Config& c, const Prepared& p, const EnvSnapshot& env,
                                             std::vector<std::string>* notices) {
  const JobInfo& job = p.contract.job;
  RendezvousInputs in;
  in.master_addr = p.contract.master_addr;
  in.master_port = p.contract.master_port;
  in.master_port_fixed = c.contract.master_port.has_value() || job.master_port.has_value();
  in.node_host = job.node_host.value_or("");
  in.host = job.host;
  const unsigned n = c.supervise.nproc.value_or(1);
  in.announces = (Standalone(p) ? 0 : job.rank) * n == 0;
  in.nccl_tcp = c.bootstrap.mode == BootstrapMode::kTcp;
  in.cuda_home = std::string(env.Get("CUDA_HOME").value_or(""));
  in.world_size = WorldSize(c, p);
  in.preflight = c.preflight.enabled;
  const std::uint32_t local_count = c.supervise.nproc ? 1 : static_cast<std::uint32_t>(job.local_world_size);
  const bool several = !Standalone(p) && (job.num_nodes > 1 || local_count > 1);
  const std::string required = Requirement(c, p);
  // A default plane runs where it helps: a job of several nodes (or one
  // whose rank-0 host only the plane can tell).
  if (c.supervise.plane.empty() || !several || (required.empty() && job.num_nodes <= 1)) return in;
  plane::PlaneInputs pi;
  pi.job_id = job.launcher + ":" + job.job_key;
  pi.node_count = static_cast<std::uint32_t>(job.num_nodes);
  pi.node_index = static_cast<std::uint32_t>(job.node_rank);
  pi.host = job.host;
  pi.local_index = c.supervise.nproc ? 0 : static_cast<std::uint32_t>(job.local_rank);
  pi.local_count = local_count;
  pi.uid = static_cast<std::uint32_t>(getuid());
  // The server runs on node 0: the node list's first host, which every rank
  // knows even where rank 0's host is unknown.
  pi.server_host = job.node0_host.value_or(p.contract.master_addr);
  if (pi.server_host.empty()) {
    return PlaneError(kExitEnvironment, "the job control plane under " + job.launcher,
                      "needs node 0's host (the first of the node list), and " + job.launcher + " does not name it",
                      "pass --master-addr HOST (the host that runs rank 0)");
  }
  pi.lowest_rank = (Standalone(p) ? 0 : job.rank) * n;
  pi.max_restarts = c.supervise.max_restarts;
  pi.preflight = c.preflight.enabled;
  pi.launcher = job.launcher;
  pi.auth = c.supervise.plane;
  pi.secret = std::string(env.Get("RANKWRAP_JOB_SECRET").value_or(""));
  pi.munge_socket = std::string(env.Get("MUNGE_SOCKET").value_or(""));
  if (pi.auth == "auto" || pi.auth == "munge") pi.munge_available = MungeAvailable(pi.munge_socket);
  if (pi.auth == "auto" && pi.secret.empty() && !pi.munge_available) {
    if (!required.empty()) {
      return PlaneError(kExitEnvironment, "the job control plane, needed for " + required,
                        "cannot authenticate: RANKWRAP_JOB_SECRET is not set and munged did not answer", AuthHint());
    }
    if (job.node_rank == 0 && job.local_rank == 0) {
      notices->push_back(
          "the job control plane is off (RANKWRAP_JOB_SECRET is not set and munged did not answer): a failure on "
          "one node will not stop the others. To turn it on, " +
          AuthHint() + "; --plane off silences this");
    }
    return in;
  }
  // The explicit modes' own checks (munge without munged, a short secret),
  // here in the wrapper, before anything starts.
  if (auto cfg = plane::MakePlaneConfig(pi); !cfg) return cfg.error();
  in.plane = pi;
  return in;
}

Result<Joined> JoinJob(const RendezvousInputs& in, posix::HeldPort* held,
                       const std::function<void(const std::string&)>& notice) {
  Joined j;
  std::optional<plane::Master> announce;
  if (in.announces && (in.plane || in.nccl_tcp)) {
    auto a = Announcement(in, held, notice, &j.port_problem);
    if (!a) return a.error();
    announce = *a;
  }
  if (!in.plane) {
    j.master = announce;
    return j;
  }
  auto cfg = plane::MakePlaneConfig(*in.plane);
  if (!cfg) return cfg.error();
  auto p = Plane::Start(*cfg);
  if (!p) return p.error();
  // Every keeper of the job is there before any rank starts.
  auto m = (*p)->Rendezvous(announce);
  if (!m) return m.error();
  if (auto s = CheckAnnouncement(in, *m); !s) return s.error();
  j.plane = std::move(p).value();
  j.master = *m;
  j.from_plane = true;
  return j;
}

void ApplyRendezvous(const Joined& j, std::vector<RankSpec>* ranks) {
  if (!j.master) return;
  for (RankSpec& r : *ranks) {
    if (j.from_plane) {
      r.env.Set("MASTER_ADDR", j.master->host);
      r.env.Set("MASTER_PORT", std::to_string(j.master->port));
    }
    if (j.master->blob.size() >= boot::kIdBytes) {
      boot::UniqueId id{};
      std::copy_n(j.master->blob.begin(), boot::kIdBytes, id.begin());
      r.env.Set("RANKWRAP_NCCL_UNIQUE_ID", boot::ToHex(id));
    }
  }
}

Result<std::string> FreshNcclId(const RendezvousInputs& in) {
  auto id = NcclIdBytes(in.cuda_home);
  if (!id) return id.error();
  boot::UniqueId u{};
  std::copy(id->begin(), id->end(), u.begin());
  return boot::ToHex(u);
}

}  // namespace rankwrap::app
