// The pre-flight report of one node and the job's table (stage: preflight).
// Pure: no I/O. Each node's rankwrap checks itself (app/preflight.h), encodes
// its NodeReport into one bounded message, the job control plane carries the
// messages to rank 0's rankwrap, which decodes them and prints Table().
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace rankwrap::preflight {

// One check on one node: "master-port", "gpu 0000:4e:00.0", "nic mlx5_0",
// "shm", "memlock", "preflight-cmd". `detail` says what was found (on
// success too: the interface used, the free space); `fix` is one concrete
// action, empty when ok.
struct Check {
  std::string name;
  bool ok = false;
  std::string detail;
  std::string fix;
};

struct NodeReport {
  std::uint32_t node = 0;  // NODE_RANK
  std::string host;
  std::string version;  // rankwrap's version
  std::string shape;    // the node's topology shape, e.g. "gpus=8 nics=4 local-ranks=8"
  std::vector<Check> checks;
};

// The most an encoded report takes: one control-plane message per node.
inline constexpr std::size_t kMaxEncoded = 3000;
// The most checks one report carries (more are dropped by Encode, refused by Decode).
inline constexpr std::size_t kMaxChecks = 64;

// The report as text of at most kMaxEncoded bytes. Long fields are cut
// (with "...") until it fits: details and fixes first, then passing checks
// are dropped (the last first), then names, host, version and shape are
// cut, and only then are failing checks dropped.
// A report that fits is encoded whole, and Decode(Encode(r)) == r.
std::string Encode(const NodeReport& r);

// The report back, or nullopt for anything Encode would not have written
// (wrong header, unknown or repeated field, bad escape, over the limits).
// For any input Decode accepts, Encode(*Decode(s)) == s.
std::optional<NodeReport> Decode(std::string_view text);

// A node that failed a check or disagrees with the majority's version or
// shape, with its first problem ("master-port: connect to ... refused").
struct BadNode {
  std::uint32_t node = 0;
  std::string host;
  std::string problem;
};
// The bad nodes, in node order.
std::vector<BadNode> BadNodes(const std::vector<NodeReport>& reports);

// True when every check of every report passed and the nodes agree on the
// version and the shape.
bool AllOk(const std::vector<NodeReport>& reports);

// The job's table: a line per node checked, then every bad node with each
// failing check (detail and fix), the nodes whose version or shape differs
// from the majority's, and how to leave the bad nodes out with `launcher`
// ("slurm": sbatch --exclude=..., "pbs": the select statement or
// PBS_NODEFILE, anything else: generic).
std::string Table(const std::vector<NodeReport>& reports, const std::string& launcher);

}  // namespace rankwrap::preflight
