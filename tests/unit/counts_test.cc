#include "core/parse/counts.h"

#include <gtest/gtest.h>

namespace rankwrap::parse {
namespace {

TEST(Counts, RunsExpand) {
  auto c = Counts::Parse("2(x3),1");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->size(), 4u);
  EXPECT_EQ(c->at(0), 2u);
  EXPECT_EQ(c->at(2), 2u);
  EXPECT_EQ(c->at(3), 1u);
  EXPECT_EQ(c->SumFirst(4), 7u);
  EXPECT_EQ(c->SumFirst(2), 4u);
  EXPECT_EQ(c->SumFirst(100), 7u);
}

TEST(Counts, SlurmDocExample) {
  // uint16_array_to_str: 1,2,1,1,1,3,2 is written 1,2,1(x3),3,2.
  auto c = Counts::Parse("1,2,1(x3),3,2");
  ASSERT_TRUE(c.ok());
  std::vector<std::uint64_t> got;
  for (std::uint64_t i = 0; i < c->size(); ++i) got.push_back(c->at(i));
  EXPECT_EQ(got, (std::vector<std::uint64_t>{1, 2, 1, 1, 1, 3, 2}));
}

TEST(Counts, SingleValueAndLongRuns) {
  auto c = Counts::Parse("4");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->size(), 1u);
  auto big = Counts::Parse("8(x100000),4");
  ASSERT_TRUE(big.ok());
  EXPECT_EQ(big->size(), 100001u);
  EXPECT_EQ(big->at(100000), 4u);
  EXPECT_EQ(big->SumFirst(100001), 800004u);
}

class CountErrors : public testing::TestWithParam<const char*> {};
TEST_P(CountErrors, Rejected) { EXPECT_FALSE(Counts::Parse(GetParam()).ok()) << GetParam(); }
INSTANTIATE_TEST_SUITE_P(Malformed, CountErrors,
                         testing::Values("2(x)", "(x3)", "-1", "", "2,,1", "2(x3", "2(3)", "2(x0)",
                                         "a", "2(x3)x", "1,", "99999999999"));

}  // namespace
}  // namespace rankwrap::parse
