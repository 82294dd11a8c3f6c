// The hwloc adapter (stage: bind): the only code that includes hwloc.
// Loads a topology (this machine, or a recorded XML file) into plain data.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/topo/topology.h"

namespace rankwrap::hwloc {

// Loads an hwloc XML file (written by hwloc 1.x or 2.x), I/O devices kept,
// restricted to the allowed cpuset the file records. Errors name the file.
Result<topo::Topology> Load(const std::string& xml);

// Loads this whole machine, I/O devices kept, disallowed PUs included: the
// caller restricts it to what the process may use (topo::Restrict with its
// affinity), so the result can be cached for every job on the node.
Result<topo::Topology> LoadMachine();

// The hwloc library's version ("2.9.0"): part of the topology cache's key.
std::string Version();


}  // namespace rankwrap::hwloc
