// This node's pre-flight check (stage: preflight): what the node needs before
// the program starts, checked in a few seconds instead of at NCCL's timeout.
// CheckNode only reads (through posix::PreflightProbe) and never creates a
// CUDA context: a GPU is "present" when its PCI device exists and a kernel
// driver is bound to it. docs/preflight.md lists every check and number.
//
// `rankwrap preflight` and --preflight on one node print the one-node
// Table; in a multi-node job every node's report (preflight::Encode, at
// most 3000 bytes) goes through the job control plane to node 0's rankwrap,
// which prints preflight::Table for the whole job.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "adapters/posix/preflight_probe.h"
#include "app/config.h"
#include "app/pipeline.h"
#include "app/rendezvous.h"
#include "core/preflight/report.h"

namespace rankwrap::app {

// /dev/shm must have this much free: NCCL's shared-memory transport and its
// proxy put their buffers there (docs/preflight.md has the arithmetic). It
// catches the 64 MiB default of container runtimes.
inline constexpr std::uint64_t kShmMinBytes = 512ull << 20;
inline constexpr double kConnectTimeout = 3.0;         // seconds for the MASTER_ADDR:MASTER_PORT connect
inline constexpr double kCommandTimeout = 30.0;        // seconds for --preflight-cmd
inline constexpr std::size_t kCommandOutputMax = 400;  // bytes of its output kept (the end)

struct PreflightInputs {
  std::uint32_t node = 0;  // NODE_RANK
  std::string host;
  std::string version;  // rankwrap's
  std::string shape;    // Shape(): compared across nodes by the table
  std::string master_addr;
  std::uint16_t master_port = 0;  // 0: chosen when the ranks start (a standalone world): not tested
  // Rank 0 runs on this node: CheckThisNode holds MASTER_PORT and listens on
  // it during the check, so the other nodes' connect tests reach it.
  bool master_node = false;
  // Seconds rank 0's node listens at least (from the start of its check), so
  // nodes that start later reach it: the connect timeout in a multi-node
  // job, 0 on one node.
  double listen_window = 0;
  std::vector<std::string> gpu_bus_ids;  // the plan's GPUs, "0000:4e:00.0"
  std::vector<std::string> rdma_nics;    // the plan's OpenFabrics devices, "mlx5_0"
  std::string shm_path = "/dev/shm";
  std::uint64_t shm_min = kShmMinBytes;
  std::string command;  // --preflight-cmd; empty: none
  double connect_timeout = kConnectTimeout;
  double command_timeout = kCommandTimeout;
};

// "gpus=8 nics=4 local-ranks=8": what every node of a job should share.
std::string Shape(const Prepared& p);

// The inputs for this node from the prepared pipeline: the binding plan's
// GPUs and RDMA NICs (every local rank's line), the contract's MASTER_ADDR,
// MASTER_PORT and node, --preflight-cmd.
PreflightInputs InputsFor(const Config& c, const Prepared& p, const std::string& host);

// Runs every check of this node through `probe`: master (TCP connect,
// naming the interface), one per GPU, one per RDMA NIC, shm, memlock and
// preflight-cmd. Never fails: a probe that cannot answer is a failed check.
preflight::NodeReport CheckNode(const PreflightInputs& in, const posix::PreflightProbe& probe);
// The same against this system.
preflight::NodeReport CheckNode(const PreflightInputs& in);

// CheckNode, holding and listening on MASTER_PORT meanwhile when
// `in.master_node` (a port already taken there is a failed check), for at
// least `in.listen_window` seconds.
preflight::NodeReport CheckThisNode(const PreflightInputs& in, const posix::PreflightProbe& probe);

// The check of a node in a job with the control plane, once the rendezvous
// named rank 0's host and port (`m`): CheckNode against them. Rank 0's
// keeper holds and listens on that port already (JoinJob); `port_problem`
// is why it could not, a failed check of its node.
preflight::NodeReport CheckAfterRendezvous(PreflightInputs in, const plane::Master& m, const std::string& port_problem,
                                           const posix::PreflightProbe& probe);

// --preflight in a job with the control plane: one round through it. The
// node's leader (`check` set; empty for the node's other keepers) checks
// its node and sends the report; every keeper then waits for the job's
// verdict; node 0 prints the job's one table through `print`. Ok when every
// node passed, else the Error every node prints (exit 8, naming the first
// bad nodes).
struct PreflightRound {
  std::function<preflight::NodeReport(const plane::Master&, const std::string& port_problem)> check;
  std::function<void(const std::string&)> print;
};
Status RunPreflightRound(Plane& plane, const Joined& joined, const PreflightRound& round);

}  // namespace rankwrap::app
