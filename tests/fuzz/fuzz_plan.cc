// Fuzzes the node planner: random machines (sockets, NUMA nodes, cores, PUs,
// allowed sets, GPU/NIC placement, memory-only NUMA nodes) built from the
// input bytes as topo::Topology values; aborts when a plan breaks one of
// the properties in plan_machine.h.
#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include "plan_machine.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  rankwrap::fuzz::Choices choices(data, size);
  const rankwrap::fuzz::Case k = rankwrap::fuzz::MakeCase(choices);
  const std::string wrong = rankwrap::fuzz::Check(k);
  if (!wrong.empty()) {
    std::fprintf(stderr, "plan property broken on %s: %s\n", k.what.c_str(), wrong.c_str());
    std::abort();
  }
  return 0;
}
