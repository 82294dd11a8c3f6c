// A Topology as text and back, and restricted to a set of PUs (stage:
// bind). The text form is what the per-node topology cache stores, so a
// rank reads a few kilobytes instead of asking hwloc to walk sysfs again.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"
#include "core/topo/topology.h"

namespace rankwrap::topo {

std::string ToText(const Topology& t);
// Errors name the line that does not parse.
Parsed<Topology> FromText(std::string_view text);

// The topology as a process allowed on `pus` sees it: cores without an
// allowed PU dropped, every PU list intersected with `pus`.
Topology Restrict(const Topology& t, const std::vector<unsigned>& pus);

}  // namespace rankwrap::topo
