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
#include "app/config.h"

namespace rankwrap::app {

struct Binding {
  topo::Topology topo;
  bind::NodePlan plan;
  std::optional<bind::RankLine> line;  // unset with --bind none and for `rankwrap plan`
  std::map<std::string, std::string> env;
  std::vector<std::string> warnings;  // about the topology itself (cache)
};

struct Prepared {
  plan::RankContract contract;  // contract.job: the launcher's job; contract.env: every variable
                                // rankwrap sets for this process, binding included
  Binding binding;
  std::vector<std::string> warnings;  // node-wide ones only on local rank 0
};

// Which plan the bind stage makes.
struct PlanRequest {
  unsigned local_ranks = 1;
  unsigned local_rank = 0;
  // `rankwrap plan`: the whole node's plan, no rank line; without
  // `ranks_given`, one local rank per visible GPU.
  bool whole_node = false;
  bool ranks_given = true;
};

// The bind stage: topology, visible GPUs, node plan, this rank's line.
Result<Binding> PlanBinding(const BindConfig& c, const PlanRequest& req, const EnvSnapshot& env);

// Detect, contract and bind for this process. `trace` receives the
// detectors' verdicts, also on error. `host` is this host's name.
Result<Prepared> Prepare(const Config& c, const EnvSnapshot& env, const std::string& host,
                         std::vector<TraceLine>* trace);

}  // namespace rankwrap::app
