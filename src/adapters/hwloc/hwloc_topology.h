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

// Loads this whole machine (or what HWLOC_XMLFILE / HWLOC_SYNTHETIC /
// HWLOC_FSROOT name instead), I/O devices kept, disallowed PUs included, so
// the result can be cached for every job on the node; the caller restricts
// it to the node's allowed PUs (bind::NodeTopology). `allowed`, if given,
// receives hwloc's allowed cpuset (this system: the cgroup cpuset; an XML
// file: the set it records).
Result<topo::Topology> LoadMachine(std::vector<unsigned>* allowed = nullptr);

// The hwloc library's version ("2.9.0"): part of the topology cache's key.
std::string Version();

}  // namespace rankwrap::hwloc
