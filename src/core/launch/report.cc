#include "core/launch/report.h"

#include <cstdio>

namespace rankwrap::launch {

std::string JsonString(const std::string& s) {
  std::string out = "\"";
  for (unsigned char ch : s) {
    switch (ch) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      case '\r': out += "\\r"; break;
      default:
        if (ch < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", ch);
          out += buf;
        } else {
          out += static_cast<char>(ch);
        }
    }
  }
  return out + "\"";
}

std::string PrintEnv(const plan::RankContract& c) {
  std::string out;
  for (const auto& [k, v] : c.env) out += k + "=" + v + "\n";
  return out;
}

std::string Json(const plan::RankContract& c, const std::vector<std::string>& argv) {
  const JobInfo& j = c.job;
  std::string out = "{";
  out += "\"launcher\":" + JsonString(j.launcher);
  out += ",\"rank\":" + std::to_string(j.rank);
  out += ",\"world_size\":" + std::to_string(j.world_size);
  out += ",\"local_rank\":" + std::to_string(j.local_rank);
  out += ",\"local_world_size\":" + std::to_string(j.local_world_size);
  out += ",\"node_rank\":" + std::to_string(j.node_rank);
  out += ",\"num_nodes\":" + std::to_string(j.num_nodes);
  out += ",\"master_addr\":" + JsonString(c.master_addr);
  out += ",\"master_port\":" + std::to_string(c.master_port);
  out += ",\"env\":{";
  bool first = true;
  for (const auto& [k, v] : c.env) {
    out += (first ? "" : ",") + JsonString(k) + ":" + JsonString(v);
    first = false;
  }
  out += "},\"argv\":[";
  for (std::size_t i = 0; i < argv.size(); ++i) out += (i ? "," : "") + JsonString(argv[i]);
  out += "],\"sources\":{";
  out += "\"rank\":" + JsonString(j.from.rank);
  out += ",\"world_size\":" + JsonString(j.from.world_size);
  out += ",\"local_rank\":" + JsonString(j.from.local_rank);
  out += ",\"local_world_size\":" + JsonString(j.from.local_world_size);
  out += ",\"node_rank\":" + JsonString(j.from.node_rank);
  out += ",\"num_nodes\":" + JsonString(j.from.num_nodes);
  out += ",\"master_addr\":" + JsonString(c.master_addr_from);
  out += ",\"master_port\":" + JsonString(c.master_port_from);
  out += "},\"notes\":[";
  for (std::size_t i = 0; i < j.notes.size(); ++i) out += (i ? "," : "") + JsonString(j.notes[i]);
  out += "],\"warnings\":[";
  for (std::size_t i = 0; i < c.warnings.size(); ++i) {
    out += (i ? "," : "") + JsonString(c.warnings[i]);
  }
  return out + "]}\n";
}

std::string DryRun(const plan::RankContract& c, const std::vector<std::string>& argv) {
  std::string out = "launcher: " + c.job.launcher + "\n";
  out += "rank " + std::to_string(c.job.rank) + " of " + std::to_string(c.job.world_size) +
         ", local rank " + std::to_string(c.job.local_rank) + " of " +
         std::to_string(c.job.local_world_size) + ", node " + std::to_string(c.job.node_rank) +
         " of " + std::to_string(c.job.num_nodes) + "\n";
  out += "master: " + c.master_addr + ":" + std::to_string(c.master_port) + "\n";
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
  for (const auto& n : j.notes) out += "  note: " + n + "\n";
  return out;
}

}  // namespace rankwrap::launch
