// The hwloc adapter (stage: bind): the only code that includes hwloc.
// Loads a topology (this machine, or a recorded XML file) into plain data,
// and applies a rank's CPU and memory binding to this process.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/topo/topology.h"

namespace rankwrap::hwloc {

// Loads this machine (xml empty) or an hwloc XML file (written by hwloc 1.x
// or 2.x), I/O devices kept. On this machine the result is restricted to the
// allowed cpuset and to the process's current binding, so a task the
// launcher already bound stays inside its binding. Errors name the file.
Result<topo::Topology> Load(const std::string& xml);

// Binds this process (all its threads, and what it execs) to `pus` and its
// memory to the NUMA nodes `numa` (empty: no memory binding).
Status Apply(const std::vector<unsigned>& pus, const std::vector<unsigned>& numa);

}  // namespace rankwrap::hwloc
