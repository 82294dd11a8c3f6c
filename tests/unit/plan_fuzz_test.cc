// The planner fuzzer's properties (tests/fuzz/plan_machine.h) over a few
// thousand seeded random machines, so they run in the normal test build.
#include <gtest/gtest.h>

#include <random>

#include "plan_machine.h"

namespace rankwrap::fuzz {
namespace {

TEST(PlanFuzz, SeededRandomMachinesHoldThePlanProperties) {
  std::mt19937 rng(20261130);
  int failures = 0;
  for (int i = 0; i < 2500 && failures < 10; ++i) {
    std::vector<std::uint8_t> bytes(256);
    for (auto& b : bytes) b = static_cast<std::uint8_t>(rng());
    Choices choices(bytes.data(), bytes.size());
    const Case k = MakeCase(choices);
    const std::string wrong = Check(k);
    EXPECT_EQ(wrong, "") << "machine " << i << ": " << k.what;
    failures += wrong.empty() ? 0 : 1;
  }
}

}  // namespace
}  // namespace rankwrap::fuzz
