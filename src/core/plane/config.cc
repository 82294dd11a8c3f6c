#include "core/plane/config.h"

namespace rankwrap::plane {
namespace {

Error ConfigError(std::string what, std::string why, std::string hint) {
  return Error{kExitEnvironment, "plane", std::move(what), std::move(why), std::move(hint)};
}

bool Printable(const std::string& s) {
  for (char c : s) {
    if (c <= ' ' || c > '~') return false;
  }
  return true;
}

}  // namespace

std::uint16_t PlanePort(const std::string& job_id) {
  std::uint32_t h = 2166136261u;
  for (char c : job_id) {
    h ^= static_cast<unsigned char>(c);
    h *= 16777619u;
  }
  return static_cast<std::uint16_t>(kPlanePortBase + h % kPlanePortSpan);
}

Result<PlaneConfig> MakePlaneConfig(const PlaneInputs& in) {
  PlaneConfig c;
  if (in.job_id.empty() || in.job_id.size() > kMaxJobId || !Printable(in.job_id)) {
    return ConfigError("job id '" + in.job_id + "'", "1 to 128 printable characters, the same on every node",
                       "run under a launcher that names the job (Slurm, PBS, ...)");
  }
  if (in.node_count == 0 || in.node_index >= in.node_count) {
    return ConfigError(
        "NODE_RANK=" + std::to_string(in.node_index) + " with NUM_NODES=" + std::to_string(in.node_count),
        "0 <= NODE_RANK < NUM_NODES", "check the job's node list");
  }
  for (const auto* h : {&in.host, &in.server_host}) {
    if (h->empty() || h->size() > kMaxHost || !Printable(*h)) {
      return ConfigError("host name '" + *h + "'", "1 to 255 printable characters", "check the job's node list");
    }
  }
  if (!(in.rendezvous_timeout > 0) || !(in.heartbeat_interval > 0) || !(in.heartbeat_timeout > in.heartbeat_interval)) {
    return ConfigError("plane timeouts", "positive, with the heartbeat timeout longer than the heartbeat interval",
                       "use the defaults");
  }
  if (in.auth == "munge" || (in.auth == "auto" && in.munge_available)) {
    if (!in.munge_available) {
      return ConfigError("--plane=munge",
                         "munged did not answer on this node" +
                             (in.munge_socket.empty() ? std::string() : " (MUNGE_SOCKET=" + in.munge_socket + ")"),
                         "start munged, or export RANKWRAP_JOB_SECRET in the job script and use --plane=secret");
    }
    c.mode = AuthMode::kMunge;
  } else if (in.auth == "secret" || in.auth == "auto") {
    if (in.secret.empty()) {
      return ConfigError(
          "RANKWRAP_JOB_SECRET is not set" + std::string(in.auth == "auto" ? " and munged did not answer" : ""),
          "the job's control plane only talks to nodes that prove they belong to the job",
          "export RANKWRAP_JOB_SECRET=$(head -c 32 /dev/urandom | base64) in the job script "
          "(srun/mpiexec pass it on), or run munged; --plane insecure turns authentication off");
    }
    if (in.secret.size() < kMinSecret) {
      return ConfigError("RANKWRAP_JOB_SECRET of " + std::to_string(in.secret.size()) + " bytes",
                         "at least " + std::to_string(kMinSecret) + " bytes",
                         "export RANKWRAP_JOB_SECRET=$(head -c 32 /dev/urandom | base64)");
    }
    c.mode = AuthMode::kSecret;
    c.secret = in.secret;
  } else if (in.auth == "insecure") {
    c.mode = AuthMode::kInsecure;
  } else {
    return Error{kExitUsage, "usage", "--plane=" + in.auth, "one of auto, munge, secret, insecure", "--plane=auto"};
  }
  c.job_id = in.job_id;
  c.node_count = in.node_count;
  c.node_index = in.node_index;
  c.host = in.host;
  c.server_host = in.server_host;
  c.lowest_rank = in.lowest_rank;
  c.port = in.port ? *in.port : PlanePort(in.job_id);
  if (c.port == 0 || c.port > 65535 - kPlanePortRange) {
    return ConfigError("plane port " + std::to_string(c.port), "1 to " + std::to_string(65535 - kPlanePortRange),
                       "pick another port");
  }
  c.munge_socket = in.munge_socket;
  c.rendezvous_timeout = in.rendezvous_timeout;
  c.heartbeat_interval = in.heartbeat_interval;
  c.heartbeat_timeout = in.heartbeat_timeout;
  return c;
}

}  // namespace rankwrap::plane
