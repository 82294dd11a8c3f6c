// Text forms of the pipeline's values (stage: launch): --print-env,
// --dry-run, --json and the --explain trace. Pure string building; main
// decides where the text goes.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/plan/contract.h"

namespace rankwrap::launch {

// KEY=VALUE lines, sorted by key: exactly what rankwrap sets.
std::string PrintEnv(const plan::RankContract& c);

// One JSON object: launcher, rank, world_size, local_rank,
// local_world_size, node_rank, num_nodes, master_addr, master_port, env,
// argv, sources and notes.
std::string Json(const plan::RankContract& c, const std::vector<std::string>& argv);

// Human-readable --dry-run: the contract and the command, nothing run.
std::string DryRun(const plan::RankContract& c, const std::vector<std::string>& argv);

// The --explain trace: every detector tried and why, then where each value
// came from.
std::string Explain(const std::vector<TraceLine>& trace, const plan::RankContract* c);

// The one format of rankwrap's own messages on stderr:
//   rankwrap[WHO]: KIND: TEXT            (WHO: RANK@HOST, or HOST for the job)
// and for an Error (docs/exit-codes.md):
//   rankwrap[WHO]: error: STAGE: WHAT: WHY
//   hint: HINT
std::string Line(const std::string& who, const std::string& kind, const std::string& text);
std::string ErrorText(const Error& e, const std::string& who);

// A JSON string literal (invalid UTF-8 replaced by U+FFFD).
std::string JsonString(const std::string& s);

// One line of JSON, valid for any input (invalid UTF-8 replaced by U+FFFD).
// Every JSON document rankwrap writes goes through here; the schemas are in
// docs/json.md.
std::string Dump(const nlohmann::ordered_json& j);

}  // namespace rankwrap::launch
