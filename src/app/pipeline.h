// The pipeline up to exec, composed from the core and the adapters: detect,
// contract, topology, node plan. Used by main and by the language bindings,
// so `rankwrap --print-env` and `rankwrap.detect()` agree by construction.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/bind/plan.h"
#include "core/env/snapshot.h"
#include "core/error.h"
#include "core/job.h"
#include "core/plan/contract.h"
#include "core/topo/topology.h"
#include "tools/options.h"

namespace rankwrap::app {

struct Binding {
  topo::Topology topo;
  bind::NodePlan plan;
  std::optional<bind::RankLine> line;  // unset with --bind none and for `rankwrap plan`
  std::map<std::string, std::string> env;
  std::vector<std::string> warnings;  // about the topology itself (cache)
};

struct Prepared {
  JobInfo job;
  plan::RankContract contract;  // contract.env: every variable rankwrap sets, binding included
  Binding binding;
  std::vector<std::string> warnings;  // node-wide ones only on local rank 0
};

// The bind stage: topology, visible GPUs, node plan, this rank's line.
Result<Binding> PlanBinding(const tools::Options& o, unsigned local_ranks, unsigned local_rank,
                            const EnvSnapshot& env);

// Detect, contract and bind for this process. `trace` receives the
// detectors' verdicts, also on error. `host` is this host's name.
Result<Prepared> Prepare(const tools::Options& o, const EnvSnapshot& env, const std::string& host,
                         std::vector<TraceLine>* trace);

}  // namespace rankwrap::app
