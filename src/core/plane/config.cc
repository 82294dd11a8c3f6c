#include "core/plane/config.h"

#include <cstdio>

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

std::string RelayName(std::uint32_t uid, const std::string& job_id, std::uint32_t node_index, const std::string& host) {
  std::uint64_t h = 1469598103934665603ULL;
  const std::string key = job_id + '\n' + std::to_string(node_index) + '\n' + host;
  for (char c : key) {
    h ^= static_cast<unsigned char>(c);
    h *= 1099511628211ULL;
  }
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(h));
  return "rankwrap-plane-" + std::to_string(uid) + "-" + hex;
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
  if (in.local_count == 0 || in.local_index >= in.local_count) {
    return ConfigError("local index " + std::to_string(in.local_index) + " of " + std::to_string(in.local_count) +
                           " rankwraps on this node",
                       "0 <= LOCAL_RANK < LOCAL_WORLD_SIZE", "check the launcher's local rank variables");
  }
  c.local_index = in.local_index;
  c.local_count = in.local_count;
  c.relay_name = RelayName(in.uid, in.job_id, in.node_index, in.host);
  c.port = in.port ? *in.port : PlanePort(in.job_id);
  if (c.port == 0 || c.port > 65535 - kPlanePortRange) {
    return ConfigError("plane port " + std::to_string(c.port), "1 to " + std::to_string(65535 - kPlanePortRange),
                       "pick another port");
  }
  c.munge_socket = in.munge_socket;
  c.rendezvous_timeout = in.rendezvous_timeout;
  c.heartbeat_interval = in.heartbeat_interval;
  c.heartbeat_timeout = in.heartbeat_timeout;
  c.max_restarts = in.max_restarts;
  c.preflight = in.preflight;
  c.launcher = in.launcher;
  return c;
}

}  // namespace rankwrap::plane
