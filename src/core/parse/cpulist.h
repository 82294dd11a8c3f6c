// Slurm's explicit per-task CPU lists, --cpu-bind=map_cpu:LIST and
// --cpu-bind=mask_cpu:LIST (srun(1)), as rankwrap's --cpu-bind takes them.
// Stage: usage (the option value) and bind (which item a local rank takes).
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "core/error.h"

namespace rankwrap::parse {

// The largest CPU number a list may name (a mask bit above it is refused):
// far above any node, and it bounds what a mask can expand to.
inline constexpr unsigned kMaxCpuId = 65535;
// The largest repeat count after '*' (rankwrap's --ranks-per-node limit).
inline constexpr std::uint32_t kMaxCpuRepeat = 1u << 20;

enum class CpuListForm {
  kMap,   // map_cpu: one CPU number per item, decimal or hexadecimal after 0x
  kMask,  // mask_cpu: one CPU mask per item, hexadecimal with or without 0x
};

// One item of the list: the CPUs (OS CPU numbers, ascending, at least one)
// and how many local ranks in a row take it ("3*4": CPU 3 for 4 ranks).
struct CpuListItem {
  std::vector<unsigned> cpus;
  std::uint32_t repeat = 1;
  bool operator==(const CpuListItem&) const = default;
};

// Parses LIST (the text after "map_cpu:" or "mask_cpu:"): comma-separated
// items, each optionally followed by '*' and a repeat count 1-1048576. An
// empty list or item, a malformed number, a mask that selects no CPU, a CPU
// above kMaxCpuId or a bad repeat count is an error; its position is the
// byte offset in LIST and its message names the item (1-based) as written.
Parsed<std::vector<CpuListItem>> CpuList(std::string_view list, CpuListForm form);

// The item local rank `rank` takes: repeats expanded, and the list reused
// from its start when there are more ranks than items. `items` is a list
// CpuList returned (not empty).
const CpuListItem& CpuListAt(const std::vector<CpuListItem>& items, std::uint64_t rank);

}  // namespace rankwrap::parse
