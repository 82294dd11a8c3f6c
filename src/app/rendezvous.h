// Rendezvous through the job control plane (stage: plane), in the keeper
// before any rank starts: the keeper of rank 0 binds MASTER_PORT (and with
// --nccl-bootstrap=tcp creates the NCCL unique id), announces them with its
// host, and every keeper of the job gets the same answer, which its ranks
// then export. See docs/control-plane.md.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "adapters/posix/posix.h"
#include "app/config.h"
#include "app/pipeline.h"
#include "app/plane.h"
#include "app/spec.h"
#include "core/error.h"
#include "core/plane/config.h"

namespace rankwrap::app {

// What the keeper needs for the rendezvous, computed in the wrapper.
struct RendezvousInputs {
  std::optional<plane::PlaneInputs> plane;  // unset: no plane (one keeper, or --plane off)
  std::string master_addr;                  // the contract's (empty: announced by rank 0's node)
  std::uint16_t master_port = 0;            // the contract's (0: none)
  bool master_port_fixed = false;           // --master-port or a launcher's reservation: announced as is
  std::string node_host;                    // this node's name as the others resolve it
  std::string host;                         // this host's name (gethostname)
  bool announces = false;                   // this keeper starts global rank 0
  bool nccl_tcp = false;                    // --nccl-bootstrap=tcp
  std::string cuda_home;
  std::uint64_t world_size = 0;
  // --preflight: rank 0's keeper also listens on the MASTER_PORT it holds
  // (a fixed one too), so the other nodes' connect tests reach it.
  bool preflight = false;
};

// The plane's inputs for this keeper, or none (one keeper for the job; a
// default --plane auto with no authentication at hand, which adds a line to
// `notices` unless the plane is required). Required, so an Error when it
// cannot run: an explicit --plane, --nccl-bootstrap=tcp, or a rank-0 host the
// environment cannot tell (Slurm's topology order, arbitrary layouts).
Result<RendezvousInputs> RendezvousInputsFor(const Config& c, const Prepared& p, const EnvSnapshot& env,
                                             std::vector<std::string>* notices);

struct Joined {
  std::unique_ptr<Plane> plane;         // null without a plane
  std::optional<plane::Master> master;  // what every rank exports (host, port, NCCL id)
  bool from_plane = false;
  // --preflight on rank 0's node: why MASTER_PORT could not be held and
  // listened on ("" when it was): a failed check of that node.
  std::string port_problem;
};

// Joins the plane (when there is one) and waits for the rendezvous. The
// rank-0 keeper's MASTER_PORT stays bound in `held` until its ranks start.
Result<Joined> JoinJob(const RendezvousInputs& in, posix::HeldPort* held,
                       const std::function<void(const std::string&)>& notice);

// MASTER_ADDR, MASTER_PORT (from the plane) and RANKWRAP_NCCL_UNIQUE_ID into
// every rank's environment.
void ApplyRendezvous(const Joined& j, std::vector<RankSpec>* ranks);

// --nccl-bootstrap=tcp, rank 0's keeper: the announcement's blob for an
// attempt (a fresh NCCL id and this job's world size).
Result<std::string> AnnouncementBlob(const RendezvousInputs& in);

// --nccl-bootstrap=tcp without a plane (one keeper starts every rank): a
// fresh NCCL id for this attempt.
Result<std::string> FreshNcclId(const RendezvousInputs& in);

}  // namespace rankwrap::app
