#include "core/launch/report.h"

#include <cstdio>

namespace rankwrap::launch {

std::string Line(const std::string& who, const std::string& kind, const std::string& text) {
  return "rankwrap[" + who + "]: " + kind + ": " + text + "\n";
}

std::string ErrorText(const Error& e, const std::string& who) {
  return Line(who, "error", e.stage + ": " + e.what + ": " + e.why) + "hint: " + e.hint + "\n";
}

std::string JsonString(const std::string& s) { return Dump(nlohmann::ordered_json(s)); }

std::string Dump(const nlohmann::ordered_json& j) {
  // Environment values and arguments are bytes, not always UTF-8: invalid
  // sequences become U+FFFD, so the document is valid JSON for any input.
  return j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

std::string PrintEnv(const plan::RankContract& c) {
  std::string out;
  for (const auto& [k, v] : c.env) out += k + "=" + v + "\n";
  return out;
}

std::string Json(const plan::RankContract& c, const std::vector<std::string>& argv) {
  const JobInfo& j = c.job;
  nlohmann::ordered_json out;
  out["launcher"] = j.launcher;
  out["rank"] = j.rank;
  out["world_size"] = j.world_size;
  out["local_rank"] = j.local_rank;
  out["local_world_size"] = j.local_world_size;
  out["node_rank"] = j.node_rank;
  out["num_nodes"] = j.num_nodes;
  out["master_addr"] = c.master_addr;
  out["master_port"] = c.master_port;
  out["env"] = nlohmann::ordered_json::object();
  for (const auto& [k, v] : c.env) out["env"][k] = v;
  out["argv"] = argv;
  out["sources"] = {{"rank", j.from.rank},
                    {"world_size", j.from.world_size},
                    {"local_rank", j.from.local_rank},
                    {"local_world_size", j.from.local_world_size},
                    {"node_rank", j.from.node_rank},
                    {"num_nodes", j.from.num_nodes},
                    {"master_addr", c.master_addr_from},
                    {"master_port", c.master_port_from}};
  out["notes"] = j.notes;
  out["warnings"] = c.warnings;
  return Dump(out) + "\n";
}

std::string DryRun(const plan::RankContract& c, const std::vector<std::string>& argv) {
  std::string out = "launcher: " + c.job.launcher + "\n";
  out += "rank " + std::to_string(c.job.rank) + " of " + std::to_string(c.job.world_size) + ", local rank " +
         std::to_string(c.job.local_rank) + " of " + std::to_string(c.job.local_world_size) + ", node " +
         std::to_string(c.job.node_rank) + " of " + std::to_string(c.job.num_nodes) + "\n";
  out += "master: " + c.master_addr + ":" +
         (c.master_port ? std::to_string(c.master_port) : "(" + c.master_port_from + ")") + "\n";
  out += "environment set:\n";
  for (const auto& [k, v] : c.env) out += "  " + k + "=" + v + "\n";
  out += "would exec:";
  if (argv.empty()) out += " (no program given)";
  for (const auto& a : argv) out += " " + a;
  return out + "\n";
}

std::string Explain(const std::vector<TraceLine>& trace, const plan::RankContract* c) {
  std::string out = "detectors, innermost launcher first:\n";
  for (const auto& t : trace) out += "  " + t.detector + ": " + t.verdict + ": " + t.reason + "\n";
  if (c == nullptr) return out;
  const JobInfo& j = c->job;
  auto line = [&](const char* what, std::uint64_t v, const std::string& from) {
    out += std::string("  ") + what + " = " + std::to_string(v) + "  <- " + from + "\n";
  };
  out += "values (" + j.launcher + "):\n";
  line("rank", j.rank, j.from.rank);
  line("world_size", j.world_size, j.from.world_size);
  line("local_rank", j.local_rank, j.from.local_rank);
  line("local_world_size", j.local_world_size, j.from.local_world_size);
  line("node_rank", j.node_rank, j.from.node_rank);
  line("num_nodes", j.num_nodes, j.from.num_nodes);
  out += "  master_addr = " + c->master_addr + "  <- " + c->master_addr_from + "\n";
  out += "  master_port = " + std::to_string(c->master_port) + "  <- " + c->master_port_from + "\n";
  if (!j.rank_order.empty()) {
    out += "  rank order: RANK is not NODE_RANK*LOCAL_WORLD_SIZE+LOCAL_RANK for every rank: " + j.rank_order + "\n";
  }
  if (j.node_level) {
    out +=
        "  node-level launch: one task per node (rank = node index); --nproc N gives ranks node_rank*N+i of "
        "num_nodes*N\n";
  }
  for (const auto& n : j.notes) out += "  note: " + n + "\n";
  return out;
}

}  // namespace rankwrap::launch
