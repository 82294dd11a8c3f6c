// The detector registry and the detect stage (detect::Run).
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "detect/detector.h"

namespace rankwrap::detect {

// The detectors in the order they are tried: innermost launcher first
// (docs/launchers.md has the table and the reasons).
std::span<const Detector> Registry();

// Tries the detectors in order and returns the first that applies, parsed
// and checked (rank < world size, local rank < local size, ...). With a
// non-empty `forced` only that detector is used. `trace` receives one line
// per detector tried, also when an Error is returned.
Result<JobInfo> Run(std::span<const Detector> registry, const DetectContext& ctx, std::string_view forced,
                    std::vector<TraceLine>* trace);

// Checks the numbers of a parsed job against each other.
Status Validate(const JobInfo& job);

}  // namespace rankwrap::detect
