// Where the job's control plane is and how it authenticates, computed from
// values the caller passes (stage: plane). Pure: the caller reads the
// contract and the environment (job id, NUM_NODES, NODE_RANK, the node
// list's first host, RANKWRAP_JOB_SECRET, MUNGE_SOCKET) and whether munged
// answers (net::MungeAvailable).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "core/error.h"
#include "core/plane/message.h"

namespace rankwrap::plane {

inline constexpr std::uint16_t kPlanePortBase = 15000;  // below the MASTER_PORT range (20000-32767)
inline constexpr std::uint16_t kPlanePortSpan = 4992;
inline constexpr std::uint16_t kPlanePortRange = 8;  // the server's fallbacks: base, base+1, ... base+7
inline constexpr std::size_t kMinSecret = 16;

struct PlaneInputs {
  std::string job_id;             // the job key (Slurm job.step, ...): the same on every node
  std::uint32_t node_count = 1;   // NUM_NODES
  std::uint32_t node_index = 0;   // NODE_RANK
  std::string host;               // this node's host name (as the others see it in the node list)
  std::string server_host;        // the node list's first host: where node 0 runs the server
  std::uint64_t lowest_rank = 0;  // this node's lowest global rank (0: this node announces)
  // The rankwraps of this node (each with its keeper): local index 0 is the
  // node's leader, which holds the node's connection; the others reach the
  // plane through it (adapters/net/local_relay.h).
  std::uint32_t local_index = 0;
  std::uint32_t local_count = 1;
  std::uint32_t uid = 0;              // this user's (names the node's relay socket)
  std::string auth = "auto";          // auto | munge | secret | insecure
  std::string secret;                 // RANKWRAP_JOB_SECRET (secret mode)
  bool munge_available = false;       // munged answered on this node (auto mode)
  std::string munge_socket;           // MUNGE_SOCKET, empty: munge's default
  std::optional<std::uint16_t> port;  // forced first port (tests); else derived from the job id
  double rendezvous_timeout = 300;    // seconds from Start
  double heartbeat_interval = 1;
  double heartbeat_timeout = 10;
  std::uint32_t max_restarts = 0;  // --max-restarts: the server (node 0) owns the job-wide count
  bool preflight = false;          // --preflight: one round of reports after the rendezvous
  std::string launcher;            // names the exclusion in the pre-flight table ("slurm", "pbs", ...)
};

struct PlaneConfig {
  std::string job_id;
  std::uint32_t node_count = 1;
  std::uint32_t node_index = 0;
  std::string host;
  std::string server_host;
  std::uint64_t lowest_rank = 0;
  std::uint32_t local_index = 0;
  std::uint32_t local_count = 1;
  std::string relay_name;  // the node's relay socket (abstract namespace)
  std::uint16_t port = 0;  // the first port of the range
  std::uint16_t port_range = kPlanePortRange;
  AuthMode mode = AuthMode::kSecret;
  std::string secret;
  std::string munge_socket;
  double rendezvous_timeout = 300;
  double heartbeat_interval = 1;
  double heartbeat_timeout = 10;
  std::uint32_t max_restarts = 0;
  bool preflight = false;
  std::string launcher;
  bool leader() const { return local_index == 0; }
  bool runs_server() const { return node_index == 0 && leader(); }
};

// The first port for a job id (FNV-1a into 15000-19991).
std::uint16_t PlanePort(const std::string& job_id);

// The node's relay socket name: per user, job, node and host (two nodes of a
// test cluster may share one machine), at most 64 bytes.
std::string RelayName(std::uint32_t uid, const std::string& job_id, std::uint32_t node_index, const std::string& host);

// The configuration, or an Error naming the bad value (stage "plane").
Result<PlaneConfig> MakePlaneConfig(const PlaneInputs& in);

}  // namespace rankwrap::plane
