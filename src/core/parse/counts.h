// Slurm's run-length count lists ("2(x3),1"), as in SLURM_TASKS_PER_NODE,
// SLURM_STEP_TASKS_PER_NODE and SLURM_JOB_CPUS_PER_NODE. Stage: detect.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "core/error.h"

namespace rankwrap::parse {

class Counts {
 public:
  // Items "N" or "N(xR)" separated by ','; N >= 0, R >= 1. Rejects "2(x)",
  // "(x3)", "-1", empty items and anything else, with the offset of the fault.
  static Parsed<Counts> Parse(std::string_view text);

  // Number of entries after expanding the runs.
  std::uint64_t size() const { return size_; }
  // The i-th entry. Requires i < size(). O(number of runs).
  std::uint64_t at(std::uint64_t i) const;
  // Sum of the first n entries (n may exceed size(): then all of them).
  std::uint64_t SumFirst(std::uint64_t n) const;
  // The index of the first zero entry among the first n, or nullopt.
  // O(number of runs).
  std::optional<std::uint64_t> FirstZero(std::uint64_t n) const;

 private:
  struct Run {
    std::uint64_t value;
    std::uint64_t repeat;
  };
  std::vector<Run> runs_;
  std::uint64_t size_ = 0;
};

}  // namespace rankwrap::parse
