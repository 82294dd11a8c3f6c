// The job's pre-flight table (rank 0's rankwrap prints it once).
#include <algorithm>
#include <map>
#include <set>
#include <sstream>

#include "core/parse/hostlist.h"
#include "core/preflight/report.h"

namespace rankwrap::preflight {
namespace {

// The value most nodes report; a tie goes to the value of the lowest node
// index (rank 0's node first), so the table is the same on every run.
std::string Majority(const std::vector<NodeReport>& reports, std::string NodeReport::*field) {
  std::map<std::string, std::size_t> count;
  for (const auto& r : reports) ++count[r.*field];
  std::string best;
  std::size_t best_count = 0;
  std::uint32_t best_node = UINT32_MAX;
  for (const auto& r : reports) {
    const std::size_t n = count[r.*field];
    if (n > best_count || (n == best_count && r.node < best_node)) {
      best = r.*field, best_count = n, best_node = r.node;
    }
  }
  return best;
}

// The failing checks of `r`, plus the disagreements with the majority.
std::vector<Check> Problems(const NodeReport& r, const std::string& version, const std::string& shape) {
  std::vector<Check> out;
  for (const Check& c : r.checks) {
    if (!c.ok) out.push_back(c);
  }
  if (r.version != version) {
    out.push_back({"version", false, "rankwrap " + r.version + ", the other nodes run " + version,
                   "install the same rankwrap on every node (check the module or PATH the job script uses)"});
  }
  if (r.shape != shape) {
    out.push_back({"shape", false, "this node has " + r.shape + ", most nodes have " + shape,
                   "request nodes of one kind (a partition or constraint), or leave this node out"});
  }
  return out;
}

std::string ExcludeHint(const std::vector<std::string>& hosts, const std::string& launcher) {
  const std::string list = parse::Compress(hosts);
  std::string plain;
  for (const auto& h : hosts) plain += (plain.empty() ? "" : ", ") + h;
  if (launcher == "slurm") {
    return "leave the bad nodes out: sbatch --exclude=" + list + " ... (or srun --exclude=" + list +
           " inside the allocation)";
  }
  if (launcher == "pbs") {
    return "leave the bad nodes out: resubmit with a qsub -l select=... that names other hosts "
           "(e.g. select=1:host=NAME+1:host=NAME2), or, inside this job, remove " +
           plain + " from the host list given to mpiexec (a copy of $PBS_NODEFILE without them)";
  }
  return "leave the bad nodes out of the host list or host file given to the launcher: " + plain;
}

// One node (`rankwrap preflight`): its line and what passed too (the
// interface used, the space found).
std::string OneNode(const NodeReport& r, std::size_t problems) {
  std::ostringstream out;
  out << "  node " << r.node << "  " << r.host << "  " << (problems == 0 ? "ok" : "FAILED") << "  (" << r.checks.size()
      << " checks, " << problems << " failed)\n";
  for (const Check& c : r.checks) {
    if (c.ok) out << "    ok   " << c.name << ": " << c.detail << "\n";
  }
  return out.str();
}

}  // namespace

std::vector<BadNode> BadNodes(const std::vector<NodeReport>& given) {
  std::vector<NodeReport> reports = given;
  std::stable_sort(reports.begin(), reports.end(), [](const auto& a, const auto& b) { return a.node < b.node; });
  const std::string version = Majority(reports, &NodeReport::version);
  const std::string shape = Majority(reports, &NodeReport::shape);
  std::vector<BadNode> bad;
  for (const NodeReport& r : reports) {
    const std::vector<Check> problems = Problems(r, version, shape);
    if (!problems.empty()) bad.push_back({r.node, r.host, problems.front().name + ": " + problems.front().detail});
  }
  return bad;
}

bool AllOk(const std::vector<NodeReport>& reports) {
  if (reports.empty()) return true;
  const std::string version = Majority(reports, &NodeReport::version);
  const std::string shape = Majority(reports, &NodeReport::shape);
  return std::all_of(reports.begin(), reports.end(),
                     [&](const NodeReport& r) { return Problems(r, version, shape).empty(); });
}

std::string Table(const std::vector<NodeReport>& given, const std::string& launcher) {
  std::vector<NodeReport> reports = given;
  std::stable_sort(reports.begin(), reports.end(), [](const auto& a, const auto& b) { return a.node < b.node; });
  const std::string version = Majority(reports, &NodeReport::version);
  const std::string shape = Majority(reports, &NodeReport::shape);
  std::vector<std::string> good_hosts, bad_hosts;
  std::ostringstream details;
  std::string one;
  for (const NodeReport& r : reports) {
    const std::vector<Check> problems = Problems(r, version, shape);
    if (reports.size() == 1) one = OneNode(r, problems.size());
    (problems.empty() ? good_hosts : bad_hosts).push_back(r.host);
    if (problems.empty()) continue;
    details << "node " << r.node << " (" << r.host << "):\n";
    for (const Check& c : problems) {
      details << "  FAIL " << c.name << ": " << c.detail << "\n";
      if (!c.fix.empty()) details << "       fix: " << c.fix << "\n";
    }
  }
  std::ostringstream out;
  out << "pre-flight: " << reports.size() << (reports.size() == 1 ? " node" : " nodes") << " checked, "
      << bad_hosts.size() << " bad (rankwrap " << version << "; shape " << shape << ")\n"
      << one;
  // Many nodes: the good ones in one compressed list, so the table stays
  // as long as the problems, not as the job.
  if (reports.size() > 1 && !good_hosts.empty()) out << "  ok: " << parse::Compress(good_hosts) << "\n";
  if (bad_hosts.empty()) return out.str() + "pre-flight: every node passed\n";
  out << details.str() << ExcludeHint(bad_hosts, launcher) << "\n";
  return out.str();
}

}  // namespace rankwrap::preflight
